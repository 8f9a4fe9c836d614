"""Events archivist confirmed, kept beside the logs until the daemon has seen them in place.

An editor that read a log before `archivist log` appended to it saves its stale copy over the new
one, and the confirmed event is gone from the file. The daemon restores dropped events from what
it last saw, but an editor's save can land before the daemon ever looked (within its debounce).
So every write that appends events also appends them, as YAML text, to
`<state>/journal/<lead>.jsonl` (under the record lock, after the log is written, fsynced before
the command reports success). The daemon (or `doctor --fix`) puts back any journaled event the log
lacks and drops the entries it has found in the log.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

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
    try:
        value = safe_load_log(text)
    except (yaml.YAMLError, ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def record_events(state: Path, lead: str, events: Iterable[dict[str, Any]]) -> None:
    """Append confirmed events to the record's journal (caller holds the record lock)."""
    lines = "".join(json.dumps({"event": event_text(ev)}, ensure_ascii=False) + "\n" for ev in events)
    if not lines:
        return
    path = _path(state, lead)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o666)
    try:
        os.write(fd, lines.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def pending(state: Path, lead: str) -> list[dict[str, Any]]:
    """The journaled events of a record not yet confirmed in its log (oldest first)."""
    try:
        text = _path(state, lead).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    out = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            ev = event_from_text(json.loads(line)["event"])
            if ev is not None:
                out.append(ev)
    return out


def forget(state: Path, lead: str, present: set[str]) -> None:
    """Drop the journal entries whose event is in the log now (caller holds the record lock)."""
    path = _path(state, lead)
    # an entry stays for KEEP_SECONDS even once seen in the log: an editor that holds an old copy
    # may still save over it, and the daemon's own memory of the events can be overtaken
    recent = datetime.now(UTC) - timedelta(seconds=KEEP_SECONDS)
    left = [ev for ev in pending(state, lead) if event_key(ev) not in present or _newer(ev, recent)]
    if not left:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    atomic_write(path, "".join(json.dumps({"event": event_text(ev)}, ensure_ascii=False) + "\n" for ev in left).encode())


KEEP_SECONDS = 600


def _newer(ev: dict[str, Any], since: datetime) -> bool:
    at = ev.get("at")
    return isinstance(at, datetime) and at.tzinfo is not None and at > since


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
