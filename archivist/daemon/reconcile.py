"""Reconcile: find folders that changed while nobody watched, and feed them to the worker in slices."""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

from .. import intents, store
from ..config import Config
from ..inbox import inbox_entries
from ..record import Record
from .feeder import IndexFeeder
from .folder import _folder_stats
from .process import _stamp, _trim_heap
from .settle import Settler
from .state import DaemonState
from .watcher import Debouncer

log = logging.getLogger("archivist.daemon")


class Reconciler:
    """The background stat-compare of the tree with what the daemon last saw, a slice at a time.

    A part of `Daemon` (see service.py); the attributes below are the daemon's.
    """

    cfg: Config
    layout: store.Layout
    state: DaemonState
    feeder: IndexFeeder
    settler: Settler
    debouncer: Debouncer
    stop_event: threading.Event
    backlog: OrderedDict[str, None]
    walk: Iterator[Path] | None
    walk_checked: int
    last_reconcile: str | None

    def _safe_process(self, folder: Path, live: bool = True, known: Record | None = None) -> None:  # provided by FolderSteps
        raise NotImplementedError

    def _drain_backlog(self) -> None:
        while self._backlog_pending() and not self.stop_event.is_set():
            self._backlog_slice(lambda: True, limit=500)

    def _backlog_slice(self, more: Callable[[], bool], limit: int | None = None) -> None:
        """Look at up to `limit` queued folders while `more()` allows, in one state transaction: one
        commit per slice, not per folder, is what keeps a first start over 100,000 folders to minutes."""
        self.state.begin()
        done = 0
        try:
            while more() and (limit is None or done < limit) and not self.stop_event.is_set():
                done += 1
                folder = self._next_backlog()
                if folder is None:
                    break
                self._safe_process(folder, live=False)
        finally:
            self.state.commit()

    def reconcile(self, reason: str) -> None:
        """Start a stat-compare of the tree with what the daemon last saw.

        The walk is lazy: the worker pulls folders from it a slice at a time and looks only at
        those whose (dir mtime, log mtime, log size) changed, so a 100,000-folder tree never sits
        in memory as a list and live events are served between slices. Inbox files are picked up
        at once; the index runs its own reconcile in its thread.
        """
        for msg in intents.finish_all(self.cfg):  # work a killed run left half done
            log.info("%s", msg)
        self.walk = self._walk(reason)
        self.walk_checked = 0
        for p in inbox_entries(self.cfg):
            self.settler.touch(p)
        if self.feeder.opened:  # a freshly opened index is reconciled by the feeder anyway
            self.feeder.reconcile()
        self.last_reconcile = _stamp(self.cfg)

    def _walk(self, reason: str) -> Iterator[Path]:
        t0 = time.monotonic()
        changed = 0
        for _area, folder in store.iter_record_folders(self.layout):
            self.walk_checked += 1
            if self.state.folder_stat(folder) != _folder_stats(folder):
                changed += 1
                yield folder
        gone = 0
        for path in self.state.folder_paths():  # folders seen before that are no longer there
            if not os.path.isdir(path):
                gone += 1
                yield Path(path)
        log.info(
            "reconcile (%s): %d folders, %d changed, %d gone, %.1f s",
            reason,
            self.walk_checked,
            changed,
            gone,
            time.monotonic() - t0,
        )
        _trim_heap()

    def _next_backlog(self) -> Path | None:
        """The next folder to look at in the background: explicit requests, then the walk."""
        if self.backlog:
            return Path(self.backlog.popitem(last=False)[0])
        if self.walk is not None:
            folder = next(self.walk, None)
            if folder is not None:
                return folder
            self.walk = None
        return None

    def _backlog_pending(self) -> bool:
        return bool(self.backlog) or self.walk is not None
