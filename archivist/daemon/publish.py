"""The daemon's side of status: publishing its live counters for `archivist status`."""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import os
import queue
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..config import Config
from ..liveness import state_path
from ..modes import open_new
from .feeder import IndexFeeder
from .guard import Supervisor
from .settle import Settler
from .state import DaemonState
from .watcher import Debouncer

log = logging.getLogger("archivist.daemon")


class StatusPublisher:
    """Writes the live counters `archivist status` reads (daemon-state.json), atomically.

    A part of `Daemon` (see service.py); the attributes below are the daemon's.
    """

    cfg: Config
    state: DaemonState
    feeder: IndexFeeder
    settler: Settler
    debouncer: Debouncer
    inbox_q: queue.SimpleQueue[tuple[Path, bool, bool]]
    backlog: OrderedDict[str, None]
    walk: Iterator[Path] | None
    walk_checked: int
    started: float
    last_reconcile: str | None
    observer_desc: str
    once: bool
    counts_dirty: bool
    counts: tuple[int, int]
    supervisor: Supervisor

    def _publish(self, force: bool = False) -> None:
        if self.counts_dirty:
            self.counts = self.state.counts()
            self.counts_dirty = False
        data = {
            "pid": os.getpid(),
            "started": datetime.fromtimestamp(self.started, ZoneInfo(self.cfg.timezone)).isoformat(timespec="seconds"),
            "started_ts": self.started,
            "last_reconcile": self.last_reconcile,
            "index_reconcile": self.feeder.last_reconcile,
            "reconcile_checked": self.walk_checked if self.walk is not None else None,
            "pending_events": len(self.debouncer)
            + len(self.settler)
            + len(self.backlog)
            + int(self.walk is not None)
            + self.inbox_q.qsize()
            + (self.feeder.pending() if self.feeder.state == "ok" else 0),
            "violations": self.counts[0],
            "invalid_logs": self.counts[1],
            "index": self.feeder.state,
            "index_error": self.feeder.last_error,
            "observer": self.observer_desc,
            "once": self.once,
            "fatal": self.supervisor.fatal,  # why it stopped, when a thread kept failing
        }
        path = state_path(self.cfg)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()  # a leftover keeps its old mode; the new one is made 0600 (modes)
            with open(open_new(tmp, os.O_WRONLY), "w", encoding="utf-8") as f:
                f.write(json.dumps(data, ensure_ascii=False))
            os.replace(tmp, path)
        except OSError as e:
            log.warning("cannot write %s: %s", path, e)
