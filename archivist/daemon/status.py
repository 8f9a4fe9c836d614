"""What `archivist status --json` prints: is the daemon up, and what it knows (cheap: no watchdog, no index)."""

from __future__ import annotations

import json
import time
from typing import Any

from ..config import Config
from ..liveness import running, state_path
from ..store import iter_record_folders, layout_of


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
