"""Partial-write detection: a file is acted on only once it has stopped changing.

A scanner or a browser writes a file over seconds; moving it half-written would file a broken
PDF. A file counts as settled when its size and mtime have not changed for `settle_seconds`, or,
sooner, when a close-after-write was seen and nothing changed for a short grace period after it.
Names that announce a download in progress (`.part`, `.crdownload`, …) never settle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..inbox import IN_PROGRESS_SUFFIXES as IN_PROGRESS_SUFFIXES
from ..inbox import in_progress_name

CLOSE_GRACE = 0.2


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    stable_since: float
    closed: bool = False


class Settler:
    """Tracks files until they are settled; `ready()` hands each settled file out once."""

    def __init__(self, settle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle_seconds = max(0.0, float(settle_seconds))
        self.clock = clock
        self._files: dict[Path, _Seen] = {}

    def __len__(self) -> int:
        return len(self._files)

    def touch(self, path: Path, closed: bool = False) -> None:
        """Note an event on `path`: (re)start watching it; `closed` is a close-after-write."""
        if in_progress_name(path.name):
            return
        seen = self._files.get(path)
        if seen is None:
            try:
                st = os.stat(path)
            except OSError:
                return
            self._files[path] = _Seen(st.st_size, st.st_mtime_ns, self.clock(), closed)
        elif closed:
            seen.closed = True
            seen.stable_since = self.clock()
        else:
            seen.closed = False

    def forget(self, path: Path) -> None:
        self._files.pop(path, None)

    def ready(self) -> list[Path]:
        """Files that have settled since the last call; vanished files are dropped silently."""
        now = self.clock()
        out: list[Path] = []
        for path, seen in list(self._files.items()):
            try:
                st = os.stat(path)
            except OSError:
                del self._files[path]
                continue
            if (st.st_size, st.st_mtime_ns) != (seen.size, seen.mtime_ns):
                seen.size, seen.mtime_ns, seen.stable_since = st.st_size, st.st_mtime_ns, now
                continue
            quiet = now - seen.stable_since
            if quiet >= self.settle_seconds or (seen.closed and quiet >= min(CLOSE_GRACE, self.settle_seconds)):
                out.append(path)
                del self._files[path]
        return out
