"""The record's own parts of `due`'s text line and of its `due --json` entry, stored with its row.

    "  {lead}  {case or '    '}  {staff}  {when, or why it is stuck:<28} {company}\\n"

Every part of a line but the middle is the record's own, and so is every part of a JSON entry
but its dates, the archive's root in its path, and `stale`; the index keeps those parts with the
row, made safe already (records.due_head, due_tail, json_head, json_path; schema 16), and the
JSON's dates and root as well, for the zone and root the index was built for (next_json,
stage_json; schema 17): `due` and
`due --json` then put 125,000 lines or entries together inside SQLite around what depends on the
clock and the config (index/due.py) and write the bytes as SQLite hands them over, with no Python
per line and no control-character pass over 12 or 48 MB. The rule changes here only with
SCHEMA_VERSION.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..dates import Clock
from ..store import AREAS
from ..terminal import json_safe, neutralize

WIDTH = 28  # the middle column: a date and time, or "declined for 112 days (limit 14)"
JSON_INDENT = "    "  # an entry's indent in `due --json`: json.dumps(indent=2) nests it a list deep in a mapping
JSON_KEY = ",\n" + JSON_INDENT + '  "'  # what comes before each key of an entry but the first
JSON_DAYS = JSON_KEY + 'days": '  # what comes between a stuck record's stage date and its days


def head(lead: str | None, case: str | None, staff: str | None) -> str:
    return neutralize(f"  {lead}  {case or '    '}  {staff}  ")


def tail(company: str | None) -> str:
    return neutralize(f" {company}\n")


def middle(text: str) -> str:
    padded = f"{text:<{WIDTH}}"
    return padded if padded.isprintable() else neutralize(padded)  # `due` asks 5,000 times: skip the regex


def json_head(lead: str | None, case: str | None, company: str | None, staff: str | None, status: str | None) -> str:
    """The entry up to its follow-up's date: its opening brace, lead … status, `"next_followup": `."""
    values = {"lead": lead, "case": case, "company": company, "staff": staff, "status": status}
    keys = JSON_KEY.join(f'{key}": {json_text(value)}' for key, value in values.items())
    return json_safe("{\n" + JSON_INDENT + '  "' + keys + JSON_KEY + 'next_followup": ')


def json_path(area: int, folder: str) -> str:
    """The entry's path after the archive's root (search.rel_path's), with its closing quote."""
    return json_safe(json_text(f"/{AREAS[area]}/{folder}")[1:])


def json_date(clock: Clock, ts: int | None) -> str:
    """A date as `due --json` writes it: the zone's ISO text in quotes, or null."""
    return "null" if ts is None else f'"{clock.iso(ts)}"'


def json_root(root: str) -> str:
    """What follows an entry's follow-up up to its path after the root: the key, then the root."""
    return JSON_KEY + 'path": "' + json_safe(json_text(root)[1:-1])  # untranslated: JSON key


def json_dates(stamp: str | None) -> Callable[[int | None, int | None], tuple[str | None, str | None]]:
    """How an index written for `stamp` (schema.json_stamp) stores a record's follow-up and stage
    dates: the follow-up's date (json_date in the stamp's zone) with the root after it
    (json_root), the stage's with JSON_DAYS after it; nothing (NULL) when it stores none."""
    if stamp is None:
        return lambda _next, _stage: (None, None)
    zone, root = json.loads(stamp)
    clock, after = Clock("gregorian", zone.rsplit(" ", 1)[0]), json_root(root)

    def stored(next_ts: int | None, stage_ts: int | None) -> tuple[str | None, str | None]:
        return json_date(clock, next_ts) + after, None if stage_ts is None else json_date(clock, stage_ts) + JSON_DAYS

    return stored


def json_text(value: str | None) -> str:
    """A string as json.dumps(ensure_ascii=False) writes it (C's encoder), or null."""
    return "null" if value is None else json.encoder.encode_basestring(value)  # type: ignore[attr-defined,no-any-return]
