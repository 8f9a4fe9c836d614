"""Filesystem events → "this record folder changed" / "this inbox file changed", debounced.

watchdog's native (inotify) Observer by default; the PollingObserver where inotify does not see
changes (network shares, FUSE mounts) or where removable media come and go: `daemon.polling`
`auto` decides from the mount type of the root. Only the four record areas and the inbox are
watched, never `.archivist/`, so the daemon's own writes to its state do not wake it.

Events are coalesced per record folder: a save by an editor (write temp, rename, chmod) or a copy
of twenty files is one refresh after `debounce_ms` of quiet, not twenty.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)

from .. import faults
from ..config import Config
from ..store import AREAS, record_depth

log = logging.getLogger("archivist.daemon")

# Filesystems where inotify misses changes made by other machines, or that are typically
# removable media; the polling observer is slower but sees everything there.
POLLING_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",
        "virtiofs",
        "vboxsf",
        "fuse",
        "fuseblk",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.gvfsd-fuse",
        "davfs",
        "fuse.davfs2",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "vfat",
        "exfat",
        "msdos",
        "ntfs",
        "ntfs3",
        "udf",
        "iso9660",
        "hfsplus",
    }
)


def mount_type(path: Path) -> str | None:
    """The filesystem type of the mount holding `path` (Linux /proc/self/mountinfo), or None."""
    target = os.path.realpath(path)
    best, fstype = "", None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fields = left.split()
                if len(fields) < 5 or not right:
                    continue
                mnt = fields[4].replace("\\040", " ")
                if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, fstype = mnt, right.split()[0]
    except OSError:
        return None
    return fstype


def use_polling(cfg: Config) -> tuple[bool, str]:
    """(poll?, why) from `daemon.polling` and, for `auto`, the root's mount type."""
    mode = cfg.daemon.polling
    if mode == "on":
        return (
            True,
            "daemon.polling is on",
        )  # untranslated: daemon.log wording, and watchdog's own (English) log text matched here
    if mode == "off":
        return (
            False,
            "daemon.polling is off",
        )  # untranslated: daemon.log wording, and watchdog's own (English) log text matched here
    fstype = mount_type(cfg.root)
    if fstype and (fstype in POLLING_FS or fstype.startswith("fuse.")):
        return (
            True,
            f"the archive is on {fstype}",
        )  # untranslated: daemon.log wording, and watchdog's own (English) log text matched here
    return (
        False,
        f"the archive is on {fstype or 'a local filesystem'}",
    )  # untranslated: daemon.log wording, and watchdog's own (English) log text matched here


# Only what changes things: no open / close-without-write events, so the daemon and the index
# reading 100,000 logs do not flood (and overflow) the inotify queue with their own reads.
EVENT_FILTER = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
    FileMovedEvent,
    DirMovedEvent,
    FileClosedEvent,
]


def make_observer(polling: bool) -> Any:
    if polling:
        from watchdog.observers.polling import PollingObserver

        return PollingObserver(timeout=1.0)
    from watchdog.observers import Observer

    return Observer(timeout=0.2)


class Debouncer:
    """Per-key quiet timer: a key is handed out once nothing touched it for `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._due: dict[Any, float] = {}
        self._lock = threading.Lock()

    def touch(self, key: Any, now: float | None = None) -> None:
        with self._lock:
            self._due[key] = (now if now is not None else time.monotonic()) + self.delay

    def __len__(self) -> int:
        return len(self._due)

    def next_due(self) -> float | None:
        with self._lock:
            return min(self._due.values()) if self._due else None

    def next_due_passed(self) -> bool:
        nd = self.next_due()
        return nd is not None and nd <= time.monotonic()

    def take(self, now: float | None = None) -> list[Any]:
        t = now if now is not None else time.monotonic()
        with self._lock:
            ready = [k for k, due in self._due.items() if due <= t]
            for k in ready:
                del self._due[k]
        return ready


class ArchiveEvents(FileSystemEventHandler):
    """Maps raw events onto the archive's things and hands them to the daemon's callbacks."""

    def __init__(
        self, root: Path, on_folder: Any, on_inbox: Any, on_area: Any, on_error: Any = None, on_entry: Any = None
    ) -> None:
        self.root = str(root)
        self.on_folder = on_folder
        self.on_inbox = on_inbox
        self.on_area = on_area
        self.on_error = on_error
        # (record folder, name directly in it or None): which entry an event was on, before
        # `on_folder` (the daemon tells its own writes from others' with it, see own.py)
        self.on_entry = on_entry

    def dispatch(self, event: FileSystemEvent) -> None:  # all kinds go through one place
        """Route one event; a failure is handed to `on_error` (the daemon's boundary) instead of
        ending watchdog's thread, which would stop every event after it."""
        if self.on_error is None:
            self._dispatch(event)
            return
        try:
            self._dispatch(event)
        except Exception as e:  # noqa: BLE001 - the observer thread's boundary
            self.on_error(e)

    def _dispatch(self, event: FileSystemEvent) -> None:
        faults.check("daemon.observer")
        if isinstance(event, (FileOpenedEvent, FileClosedNoWriteEvent)):
            return
        closed = isinstance(event, FileClosedEvent)
        wrote = isinstance(event, FileModifiedEvent)
        # "modified" on an area folder only means an entry in it changed, which the entry's own
        # event reports; only an area folder appearing, vanishing or moving needs a reconcile.
        structural = isinstance(event, (DirCreatedEvent, DirDeletedEvent, DirMovedEvent))
        paths = [event.src_path]
        if isinstance(event, FileSystemMovedEvent) and event.dest_path:
            paths.append(event.dest_path)
        for p in paths:
            self._route(os.fsdecode(p), closed, structural, wrote)

    def _route(self, path: str, closed: bool, structural: bool, wrote: bool = False) -> None:
        if not path.startswith(self.root):
            return
        parts = path[len(self.root) :].strip("/").split("/")
        if not parts or not parts[0]:
            return
        head = parts[0]
        if head == "inbox":
            if len(parts) >= 2 and parts[1]:
                self.on_inbox(Path(self.root, "inbox", parts[1]), closed, wrote)
            return
        depth = record_depth(parts)
        if not depth:
            return
        area = "/".join(parts[: depth - 1])
        if len(parts) < depth:
            if structural and (area in AREAS or len(parts) == 1):
                self.on_area("/".join(parts))  # an area (or archive/) created, deleted or moved
            return
        if area not in AREAS:
            return
        name = parts[depth - 1]
        if name.startswith("."):
            return
        folder = Path(self.root, *parts[:depth])
        if self.on_entry is not None:
            self.on_entry(folder, parts[depth] if len(parts) == depth + 1 else None)
        self.on_folder(folder)


def schedule_shallow(observer: Any, handler: ArchiveEvents, root: Path) -> None:
    """The fallback after the inotify watch limit: only the area folders themselves (new, renamed
    and moved record folders still show up live; edits inside folders wait for a reconcile)."""
    for path in (root, root / "archive", *(root / a for a in AREAS), root / "inbox"):
        observer.schedule(handler, str(path), recursive=False, event_filter=EVENT_FILTER)


class WatchdogAlarm(logging.Handler):
    """watchdog reports a lost-events queue overflow only through its logger; turn it into a call."""

    def __init__(self, on_overflow: Any) -> None:
        super().__init__(logging.WARNING)
        self.on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage().lower()
        if (
            "overflow" in msg or "unable to rebuild" in msg or "watch limit" in msg
        ):  # untranslated: daemon.log wording, and watchdog's own (English) log text matched here
            self.on_overflow(record.getMessage())
