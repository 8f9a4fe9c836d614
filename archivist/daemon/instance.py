"""One daemon per root: the lock a live daemon holds (the kernel drops it even on kill -9)."""

from __future__ import annotations

import errno
import fcntl
import logging
import logging.handlers
import os
import time

from ..config import Config
from ..errors import ArchivistError
from ..liveness import lock_path

log = logging.getLogger("archivist.daemon")


class DaemonRunning(ArchivistError):
    """Another daemon holds this root's lock."""


def acquire_lock(cfg: Config, wait: float = 1.0) -> int:
    """Take the root's daemon lock (an flock the kernel releases even on kill -9) and write our pid.

    Waits briefly because `running()` takes a shared lock for an instant when it checks.
    """
    path = lock_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            if time.monotonic() >= deadline:
                os.close(fd)
                pid = (path.read_text(encoding="ascii", errors="replace").strip() or "?") if path.exists() else "?"
                raise DaemonRunning(
                    f"a daemon is already running for {cfg.root} (pid {pid}); only one may run per archive. "
                    f"Stop it first (`kill {pid}` or `systemctl --user stop archivist`), or use `archivist status`."
                ) from None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    os.fsync(fd)
    return fd
