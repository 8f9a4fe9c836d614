"""The daily review (SPEC §5): overdue follow-ups, follow-ups due today, records stuck in a stage.

"Today" is the calendar day in the configured timezone; a stage is stuck when the record entered
it longer ago than `followup.stuck_days` allows for that stage (Record.stage_since at index time).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..dates import HOUR_MINUTE, Clock
from ..dates import now as _now
from ..store import AREAS
from . import review
from .localtime import local_seconds, offset_spans
from .search import CODE_ORDER, HIT_COLUMNS, _filters, hit, iso_of

SECTIONS = ("overdue", "today", "stuck")


def _stuck_terms(cfg: Config, now_ts: int) -> tuple[str, list[Any], int | None]:
    """SQL true of a record stuck in its stage, its parameters, and the latest cutoff (None: no
    stage has a limit)."""
    limits = [(stage, now_ts - int(days) * 86400) for stage, days in cfg.followup.stuck_days.items()]
    terms = " OR ".join("(r.status = ? AND r.stage_ts < ?)" for _ in limits) or "0"
    return terms, [x for pair in limits for x in pair], max((cutoff for _stage, cutoff in limits), default=None)


def _queries(cfg: Config, staff: str | None, now: datetime) -> dict[str, tuple[str, list[Any]]]:
    """(WHERE … ORDER BY …, parameters) of each section: one query each, in the order shown."""
    local = now.astimezone(ZoneInfo(cfg.timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    now_ts, end_ts = int(now.timestamp()), int(midnight.timestamp())
    where, args = _filters(None, staff, None)
    stuck, stuck_args, latest = _stuck_terms(cfg, now_ts)
    if latest is not None:  # implied by the terms (the same rows): the part of records_stage to read, not all of it
        stuck = f"({stuck}) AND r.stage_ts < ?"
        stuck_args.append(latest)
    return {
        "overdue": (f"{ACTIVE} AND r.next_ts < ?{where} ORDER BY r.next_ts, {CODE_ORDER}", [now_ts, *args]),
        "today": (
            f"{ACTIVE} AND r.next_ts >= ? AND r.next_ts < ?{where} ORDER BY r.next_ts, {CODE_ORDER}",
            [now_ts, end_ts, *args],
        ),
        # one query over every stage's limit, in the order the lists were always sorted in
        "stuck": (f"({stuck}){where} ORDER BY r.stage_ts, {CODE_ORDER}", stuck_args + args),
    }


ACTIVE = "r.status IS NOT NULL AND r.status != 'archived'"


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


STUCK_WHY = "{status} for {days} days (limit {limit})"  # untranslated: the CLI passes its translation
DATED_SPAN_DAYS = 3660  # follow-ups older than ten years go through the zone database, line by line
Section = tuple[int, list[bytes]]  # (how many lines, the lines as UTF-8 bytes)


def review_text(
    db: sqlite3.Connection, cfg: Config, staff: str | None = None, now: datetime | None = None, why: str = STUCK_WHY
) -> dict[str, Section]:
    """`due` as the CLI prints it: each section's count and its lines (review.py's format, `why`
    for a stuck record's middle), terminal-safe UTF-8 as SQLite put them together.

    Why SQLite builds the lines: at 100,000 records the review is 125,000 lines, and a Python
    step per line costs what the whole command may take (0.3 s). The record's parts of each line
    are stored (records.due_head/due_tail); a follow-up's date is cut from a string of every day's
    text by its local day and minute (integer arithmetic over the runs of days the zone's offset
    holds, localtime.py); a stuck record's middle depends only on its stage and how many whole
    days it has been stuck, so the stuck section is read one day at a time with each stage's
    middle as a parameter. A section with a date the arithmetic does not cover (a day the clocks
    change, a follow-up older than DATED_SPAN_DAYS) is formatted in Python instead, as before.

    The lines are joined by group_concat in the order SQLite reads the rows, which is the order
    of the index each query is made to read (INDEXED BY): records_next and records_stage hold the
    section's order (the date, then CODE_ORDER), and an aggregate of one table reads its index
    range first to last. A sub-query with ORDER BY would say so in SQL but costs 0.35 µs a row;
    tests/test_reports.py compares every line with the Python formatting of `due()`."""
    now = now or _now(cfg.timezone)
    queries = _queries(cfg, staff, now)
    dates = _DayTexts(db, Clock(cfg.calendar, cfg.timezone), queries["today"][1][1])
    out = {key: _dated(db, dates, *queries[key]) for key in ("overdue", "today")}
    out["stuck"] = _stuck(db, cfg, staff, int(now.timestamp()), why)
    return out


def _batches(lines: Iterator[str], size: int = 2000) -> list[bytes]:
    out: list[bytes] = []
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            out.append("".join(chunk).encode())
            chunk.clear()
    if chunk:
        out.append("".join(chunk).encode())
    return out


class _DayTexts:
    """The SQL that makes a dated line inside SQLite: r.due_head, the shown date and time of
    r.next_ts padded to review.WIDTH, r.due_tail; for follow-ups from the oldest active one to
    `end` (the end of today). `outside`: SQL true of a next_ts the arithmetic does not cover."""

    def __init__(self, db: sqlite3.Connection, clock: Clock, end: int) -> None:
        self.clock = clock
        self.sql, self.params, self.outside = "", [b"", b""], ""
        oldest = db.execute(
            f"SELECT r.next_ts FROM records r INDEXED BY records_next WHERE {ACTIVE} AND r.next_ts < ? ORDER BY r.next_ts LIMIT 1",
            [end],
        ).fetchone()
        if oldest is None:
            return
        spans = offset_spans(clock, max(oldest[0], end - DATED_SPAN_DAYS * 86400), end)
        if not spans:
            return
        offsets = [off for _lo, _hi, off in spans]
        first, last = (spans[0][0] + min(offsets)) // 86400, (spans[-1][1] + max(offsets)) // 86400
        texts = [clock.day_text(n) for n in range(first, last + 1)]
        width = len(texts[0])
        sample = texts[0] + HOUR_MINUTE[0]
        pad = review.middle(sample)[len(sample) :]
        if any(len(t) != width or not t.isascii() for t in texts) or not pad.isascii():
            return  # a day's text that is not one fixed width cannot be cut by position
        minute = f"({local_seconds('r.next_ts', spans)} / 60)"  # the local minute, since 1970-01-01 local
        step = len(HOUR_MINUTE[0] + pad)
        self.sql = (
            f"r.due_head || substr(?1, ({minute} / 1440 - {first}) * {width} + 1, {width}) "
            f"|| substr(?2, ({minute} % 1440) * {step} + 1, {step}) || r.due_tail"
        )  # untranslated: SQL
        self.params = ["".join(texts).encode(), "".join(hm + pad for hm in HOUR_MINUTE).encode()]
        gaps = [f"(r.next_ts >= {a[1]} AND r.next_ts < {b[0]})" for a, b in pairwise(spans)]
        self.outside = " OR ".join([f"r.next_ts < {spans[0][0]}", f"r.next_ts >= {spans[-1][1]}", *gaps])  # untranslated: SQL

    def line(self, head: str, next_ts: int, tail: str) -> str:
        return head + review.middle(self.clock.shown(next_ts)) + tail


def _dated(db: sqlite3.Connection, dates: _DayTexts, sql: str, params: list[Any]) -> Section:
    where = sql.split(" ORDER BY ")[0]
    table = "records r INDEXED BY records_next"  # untranslated: SQL (the section's order: see review_text)
    if (
        dates.sql
        and not db.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {where} AND ({dates.outside}))", params).fetchone()[0]
    ):
        count, text = db.execute(
            f"SELECT count(*), CAST(group_concat({dates.sql}, '') AS BLOB) FROM {table} WHERE {where}", [*dates.params, *params]
        ).fetchone()
        return count, [text] if text else []
    rows = db.execute(f"SELECT r.due_head, r.next_ts, r.due_tail FROM records r WHERE {sql}", params).fetchall()
    return len(rows), _batches(dates.line(head, next_ts, tail) for head, next_ts, tail in rows)


def _stuck(db: sqlite3.Connection, cfg: Config, staff: str | None, now_ts: int, why: str) -> Section:
    """The stuck section, one day of stuck-ness at a time (oldest first, the section's order): in
    a day every record of one stage has the same middle, a parameter of the query."""
    limits = {stage: int(days) for stage, days in cfg.followup.stuck_days.items()}
    terms, args, latest = _stuck_terms(cfg, now_ts)
    if latest is None:
        return 0, []
    where, staff_args = _filters(None, staff, None)
    table = "records r INDEXED BY records_stage"  # untranslated: SQL (the section's order: see review_text)
    after = (
        f"SELECT r.stage_ts FROM {table} WHERE r.stage_ts > ? AND r.stage_ts < ? AND ({terms}){where} ORDER BY r.stage_ts LIMIT 1"
    )
    total, chunks = 0, []
    first = db.execute(after, [-(2**62), latest, *args, *staff_args]).fetchone()
    days = (now_ts - first[0]) // 86400 if first else -1  # the oldest record's run first
    least = min(limits.values())  # stuck at all: more than its stage's limit, so at least the least limit
    while days >= least:
        low, high = now_ts - (days + 1) * 86400, now_ts - days * 86400  # stuck exactly `days` whole days
        # stuck `days` days: past the limit, or at it unless it entered the stage `days` days ago to the second
        past = [s for s in limits if limits[s] < days]
        at = [s for s in limits if limits[s] == days]
        stages = past + at
        case = " ".join("WHEN ? THEN ?" for _ in stages)  # untranslated: SQL
        marks = ", ".join("?" for _ in stages)
        exact = f" AND NOT (r.stage_ts = ? AND r.status IN ({', '.join('?' for _ in at)}))" if at else ""
        middles = [review.middle(why.format(status=s, days=days, limit=limits[s])) for s in stages]
        count, text = db.execute(
            f"SELECT count(*), CAST(group_concat(r.due_head || CASE r.status {case} END || r.due_tail, '') AS BLOB) "
            f"FROM {table} WHERE r.stage_ts > ? AND r.stage_ts <= ? AND r.status IN ({marks}){exact}{where}",
            [
                *(x for pair in zip(stages, middles, strict=True) for x in pair),
                low,
                high,
                *stages,
                *([high, *at] if at else []),
                *staff_args,
            ],
        ).fetchone()
        if count:
            total += count
            chunks.append(text)
            days -= 1
            continue
        following = db.execute(after, [high, latest, *args, *staff_args]).fetchone()  # skip days nobody is in
        days = (now_ts - following[0]) // 86400 if following else -1
    return total, chunks


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
