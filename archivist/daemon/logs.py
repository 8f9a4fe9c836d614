"""The daemon's log file (rotated, under .archivist/) on the package logger, and undoing it."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from ..config import Config
from ..liveness import log_path

log = logging.getLogger("archivist.daemon")


def setup_logging(cfg: Config, stderr: bool = True) -> list[logging.Handler]:
    path = log_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    ]
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
