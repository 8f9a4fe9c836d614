"""Events archivist confirmed, kept beside the logs (a bounded number a record, never forgotten after a time).

An editor that read a log before `archivist log` appended to it saves its stale copy over the new
one, and the confirmed event is gone from the file. The daemon restores dropped events from what
it last saw, but an editor's save can land before the daemon ever looked (within its debounce).
So every write that appends events also appends them, as YAML text, to
`<state>/journal/<lead>.jsonl` (under the record lock, after the log is written, fsynced before
the command reports success). The daemon puts back any journaled event the log
lacks, and marks the entries it has found in the log as seen; entries are kept after that (a
stale save can come much later), the oldest seen ones dropped only beyond MAX_ENTRIES a record.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .modes import make_dirs, open_or_create
from .record import _jsonable, dump_yaml, safe_load_log
from .store import atomic_write


def journal_dir(state: Path) -> Path:
    return state / "journal"


def _path(state: Path, lead: str) -> Path:
    return journal_dir(state) / f"{lead}.jsonl"


def event_key(event: Any) -> str:
    """Equality of events as a person reads them (types folded: a date and its ISO text match)."""
    return json.dumps(_jsonable(event), ensure_ascii=False, sort_keys=True, default=str)


def event_text(event: dict[str, Any]) -> str:
    return dump_yaml(event).decode("utf-8")


def event_from_text(text: str) -> dict[str, Any] | None:
    import yaml  # safe_load_log has loaded it already; not at the top (CLI start-up)

    try:
        value = safe_load_log(text)
    except (yaml.YAMLError, ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def record_events(state: Path, lead: str, events: Iterable[dict[str, Any]], seen: bool = False) -> None:
    """Append confirmed events to the record's journal (caller holds the record lock). `seen`: the
    daemon wrote them itself and looks at the log it wrote next, so they go in already marked as
    found in the log (no rewrite of the journal to mark them afterwards)."""
    mark = {"seen": True} if seen else {}
    lines = "".join(json.dumps({"event": event_text(ev), **mark}, ensure_ascii=False) + "\n" for ev in events)
    if not lines:
        return
    path = _path(state, lead)
    make_dirs(path.parent)
    fd = open_or_create(path, os.O_WRONLY | os.O_APPEND)  # 0600, 0660 when shared (modes)
    try:
        os.write(fd, lines.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def entries(state: Path, lead: str) -> list[tuple[dict[str, Any], bool]]:
    """The record's journaled events, oldest first, each with whether it was seen in the log."""
    try:
        text = _path(state, lead).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    out = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            item = json.loads(line)
            ev = event_from_text(item["event"])
            if ev is not None:
                out.append((ev, bool(item.get("seen"))))
    return out


def pending(state: Path, lead: str) -> list[dict[str, Any]]:
    """Every journaled event of a record (oldest first): what the daemon puts back if a log lacks it."""
    return [ev for ev, _seen in entries(state, lead)]


def needs_tidy(items: list[tuple[dict[str, Any], bool]]) -> bool:
    """Whether `forget` has anything to do: an entry not yet seen in the log, or too many kept."""
    return len(items) > MAX_ENTRIES or not all(seen for _ev, seen in items)


# Entries kept per record once seen in the log. An entry is dropped only when this many newer ones
# are kept, never after some time: an editor that held a copy for an hour (or a day, with no
# daemon running) and saves it drops events that must still be known then. Entries never seen in
# the log are never dropped. ~250 bytes an event: at most ~50 KB a record.
MAX_ENTRIES = 200


def forget(state: Path, lead: str, present: set[str]) -> None:
    """Mark the journal entries whose event is in the log now as seen, and drop the oldest seen
    ones beyond MAX_ENTRIES (caller holds the record lock). Entries stay after being seen: a stale
    save can still drop their event later, and the daemon's own memory of it can be overtaken."""
    path = _path(state, lead)
    items = entries(state, lead)
    marked = [(ev, seen or event_key(ev) in present) for ev, seen in items]
    excess = len(marked) - MAX_ENTRIES
    kept: list[tuple[dict[str, Any], bool]] = []
    for ev, seen in marked:
        if excess > 0 and seen:
            excess -= 1
            continue
        kept.append((ev, seen))
    if kept == items:
        return
    if not kept:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    atomic_write(
        path,
        "".join(
            json.dumps({"event": event_text(ev), **({"seen": True} if seen else {})}, ensure_ascii=False) + "\n"
            for ev, seen in kept
        ).encode("utf-8"),
    )


def dropped_events(known: Iterable[dict[str, Any]], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events in `known` the current log lacks (compared whole: two notes logged in the same second
    by the same person are two events). An event rewritten by hand counts as dropped too: its
    original comes back beside the rewritten one, because the trail is append-only."""
    have: dict[str, int] = {}
    for ev in current:
        if isinstance(ev, dict):
            k = event_key(ev)
            have[k] = have.get(k, 0) + 1
    out = []
    seen: set[str] = set()
    for ev in known:
        k = event_key(ev)
        if k in seen or have.get(k):
            continue
        seen.add(k)
        out.append(ev)
    return out
