"""Catching up with hand edits when no daemon runs and the archive is too big to walk per command.

A reading command on an index no daemon keeps live must see hand edits (an in-place save changes
only the log's mtime, so every folder and every log is stat'ed: see docs/decisions.md). On a small
archive `open_current` does that walk itself before answering. Past `SYNC_FOLDERS` record folders
the walk costs more than the whole command may (≈ 0.6 s of stats alone at 100,000 folders here),
so the command answers from the index at once and `start` leaves the walk to a detached process:

    start(cfg, say)   # a catch-up process, now or once the command has answered (one at a time per archive)
    wait(cfg, 60)     # → True once no catch-up process runs (tests, the bench)

The process holds an exclusive `flock` on `<state>/catch-up.lock` for its whole life; the command
that starts it takes the lock first and hands it over (the child inherits the open file), so
`wait` cannot miss a process that is starting. The next command answers with what it found.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..deferred import later
from ..i18n import _
from ..modes import create_empty, open_or_create
from ..store import layout_of

if TYPE_CHECKING:
    import subprocess

SYNC_FOLDERS = 5_000  # at most this many record folders: the walk (≲ 0.1 s) is done before answering
LOCK_NAME = "catch-up.lock"
SAID_NAME = "catch-up.said"
FD_ENV = "ARCHIVIST_CATCH_UP_FD"
SHELL = "/bin/sh"
_started: list[subprocess.Popen[bytes]] = []  # a shell slow to exit, reaped at the next start


def lock_path(cfg: Config) -> Path:
    return layout_of(cfg).state / LOCK_NAME


def start(cfg: Config, say: Callable[[str, int, int], None], folders: int) -> None:
    """Start a detached catch-up of the index with the folders, unless one runs already (inside a
    CLI command: once it has answered, see deferred.py). Says once per archive (a marker in the
    state folder) that answers may lag hand edits by one command."""
    if not later(functools.partial(_start, cfg, say, folders)):
        _start(cfg, say, folders)


def _start(cfg: Config, say: Callable[[str, int, int], None], folders: int) -> bool:
    import shutil
    import subprocess

    from ..notify import child_env

    state = layout_of(cfg).state
    _started[:] = [p for p in _started if p.poll() is None]  # reap finished ones
    try:
        fd = open_or_create(lock_path(cfg), os.O_RDWR)  # 0600, 0660 when shared (modes)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a catch-up is already walking
        argv = [sys.executable, "-m", "archivist.index", "--root", str(cfg.root)]  # index/__main__.py
        nice = shutil.which("nice")
        if nice:  # low priority from the start, imports included: the command's answer comes first
            argv = [nice, "-n", "10", *argv]
        if cfg.path is not None:
            argv += ["--config", str(cfg.path)]
        env = dict(child_env(cfg), **{FD_ENV: str(fd)})
        # through a shell that starts it in the background and exits at once: the catch-up is then
        # nobody's child here, so its CPU is never charged to the command (one that outlived its
        # catch-up reaped it at exit, and `time` showed the walk's 2-3 s of CPU as the command's)
        # and no finished catch-up waits to be reaped by a long-lived caller (the web app)
        shell = subprocess.Popen(
            [SHELL, "-c", '"$@" &', "sh", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(fd,),
            env=env,
            cwd=str(state),
            start_new_session=True,  # a Ctrl-C in the terminal stops the command, not the catch-up
        )
        try:
            shell.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _started.append(shell)  # reaped at the next start
    except OSError:
        return False
    finally:
        os.close(fd)  # the child's copy of the open file keeps the lock
    said = state / SAID_NAME
    if not said.exists():
        say(
            _(
                "no daemon running: answers come from the index at once, and the {folders} record folders "
                "are checked for hand edits in the background, so a change made by hand shows from the "
                "next command on; with the daemon running (`archivist start`) the index is always live"
            ).format(folders=folders),
            0,
            0,
        )
        try:
            create_empty(said)  # 0600 like all state (modes)
        except OSError:
            pass
    return True


def running(cfg: Config) -> bool:
    """Whether a catch-up process holds the lock now."""
    try:
        fd = os.open(lock_path(cfg), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def wait(cfg: Config, timeout: float = 60.0) -> bool:
    """Block until no catch-up process runs (True), or `timeout` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while running(cfg):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    for proc in list(_started):  # reap what this process started
        if proc.poll() is not None:
            _started.remove(proc)
    return True
