"""A line of the text review (`due`, SPEC §5), and the part of it each record stores.

    "  {lead}  {case or '    '}  {staff}  {when, or why it is stuck:<28} {company}\\n"

Every part but the middle is the record's own, so the index keeps it with the row, terminal-safe
already (records.due_head and due_tail, schema 15): `due` then puts 125,000 lines together inside
SQLite around a middle it computes (index/due.py) and writes the bytes as SQLite hands them over,
with no Python per line and no control-character pass over 12 MB. The rule changes here only
with SCHEMA_VERSION.
"""

from __future__ import annotations

from ..terminal import neutralize

WIDTH = 28  # the middle column: a date and time, or "declined for 112 days (limit 14)"


def head(lead: str | None, case: str | None, staff: str | None) -> str:
    return neutralize(f"  {lead}  {case or '    '}  {staff}  ")


def tail(company: str | None) -> str:
    return neutralize(f" {company}\n")


def middle(text: str) -> str:
    padded = f"{text:<{WIDTH}}"
    return padded if padded.isprintable() else neutralize(padded)  # `due` asks 5,000 times: skip the regex
