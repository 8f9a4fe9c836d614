"""The daemon's log file (rotated, under .archivist/) on the package logger, and undoing it."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from typing import Any

from ..config import Config
from ..liveness import log_path
from ..modes import make_dirs, open_or_create

log = logging.getLogger("archivist.daemon")


class _LogFile(logging.handlers.RotatingFileHandler):
    """daemon.log and its rotations made 0600 (0660 when shared, see modes), not by the umask:
    the log names customers and files."""

    def _open(self) -> Any:
        fd = open_or_create(self.baseFilename, os.O_WRONLY | os.O_APPEND)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)  # noqa: SIM115 - the handler owns it


def setup_logging(cfg: Config, stderr: bool = True) -> list[logging.Handler]:
    path = log_path(cfg)
    make_dirs(path.parent)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [_LogFile(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    # on the package logger, so warnings from shared modules (notify, backup, index) reach the
    # daemon's log too, not only the daemon's own lines
    pkg = logging.getLogger("archivist")
    for h in handlers:
        h.setFormatter(fmt)
        pkg.addHandler(h)
    pkg.setLevel(logging.INFO)
    pkg.propagate = False
    return handlers


def teardown_logging(handlers: list[logging.Handler]) -> None:
    """Undo `setup_logging`, so a daemon run in-process (tests, `--once`) leaves logging as it was."""
    pkg = logging.getLogger("archivist")
    for h in handlers:
        pkg.removeHandler(h)
        h.close()
    pkg.propagate = True
