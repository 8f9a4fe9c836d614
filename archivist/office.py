"""The office's status, one function for everyone: `archivist status`, the TUI's My day, the web's
My day and the daemon's daily review all show what `office_status` returns.

Counts that only a live daemon knows (pending events) are None when it is down; records and
unfiled files are counted from disk, so they are right even without a daemon or an index. The
backup part never raises: a drive that cannot be read makes it "unknown", and says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .backup import advice, schedule_state
from .config import Config
from .i18n import _
from .inbox import unfiled
from .index.lookup import indexed_violations
from .liveness import read_state, running
from .store import iter_record_names, layout_of

Health = dict[str, tuple[str, str]]  # part → (one line of text, level: ok | warning | error)


def _backup_state(cfg: Config) -> dict[str, Any]:
    try:
        state = schedule_state(cfg)
    except Exception as e:  # noqa: BLE001 - a drive that cannot be read: status must still answer
        return {
            "last_backup": "unknown",
            "next_backup": "unknown",
            "backup_overdue": "unknown",
            "backup_error": f"{type(e).__name__}: {e}",
        }
    return {
        "last_backup": state.get("last_ok"),
        "next_backup": state.get("next_due"),
        "backup_overdue": bool(state.get("overdue")),
        "backup_target_ready": state.get("target_ready"),
        "backup_state": state,
    }


def office_status(cfg: Config) -> dict[str, Any]:
    """What `archivist status --json` prints: is the daemon up, what it knows, the backup, the inbox."""
    pid = running(cfg)
    state = read_state(cfg) if pid else {}
    if pid and state.get("pid") != pid:
        state = {}  # a previous run's file: do not show its counters as live
    started = state.get("started")
    records = sum(1 for _ in iter_record_names(layout_of(cfg)))  # names only: a Path per folder cost 0.4 s at 100,000
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
        # why the last daemon stopped on its own: a thread that kept failing (daemon/guard.py)
        "stopped": None if pid else last.get("fatal"),
        "unfiled": len(left),
        "unfiled_files": [p.name for p in left],
    }
    out.update(_backup_state(cfg))
    return out


def office_health(cfg: Config, violations: Callable[[], list[dict[str, Any]] | None] | None = None) -> dict[str, Any]:
    """`office_status` plus the naming violations the index holds, for the web's and the TUI's My
    day and `archivist status`: `violation_list` (None when there is no usable index) and, when
    the index could not be read, `violations_error` (the rest still answers). `violations` is the
    caller's own index reader if it keeps one open (the web app, the TUI); else the process's."""
    status = office_status(cfg)
    try:
        status["violation_list"] = violations() if violations is not None else indexed_violations(cfg)
    except Exception as e:  # noqa: BLE001 - an index problem must not take the status down
        status["violation_list"] = None
        status["violations_error"] = f"{type(e).__name__}: {e}"
    return status


def unfiled_paths(cfg: Config, status: dict[str, Any]) -> list[Path]:
    """The unfiled inbox files of a status, as paths."""
    inbox = layout_of(cfg).inbox
    return [inbox / name for name in status.get("unfiled_files") or []]


def health(cfg: Config, status: dict[str, Any]) -> Health:
    """The status as the lines My day and the daily review show: daemon, backup, inbox — in the
    reader's language; the backup line is `backup.advice` (what is true and the one fixing command)."""
    out: Health = {}
    if status["running"]:
        out["daemon"] = (_("daemon running (pid {pid})").format(pid=status["pid"]), "ok")
    elif status.get("stopped"):
        out["daemon"] = (status["stopped"] + "; " + _("start it again with `archivist start`"), "error")
    else:
        out["daemon"] = (_("daemon NOT running: files are not filed or checked; start it with `archivist start`"), "error")
    if status.get("backup_error"):
        out["backup"] = (_("backup: cannot tell ({error})").format(error=status["backup_error"]), "warning")
    else:
        out["backup"] = advice(cfg, status.get("backup_state") or {})
    n = status.get("unfiled") or 0
    out["unfiled"] = (_("unfiled inbox files: {n}").format(n=n), "warning" if n else "ok")
    return out
