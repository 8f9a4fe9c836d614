"""The TUI's words in the reader's language (archivist/i18n.py's catalog).

Textual reads key labels from class-level BINDINGS, written once at import in English (marked
with `N_` for extraction); each screen, dialog and the app translate their own copy when they
are created, so the footer speaks `ui.language` like everything else.
"""

from __future__ import annotations

from dataclasses import replace

from textual.dom import DOMNode

from ..i18n import N_, _

# Textual's own keys that show in the footer or the palette (marked here so the catalog has them)
TEXTUAL_WORDS = (N_("Quit"), N_("palette"), N_("Search for commands…"))
# the action dialogs' field labels and hints (tui/actions.py)
FIELD_WORDS = (N_("note"), N_("when"), N_("service"), N_("number"), N_("date"), N_("kind"), N_("tax ID"), N_("amount"),
               N_("empty: next serial"), N_("empty: today"), N_("+2d, +4h, 1405-09-10 10:00"),
               N_("next follow-up"), N_("empty: followup.interval_days ahead"))


def translate_bindings(node: DOMNode) -> None:
    """Replace the node's key labels with their translations (its own copy of the bindings)."""
    table = node._bindings.key_to_bindings
    for key, bindings in list(table.items()):
        table[key] = [replace(b, description=_(b.description), tooltip=_(b.tooltip) if b.tooltip else b.tooltip)
                      if b.description else b for b in bindings]
