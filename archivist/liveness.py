"""Is a daemon running for this root, and where its files are: a leaf every layer may ask.

Liveness is a record lock the kernel drops when the process dies (even by kill -9), so a stale pid file
never makes a dead daemon look alive. Kept out of `daemon/` so that the index and the front-ends
can ask without importing the daemon package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

from .config import Config
from .locking import try_lock, unlock
from .store import layout_of


def lock_path(cfg: Config) -> Path:
    """The file a live daemon holds an exclusive record lock on; it also holds the daemon's pid."""
    return layout_of(cfg).state / "daemon.pid"


def state_path(cfg: Config) -> Path:
    """Where the daemon publishes its live counters (pending events, last reconcile, …)."""
    return layout_of(cfg).state / "daemon-state.json"


def log_path(cfg: Config) -> Path:
    return layout_of(cfg).state / "daemon.log"


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def running(cfg: Config) -> int | None:
    """The pid of the live daemon for this root, or None.

    Liveness is the lock, not the pid: the kernel drops the lock when the process dies (even by
    kill -9), so a stale pid file never makes a dead daemon look alive.
    """
    path = lock_path(cfg)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if not try_lock(fd, exclusive=False):
            return _read_pid(path) or -1
        unlock(fd)
        return None
    finally:
        os.close(fd)


def read_state(cfg: Config) -> dict[str, Any]:
    """What the daemon last published (its live counters); {} when it never ran or the file is torn."""
    try:
        return cast(dict[str, Any], json.loads(state_path(cfg).read_text(encoding="utf-8")))
    except (FileNotFoundError, ValueError):
        return {}
