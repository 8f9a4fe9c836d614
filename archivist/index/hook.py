"""Keep an existing index fresh when the CLI or TUI changes a record and no daemon is running.

`install()` registers a `workflow.on_change` listener (idempotent). The listener only refreshes an
index that already exists, never builds one, and never lets an index problem fail the action
that triggered it: the folders are the truth, and the next reconcile or reindex catches up.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from .. import allocation, workflow
from ..config import Config
from ..errors import ArchivistError
from . import lookup

_open: dict[Path, object] = {}
BUSY_WAIT = 0.2
_lock = threading.Lock()


def _index_for(cfg: Config):  # type: ignore[no-untyped-def]
    from . import open_index

    path = cfg.index_file
    idx = _open.get(path)
    if idx is None:
        idx = open_index(cfg, build_if_missing=False)
        # never hold up the action: if another process is writing the index, skip this refresh
        # (the daemon's watcher or the next read command's reconcile catches up)
        idx.db.execute(f"PRAGMA busy_timeout = {int(BUSY_WAIT * 1000)}")
        _open[path] = idx
    return idx


def refresh_on_change(cfg: Config, folder: Path, old_folder: Path | None) -> None:
    """The workflow listener: re-read `folder`, forget `old_folder` after a move."""
    if not cfg.index_file.exists():
        return
    with _lock:
        try:
            idx = _index_for(cfg)
            gone = [old_folder] if old_folder is not None and old_folder != folder else []
            idx.update(refresh=[folder], remove=gone)  # after a move: one transaction, not two
        except (sqlite3.Error, OSError, ArchivistError):
            stale = _open.pop(cfg.index_file, None)
            if stale is not None:
                try:
                    stale.close()  # type: ignore[attr-defined]
                except sqlite3.Error:
                    pass


def install() -> None:
    """Register the listener once (idempotent; again if someone unregistered it, as the daemon
    does in its own process), and the index's look-up by code. The CLI calls it for every command
    line it parses; the TUI and the web app too."""
    workflow.off_change(refresh_on_change)
    workflow.on_change(refresh_on_change)
    workflow.use_locator(lookup.locate)
    allocation.use_live_high(lookup.live_high_lead)


def close_all() -> None:
    with _lock:
        for idx in _open.values():
            try:
                idx.close()  # type: ignore[attr-defined]
            except sqlite3.Error:
                pass
        _open.clear()
