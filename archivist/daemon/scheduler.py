"""The scheduler thread: daily review, monthly backup, Telegram flush, each retried on the next tick."""

from __future__ import annotations

import logging
import logging.handlers
import threading
import time
from datetime import datetime

from .. import faults
from ..boundary import describe
from ..config import Config
from ..dates import now as tz_now
from ..reminders import MAX_LINES, queue_digests, queue_first_calls
from .guard import Supervisor
from .schedule import flush_telegram, load_schedule, review_due, run_backup_if_due, save_schedule, write_review

log = logging.getLogger("archivist.daemon")
_monotonic = time.monotonic


class Scheduler(threading.Thread):
    TICK = 10.0
    FIRST_CALL_EVERY = 60.0  # seconds between looks for first calls that just passed

    def __init__(self, cfg: Config, stop: threading.Event, supervisor: Supervisor | None = None) -> None:
        super().__init__(name="scheduler", daemon=True)
        self.cfg = cfg
        self.stop_event = stop
        self.supervisor = supervisor
        self._warned: set[str] = set()
        self._first_calls_at = 0.0

    last_error: str | None = None

    def run(self) -> None:
        if self.supervisor is None:
            self._serve()
        else:
            self.supervisor.run("scheduler", self._serve)

    def _serve(self) -> None:
        # a tick that fails (a bad setting, a bug, a full disk) is logged in one line with where
        # its report is and tried again at the next tick; it never ends the thread, which before
        # left `status` saying "running" with no review, backup or Telegram ever again. Anything
        # else failing here goes to the daemon's boundary (restart with backoff, see guard.py).
        while not self.stop_event.is_set():
            faults.check("daemon.scheduler")
            try:
                self.tick()
                self.last_error = None
            except Exception as e:  # noqa: BLE001
                self.last_error = f"{type(e).__name__}: {e}"
                line, _where = describe(
                    self.cfg, e, "archivist daemon: a scheduler tick failed"
                )  # untranslated: the crash report's first line (a file for support)
                log.error("scheduler: this tick failed (%s); retried in %.0f s — %s", self.last_error, self.TICK, line)
            self.stop_event.wait(self.TICK)

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    def _first_calls(self, now: datetime, state: dict[str, object]) -> None:
        """Announce applicants whose first call time passed since the last look (the first look only
        sets the mark, so an old archive does not announce years of history at once)."""
        cfg = self.cfg
        if not cfg.telegram.enabled or _monotonic() - self._first_calls_at < self.FIRST_CALL_EVERY:
            return
        self._first_calls_at = _monotonic()
        until = int(now.timestamp())
        since = state.get("first_calls_until")
        try:
            if isinstance(since, int) and since < until:
                from ..index import open_index

                idx = open_index(cfg, build_if_missing=False)
                try:
                    items = idx.first_calls_passed(since, until)
                finally:
                    idx.close()
                if items:
                    log.info("first call overdue: %d announcement(s) queued", queue_first_calls(cfg, items))
            state["first_calls_until"] = until
            save_schedule(cfg, state)
            self._warned.discard("first-calls")
        except Exception as e:  # noqa: BLE001 - the index may be down: the mark stays, next look covers the gap
            self._warn_once(
                "first-calls", "first-call reminders postponed (%s: %s)", type(e).__name__, e
            )  # untranslated: a daemon.log line (English for the administrator and support)

    def tick(self, now: datetime | None = None) -> None:
        cfg = self.cfg
        now = now or tz_now(cfg.timezone)
        state = load_schedule(cfg)
        if review_due(cfg, now, state):
            try:
                from ..index import open_index
                from ..index.schema import SCAN_CACHE_KIB

                idx = open_index(cfg, build_if_missing=False)
                # the review reads every row once: a full 32 MB page cache would stay in the
                # daemon's heap for the day, the OS page cache serves the rest as well (the
                # reports' small cache; this connection is closed after)
                idx.db.execute(f"PRAGMA cache_size = {SCAN_CACHE_KIB}")
                try:
                    path = write_review(cfg, now, idx)
                    if cfg.telegram.enabled:
                        # the counts and the first lines of each section only: every staff member's
                        # whole lists held at once were the daemon's peak memory at 100,000 records
                        counts, heads = {}, {}
                        for staff in cfg.staff:
                            counts[staff], heads[staff] = idx.due_head(staff=staff, now=now, limit=MAX_LINES)
                        queued = queue_digests(cfg, now, heads, counts)
                        log.info("morning digests queued for %d staff member(s)", queued)
                finally:
                    idx.close()
                state["review"] = now.date().isoformat()
                save_schedule(cfg, state)
                log.info("daily review written: %s", path)
                self._warned.discard("review")
            except Exception as e:  # noqa: BLE001 - the index may be down: try again next tick
                self._warn_once(
                    "review", "daily review postponed (%s: %s)", type(e).__name__, e
                )  # untranslated: a daemon.log line (English for the administrator and support)
        self._first_calls(now, state)
        try:
            summary = run_backup_if_due(cfg, now)
            if summary is not None and summary.get("ok") is False:
                log.warning("backup not made: %s", summary.get("error"))
            elif summary is not None:
                log.info("backup: %s", summary)
            self._warned.discard("backup")
        except Exception as e:  # noqa: BLE001
            self._warn_once(
                "backup", "backup failed (%s: %s); retrying at the next tick", type(e).__name__, e
            )  # untranslated: a daemon.log line (English for the administrator and support)
        try:
            sent = flush_telegram(cfg)
            if sent:
                log.info("telegram: %d message(s) sent", sent)
        except Exception as e:  # noqa: BLE001
            self._warn_once(
                "telegram", "telegram send failed (%s); messages stay in the outbox", e
            )  # untranslated: a daemon.log line (English for the administrator and support)
