"""The daemon (issue 5): keeps the index live, enforces naming, files the inbox, runs schedules.

This module is what other parts call without starting anything heavy: `running` (is a daemon up
for this root, and its pid; it lives in the leaf `archivist.liveness`), `spawn` (start one
detached, used by `archivist start`) and `status` (what `archivist status --json` prints, in
`status.py`). The daemon itself lives in `service.py` and the modules it names; watchdog and the
index are imported only there, so `status` stays cheap and works with no index at all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from .. import archive_id
from ..config import Config, archivist_command
from ..errors import ArchivistError
from ..i18n import _
from ..liveness import _read_pid, lock_path, log_path, running, state_path
from ..modes import make_dirs
from ..store import layout_of
from .status import read_state, status


def daemon_command(cfg: Config) -> list[str]:
    """The command line that runs the daemon for this config and root."""
    return archivist_command(cfg, "daemon")


def spawn(cfg: Config, wait: float = 10.0) -> int:
    """Start a detached daemon for the root unless one runs; returns its pid.

    The child gets its own session so closing the terminal (or the TUI) does not stop it; its
    output goes to `.archivist/daemon.log` through its own logging, so stdout/stderr are dropped.
    """
    pid = running(cfg)
    if pid:
        return pid
    archive_id.require_archive(cfg)  # refused here in one line, not in a child whose output is dropped
    make_dirs(layout_of(cfg).state)
    proc = subprocess.Popen(
        daemon_command(cfg),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        pid = running(cfg)
        if pid:
            return pid
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise ArchivistError(
        _("the daemon did not start; see {log_path} or run `archivist daemon` to see why").format(log_path=log_path(cfg))
    )


def stop(cfg: Config, wait: float = 30.0) -> int | None:
    """Stop the daemon of this root (SIGTERM, then wait for it to let go of its lock); returns the
    pid it stopped, None when none was running. Only this root's daemon: the pid comes from the
    lock file that daemon holds, so another archive's daemon on the same machine is never touched."""
    pid = running(cfg)
    if not pid:
        return None
    if pid < 0:
        raise ArchivistError(
            _("a daemon holds {path} but its pid is unreadable; stop it with systemctl --user stop archivist").format(
                path=lock_path(cfg)
            )
        )
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return pid
    except PermissionError:
        raise ArchivistError(
            _("the daemon (pid {pid}) belongs to another account; stop it as that user").format(pid=pid)
        ) from None
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if running(cfg) is None:
            return pid
        time.sleep(0.05)
    raise ArchivistError(
        _("the daemon (pid {pid}) has not stopped after {seconds} s; see {log}").format(
            pid=pid, seconds=int(wait), log=log_path(cfg)
        )
    )


__all__ = [
    "_read_pid",
    "daemon_command",
    "lock_path",
    "log_path",
    "read_state",
    "running",
    "spawn",
    "state_path",
    "status",
    "stop",
]
