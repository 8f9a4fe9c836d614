"""The daemon's own writes, told apart from everyone else's changes in the watch events they cause.

Filing 2,000 inbox files writes 2,000 logs and moves 2,000 files; each of those writes comes back
through the watcher as events on the record folder, and the folder used to be looked at again for
them: its log parsed, checked and re-indexed a second time, for nothing. Now, after the worker has
looked at a folder (and holds its log as written), it notes the folder's signature; a later event
batch on that folder is skipped when

* every event since that look was on a name the daemon itself writes there: the log, the daemon's
  own temp file for it, or a file it moved in (any other name, a sub-folder's content, or the
  folder itself moving counts as someone else's change), and
* the folder's mtime and the log's (device, inode, mtime, size) are still the ones noted.

Any hand edit, editor save, copied-in file or rename makes one of these differ, and the folder is
looked at as before. The notes are bounded (`CAP` folders); a folder forgotten is only looked at
again, never missed.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from ..record import LOG_NAME
from ..store import file_ident, temp_pattern

CAP = 4096  # folders (and moved-in names) remembered; ~1 MB
LOG_TMP = temp_pattern(LOG_NAME)  # the temp file of an atomic write of a log (store.temp_beside)


class OwnWrites:
    """Signatures of folders as the worker left them, and which watch events are its own."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._looked: OrderedDict[str, tuple[int, tuple[int, int, int, int]]] = OrderedDict()
        self._foreign: set[str] = set()
        self._names: OrderedDict[str, None] = OrderedDict()

    # -- the worker ---------------------------------------------------------------------------------
    def moving_in(self, names: list[str]) -> None:
        """Names of files the worker is about to move into record folders (before it moves them:
        their events may arrive at once)."""
        with self._lock:
            for name in names:
                self._names[name] = None
                self._names.move_to_end(name)
            while len(self._names) > CAP:
                self._names.popitem(last=False)

    def begin(self, folder: Path) -> None:
        """The worker starts looking at `folder`: events from here on are judged against the
        signature noted when it is done (an event during the look marks it as changed again)."""
        key = str(folder)
        with self._lock:
            self._looked.pop(key, None)
            self._foreign.discard(key)

    def looked(self, folder: Path, ident: tuple[int, int, int, int] | None) -> None:
        """The worker is done with `folder` and holds its log as of `ident` (the record it read or
        wrote): note the signature, unless the log on disk is another one already."""
        if ident is None:
            return
        try:
            dir_mtime = os.stat(folder).st_mtime_ns
        except OSError:
            return
        if file_ident(folder / LOG_NAME) != ident:
            return
        key = str(folder)
        with self._lock:
            self._looked[key] = (dir_mtime, ident)
            self._looked.move_to_end(key)
            while len(self._looked) > CAP:
                self._looked.popitem(last=False)
            if len(self._foreign) > 4 * CAP:  # folders with events never looked at: start over
                self._foreign.clear()
                self._looked.clear()

    def unchanged(self, folder: Path) -> bool:
        """Whether only the daemon's own writes touched `folder` since it last looked at it."""
        key = str(folder)
        with self._lock:
            noted = self._looked.get(key)
            if noted is None or key in self._foreign:
                return False
        try:
            dir_mtime = os.stat(folder).st_mtime_ns
        except OSError:
            return False
        return (dir_mtime, file_ident(folder / LOG_NAME)) == noted

    def _own_tmp(self, name: str) -> bool:
        m = LOG_TMP.match(name)
        return m is not None and int(m.group(1)) == self._pid

    # -- the observer thread (no I/O) ---------------------------------------------------------------
    def event(self, folder: Path, name: str | None) -> None:
        """A watch event on `name` directly in `folder` (None: the folder itself or deeper)."""
        if name is not None and (name == LOG_NAME or name in self._names or self._own_tmp(name)):
            return
        with self._lock:
            self._foreign.add(str(folder))
