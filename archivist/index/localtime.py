"""Local time inside SQLite: a report of 100,000 dates turns each into the zone's local time by
integer arithmetic over runs of days on which the zone's offset does not change, instead of a
datetime per row in Python (the export and `due`). Days the clocks change and dates outside the
runs are left out (NULL): the caller lets the zone database decide those.
"""

from __future__ import annotations

from ..dates import Clock

Span = tuple[int, int, int]  # (first second, end second, the zone's offset in seconds)


def offset_spans(clock: Clock, first_ts: int, last_ts: int) -> list[Span]:
    """Runs of whole UTC days from the day of `first_ts` to that of `last_ts` (from 1970-01-02 on)
    on which the zone's offset is one whole number of seconds from the first second to the last
    (`Clock.offset_on`)."""
    spans: list[Span] = []
    for day in range(max(first_ts // 86400, 1), last_ts // 86400 + 1):
        off = clock.offset_on(day)
        if off is None:
            continue
        start = day * 86400
        if spans and spans[-1][1] == start and spans[-1][2] == off:
            spans[-1] = (spans[-1][0], start + 86400, off)
        else:
            spans.append((start, start + 86400, off))
    return spans


def local_seconds(column: str, spans: list[Span], checked: bool = False) -> str:
    """SQL: the column's local time as seconds since 1970-01-01 local, where one of `spans` holds
    it; NULL elsewhere (and for NULL). The newest span is tried first: nearly every date is recent.
    `checked`: every value is known to lie in one of them (the caller sent the others the zone
    database's way), so a span is told by its first second alone and the oldest needs no test."""
    if not spans:
        return "NULL"  # untranslated: SQL
    if checked:
        (_lo, _hi, oldest), *later = spans
        whens = " ".join(f"WHEN {column} >= {lo} THEN {column} + {off}" for lo, _hi, off in reversed(later))  # untranslated: SQL
        return f"(CASE {whens} ELSE {column} + {oldest} END)" if later else f"({column} + {oldest})"  # untranslated: SQL
    whens = " ".join(f"WHEN {column} >= {lo} AND {column} < {hi} THEN {column} + {off}" for lo, hi, off in reversed(spans))
    return f"(CASE {whens} END)"  # untranslated: SQL


def zone_stamp(name: str) -> str | None:
    """The zone's name and a fingerprint of its rules (the zone database's file for it), or None
    when the file cannot be found (a zone from the `tzdata` package, or none at all).

    Why: the index stores `due --json`'s dates as text in one zone (schema.json_stamp), and a
    report may use them only when its zone is that zone under the same rules: a tzdata update
    that moves a future change of offset makes the stored text wrong for the dates after it."""
    import os
    import zoneinfo

    from .search_text import blake2b

    if not name or name.startswith(("/", ".")) or ".." in name or "\\" in name:
        return None  # a key ZoneInfo refuses: never a path into the filesystem
    for folder in zoneinfo.TZPATH:
        try:
            with open(os.path.join(folder, name), "rb") as f:
                rules = f.read(1 << 20)
        except OSError:
            continue
        return f"{name} {blake2b(rules, digest_size=8).hexdigest()}"
    return None
