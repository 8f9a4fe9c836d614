"""What a step that writes or moves more than one thing means to do, written before it starts, so a
killed run is finished by the next one (the daemon at start and at each reconcile, or one
`archivist doctor --fix`) instead of being left half done or cleaned away.

`<state>/intents/<kind>-<key>.json`, written atomically before the first effect and removed after
the last. Finishing is idempotent: each step checks what is already done (a file already moved,
an event already in the log) and does only the rest.

- `register`: the new record's folder and its log text. A kill after the folder was made but
  before the log was in place left an empty folder for good; now the log is put in.
- `filing`: a batch of inbox files, per record their target names and `filed` events. A kill
  in the middle left files in the record with no event, never added later.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import journal, store
from .config import Config
from .errors import ArchivistError
from .i18n import _, ngettext
from .modes import make_dirs
from .record import LOG_NAME, load_record


def _dir(cfg: Config) -> Path:
    return store.layout_of(cfg).state / "intents"


def begin(cfg: Config, kind: str, key: str, payload: dict[str, Any]) -> Path:
    path = _dir(cfg) / f"{kind}-{key}.json"
    make_dirs(path.parent)
    store.atomic_write(path, json.dumps({"kind": kind, **payload}, ensure_ascii=False).encode("utf-8"))
    return path


def update(path: Path, payload: dict[str, Any]) -> None:
    """Rewrite an intent with what a step decided (e.g. the case code a conversion was given)."""
    kind = json.loads(path.read_text(encoding="utf-8")).get("kind")
    store.atomic_write(path, json.dumps({**payload, "kind": kind}, ensure_ascii=False).encode("utf-8"))


def add_finisher(kind: str, fn: Callable[[Config, dict[str, Any]], str]) -> None:
    """A layer above (workflow's actions) tells how its own intents are finished."""
    _FINISH[kind] = fn


def done(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def pending(cfg: Config) -> list[Path]:
    try:
        return sorted(p for p in _dir(cfg).iterdir() if p.suffix == ".json")
    except (FileNotFoundError, NotADirectoryError):
        return []


def finish_all(cfg: Config) -> list[str]:
    """Finish every intent a killed run left (those of a live process are left alone); returns
    one line per intent finished or still blocked."""
    said: list[str] = []
    for path in pending(cfg):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if store.pid_alive(data.get("pid")) and data.get("pid") != os.getpid():
            continue  # still running: its own process finishes it
        try:
            msg = _FINISH[data["kind"]](cfg, data)
        except (KeyError, TypeError):
            continue
        except (ArchivistError, OSError) as e:
            said.append(
                f"could not finish {path.name}: {e}"
            )  # untranslated: matched by workflow.apply_fixes ("could not" = skipped); logged for the administrator
            continue
        done(path)
        if msg:
            said.append(msg)
            import logging  # here: the CLI imports this module for every record action (start-up)

            logging.getLogger("archivist.intents").info("%s", msg)
    return said


def _finish_register(cfg: Config, data: dict[str, Any]) -> str:
    folder = Path(data["folder"])
    store.check_inside(cfg.root, folder)
    logp = folder / LOG_NAME
    if logp.exists():
        return ""
    if not folder.exists():
        store.make_folder(folder)
    store.atomic_write(logp, data["log"].encode("utf-8"))
    return _("finished registering {name}: its log was put in place after a crash").format(name=folder.name)


def _finish_filing(cfg: Config, data: dict[str, Any]) -> str:
    """A filing batch: every record it names (`folders`; one `folder` in intents written before
    batches had one intent), each finished as it would have been."""
    said: list[str] = []
    failed: list[BaseException] = []
    for one in data.get("folders") or [data]:
        try:
            said.append(_finish_filing_one(cfg, one))
        except (ArchivistError, OSError) as e:  # the others are finished all the same
            failed.append(e)
    if failed:
        raise failed[0]  # the intent stays; finishing it again redoes nothing already done
    return "; ".join(line for line in said if line)


def _finish_filing_one(cfg: Config, data: dict[str, Any]) -> str:
    folder = Path(data["folder"])
    store.check_inside(cfg.root, folder)
    moved = 0
    sources: set[Path] = set()
    for item in data["items"]:
        src, dst = Path(item["src"]), folder / item["dst"]
        if src.exists() and not os.path.lexists(dst):
            store.move(src, dst, sync=False)  # synced below, once a folder (a batch is 200 files)
            sources.add(src.parent)
            moved += 1
    if moved:
        for d in (folder, *sources):
            store.fsync_dir(d)
    wanted = [journal.event_from_text(item["event"]) for item in data["items"] if (folder / item["dst"]).exists()]
    events = [ev for ev in wanted if ev is not None]
    have = load_record(folder).events
    missing = journal.dropped_events(events, have)
    if missing:
        _add_events(cfg, folder, missing)
    if not moved and not missing:
        return ""
    return ngettext(
        "finished filing into {name} after a crash: {moved} file(s) moved, {count} event added",
        "finished filing into {name} after a crash: {moved} file(s) moved, {count} events added",
        len(missing),
    ).format(name=folder.name, moved=moved, count=len(missing))


def _add_events(cfg: Config, folder: Path, events: list[dict[str, Any]]) -> None:
    rec = load_record(folder)
    with store.record_lock(store.layout_of(cfg), rec.lead):
        rec = load_record(folder)
        missing = journal.dropped_events(events, rec.events)
        for ev in missing:
            rec.add_event(
                **{k: ev[k] for k in ("at", "by", "kind")},
                note=ev.get("note", ""),
                **{k: v for k, v in ev.items() if k not in ("at", "by", "kind", "note")},
            )
        if missing:
            store.write_record(rec)


_FINISH: dict[str, Callable[[Config, dict[str, Any]], str]] = {"register": _finish_register, "filing": _finish_filing}
