"""The permissions of everything archivist creates: owner-only, or the office group's when shared.

A private archive (its folders are not setgid) gets files 0600 and folders 0700 whatever the
process umask: the logs, the registry, the index, the outbox with its queued Telegram messages and
the daemon's log hold customer data and must not be readable by every account of the host. An
archive shared by a group (issue 14: the root is setgid, so everything made inside belongs to the
office group) gets files 0660 and folders 2770: the group reads and writes, others nothing.

The rule is decided per folder (is the folder a file is made in setgid?), not per process, so one
long process (the web app, the test suite running the CLI in-process) serving archives of both
kinds gives each its modes, and nothing depends on the umask it was started with. Files the user
brings (documents filed from the inbox, uploads) keep their own modes: archivist moves them, it
does not create them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SHARED_FILE = 0o660
SHARED_DIR = 0o2770


def shared(folder: Path | str) -> bool:
    """Whether `folder` is an office group's (setgid): what is made in it is the group's too."""
    try:
        return bool(os.stat(folder).st_mode & stat.S_ISGID)
    except OSError:
        return False


def file_mode(folder: Path | str) -> int:
    """The mode of a file archivist creates in `folder`."""
    return SHARED_FILE if shared(folder) else PRIVATE_FILE


def make_dirs(path: Path | str) -> None:
    """`mkdir -p` giving every folder it makes archivist's mode (0700, or 2770 in a shared archive).

    Path.mkdir(parents=True) makes the parents with the umask's mode; here each new folder takes the
    rule of the folder it is made in.
    """
    path = Path(path)
    missing = []
    p = path
    while not os.path.isdir(p):
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        group = shared(d.parent)
        try:
            os.mkdir(d, 0o770 if group else PRIVATE_DIR)
        except FileExistsError:
            if not os.path.isdir(d):
                raise
            continue
        if group:
            os.chmod(d, SHARED_DIR)  # the umask may have taken the group's bits; setgid kept


def open_new(path: Path | str, flags: int) -> int:
    """Create `path` (O_EXCL) with archivist's mode and open it with `flags`; FileExistsError if it is there."""
    mode = file_mode(os.path.dirname(path) or ".")
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    if mode != PRIVATE_FILE:
        try:
            os.fchmod(fd, mode)  # the umask may have taken the group's bits
        except OSError:
            os.close(fd)
            raise
    return fd


def open_or_create(path: Path | str, flags: int) -> int:
    """Open `path` with `flags`, creating it with archivist's mode if it does not exist; an existing
    file keeps its mode (an administrator may have set it)."""
    for _attempt in range(10):
        try:
            return open_new(path, flags)
        except FileExistsError:
            pass
        try:
            return os.open(path, flags | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # removed between the two opens: create it again
    return os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)


def create_empty(path: Path | str) -> None:
    """Create `path` empty with archivist's mode if missing (a new SQLite database: SQLite alone
    makes it 0644 whatever the umask, and gives its -wal and -shm files the database's mode)."""
    try:
        os.close(open_new(path, os.O_WRONLY))
    except FileExistsError:
        pass
