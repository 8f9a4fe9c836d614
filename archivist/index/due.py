"""The daily review (SPEC §5): overdue follow-ups, follow-ups due today, records stuck in a stage.

"Today" is the calendar day in the configured timezone; a stage is stuck when the record entered
it longer ago than `followup.stuck_days` allows for that stage (Record.stage_since at index time).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..dates import Clock
from ..dates import now as _now
from ..store import AREAS
from .search import CODE_ORDER, HIT_COLUMNS, _filters, hit, iso_of

SECTIONS = ("overdue", "today", "stuck")


def _queries(cfg: Config, staff: str | None, now: datetime) -> dict[str, tuple[str, list[Any]]]:
    """(WHERE … ORDER BY …, parameters) of each section: one query each, in the order shown."""
    local = now.astimezone(ZoneInfo(cfg.timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    now_ts, end_ts = int(now.timestamp()), int(midnight.timestamp())
    where, args = _filters(None, staff, None)
    active = "r.status IS NOT NULL AND r.status != 'archived'"
    limits = [(stage, now_ts - int(days) * 86400) for stage, days in cfg.followup.stuck_days.items()]
    stuck = " OR ".join("(r.status = ? AND r.stage_ts < ?)" for _ in limits) or "0"
    stuck_args: list[Any] = [x for pair in limits for x in pair]
    if limits:  # implied by the terms (the same rows): the part of records_stage to read, not all of it
        stuck = f"({stuck}) AND r.stage_ts < ?"
        stuck_args.append(max(cutoff for _stage, cutoff in limits))
    return {
        "overdue": (f"{active} AND r.next_ts < ?{where} ORDER BY r.next_ts, {CODE_ORDER}", [now_ts, *args]),
        "today": (
            f"{active} AND r.next_ts >= ? AND r.next_ts < ?{where} ORDER BY r.next_ts, {CODE_ORDER}",
            [now_ts, end_ts, *args],
        ),
        # one query over every stage's limit, in the order the lists were always sorted in
        "stuck": (f"({stuck}){where} ORDER BY r.stage_ts, {CODE_ORDER}", stuck_args + args),
    }


def due_counts(db: sqlite3.Connection, cfg: Config, staff: str | None = None, now: datetime | None = None) -> dict[str, int]:
    """How many entries each section has (the titles say it before the entries are streamed)."""
    now = now or _now(cfg.timezone)
    return {
        key: int(db.execute(f"SELECT count(*) FROM records r WHERE {sql.split(' ORDER BY ')[0]}", params).fetchone()[0])
        for key, (sql, params) in _queries(cfg, staff, now).items()
    }


def iter_due(
    db: sqlite3.Connection, cfg: Config, staff: str | None = None, now: datetime | None = None
) -> dict[str, Iterator[dict[str, Any]]]:
    """`due`, each section an iterator over its rows as SQLite hands them over, so a review of
    100,000 overdue records never sits in memory whole (iterate the sections in order)."""
    now = now or _now(cfg.timezone)
    now_ts = int(now.timestamp())
    queries = _queries(cfg, staff, now)
    limits = {stage: int(days) for stage, days in cfg.followup.stuck_days.items()}

    def rows(key: str) -> Iterator[dict[str, Any]]:
        sql, params = queries[key]
        for r in db.execute(f"SELECT {HIT_COLUMNS}, r.stage_ts FROM records r WHERE {sql}", params):
            entry = hit(cfg, r)
            if key == "stuck":
                entry.update(
                    {
                        "stage_since": iso_of(cfg, r["stage_ts"]),
                        "days": (now_ts - r["stage_ts"]) // 86400,
                        "limit": limits[r["status"]],
                    }
                )
            yield entry

    return {key: rows(key) for key in SECTIONS}


def iter_due_brief(
    db: sqlite3.Connection, cfg: Config, staff: str | None = None, now: datetime | None = None
) -> dict[str, Iterator[tuple[Any, ...]]]:
    """`iter_due` as (lead, case, staff, status, company, next_ts, days, limit) tuples, what the
    text review prints (days and limit None outside "stuck"): same rows, same order."""
    now = now or _now(cfg.timezone)
    now_ts = int(now.timestamp())
    queries = _queries(cfg, staff, now)
    limits = {stage: int(days) for stage, days in cfg.followup.stuck_days.items()}

    def rows(key: str) -> Iterator[tuple[Any, ...]]:
        sql, params = queries[key]
        cur = db.execute(
            f'SELECT r.lead, r."case", r.staff, r.status, r.company, r.next_ts, r.stage_ts FROM records r WHERE {sql}', params
        )
        if key != "stuck":
            for lead, case, staff_, status, company, next_ts, _stage in cur:
                yield lead, case, staff_, status, company, next_ts, None, None
            return
        for lead, case, staff_, status, company, next_ts, stage_ts in cur:
            yield lead, case, staff_, status, company, next_ts, (now_ts - stage_ts) // 86400, limits[status]

    return {key: rows(key) for key in SECTIONS}


def iter_due_json(
    db: sqlite3.Connection, cfg: Config, staff: str | None = None, now: datetime | None = None, indent: str = "    "
) -> dict[str, Iterator[str]]:
    """`iter_due` with each entry as the text `json.dumps(entry, ensure_ascii=False, indent=2)`
    gives it nested `indent` deep (what `due --json` prints), made straight from the row: no dict
    per entry, dates through one `Clock`. tests/test_reports.py compares it with json.dumps of
    `due()` byte for byte."""
    now = now or _now(cfg.timezone)
    now_ts = int(now.timestamp())
    queries = _queries(cfg, staff, now)
    limits = {stage: int(days) for stage, days in cfg.followup.stuck_days.items()}
    iso = Clock("jalali", cfg.timezone).iso

    def date(ts: int) -> str:
        return f'"{iso(ts)}"'  # digits, dashes, colons and a sign: nothing to escape

    root, areas = str(cfg.root), AREAS
    string = json.encoder.encode_basestring  # type: ignore[attr-defined]  # json's own C encoder
    at = ",\n" + indent + '  "'

    def rows(key: str) -> Iterator[str]:
        sql, params = queries[key]
        cur = db.execute(
            f'SELECT r.lead, r."case", r.company, r.staff, r.status, r.next_ts, r.area, r.folder, r.stale, r.stage_ts '
            f"FROM records r WHERE {sql}",
            params,
        )
        # the text columns hold str or NULL (TEXT affinity), each encoded by json's own C encoder
        for lead, case, company, staff_, status, next_ts, area, folder, stale, stage_ts in cur:
            path = f"{root}/{areas[area]}/{folder}"  # search.rel_path's
            entry = (
                f'{{\n{indent}  "lead": {"null" if lead is None else string(lead)}'
                f'{at}case": {"null" if case is None else string(case)}'
                f'{at}company": {"null" if company is None else string(company)}'
                f'{at}staff": {"null" if staff_ is None else string(staff_)}'
                f'{at}status": {"null" if status is None else string(status)}'
                f'{at}next_followup": {"null" if next_ts is None else date(next_ts)}'
                f'{at}path": {string(path)}{at}stale": {"true" if stale else "false"}'
            )  # untranslated: JSON keys
            if key == "stuck":  # stage_ts is never NULL here (stage_ts < ?)
                days = (now_ts - stage_ts) // 86400
                entry += (
                    f'{at}stage_since": {date(stage_ts)}{at}days": {days}{at}limit": {limits[status]}'  # untranslated: JSON keys
                )
            yield entry + "\n" + indent + "}"

    return {key: rows(key) for key in SECTIONS}


def due(
    db: sqlite3.Connection, cfg: Config, staff: str | None = None, now: datetime | None = None
) -> dict[str, list[dict[str, Any]]]:
    return {key: list(rows) for key, rows in iter_due(db, cfg, staff, now).items()}


def first_calls_passed(db: sqlite3.Connection, cfg: Config, since_ts: int, until_ts: int) -> list[dict[str, Any]]:
    """Applicants still `new` (never called) whose first-call time fell in [since, until)."""
    rows = db.execute(
        f"SELECT {HIT_COLUMNS} FROM records r WHERE r.status = 'new' AND r.next_ts >= ? AND r.next_ts < ? "
        f"ORDER BY r.next_ts, {CODE_ORDER}",
        [since_ts, until_ts],
    ).fetchall()
    return [hit(cfg, r) for r in rows]


def most_urgent(db: sqlite3.Connection, cfg: Config, staff: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """A staff member's records that are not archived, the earliest follow-up first and those with
    none last (the web app's page when nothing is typed yet)."""
    where, args = _filters(None, staff, False)
    cur = db.execute(
        f"SELECT {HIT_COLUMNS} FROM records r WHERE r.status IS NOT NULL{where} "
        f"ORDER BY r.next_ts IS NULL, r.next_ts, {CODE_ORDER} LIMIT ?",
        [*args, limit],
    )
    return [hit(cfg, row) for row in cur]
