"""Partial-write detection: a file is acted on only once it is closed and has stopped changing.

A scanner or a browser writes a file over seconds; moving it half-written would file a broken
PDF, and a writer that reopens the file to append (every half second, say) would get each piece
filed as its own document (`(2)`, `(3)`…). So a file counts as settled only when

* its size and mtime have not changed, and no event arrived for it, for `settle_seconds` (a close
  no longer shortens this: the reopening writer closes after every piece);
* no process holds it open, where `/proc/<pid>/fd` can be read (`inbox.held_open`): a writer that
  pauses mid-write with the file open is waited for however long it pauses;
* where that cannot be read (another account's process), a file whose last event was a write and
  not a close-after-write is waited for, as long as the watcher reports closes at all, up to
  `OPEN_WAIT_CAP` settle periods (a lost close event must not keep a file in the inbox for good).

Names that announce a download in progress (`.part`, `.crdownload`, …) never settle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..inbox import IN_PROGRESS_SUFFIXES as IN_PROGRESS_SUFFIXES
from ..inbox import held_open, in_progress_name

OPEN_WAIT_CAP = 30  # settle periods an unclosed write is waited for when /proc cannot tell
MIN_OPEN_WAIT = 60.0  # …but at least this many seconds


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    stable_since: float
    writing: bool = False  # the last event was a write, not yet followed by a close-after-write
    first_quiet: float | None = None


class Settler:
    """Tracks files until they are settled; `ready()` hands each settled file out once."""

    def __init__(
        self,
        settle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        open_check: Callable[[Iterable[Path]], tuple[set[Path], bool]] = held_open,
    ) -> None:
        self.settle_seconds = max(0.0, float(settle_seconds))
        self.clock = clock
        self.open_check = open_check
        self.closes_reported = False  # the watcher delivers close-after-write events (inotify does)
        self._files: dict[Path, _Seen] = {}

    def __len__(self) -> int:
        return len(self._files)

    def touch(self, path: Path, closed: bool = False, *, wrote: bool = False) -> None:
        """Note an event on `path`: (re)start its quiet time. `closed` is a close-after-write,
        `wrote` a write (modification); neither is a file found by a scan or moved in."""
        if in_progress_name(path.name):
            return
        if closed:
            self.closes_reported = True
        seen = self._files.get(path)
        if seen is None:
            try:
                st = os.stat(path)
            except OSError:
                return
            self._files[path] = _Seen(st.st_size, st.st_mtime_ns, self.clock(), writing=wrote and not closed)
            return
        seen.stable_since = self.clock()
        seen.first_quiet = None
        if closed:
            seen.writing = False
        elif wrote:
            seen.writing = True

    def forget(self, path: Path) -> None:
        self._files.pop(path, None)

    def ready(self) -> list[Path]:
        """Files that have settled since the last call; vanished files are dropped silently."""
        now = self.clock()
        quiet: list[Path] = []
        for path, seen in list(self._files.items()):
            try:
                st = os.stat(path)
            except OSError:
                del self._files[path]
                continue
            if (st.st_size, st.st_mtime_ns) != (seen.size, seen.mtime_ns):
                seen.size, seen.mtime_ns, seen.stable_since = st.st_size, st.st_mtime_ns, now
                seen.first_quiet = None
                continue
            if now - seen.stable_since >= self.settle_seconds:
                quiet.append(path)
        if not quiet:
            return []
        held, complete = self.open_check(quiet)
        cap = max(MIN_OPEN_WAIT, OPEN_WAIT_CAP * self.settle_seconds)
        out: list[Path] = []
        for path in quiet:
            seen = self._files[path]
            if seen.first_quiet is None:
                seen.first_quiet = now
            if path in held:
                continue  # a writer still has it open (a pause mid-write): wait for it
            if not complete and seen.writing and self.closes_reported and now - seen.first_quiet < cap:
                continue  # cannot see every process: wait for the writer's close
            out.append(path)
            del self._files[path]
        return out
