"""Sizes past which archivist refuses to read a file. A leaf module: config.load sets them from
config.yaml (`limits:`), the readers (record.read_log) read them, neither imports the other."""

from __future__ import annotations

# A follow-up log is a few KB; a long-running case with hundreds of events stays well under 1 MB.
# Anything bigger is not a log someone typed (a sparse file, a runaway script), and reading it
# would take the memory of every command that walks the archive: refused unread.
DEFAULT_MAX_LOG_BYTES = 4 * 1024 * 1024

max_log_bytes = DEFAULT_MAX_LOG_BYTES


def set_max_log_bytes(limit: int) -> None:
    global max_log_bytes
    max_log_bytes = int(limit)
