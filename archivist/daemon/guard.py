"""The error boundary of the daemon's threads: the worker loop (folders, inbox filing, reconcile,
the status it publishes), the index feeder, the scheduler (review, backup, Telegram sending) and
watchdog's observer callbacks.

A failure is logged to daemon.log in one line with where its full report was written
(`boundary.describe`, the CLI's rule), and the thread's body is started again after a backoff
(0.5 s, doubling, at most 30 s). A thread that fails `LIMIT` times within `WINDOW` seconds stops
the daemon, which publishes why (`daemon stopped: <thread> failed: <one line>; report: <path>`,
shown by `archivist status` and My day) and exits with status 1 (systemd may restart it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from ..boundary import describe, one_line
from ..config import Config
from ..i18n import _

log = logging.getLogger("archivist.daemon")


class Supervisor:
    LIMIT = 5
    WINDOW = 60.0
    MAX_BACKOFF = 30.0

    def __init__(self, cfg: Config, stop: threading.Event, wake: threading.Event | None = None) -> None:
        self.cfg = cfg
        self.stop_event = stop
        self.wake = wake
        self.fatal: str | None = None
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def failed(self, thread: str, e: BaseException) -> float | None:
        """Report a failure of `thread`; the pause before it starts again, or None: the daemon stops."""
        line, where = describe(
            self.cfg, e, f"archivist daemon: the {thread} thread failed"
        )  # untranslated: the crash report's first line (a file for support)
        now = time.monotonic()
        with self._lock:
            times = self._failures.setdefault(thread, deque())
            times.append(now)
            while times and now - times[0] > self.WINDOW:
                times.popleft()
            count = len(times)
            if count >= self.LIMIT and self.fatal is None:
                self.fatal = _("daemon stopped: {thread} failed: {error}; report: {report}").format(
                    thread=thread, error=one_line(f"{type(e).__name__}: {e}"), report=where or _("none")
                )
        if count >= self.LIMIT:
            log.error("%s (%d failures within %.0f s)", self.fatal, count, self.WINDOW)
            self.stop_event.set()
            if self.wake is not None:
                self.wake.set()
            return None
        delay = min(self.MAX_BACKOFF, 0.5 * 2 ** (count - 1))
        log.error("thread %s failed: %s; restarting it in %.1f s", thread, line, delay)
        return delay

    def run(self, thread: str, body: Callable[[], None], stopping: Callable[[], bool] | None = None) -> None:
        """Run `body` until it returns or the daemon stops; start it again after each failure."""
        while True:
            try:
                body()
                return
            except Exception as e:  # noqa: BLE001 - the thread's boundary: reported, then restarted
                delay = self.failed(thread, e)
                if delay is None or self.stop_event.wait(delay) or (stopping is not None and stopping()):
                    return
