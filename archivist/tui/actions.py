"""Old home of the TUI's action list, kept as a re-export: the list is `archivist.actions` now,
shared by the CLI, the TUI and the web app."""

from __future__ import annotations

from ..actions import ACTIONS as SPECS
from ..actions import LOG_CHOICES, NOTE, NOTE_REQUIRED, Field, perform, refusal
from ..actions import Action as ActionSpec

__all__ = ["LOG_CHOICES", "NOTE", "NOTE_REQUIRED", "SPECS", "ActionSpec", "Field", "perform", "refusal"]
