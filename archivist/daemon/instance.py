"""One daemon per root: the lock a live daemon holds (the kernel drops it even on kill -9)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import time

from ..config import Config
from ..errors import ArchivistError
from ..i18n import _
from ..liveness import lock_path
from ..locking import try_lock
from ..modes import make_dirs, open_or_create
from ..store import layout_of

log = logging.getLogger("archivist.daemon")


class DaemonRunning(ArchivistError):
    """Another daemon holds this root's lock."""


def acquire_lock(cfg: Config, wait: float = 1.0) -> int:
    """Take the root's daemon lock (a record lock the kernel releases even on kill -9) and write our pid.

    Waits briefly because `running()` takes a shared lock for an instant when it checks.
    """
    layout_of(cfg).require_local(_("run the daemon"))
    path = lock_path(cfg)
    make_dirs(path.parent)
    fd = open_or_create(path, os.O_RDWR)  # 0600, 0660 when shared (modes)
    deadline = time.monotonic() + wait
    while True:
        try:
            if try_lock(fd):
                break
        except OSError:
            os.close(fd)
            raise
        if time.monotonic() >= deadline:
            os.close(fd)
            pid = (path.read_text(encoding="ascii", errors="replace").strip() or "?") if path.exists() else "?"
            raise DaemonRunning(
                _(
                    "a daemon is already running for {root} (pid {pid}); only one may run per archive. Stop it first (`kill {pid}` or `systemctl --user stop archivist`), or use `archivist status`."
                ).format(root=cfg.root, pid=pid)
            )
        time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    os.fsync(fd)
    return fd
