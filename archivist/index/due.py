"""The daily review (SPEC §5): overdue follow-ups, follow-ups due today, records stuck in a stage.

"Today" is the calendar day in the configured timezone; a stage is stuck when the record entered
it longer ago than `followup.stuck_days` allows for that stage (Record.stage_since at index time).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..dates import now as _now
from .search import CODE_ORDER, HIT_COLUMNS, _code_order, _filters, hit, iso_of


def due(db: sqlite3.Connection, cfg: Config, staff: str | None = None,
        now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    now = now or _now(cfg.timezone)
    local = now.astimezone(ZoneInfo(cfg.timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    now_ts, end_ts = int(now.timestamp()), int(midnight.timestamp())
    where, args = _filters(None, staff, None)
    active = "r.status IS NOT NULL AND r.status != 'archived'"

    def select(cond: str, params: list[Any]) -> list[sqlite3.Row]:
        return db.execute(
            f"SELECT {HIT_COLUMNS}, r.stage_ts FROM records r WHERE {active} AND {cond}{where} "
            f"ORDER BY r.next_ts, {CODE_ORDER}", [*params, *args]).fetchall()

    overdue = [hit(cfg, r) for r in select("r.next_ts < ?", [now_ts])]
    today = [hit(cfg, r) for r in select("r.next_ts >= ? AND r.next_ts < ?", [now_ts, end_ts])]
    stuck: list[tuple[int, str, str, dict[str, Any]]] = []
    for stage, days in cfg.followup.stuck_days.items():
        cur = db.execute(
            f"SELECT {HIT_COLUMNS}, r.stage_ts FROM records r WHERE r.status = ? AND r.stage_ts < ?{where}",
            [stage, now_ts - int(days) * 86400, *args])
        for r in cur:
            entry = hit(cfg, r)
            entry.update({"stage_since": iso_of(cfg, r["stage_ts"]), "days": (now_ts - r["stage_ts"]) // 86400,
                          "limit": int(days)})
            stuck.append((r["stage_ts"], _code_order(r), entry))
    stuck.sort(key=lambda t: t[:2])
    return {"overdue": overdue, "today": today, "stuck": [t[2] for t in stuck]}


def first_calls_passed(db: sqlite3.Connection, cfg: Config, since_ts: int, until_ts: int) -> list[dict[str, Any]]:
    """Applicants still `new` (never called) whose first-call time fell in [since, until)."""
    rows = db.execute(
        f"SELECT {HIT_COLUMNS} FROM records r WHERE r.status = 'new' AND r.next_ts >= ? AND r.next_ts < ? "
        f"ORDER BY r.next_ts, {CODE_ORDER}", [since_ts, until_ts]).fetchall()
    return [hit(cfg, r) for r in rows]


def most_urgent(db: sqlite3.Connection, cfg: Config, staff: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """A staff member's records that are not archived, the earliest follow-up first and those with
    none last (the web app's page when nothing is typed yet)."""
    where, args = _filters(None, staff, False)
    cur = db.execute(
        f"SELECT {HIT_COLUMNS} FROM records r WHERE r.status IS NOT NULL{where} "
        f"ORDER BY r.next_ts IS NULL, r.next_ts, {CODE_ORDER} LIMIT ?", [*args, limit])
    return [hit(cfg, row) for row in cur]
