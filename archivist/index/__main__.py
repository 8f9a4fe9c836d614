"""`python -m archivist.index --root ROOT [--config PATH]`: the detached catch-up process.

Started by `catchup.start` when a reading command on a big archive answered from the index without
a daemon: it reconciles the index with the folders (a stat of every folder and log, re-reading
what changed) at a low priority, records the area folders' listings for the next allocation
(`allocation.refresh_area_tops`), then exits; the lock it inherited is dropped with it.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sqlite3
import sys
from collections.abc import Sequence

from ..allocation import refresh_area_tops
from ..config import load_config
from ..errors import ArchivistError
from ..modes import open_or_create
from . import open_index
from .catchup import FD_ENV, lock_path


def main(argv: Sequence[str] | None = None) -> int:
    """Reconcile the index with the folders, then exit (holding the lock until then)."""
    p = argparse.ArgumentParser(prog="python -m archivist.index")  # untranslated: a program name (internal helper process)
    p.add_argument("--root", required=True)
    p.add_argument("--config")
    args = p.parse_args(argv)
    held = os.environ.pop(FD_ENV, None)  # the lock handed over by `start`, kept until exit
    try:
        if os.nice(0) == 0:  # started without `nice`: the office's interactive commands come first
            os.nice(10)
    except OSError:
        pass
    cfg = load_config(args.config, args.root)
    if held is None:  # started by hand: take the lock ourselves
        fd = open_or_create(lock_path(cfg), os.O_RDWR)  # 0600, 0660 when shared (modes)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
    try:
        with open_index(cfg, build_if_missing=False) as idx:
            idx.reconcile()
    except (sqlite3.Error, ArchivistError, OSError):
        return 1  # nothing lost: the next command starts another catch-up
    try:  # while walking anyway: the next registration then lists no area folder (allocation)
        refresh_area_tops(cfg)
    except OSError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
