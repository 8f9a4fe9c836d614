"""Old home of inbox filing, kept as a re-export: the rule lives in `archivist.inbox`."""

from __future__ import annotations

from ..inbox import (
    FILED_BY,
    CodeFinder,
    FilingResult,
    file_paths,
    in_progress_name,
    inbox_entries,
    target_folder,
    unfiled,
)

__all__ = [
    "FILED_BY",
    "CodeFinder",
    "FilingResult",
    "file_paths",
    "in_progress_name",
    "inbox_entries",
    "target_folder",
    "unfiled",
]
