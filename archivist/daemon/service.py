"""The daemon's main loop: one process per root, a worker loop on the main thread, helpers around it.

Threads and who owns what:
- watchdog's observer thread only routes events into the debouncer / inbox queue (no I/O);
- the main thread (worker) does every write: filing, enforcement, `edited` events, its own state;
- the index feeder thread owns the Index and applies refresh/remove/reconcile requests in batches,
  so a slow, missing or broken index never holds up filing or enforcement;
- the scheduler thread runs the daily review, the backup and the Telegram flush.
SIGTERM/SIGINT set a flag the worker sees within 0.1 s; helper threads are daemonic, so a long
backup or index rebuild never delays the stop beyond the 2 s systemd and staff expect.

The parts live in modules named after them: `instance` (the lock), `logs`, `feeder` (the index
thread), `scheduler`, `folder` (per-folder steps), `reconcile`, `publish` (live counters); this
module is the worker loop that ties them together.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import os
import queue
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import archive_id, faults, store, workflow
from ..config import Config
from ..i18n import _
from ..inbox import CodeFinder, file_paths, held_open, inbox_entries
from ..index.hook import refresh_on_change
from ..index.lookup import locate as through_index
from ..record import Record
from ..store import relative_to_root
from ..violations import Violation
from .feeder import IndexFeeder
from .folder import EDITED_BY, FolderSteps
from .guard import Supervisor
from .instance import DaemonRunning, acquire_lock
from .logs import setup_logging, teardown_logging
from .own import OwnWrites
from .process import _limit_malloc_arenas
from .publish import StatusPublisher
from .reconcile import Reconciler
from .scheduler import Scheduler
from .settle import Settler
from .state import DaemonState
from .watcher import EVENT_FILTER, ArchiveEvents, Debouncer, WatchdogAlarm, make_observer, schedule_shallow, use_polling

log = logging.getLogger("archivist.daemon")


FILING_CHUNK = 200  # files per batch: bounds how long a SIGTERM waits


BACKLOG_SLICE = 0.05  # seconds of background reconcile work between looks at live events


class Daemon(FolderSteps, Reconciler, StatusPublisher):
    def __init__(self, cfg: Config, once: bool = False, stderr: bool = True) -> None:
        self.cfg = cfg
        self.once = once
        self.layout = store.layout_of(cfg)
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self.debouncer = Debouncer(cfg.daemon.debounce_ms / 1000.0)
        self.settler = Settler(cfg.daemon.settle_seconds)
        self.inbox_q: queue.SimpleQueue[tuple[Path, bool, bool]] = queue.SimpleQueue()
        # folders a reconcile found changed, as str (100,000 Paths would cost tens of MB), no duplicates
        self.backlog: OrderedDict[str, None] = OrderedDict()
        self.walk: Iterator[Path] | None = None
        self.walk_checked = 0
        self.reconcile_reason: str | None = None
        self.observer: Any = None
        self.observer_desc = "none"
        self.degraded = False
        self.feeder = IndexFeeder(cfg)
        self.own = OwnWrites()  # the daemon's own writes, told from others' in the watch events
        self.supervisor = Supervisor(cfg, self.stop_event, self.wake)  # every thread's error boundary
        self.feeder.supervisor = self.supervisor
        self.started = time.time()
        self.last_reconcile: str | None = None
        self.counts_dirty = True
        self.counts = (0, 0)
        self.stderr = stderr
        self._reported_unfiled: set[str] = set()
        self._violations_sent_to = 0

    # -- callbacks from the observer thread (no I/O here) --
    def _on_folder(self, folder: Path) -> None:
        self.debouncer.touch(folder)
        self.wake.set()

    def _on_inbox(self, path: Path, closed: bool, wrote: bool = False) -> None:
        self.inbox_q.put((path, closed, wrote))
        self.wake.set()

    def _on_observer_error(self, e: BaseException) -> None:
        """A callback failed on watchdog's thread: reported like any thread's failure; the event it
        was routing is found again by a reconcile."""
        if self.supervisor.failed("observer", e) is not None:
            self.request_reconcile(
                "an observer callback failed"
            )  # untranslated: a reconcile reason for daemon.log (English for support)

    def _on_area(self, area: str) -> None:
        self.request_reconcile(
            f"the {area}/ folder itself changed"
        )  # untranslated: a reconcile reason / observer state for daemon.log (English for support)

    def request_reconcile(self, reason: str) -> None:
        self.reconcile_reason = reason
        self.wake.set()

    def _on_watchdog_alarm(self, message: str) -> None:
        if (
            "limit" in message.lower() or "unable to rebuild" in message.lower()
        ):  # untranslated: a reconcile reason / observer state for daemon.log (English for support)
            self.degraded = True
        self.request_reconcile(
            f"watchdog: {message}"
        )  # untranslated: a reconcile reason / observer state for daemon.log (English for support)

    # -- lifecycle --
    def run(self) -> int:
        self.layout.require_local(_("run the daemon"))  # before its log file is opened
        archive_id.require_archive(self.cfg)  # only `init` creates: no state, log or folders on an empty mount point
        handlers = setup_logging(self.cfg, self.stderr)
        try:
            lock_fd = acquire_lock(self.cfg)
        except BaseException:
            teardown_logging(handlers)
            raise
        alarm = WatchdogAlarm(self._on_watchdog_alarm)
        logging.getLogger("watchdog").addHandler(alarm)
        self.layout.ensure()
        self.state = DaemonState(self.layout.state / "daemon.sqlite")
        old_handlers = {s: signal.signal(s, self._signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            log.info(
                "daemon %s for %s (pid %d, policy %s)",
                "pass" if self.once else "started",
                self.cfg.root,
                os.getpid(),
                self.cfg.naming.policy,
            )
            self._route_index_hook()
            if self.once:
                self.feeder.start()
                return self._run_once()
            _limit_malloc_arenas()
            # watches first, then the index: their big one-off passes do not overlap (peak RSS)
            self._start_observer()
            self.feeder.start()
            self.scheduler = Scheduler(self.cfg, self.stop_event, self.supervisor)
            self.scheduler.start()
            self.supervisor.run("worker", self._start_and_loop)
            return 1 if self.supervisor.fatal else 0
        finally:
            self._shutdown(lock_fd)
            for s, h in old_handlers.items():
                signal.signal(s, h)
            logging.getLogger("watchdog").removeHandler(alarm)
            workflow.off_change(self._on_saved)
            teardown_logging(handlers)

    def _route_index_hook(self) -> None:
        """Saves made in this process (filed, renamed, edited events) reach the index through the
        feeder, never synchronously: the CLI's hook would make the worker wait on a busy index."""
        workflow.off_change(refresh_on_change)
        workflow.on_change(self._on_saved)
        workflow.use_locator(through_index)  # inbox filing finds records through the index

    def _on_saved(self, cfg: Config, folder: Path, old_folder: Path | None) -> None:
        if old_folder is not None:
            self.feeder.remove(old_folder)
        self.feeder.refresh(folder)

    def _signal(self, signum: int, frame: Any) -> None:
        log.info("stopping (%s)", signal.Signals(signum).name)
        self.stop_event.set()
        self.wake.set()

    def _shutdown(self, lock_fd: int) -> None:
        self.stop_event.set()
        if self.observer is not None:
            # watchdog removes watches one by one (seconds for 100,000 folders); its threads are
            # daemonic and the kernel drops the watches at exit, so wait for it only briefly.
            stopper = threading.Thread(target=self._stop_observer, name="observer-stop", daemon=True)
            stopper.start()
            stopper.join(timeout=0.5)
        self.feeder.stop()
        self.feeder.join(timeout=0.5)
        self._publish(force=True)
        self.state.close()
        log.info("daemon stopped")
        os.close(lock_fd)  # releases the lock: `running()` says no from here on

    def _stop_observer(self) -> None:
        try:
            self.observer.stop()
            self.observer.join(timeout=1.0)
        except Exception:  # noqa: BLE001
            pass

    def _start_observer(self) -> None:
        polling, why = use_polling(self.cfg)
        handler = ArchiveEvents(
            self.cfg.root, self._on_folder, self._on_inbox, self._on_area, self._on_observer_error, self.own.event
        )
        try:
            obs = make_observer(polling)
            obs.schedule(handler, str(self.cfg.root), recursive=True, event_filter=EVENT_FILTER)
            obs.start()
            self.degraded = False
            self.observer_desc = ("polling" if polling else "native") + f" ({why})"
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EMFILE, errno.ENOMEM):
                raise
            log.warning(
                "cannot watch every folder (%s); watching the area folders only and reconciling every minute. "
                "Raise fs.inotify.max_user_watches to watch everything.",
                e,
            )
            obs = make_observer(polling)
            try:
                schedule_shallow(obs, handler, self.cfg.root)
                obs.start()
            except OSError:
                obs = make_observer(True)
                schedule_shallow(obs, handler, self.cfg.root)
                obs.start()
            self.degraded = True
            self.observer_desc = "shallow (inotify limit)"  # untranslated: a reconcile reason / observer state for daemon.log (English for support)
        self.observer = obs
        log.info("watching %s with the %s observer", self.cfg.root, self.observer_desc)

    def _observer_ok(self) -> bool:
        obs = self.observer
        return obs is not None and obs.is_alive() and all(e.is_alive() for e in list(obs.emitters))

    # -- the loop --
    def _start_and_loop(self) -> None:
        """The worker's body (started again by the supervisor after a failure): a reconcile first,
        since a failure may have lost events, then the loop."""
        self.reconcile(
            "start" if self.last_reconcile is None else "worker restarted"
        )  # untranslated: a reconcile reason for daemon.log (English for support)
        self._loop()

    def _loop(self) -> None:
        interval = max(60.0, self.cfg.daemon.reconcile_minutes * 60.0)
        next_reconcile = time.monotonic() + interval
        next_publish = 0.0
        next_health = time.monotonic() + 2.0
        while not self.stop_event.is_set():
            faults.check("daemon.worker")
            now = time.monotonic()
            if self.reconcile_reason:
                reason, self.reconcile_reason = self.reconcile_reason, None
                log.warning("reconciling: %s", reason) if reason.startswith("watchdog") else log.info("reconciling: %s", reason)
                self.reconcile(reason)
                next_reconcile = now + (60.0 if self.degraded else interval)
            elif now >= next_reconcile:
                self.reconcile("scheduled")
                next_reconcile = now + (60.0 if self.degraded else interval)
            if now >= next_health:
                next_health = now + 2.0
                if not self._observer_ok():
                    log.warning("the file watcher stopped (inotify limit?); restarting it and reconciling")
                    try:
                        self.observer.stop()
                    except Exception:  # noqa: BLE001
                        pass
                    self._start_observer()
                    self.request_reconcile(
                        "watcher restarted"
                    )  # untranslated: a reconcile reason / observer state for daemon.log (English for support)
            self._step()
            if now >= next_publish:
                self._publish()
                next_publish = now + 1.0
            nd = self.debouncer.next_due()
            timeout = 0.0 if self._backlog_pending() else 0.1 if len(self.settler) else 1.0
            if nd is not None:
                timeout = min(timeout, max(0.0, nd - time.monotonic()))
            if timeout > 0:
                self.wake.wait(timeout)
                self.wake.clear()

    def _step(self) -> None:
        """One round of work: live folder events first, then the inbox, then background reconcile."""
        if self.feeder.opened != self._violations_sent_to:
            self._violations_sent_to = self.feeder.opened
            for path, found in self.state.violations_by_folder():
                self.feeder.set_violations(Path(path), [Violation(**v) for v in found])
        with self.feeder.held():  # the folders that went quiet together: one index transaction
            for folder in self.debouncer.take():
                self._safe_process(folder)
                if self.stop_event.is_set():
                    return
        while True:
            try:
                dropped, closed, wrote = self.inbox_q.get_nowait()
            except queue.Empty:
                break
            if dropped.parent == self.layout.inbox:
                self.settler.touch(dropped, closed, wrote=wrote)
        ready = self.settler.ready()
        if ready:
            self._file(ready)
        if self._backlog_pending():
            deadline = time.monotonic() + BACKLOG_SLICE
            self._backlog_slice(lambda: time.monotonic() < deadline and not self.debouncer.next_due_passed())

    def _run_once(self) -> int:
        self.reconcile("daemon --once")  # untranslated: a reconcile reason / observer state for daemon.log (English for support)
        self._drain_backlog()
        cutoff = time.time() - self.cfg.daemon.settle_seconds
        settled = []
        for p in inbox_entries(self.cfg):
            try:
                if p.stat().st_mtime < cutoff:
                    settled.append(p)
            except OSError:
                continue
        held, _complete = held_open(settled)
        settled = [p for p in settled if p not in held]  # still being written: the next run files it
        self._file(settled)
        self.settler = Settler(self.cfg.daemon.settle_seconds)
        self._drain_backlog()  # folders that received files
        if not self.feeder.drain(timeout=600):
            log.warning("the index is still busy; it will catch up at the next start")
        self._publish(force=True)
        v, inv = self.state.counts()
        log.info("pass done: %d violation(s), %d invalid log(s)", v, inv)
        return 0

    # -- inbox --
    def _file(self, paths: list[Path]) -> None:
        """File settled inbox files a batch at a time, then look once at each record filed into,
        with its log as last written (no parse, no wait for the watcher; a record that got files
        in several batches is looked at once), all in one state transaction, the index told in
        one transaction too (the feeder is held meanwhile). The watch events all this causes are
        then known as the daemon's own and skipped (own.py). At most FILING_CHUNK records are held
        for their look (2,000 records' logs held at once were ~20 MB of the daemon's peak)."""
        finder = CodeFinder(self.cfg)
        filed: dict[Path, Record] = {}
        with self.feeder.held():
            for i in range(0, len(paths), FILING_CHUNK):
                chunk = paths[i : i + FILING_CHUNK]
                self.own.moving_in([p.name for p in chunk])
                try:
                    result = file_paths(self.cfg, chunk, finder)
                except Exception as e:  # noqa: BLE001
                    log.exception("filing failed: %s", e)
                    continue
                filed.update(result.records)
                if len(filed) >= FILING_CHUNK:  # 200 records held at most (memory): look at them now
                    self._look_at_filed(filed)
                for src, dst in result.filed:
                    log.info("filed inbox/%s → %s", src.name, relative_to_root(self.cfg, dst))
                for msg in result.problems:
                    log.warning("%s", msg)
                for p in result.left:
                    if p.name not in self._reported_unfiled:
                        self._reported_unfiled.add(p.name)
                        log.warning("unfiled: inbox/%s (its name does not start with a known code)", p.name)
                if self.stop_event.is_set():
                    break
            self._look_at_filed(filed)

    def _look_at_filed(self, filed: dict[Path, Record]) -> None:
        """Look at the records filed into, with their logs as written, in one state transaction."""
        self.state.begin()
        try:
            for folder, record in filed.items():
                self._safe_process(folder, known=record)
        finally:
            self.state.commit()
        filed.clear()


def run_daemon(cfg: Config, once: bool = False) -> int:
    """Entry point for `archivist daemon [--once]`.

    After a clean stop the process exits at once (os._exit): tearing down a heap that held a
    100,000-folder watch table can take longer than the 2 s a stop may take, and everything that
    matters (logs, state, the lock) is already closed.
    """
    code = Daemon(cfg, once=once).run()
    if once:
        return code
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


__all__ = [
    "BACKLOG_SLICE",
    "EDITED_BY",
    "FILING_CHUNK",
    "Daemon",
    "DaemonRunning",
    "IndexFeeder",
    "Scheduler",
    "acquire_lock",
    "run_daemon",
    "setup_logging",
    "teardown_logging",
]
