"""The TUI's screens: search (first), record, register, my day, and the action dialogs."""
