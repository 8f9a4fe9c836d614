"""The daemon (issue 5): keeps the index live, enforces naming, files the inbox, runs schedules.

This module is what other parts call without starting anything heavy: `running` (is a daemon up
for this root, and its pid), `spawn` (start one detached, used by `archivist start`) and `status`
(what `archivist status --json` prints). The daemon itself lives in `service.py`; watchdog and
the index are imported only there, so `status` stays cheap and works with no index at all.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..config import Config
from ..store import iter_record_folders, layout_of


def lock_path(cfg: Config) -> Path:
    """The file a live daemon holds an exclusive flock on; it also holds the daemon's pid."""
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

    Liveness is the flock, not the pid: the kernel drops the lock when the process dies (even by
    kill -9), so a stale pid file never makes a dead daemon look alive.
    """
    path = lock_path(cfg)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return _read_pid(path) or -1
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def daemon_command(cfg: Config) -> list[str]:
    """The command line that runs the daemon for this config and root."""
    cmd = [sys.executable, "-m", "archivist"]
    if cfg.path:
        cmd += ["--config", str(cfg.path)]
    return [*cmd, "--root", str(cfg.root), "daemon"]


def spawn(cfg: Config, wait: float = 10.0) -> int:
    """Start a detached daemon for the root unless one runs; returns its pid.

    The child gets its own session so closing the terminal (or the TUI) does not stop it; its
    output goes to `.archivist/daemon.log` through its own logging, so stdout/stderr are dropped.
    """
    pid = running(cfg)
    if pid:
        return pid
    layout_of(cfg).state.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        daemon_command(cfg), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        pid = running(cfg)
        if pid:
            return pid
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    from ..errors import ArchivistError

    raise ArchivistError(f"the daemon did not start; see {log_path(cfg)} or run `archivist daemon` to see why")


def read_state(cfg: Config) -> dict[str, Any]:
    try:
        return json.loads(state_path(cfg).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def _backup_state(cfg: Config) -> dict[str, Any]:
    """From the backup module when it exists (it is optional for the daemon); "unknown" otherwise."""
    try:
        from .. import backup  # type: ignore[attr-defined]

        state = backup.schedule_state(cfg)
    except Exception:  # missing module, or a drive that cannot be read: status must still answer
        return {"last_backup": "unknown", "next_backup": "unknown", "backup_overdue": "unknown"}
    return {"last_backup": state.get("last_ok"), "next_backup": state.get("next_due"),
            "backup_overdue": bool(state.get("overdue")), "backup_target_ready": state.get("target_ready")}


def status(cfg: Config) -> dict[str, Any]:
    """What `archivist status --json` prints: is the daemon up, and what it knows.

    Counts that only a live daemon knows (pending events) are None when it is down; records and
    unfiled files are counted from disk, so they are right even without a daemon or an index.
    """
    from .inbox import unfiled

    pid = running(cfg)
    state = read_state(cfg) if pid else {}
    if pid and state.get("pid") != pid:
        state = {}  # a previous run's file: do not show its counters as live
    started = state.get("started")
    records = sum(1 for _ in iter_record_folders(layout_of(cfg)))
    left = unfiled(cfg)
    last = read_state(cfg)  # last reconcile and violations survive a stop: they describe the tree
    out: dict[str, Any] = {
        "root": str(cfg.root),
        "running": bool(pid),
        "pid": pid,
        "started": started,
        "uptime_seconds": round(time.time() - state["started_ts"]) if pid and "started_ts" in state else None,
        "records": records,
        "last_reconcile": last.get("last_reconcile"),
        "pending_events": state.get("pending_events") if pid else None,
        "violations": last.get("violations"),
        "invalid_logs": last.get("invalid_logs"),
        "index": state.get("index", "unknown") if pid else "unknown",
        "observer": state.get("observer") if pid else None,
        "unfiled": len(left),
        "unfiled_files": [p.name for p in left],
    }
    out.update(_backup_state(cfg))
    return out
