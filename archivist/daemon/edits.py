"""Hand-edit detection: which fields of a log changed since the daemon last saw it.

The daemon keeps, per record (by applicant code, which survives moves), the fields as last seen
and a fingerprint of the events. When a log changes:
- the old events are untouched: each new event explains only the fields its action writes
  (`workflow.FIELDS_WRITTEN`); any other changed field was edited by hand, even when an action
  followed the edit before the daemon looked;
- old events were removed or rewritten: the changed fields and `events` are named.
The caller appends one `edited` event naming them. Appended events never count as a change
themselves, which is what keeps the daemon's own `edited` event from triggering another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..record import Record, _jsonable
from ..workflow import FIELDS_WRITTEN

SKIP = ("events",)


@dataclass(frozen=True)
class Baseline:
    events_count: int
    events_hash: str
    fields: dict[str, Any]


def events_hash(events: list[Any]) -> str:
    blob = json.dumps(_jsonable(events), ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def fields_of(record: Record) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in record.data.items() if k not in SKIP}


def baseline_of(record: Record) -> Baseline:
    evs = record.events
    return Baseline(len(evs), events_hash(evs), fields_of(record))


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Names of fields that differ; one level into mappings (`contact.mobile`) because that is
    what a person reading the timeline wants to know."""
    out: list[str] = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(f"{key}.{k}" for k in list(a) + [k for k in b if k not in a] if a.get(k) != b.get(k))
        else:
            out.append(str(key))
    return out


def history_kept(before: Baseline, record: Record) -> bool:
    """Whether the events seen last time are all still there, first and unchanged (the fingerprint
    of the first `events_count` events is the one kept): nothing was dropped or rewritten."""
    evs = record.events
    return len(evs) >= before.events_count and events_hash(evs[: before.events_count]) == before.events_hash


def hand_edits(before: Baseline | None, record: Record, now: Baseline | None = None, kept: bool | None = None) -> list[str]:
    """Fields changed by hand since `before` (empty when unknown or explained by new events);
    `now`: the record's baseline when the caller has it already (its fields are not made again);
    `kept`: `history_kept(before, record)` when the caller has asked it already.

    Earlier events removed or rewritten by hand are named as `events`: the audit trail promises
    nothing ever removes an event, so the daemon must at least say when someone did.
    """
    if before is None:
        return []
    evs = record.events
    changed = changed_fields(before.fields, now.fields if now is not None else fields_of(record))
    if history_kept(before, record) if kept is None else kept:
        # a hand edit followed by an action before the daemon looked: the new events explain
        # only the fields their actions write, never e.g. `company` or `staff`
        explained = set().union(
            *(FIELDS_WRITTEN.get(str(ev.get("kind")), ()) for ev in evs[before.events_count :] if isinstance(ev, dict))
        )
        return [f for f in changed if f.partition(".")[0] not in explained]
    return changed + ["events"]


def describe(before: Baseline, record: Record, fields: list[str], now: Baseline | None = None) -> str:
    """A short human line for the event note: `company: "old" → "new"` for plain values."""
    new = now.fields if now is not None else fields_of(record)
    parts = []
    for name in fields:
        if name == "events":
            kept = len(record.events)
            parts.append(
                f"earlier events removed or rewritten ({before.events_count} before, {kept} now)"
            )  # untranslated: stored in the follow-up log as an event's note (data, not a message)
            continue
        key, _, sub = name.partition(".")
        a, b = before.fields.get(key), new.get(key)
        if sub:
            a = a.get(sub) if isinstance(a, dict) else None
            b = b.get(sub) if isinstance(b, dict) else None
        if isinstance(a, (str, int, float, type(None))) and isinstance(b, (str, int, float, type(None))):
            parts.append(f"{name}: {_shown(a)} → {_shown(b)}" if len(str(a)) + len(str(b)) < 120 else name)
        else:
            parts.append(name)
    return "changed by hand: " + "; ".join(
        parts
    )  # untranslated: stored in the follow-up log as an event's note (data, not a message)


def _shown(value: str | int | float | None) -> str:
    """A value as a person reads it in the timeline: quoted text as typed (repr would turn a
    Persian zero-width non-joiner into `\\u200c`), bare numbers, `—` for nothing."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)
