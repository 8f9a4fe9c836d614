"""The daily review (SPEC §5): overdue follow-ups, follow-ups due today, records stuck in a stage.

"Today" is the calendar day in the configured timezone; a stage is stuck when the record entered
it longer ago than `followup.stuck_days` allows for that stage (Record.stage_since at index time).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..dates import HOUR_MINUTE, SECONDS, Clock
from ..dates import now as _now
from ..i18n import N_, _
from . import review, schema
from .localtime import local_seconds, offset_spans
from .search import CODE_ORDER, HIT_COLUMNS, _filters, hit, iso_of

SECTIONS = ("overdue", "today", "stuck")


def _stuck_terms(cfg: Config, now_ts: int) -> tuple[str, list[Any], int | None]:
    """SQL true of a record stuck in its stage, its parameters, and the latest cutoff (None: no
    stage has a limit)."""
    limits = [(stage, now_ts - int(days) * 86400) for stage, days in cfg.followup.stuck_days.items()]
    whens = " ".join("WHEN ? THEN ?" for _ in limits)  # untranslated: SQL
    terms = f"r.stage_ts < (CASE r.status {whens} END)" if limits else "0"
    return terms, [x for pair in limits for x in pair], max((cutoff for _stage, cutoff in limits), default=None)


def _end_of_today(cfg: Config, now: datetime) -> int:
    """The first second of tomorrow in the configured zone: where "due today" ends."""
    local = now.astimezone(ZoneInfo(cfg.timezone))
    return int((local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).timestamp())


def _queries(cfg: Config, staff: str | None, now: datetime) -> dict[str, tuple[str, list[Any]]]:
    """(WHERE … ORDER BY …, parameters) of each section: one query each, in the order shown."""
    now_ts, end_ts = int(now.timestamp()), _end_of_today(cfg, now)
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


STUCK_WHY = N_("{status} for {days} days (limit {limit})")  # a stuck record's middle column, per stage and day
DATED_SPAN_DAYS = 3660  # dates more than ten years away go through the zone database, entry by entry
CHUNK_ENTRIES = 5000  # a dated section is read a window of about this many follow-ups at a time (2 MB of JSON)
DATE_INDEX = {"r.next_ts": "records_next_ts", "r.stage_ts": "records_stage_ts"}  # the date alone (schema 16)
Chunk = tuple[int, bytes]  # (how many entries, their text joined by the output's separator)
Section = tuple[int, list[bytes]]  # (how many lines, the lines as UTF-8 bytes)


def review_text(db: sqlite3.Connection, cfg: Config, staff: str | None = None, now: datetime | None = None) -> dict[str, Section]:
    """`due` as the CLI prints it: each section's count and its lines (review.py's format,
    STUCK_WHY for a stuck record's middle), terminal-safe UTF-8 as SQLite put them together.

    Why SQLite builds the lines: at 100,000 records the review is 125,000 lines, and a Python
    step per line costs what the whole command may take (0.3 s). The record's parts of each line
    are stored (records.due_head/due_tail); a follow-up's date is cut from strings made once
    (`_Dates`); a stuck record's middle depends only on its stage and how many whole days it has
    been stuck, so the stuck section is read one day at a time with each stage's middle as a
    parameter (`_stuck`). Where the arithmetic does not reach (a day the clocks change, a date
    more than DATED_SPAN_DAYS away), that window's lines are made in Python instead.

    The lines are joined by group_concat in the order SQLite reads the rows, which is the order
    of the index each query is made to read (INDEXED BY): records_next and records_stage (and
    their _json twins for `due --json`) hold the section's order (the date, then CODE_ORDER),
    and an aggregate of one table reads its index range first to last. A sub-query with ORDER BY
    would say so in SQL but costs 0.35 µs a row; tests/test_reports.py compares every line with
    the Python formatting of `due()`."""
    now = now or _now(cfg.timezone)
    now_ts, end = int(now.timestamp()), _end_of_today(cfg, now)
    clock = Clock(cfg.calendar, cfg.timezone)
    dates = _Dates(clock, _oldest_followup(db, end), end, now_ts, iso=False)
    why = _(STUCK_WHY)

    def line(head: str, next_ts: int, tail: str) -> str:
        return head + review.middle(clock.shown(next_ts)) + tail

    sql = f"r.due_head || {dates.text('r.next_ts')} || r.due_tail"  # untranslated: SQL
    dated = _Form(sql, dates.params, "r.due_head, r.next_ts, r.due_tail", line, "", dates)

    def stuck(days: int, limits: dict[str, int]) -> _Form:
        middles = {s: review.middle(why.format(status=s, days=days, limit=limit)) for s, limit in limits.items()}
        by_stage, params = _by_stage(middles)
        return _Form(f"r.due_head || {by_stage} || r.due_tail", params)

    out = {key: _collect(chunks) for key, chunks in _dated(db, dated, staff, now_ts, end, "records_next").items()}
    out["stuck"] = _collect(_stuck(db, cfg, staff, now_ts, stuck, "records_stage"))
    return out


def review_json(
    db: sqlite3.Connection, cfg: Config, staff: str | None = None, now: datetime | None = None
) -> dict[str, Iterator[bytes]]:
    """`due --json`'s sections, each as chunks of its entries: each entry as json.dumps(indent=2)
    nests it in the mapping (review.JSON_INDENT deep), DEL and C1 escaped (terminal.json_safe),
    UTF-8; the entries of a chunk are joined by "," and a new line, and so are the chunks. Read
    the sections in order, in one thread: each is a few MB at a time, never the 48 MB whole.

    Built inside SQLite as `review_text` is (see there), but each section in one scan, a window at
    a time (`_windows`): the record's parts of an entry are stored (records.json_head/json_path,
    read from their own indexes, records_next_json/records_stage_json), its dates are stored or cut from
    strings made once, the root's part of the path and `stale` are parameters, and a stuck
    record's days are SQL arithmetic (a number, where `due` has a translated sentence). Where the
    arithmetic does not reach, that window's entries are made in Python from the same stored
    parts; tests/test_reports.py compares both with json.dumps of `due()`. The dates (and the
    root) are stored too when the index was built for this report's zone and root (schema 17:
    records.next_json/stage_json, see schema.json_stamp); otherwise `_made_dates` makes them. At
    100,000 records: about 0.26 s and 30 MB for 48 MB of JSON, against 1.0 s for an f-string per
    entry."""
    now = now or _now(cfg.timezone)
    now_ts, end = int(now.timestamp()), _end_of_today(cfg, now)
    clock = Clock(cfg.calendar, cfg.timezone)
    terms, args, latest = _stuck_terms(cfg, now_ts)
    where, staff_args = _filters(None, staff, None)
    stuck_where, stuck_args = f"({terms}){where}", [*args, *staff_args]
    key, close = review.JSON_KEY, "\n" + review.JSON_INDENT + "}"
    root = review.json_root(str(cfg.root))  # what every path starts with
    fixed: dict[str, Any]
    dates: _Dates | None
    if schema.json_for(db) == schema.json_stamp(cfg.timezone, cfg.root):  # the index holds this report's dates
        next_sql, maybe_next, stage_sql, fixed, dates, check = "r.next_json", "r.next_json", "r.stage_json", {}, None, None
    else:  # made here, and the root and the days' key put after them
        next_sql, maybe_next, stage_sql, fixed, dates, check = _made_dates(
            db, clock, now_ts, end, stuck_where, stuck_args, latest
        )
        fixed.update(root=root, days_key=review.JSON_DAYS)
    iso = functools.partial(review.json_date, clock)

    # an entry: r.json_head, its follow-up and the root (next_sql), r.json_path, then `stale` and what follows it
    front = "r.json_head || {next} || r.json_path || CASE WHEN r.stale THEN :stale ELSE :fresh END"
    shut = {"fresh": key + 'stale": false' + close, "stale": key + 'stale": true' + close}  # untranslated: JSON keys

    def entry(head: str, next_ts: int, path: str, stale: int) -> str:
        return head + iso(next_ts) + root + path + shut["stale" if stale else "fresh"]

    columns = "r.json_head, r.next_ts, r.json_path, r.stale"  # untranslated: SQL
    dated = _Form(front.format(next=next_sql), {**fixed, **shut}, columns, entry, ",\n" + review.JSON_INDENT, dates)
    since = {
        "fresh": key + 'stale": false' + key + 'stage_since": ',
        "stale": key + 'stale": true' + key + 'stage_since": ',
    }  # untranslated: JSON keys

    limits = {stage: int(days) for stage, days in cfg.followup.stuck_days.items()}
    # what follows a stuck record's days, by stage
    limit_text = {s: f'{key}limit": {limit}{close}' for s, limit in limits.items()}  # untranslated: JSON key

    def stuck_entry(head: str, next_ts: int | None, path: str, stale: int, stage_ts: int, status: str) -> str:
        days = f"{review.JSON_DAYS}{(now_ts - stage_ts) // 86400}"
        return (
            head + iso(next_ts) + root + path + since["stale" if stale else "fresh"] + iso(stage_ts) + days + limit_text[status]
        )

    # one scan of the whole section: how long a record is stuck is SQL arithmetic here, a number
    by_stage, by_stage_params = _by_stage(limit_text)
    sql = f"{front.format(next=maybe_next)} || {stage_sql} || ((:now - r.stage_ts) / 86400) || {by_stage}"  # untranslated: SQL
    params = {**fixed, **since, **by_stage_params, "now": now_ts}
    stuck = _Form(sql, params, f"{columns}, r.stage_ts, r.status", stuck_entry, dated.sep, dates, check)
    out = {key: _texts(chunks) for key, chunks in _dated(db, dated, staff, now_ts, end, "records_next_json").items()}
    if latest is None:  # no stage has a limit
        return {**out, "stuck": iter(())}
    stuck_chunks = _windows(db, stuck, stuck_where, stuck_args, "r.stage_ts", -(2**62), latest, "records_stage_json")
    return {**out, "stuck": _texts(stuck_chunks)}


def _made_dates(
    db: sqlite3.Connection, clock: Clock, now_ts: int, end: int, stuck_where: str, stuck_args: list[Any], latest: int | None
) -> tuple[str, str, str, dict[str, Any], _Dates, str | None]:
    """`due --json`'s dates made by the report (the index's are for another zone, other rules or
    another root): SQL of a follow-up's date and :root after it, of a stuck record's (which may
    have none), of its stage's date and :days_key after it, their parameters, the `_Dates`
    behind them, and the stuck rows' `check`."""
    ends = [  # of every follow-up in the index: a stuck record's is any of them
        db.execute(
            f"SELECT r.next_ts FROM records r INDEXED BY records_next_ts WHERE r.next_ts IS NOT NULL ORDER BY r.next_ts {way} LIMIT 1"
        ).fetchone()
        for way in ("ASC", "DESC")
    ]
    first, last = (ends[0][0], ends[1][0]) if ends[0] and ends[1] else (end, end)
    stuck_from = _next_stuck(db, "records_stage_json", stuck_where, stuck_args, -(2**62), latest)
    dates = _Dates(clock, min(first, end, stuck_from or end), max(last, end), now_ts, iso=True)
    maybe_next = f"(CASE WHEN r.next_ts IS NULL THEN 'null' ELSE {dates.text('r.next_ts')} END) || :root"  # untranslated: SQL
    # a stuck record's follow-up checked row by row only where the index's are not all in one run
    check = None if dates.covers(first, last + 1) else f"(r.next_ts IS NOT NULL AND {dates.outside('r.next_ts')})"
    next_sql, stage_sql = f"{dates.text('r.next_ts')} || :root", f"{dates.text('r.stage_ts')} || :days_key"  # untranslated: SQL
    return next_sql, maybe_next, stage_sql, dict(dates.params), dates, check


@dataclass
class _Form:
    """How one of `due`'s outputs makes the entries of a section: `sql`, an entry inside SQLite
    (over r.* and the named `params`); `sep` goes between entries. Where a date of a row in a
    window is one the arithmetic does not reach (`dates.outside` of the window's column, unless
    the window lies in one run of days, or `check`, SQL of the other columns), the window's
    entries are `python(*columns)` instead."""

    sql: str
    params: dict[str, Any]
    columns: str = ""
    python: Callable[..., str] | None = None
    sep: str = ""
    dates: _Dates | None = None
    check: str | None = None


def _read(
    db: sqlite3.Connection,
    form: _Form,
    index: str,
    where: str,
    params: list[Any],
    order: str,
    window: tuple[int, int] | None = None,
) -> Chunk:
    """The entries of the rows `where` picks (its parameters `?`), in the order of `index`, whose
    first column `order` is from window[0] to window[1] if given (those bounds are in `where`)."""
    named, values = _named(where, params)
    checks = [form.check] if form.check else []
    if form.dates is not None and window is not None and not form.dates.covers(*window):
        checks.append(form.dates.outside(order))
    outside = f"max({' OR '.join(checks)})" if checks and form.python else "0"  # untranslated: SQL
    count, outside, data = db.execute(
        f"SELECT count(*), {outside}, CAST(group_concat({form.sql}, :sep) AS BLOB) "
        f"FROM records r INDEXED BY {index} WHERE {named}",
        {**form.params, "sep": form.sep, **values},
    ).fetchone()
    if outside and form.python is not None:
        rows = db.execute(f"SELECT {form.columns} FROM records r WHERE {where} ORDER BY {order}, {CODE_ORDER}", params)
        data = form.sep.join(form.python(*row) for row in rows).encode()
    return count, data or b""


def _named(sql: str, params: list[Any]) -> tuple[str, dict[str, Any]]:
    """`sql` with its `?` parameters as :p0, :p1, … (for a query that also has named ones)."""
    parts = sql.split("?")
    return "".join(f"{part}:p{i}" for i, part in enumerate(parts[:-1])) + parts[-1], {f"p{i}": v for i, v in enumerate(params)}


def _by_stage(texts: dict[str, str]) -> tuple[str, dict[str, str]]:
    """SQL giving the text of the row's stage, and its parameters."""
    sql = "CASE r.status " + " ".join(f"WHEN :s{i} THEN :t{i}" for i in range(len(texts))) + " END"  # untranslated: SQL
    params: dict[str, str] = {}
    for i, (stage, text) in enumerate(texts.items()):
        params[f"s{i}"], params[f"t{i}"] = stage, text
    return sql, params


def _dated(
    db: sqlite3.Connection, form: _Form, staff: str | None, now_ts: int, end: int, index: str
) -> dict[str, Iterator[Chunk]]:
    """The overdue and due-today sections: the active records' follow-ups before now, and from
    now to the end of today."""
    where, args = _filters(None, staff, None)
    bounds = {"overdue": (-(2**62), now_ts), "today": (now_ts, end)}
    return {
        key: _windows(db, form, f"{ACTIVE}{where}", args, "r.next_ts", low, high, index) for key, (low, high) in bounds.items()
    }


def _collect(chunks: Iterator[Chunk]) -> Section:
    total, out = 0, []
    for count, data in chunks:
        total += count
        out.append(data)
    return total, out


def _texts(chunks: Iterator[Chunk]) -> Iterator[bytes]:
    return (data for _count, data in chunks)


def _oldest_followup(db: sqlite3.Connection, end: int) -> int | None:
    row = db.execute(
        f"SELECT r.next_ts FROM records r INDEXED BY records_next WHERE {ACTIVE} AND r.next_ts < ? ORDER BY r.next_ts LIMIT 1",
        [end],
    ).fetchone()
    return None if row is None else int(row[0])


def _next_stuck(db: sqlite3.Connection, index: str, where: str, args: list[Any], after: int, latest: int | None) -> int | None:
    """When the first record `where` picks after `after` (and before `latest`) entered its stage."""
    if latest is None:
        return None
    row = db.execute(
        f"SELECT r.stage_ts FROM records r INDEXED BY {index} WHERE r.stage_ts > ? AND r.stage_ts < ? AND {where} "
        "ORDER BY r.stage_ts LIMIT 1",
        [after, latest, *args],
    ).fetchone()
    return None if row is None else int(row[0])


class _Dates:
    """SQL that cuts a date's text in the zone out of strings made once per report, by the date's
    local day and second: `due` shows "1405-08-17 10:01" padded to review.WIDTH, `due --json`
    writes "2026-11-08T10:01:00+03:30" in quotes. Local time is integer arithmetic over the runs
    of whole UTC days on which the zone keeps one offset (localtime.offset_spans) from `first` to
    `last`, within DATED_SPAN_DAYS of `now_ts`; `outside` is SQL true of a date the runs do not
    hold (its window goes the Python way: a day the clocks change, a date too far away)."""

    def __init__(self, clock: Clock, first: int | None, last: int, now_ts: int, iso: bool) -> None:
        self.iso, self.params = iso, {}
        reach = DATED_SPAN_DAYS * 86400
        self.spans = [] if first is None else offset_spans(clock, max(first, now_ts - reach), min(last, now_ts + reach))
        if not self.spans:
            return
        offsets = [off for _lo, _hi, off in self.spans]
        self.first = (self.spans[0][0] + min(offsets)) // 86400
        days = [clock.day_text(n, iso) for n in range(self.first, (self.spans[-1][1] + max(offsets)) // 86400 + 1)]
        self.suffixes: list[tuple[int, str]] = []  # (a run's first second, its offset's text and the closing quote)
        if iso:
            self.suffixes = [(lo, clock.iso(lo)[19:] + '"') for lo, _hi, _off in self.spans]
            end = self.suffixes[0][1] if len({text for _lo, text in self.suffixes}) == 1 else ""  # else a CASE
            # "HH:MM:SS" and the offset by second of the day: one cut per date (joined a minute at a time: 0.2 ms)
            times = "".join(hm + (end + hm).join(SECONDS) + end for hm in HOUR_MINUTE)
            days = ['"' + d for d in days]
            self.seconds = 1
        else:
            sample = days[0] + HOUR_MINUTE[0]
            pad = review.middle(sample)[len(sample) :]
            times = "".join(hm + pad for hm in HOUR_MINUTE)  # by minute of the day
            self.seconds = 60
        self.width, self.step = len(days[0]), len(times) * self.seconds // 86400
        if any(len(d) != self.width for d in days) or not (times.isascii() and all(d.isascii() for d in days)):
            self.spans = []  # a day's text that is not one fixed width cannot be cut by position
            return
        self.params = {"days": "".join(days).encode(), "times": times.encode()}

    def text(self, column: str) -> str:
        """SQL: the column's date as this report writes it (NULL outside the runs)."""
        if not self.spans:
            return "NULL"  # untranslated: SQL
        local = local_seconds(column, self.spans, checked=True)
        day = f"substr(:days, ({local} / 86400 - {self.first}) * {self.width} + 1, {self.width})"
        time = f"substr(:times, ({local} % 86400 / {self.seconds}) * {self.step} + 1, {self.step})"
        (_lo, suffix), *later = self.suffixes or [(0, "")]
        if not any(text != suffix for _lo, text in later):
            return f"{day} || {time}"  # untranslated: SQL (the offset, if any, is in the time's text)
        whens = " ".join(f"WHEN {column} >= {lo} THEN '{text}'" for lo, text in reversed(later))  # untranslated: SQL
        return f"{day} || {time} || (CASE {whens} ELSE '{suffix}' END)"  # untranslated: SQL

    def covers(self, low: int, high: int) -> bool:
        """Whether one run holds every date from `low` up to `high` (no row needs checking)."""
        return any(lo <= low and high <= hi for lo, hi, _off in self.spans)

    def outside(self, column: str) -> str:
        """SQL true of a (non-NULL) date the runs do not hold."""
        if not self.spans:
            return "1"  # untranslated: SQL
        gaps = [f"({column} >= {a[1]} AND {column} < {b[0]})" for a, b in pairwise(self.spans)]
        return "(" + " OR ".join([f"{column} < {self.spans[0][0]}", f"{column} >= {self.spans[-1][1]}", *gaps]) + ")"


def _windows(
    db: sqlite3.Connection, form: _Form, where: str, args: list[Any], column: str, start: int, end: int, index: str
) -> Iterator[Chunk]:
    """The entries of the rows `where` picks whose `column` is from `start` to `end`, in the order
    of `index` (which begins with `column`), a window of that column at a time, so 48 MB of JSON
    never sits in memory whole: a window ends at the date CHUNK_ENTRIES rows further on in the
    index of that date alone (records_next_ts / records_stage_ts, every row counted: a few MB
    read, not the wide index twice), so it holds no more entries than that, or the rows of one
    second. Sized from the last window's count instead, a window grew across a sparse stretch
    and then took in 33 MB at once. A window's bounds are the only ones on `column` in its
    query: SQLite reads an index range up to the first upper bound it is given."""
    where = f"{where} AND {column} >= ? AND {column} < ?"  # untranslated: SQL
    following = f"SELECT {column} FROM records r INDEXED BY {index} WHERE {where} ORDER BY {column} LIMIT 1"
    ahead = (
        f"SELECT {column} FROM records r INDEXED BY {DATE_INDEX[column]} WHERE {column} >= ? ORDER BY {column} LIMIT 1 OFFSET ?"
    )
    row = db.execute(following, [*args, start, end]).fetchone()
    while row is not None:
        low = row[0]
        further = db.execute(ahead, [low, CHUNK_ENTRIES]).fetchone()
        high = end if further is None else min(end, max(further[0], low + 1))
        count, data = _read(db, form, index, where, [*args, low, high], column, (low, high))
        if count:
            yield count, data
        row = db.execute(following, [*args, high, end]).fetchone() if high < end else None


def _stuck(
    db: sqlite3.Connection,
    cfg: Config,
    staff: str | None,
    now_ts: int,
    form_of: Callable[[int, dict[str, int]], _Form],
    index: str,
) -> Iterator[Chunk]:
    """`due`'s stuck section, one day of stuck-ness at a time (oldest first, the section's order):
    in a day every record of one stage has the same translated middle, a parameter of
    `form_of(days, {stage: limit})`. (`due --json` writes the days as a number: one scan.)"""
    limits = {stage: int(days) for stage, days in cfg.followup.stuck_days.items()}
    terms, args, latest = _stuck_terms(cfg, now_ts)
    if latest is None:
        return
    where, staff_args = _filters(None, staff, None)
    stuck_where, stuck_args = f"({terms}){where}", [*args, *staff_args]
    first = _next_stuck(db, index, stuck_where, stuck_args, -(2**62), latest)
    days = (now_ts - first) // 86400 if first is not None else -1  # the oldest record's run first
    least = min(limits.values())  # stuck at all: more than its stage's limit, so at least the least limit
    while days >= least:
        low, high = now_ts - (days + 1) * 86400, now_ts - days * 86400  # stuck exactly `days` whole days
        # stuck `days` days: past the limit, or at it unless it entered the stage `days` days ago to the second
        at = [s for s in limits if limits[s] == days]
        stages = {s: limits[s] for s in limits if limits[s] < days} | {s: limits[s] for s in at}
        marks = ", ".join("?" for _ in stages)
        exact = f" AND NOT (r.stage_ts = ? AND r.status IN ({', '.join('?' for _ in at)}))" if at else ""
        count, data = _read(
            db,
            form_of(days, stages),
            index,
            f"r.stage_ts > ? AND r.stage_ts <= ? AND r.status IN ({marks}){exact}{where}",
            [low, high, *stages, *([high, *at] if at else []), *staff_args],
            "r.stage_ts",
        )
        if count:
            yield count, data
            days -= 1
            continue
        following = _next_stuck(db, index, stuck_where, stuck_args, high, latest)  # skip days nobody is in
        days = (now_ts - following) // 86400 if following is not None else -1


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
