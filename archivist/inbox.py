"""Inbox filing (SPEC §6): a settled file named after a known code moves into that record.

`2031 contract.pdf`, `00417_quote.pdf`, `۲۰۳۱-فاکتور.pdf` go into the record the code names, under
a free name (` (2)` on a clash: never an overwrite), and the record gets a `filed` event. Anything
else stays where staff dropped it and is listed by `unfiled` (the office status). The daemon files
settled files through `file_paths`; the rule itself is domain, so it lives here, below the daemon.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import archive_id, intents, journal, store, workflow
from .config import Config
from .dates import now
from .errors import ArchivistError, RecordNotFound
from .i18n import _, ngettext
from .naming import is_os_noise, leading_code
from .record import LOG_NAME, TOOL_ACTOR, Record, load_record

log = logging.getLogger("archivist.daemon")
FILED_BY = TOOL_ACTOR
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".swp", ".opdownload")


def in_progress_name(name: str) -> bool:
    """Hidden files and the names browsers, editors and office suites use while writing."""
    low = name.lower()
    return name.startswith((".", "~$")) or low.endswith(IN_PROGRESS_SUFFIXES)


def _open_for_writing(pid: str, fd: str) -> bool:
    """Whether that descriptor was opened for writing (a viewer reading the scan does not count);
    True when its flags cannot be read."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as f:
            for line in f:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8) & (os.O_WRONLY | os.O_RDWR) != 0
    except (OSError, ValueError, IndexError):
        pass
    return True


def held_open(paths: Iterable[Path]) -> tuple[set[Path], bool]:
    """Which of `paths` some process has open for writing right now, by the links in `/proc/<pid>/fd`; and
    whether the answer is complete (False where a process's fds could not be read: another
    account's process, no /proc). An incomplete answer rules nothing out: the caller then relies on
    the close-write events and the settle time."""
    wanted = {os.path.abspath(p): p for p in paths}
    held: set[Path] = set()
    if not wanted:
        return held, True
    complete = True
    try:
        pids = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return held, False
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except FileNotFoundError:
            continue  # exited meanwhile
        except OSError:
            complete = False
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            except OSError:
                complete = False
                continue
            if target in wanted and _open_for_writing(pid, fd):
                held.add(wanted[target])
    return held, complete


class CodeFinder:
    """`workflow.locate` (the index, checked on disk) with a memory for one pass: 5,000 files for
    40 records cost 40 look-ups."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._found: dict[str, Path | None] = {}

    def find(self, code: str) -> Path | None:
        if code in self._found:
            folder = self._found[code]
            if folder is None or (folder / LOG_NAME).exists():
                return folder
        try:
            folder = workflow.locate(self.cfg, code)
        except RecordNotFound:
            folder = None
        self._found[code] = folder
        return folder


def inbox_entries(cfg: Config) -> list[Path]:
    """What sits in the inbox, hidden names and what Windows or Office make on their own excluded."""
    inbox = store.layout_of(cfg).inbox
    if inbox.is_symlink():
        return []  # never filed from: doctor reports the link
    try:
        with os.scandir(inbox) as it:
            return sorted(Path(e.path) for e in it if not e.name.startswith(".") and not is_os_noise(e.name))
    except FileNotFoundError:
        return []


def target_folder(cfg: Config, path: Path, finder: CodeFinder | None = None) -> Path | None:
    """The record folder a dropped file belongs in, or None when it must stay in the inbox."""
    if in_progress_name(path.name) or is_os_noise(path.name) or not path.is_file() or path.is_symlink():
        return None
    code = leading_code(path.name)
    if code is None:
        return None
    return (finder or CodeFinder(cfg)).find(code)


def unfiled(cfg: Config) -> list[Path]:
    """Inbox entries the daemon will not file by itself: no known code, or not a plain file."""
    finder = CodeFinder(cfg)
    return [p for p in inbox_entries(cfg) if target_folder(cfg, p, finder) is None]


@dataclass
class FilingResult:
    filed: list[tuple[Path, Path]] = field(default_factory=list)
    left: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # each folder filed into → its log as written (the daemon looks at it without parsing it again)
    records: dict[Path, Record] = field(default_factory=dict)


@dataclass
class _Plan:
    folder: Path
    record: Record
    items: list[tuple[Path, Path, dict[str, Any]]]


def _not_filing(result: FilingResult, folder: Path, files: list[Path], e: object) -> None:
    result.problems.append(
        ngettext("not filing {count} file into {name}: {e}", "not filing {count} files into {name}: {e}", len(files)).format(
            count=len(files), name=folder.name, e=e
        )
    )
    result.left.extend(files)


def _plan(cfg: Config, folder: Path, files: list[Path], result: FilingResult) -> _Plan | None:
    """Read the record once and choose each file's free name in it; None when nothing goes in."""
    try:
        record = load_record(folder)  # never file into a record whose log cannot take the event
        store.check_inside(cfg.root, folder / LOG_NAME)
    except ArchivistError as e:  # InvalidLogError included
        _not_filing(result, folder, files, e)
        return None
    items: list[tuple[Path, Path, dict[str, Any]]] = []
    taken: set[str] = set()
    for src in files:
        if not src.exists():
            continue
        try:
            store.check_inside(cfg.root, src)  # an inbox that is a link pulls in files from elsewhere
        except ArchivistError as e:
            result.problems.append(_("not filing {name}: {e}").format(name=src.name, e=e))
            result.left.append(src)
            continue
        dst = store.free_name(folder, src.name, taken)
        taken.add(dst.name)
        items.append((src, dst, {"from": f"inbox/{src.name}"} if dst.name != src.name else {}))
    return _Plan(folder, record, items) if items else None


def _intent_items(plan: _Plan, when: Any) -> dict[str, Any]:
    return {
        "folder": str(plan.folder),
        "items": [
            {
                "src": str(src),
                "dst": dst.name,
                "event": journal.event_text({"at": when, "by": FILED_BY, "kind": "filed", "note": dst.name, **extra}),
            }
            for src, dst, extra in plan.items
        ],
    }


def file_paths(cfg: Config, paths: list[Path], finder: CodeFinder | None = None) -> FilingResult:
    """Move each settled inbox file into its record; one log write per record for the batch.

    The events are written first and the files moved after, with one intent covering the whole
    batch: whoever sees a file in a record sees its event, and a kill anywhere in between is
    finished by the next run (intents.finish_all), never left as files without events. Per record:
    its log read once, written once (fsynced), its journal entries, its folder fsynced once after
    the moves; per batch: one intent written and removed.
    """
    archive_id.require_archive(cfg)  # the drive went away under the daemon: nothing is filed into nowhere
    finder = finder or CodeFinder(cfg)
    result = FilingResult()
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for p in paths:
        folder = target_folder(cfg, p, finder)
        if folder is None:
            if p.exists() and not is_os_noise(p.name):
                result.left.append(p)
            continue
        by_folder[folder].append(p)
    plans = [plan for folder, files in by_folder.items() if (plan := _plan(cfg, folder, files, result)) is not None]
    if not plans:
        return result
    when = now(cfg.timezone)
    payload: dict[str, Any] = {"pid": os.getpid(), "folders": [_intent_items(plan, when) for plan in plans]}
    intent = intents.begin(cfg, "filing", f"{os.getpid()}-{plans[0].folder.name}", payload)
    try:
        for plan in plans:
            if not _file_one(cfg, plan, when, result):
                # its files stay in the inbox: a later finish of this intent must not file them
                payload["folders"] = [f for f in payload["folders"] if f["folder"] != str(plan.folder)]
                intents.update(intent, payload)
    finally:
        if result.filed:
            store.fsync_dir(store.layout_of(cfg).inbox)
    intents.done(intent)
    return result


def _file_one(cfg: Config, plan: _Plan, when: Any, result: FilingResult) -> bool:
    """Write one record's `filed` events, then move its files in; False when nothing was written."""
    folder = plan.folder
    try:
        record = workflow.append_events(
            cfg,
            folder,
            FILED_BY,
            [("filed", dst.name, extra) for _s, dst, extra in plan.items],
            at=when,
            record=plan.record,
            daemon=True,
        )
    except ArchivistError as e:
        _not_filing(result, folder, [src for src, _d, _e in plan.items], e)
        return False
    failed = []
    for src, dst, _extra in plan.items:
        try:
            store.move(src, dst, sync=False)  # synced below, once per folder
        except (ArchivistError, OSError) as e:  # a clash raced in, or the file vanished
            result.problems.append(_("could not file {name}: {e}").format(name=src.name, e=e))
            result.left.append(src)
            failed.append(f"{src.name} ({e})")
            continue
        result.filed.append((src, dst))
    store.fsync_dir(folder)  # the log written above and the files moved in, in one sync
    if failed:  # the event said filed: say it did not happen after all
        with contextlib.suppress(ArchivistError):
            record = workflow.append_events(
                cfg,
                folder,
                FILED_BY,
                [
                    ("note", "not filed after all, still in the inbox: " + "; ".join(failed), {})
                ],  # untranslated: an event note stored in the log (data)
                record=record,  # as written a moment ago (checked under the lock, not parsed again)
            )
    result.records[folder] = record
    return True
