"""Failures injected on purpose, for tests of the error boundaries (daemon threads, TUI).

A real failure at a named point, switched on by the environment only, so a test can make a real
daemon process or a real TUI fail where it wants without mocking the code under test:

    ARCHIVIST_FAULTS="daemon.feeder=2,tui.my_day=1,tui.user=1"

Each `point=N` makes the next N `check(point)` calls in the process raise `InjectedFault` (a
RuntimeError: an unexpected failure); `point=always` raises every time; a point ending in `.user`
raises an `ArchivistError` instead (a user error). Unset (the normal case), `check` costs one dict
look-up. Points: daemon.worker, daemon.feeder, daemon.scheduler, daemon.observer (the daemon's
threads, see daemon/guard.py); tui.action and tui.user (the F3 "my day" action), tui.worker (My
day's loading worker).
"""

from __future__ import annotations

import os
import threading

from .errors import ArchivistError

_lock = threading.Lock()
_left: dict[str, int] | None = None


class InjectedFault(RuntimeError):
    """The failure a test asked for through ARCHIVIST_FAULTS."""


def _load() -> dict[str, int]:
    out: dict[str, int] = {}
    for item in os.environ.get("ARCHIVIST_FAULTS", "").split(","):
        point, _eq, count = item.strip().partition("=")
        if point:
            out[point] = -1 if count == "always" else int(count or 1)
    return out


def check(point: str) -> None:
    """Raise the failure injected at `point`, if any is left."""
    global _left
    if _left is None:
        if "ARCHIVIST_FAULTS" not in os.environ:
            _left = {}
            return
        _left = _load()
    if point not in _left:
        return
    with _lock:
        n = _left[point]
        if n == 0:
            return
        if n > 0:
            _left[point] = n - 1
    if point.endswith(".user"):
        raise ArchivistError(
            f"injected user error at {point} (ARCHIVIST_FAULTS)"
        )  # untranslated: the test-only fault injection hook (ARCHIVIST_FAULTS)
    raise InjectedFault(
        f"injected failure at {point} (ARCHIVIST_FAULTS)"
    )  # untranslated: the test-only fault injection hook (ARCHIVIST_FAULTS)


def reset() -> None:
    """Read ARCHIVIST_FAULTS again (a test that changed it in this process)."""
    global _left
    _left = None
