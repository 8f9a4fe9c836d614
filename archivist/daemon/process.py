"""Process-level helpers of the daemon: operational wall-clock stamps and glibc memory hygiene."""

from __future__ import annotations

import logging
import logging.handlers
from datetime import datetime
from zoneinfo import ZoneInfo

from ..config import Config

log = logging.getLogger("archivist.daemon")


def _stamp(cfg: Config) -> str:
    """Wall-clock time in the office's zone (not ARCHIVIST_NOW: these are operational times)."""
    return datetime.now(ZoneInfo(cfg.timezone)).isoformat(timespec="seconds")


def _limit_malloc_arenas() -> None:
    """One malloc arena for all threads (glibc's default is up to 8 per core): the daemon's
    threads mostly wait, and per-thread arenas keep freed memory that inflates RSS."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 1)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def _trim_heap() -> None:
    """Give memory freed after a big pass back to the system (glibc keeps it otherwise)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
