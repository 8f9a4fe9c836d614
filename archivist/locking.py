"""POSIX record locks: the locks every writer on the host sees, Samba's and NFS's clients included.

`flock(2)` (what filelock used) is invisible to `fcntl` record locks: Samba takes fcntl locks for
what its Windows clients lock, the NFS server's lockd does the same for NFS clients, and neither
ever sees an flock. So archivist locks with fcntl record locks over the whole file.

On Linux these are open-file-description locks (`F_OFD_SETLK`): they conflict with classic
`fcntl`/`lockf` locks (so with Samba's and lockd's), but belong to the open file rather than to
the process, which removes the two traps of classic record locks: two threads of one process
would both "get" a classic lock, and closing *any* descriptor of the file (a plain
`path.read_bytes()` of a locked registry) silently drops the process's lock. Where OFD locks are
missing, classic `lockf` is used with a per-process thread lock in front of it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ArchivistError
from .i18n import _
from .modes import open_or_create

LOCK_TIMEOUT = 30.0

_OFD_SETLK: int | None = getattr(fcntl, "F_OFD_SETLK", None)
_OFD_GETLK: int | None = getattr(fcntl, "F_OFD_GETLK", None)
# struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
_FLOCK = "hhqqi4x"


class LockBusy(ArchivistError):
    """Another writer held a lock for longer than the caller would wait."""


def _ofd(fd: int, kind: int) -> bool:
    """Try once to take (or release, kind=F_UNLCK) an OFD lock on the whole file; False if held."""
    assert _OFD_SETLK is not None
    try:
        fcntl.fcntl(fd, _OFD_SETLK, struct.pack(_FLOCK, kind, os.SEEK_SET, 0, 0, 0))
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _classic(fd: int, kind: int) -> bool:
    try:
        fcntl.lockf(fd, kind | fcntl.LOCK_NB if kind != fcntl.LOCK_UN else kind, 0, 0, os.SEEK_SET)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


# classic record locks belong to the process: one thread lock per file keeps its threads apart
_thread_locks: dict[tuple[int, int], threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(fd: int) -> threading.Lock:
    st = os.fstat(fd)
    with _thread_locks_guard:
        return _thread_locks.setdefault((st.st_dev, st.st_ino), threading.Lock())


def _open(path: Path, exclusive: bool, create: bool) -> int:
    flags = (os.O_RDWR if exclusive else os.O_RDONLY) | os.O_CLOEXEC
    try:
        return open_or_create(path, flags) if create else os.open(path, flags)  # 0600, 0660 when shared
    except PermissionError:
        if not exclusive:
            raise
        # a file we may read but not write: a shared lock still waits for every writer
        raise ArchivistError(
            _(
                "cannot lock {path}: this account ({account}) may not write it; give the archive's group write access (chgrp -R <group> and chmod -R g+rwX on {parent})"
            ).format(path=path, account=_account(), parent=path.parent)
        ) from None


def _account() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, ImportError):
        return str(os.geteuid())


@contextlib.contextmanager
def posix_lock(
    path: Path, exclusive: bool = True, timeout: float = LOCK_TIMEOUT, what: str | None = None, create: bool = True
) -> Iterator[int]:
    """Hold a whole-file POSIX record lock on `path`; yields the open descriptor.

    Waits up to `timeout` seconds (0: do not wait) while another process, thread or Samba/NFS
    client holds a conflicting lock, then raises `LockBusy` naming `what`.
    """
    fd = _open(path, exclusive, create)
    thread_lock: threading.Lock | None = None
    try:
        if _OFD_SETLK is not None:
            kind = fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK

            def take() -> bool:
                return _ofd(fd, kind)
        else:
            thread_lock = _thread_lock(fd)
            got = thread_lock.acquire(timeout=timeout) if timeout > 0 else thread_lock.acquire(blocking=False)
            if not got:
                thread_lock = None
                raise LockBusy(_busy(path, what))
            ckind = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH

            def take() -> bool:
                return _classic(fd, ckind)

        deadline = time.monotonic() + max(timeout, 0)
        pause = 0.002
        while not take():
            if time.monotonic() >= deadline:
                raise LockBusy(_busy(path, what))
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        try:
            yield fd
        finally:
            if _OFD_SETLK is not None:
                _ofd(fd, fcntl.F_UNLCK)
            else:
                _classic(fd, fcntl.LOCK_UN)
    finally:
        if thread_lock is not None:
            thread_lock.release()
        os.close(fd)


def try_lock(fd: int, exclusive: bool = True) -> bool:
    """Take a whole-file record lock on an open descriptor without waiting; False if held elsewhere.

    For locks held as long as a descriptor stays open (the daemon's instance lock): closing it
    releases the lock, also when the process dies. OFD where available (see module doc).
    """
    if _OFD_SETLK is not None:
        return _ofd(fd, fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK)
    return _classic(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)


def unlock(fd: int) -> None:
    if _OFD_SETLK is not None:
        _ofd(fd, fcntl.F_UNLCK)
    else:
        _classic(fd, fcntl.LOCK_UN)


def _busy(path: Path, what: str | None) -> str:
    return _("{what} is busy (another process or a Windows/NFS client holds it); try again in a moment").format(
        what=what or path.name
    )


def lock_holder(path: Path) -> int | None:
    """The pid holding a conflicting classic record lock on `path` (-1 for an OFD lock), None if free."""
    if _OFD_GETLK is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        res = fcntl.fcntl(fd, _OFD_GETLK, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
        l_type, _w, _s, _l, pid = struct.unpack(_FLOCK, res)
        return None if l_type == fcntl.F_UNLCK else pid
    finally:
        os.close(fd)
