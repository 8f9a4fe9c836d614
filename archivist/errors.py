"""Errors a user can act on.

Every class here carries a message that says what to do; the CLI prints it on one line and exits
1, the TUI shows it in a notification. Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path

from .i18n import _


class ArchivistError(Exception):
    """Base for errors the user can fix. `field` names the form field it is about (company,
    mobile…), so a screen can mark that field without reading the words, which are translated."""

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        self.field = field


class ConfigError(ArchivistError):
    """config.yaml is missing, unreadable or holds a wrong key or value."""


class InvalidLogError(ArchivistError):
    """A follow-up log that cannot be parsed or fails validation; it is never rewritten."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(
            _("{where}: {reason} (fix the file by hand; archivist will not overwrite it)").format(where=where, reason=reason)
        )


class RecordNotFound(ArchivistError):
    """No record folder holds the code the user typed."""


class TransitionError(ArchivistError):
    """The action is not allowed in the record's current stage."""


class CodeExhausted(ArchivistError):
    """A number range (e.g. the 999 case codes of one service type) is used up."""


class NameClash(ArchivistError):
    """A move or rename would land on a name that already exists."""


class DuplicateNumber(ArchivistError):
    """A contract or invoice number that is already in use."""


class StaleLog(ArchivistError):
    """A log changed on disk between reading and writing it (a hand edit raced an action); the
    writer redoes its change on the fresh file instead of overwriting the edit."""


class OutsideRoot(ArchivistError):
    """A write or move would leave the archive root (through a symbolic link or a `..`)."""


class NetworkFilesystem(ArchivistError):
    """A write refused because the archive is seen through a network filesystem (one host owns it)."""
