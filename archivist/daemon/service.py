"""The daemon's main loop: one process per root, a worker loop on the main thread, helpers around it.

Threads and who owns what:
- watchdog's observer thread only routes events into the debouncer / inbox queue (no I/O);
- the main thread (worker) does every write: filing, enforcement, `edited` events, its own state;
- the index feeder thread owns the Index and applies refresh/remove/reconcile requests in batches,
  so a slow, missing or broken index never holds up filing or enforcement;
- the scheduler thread runs the daily review, the backup and the Telegram flush.
SIGTERM/SIGINT set a flag the worker sees within 0.1 s; helper threads are daemonic, so a long
backup or index rebuild never delays the stop beyond the 2 s systemd and staff expect.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import logging.handlers
import os
import queue
import re
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .. import store, workflow
from ..config import Config
from ..dates import now as tz_now
from ..doctor import Violation
from ..errors import ArchivistError
from ..record import LOG_NAME
from . import lock_path, log_path, state_path
from .edits import baseline_of, describe, hand_edits
from .enforce import enforce_folder
from .inbox import CodeFinder, file_paths, inbox_entries
from .schedule import flush_telegram, load_schedule, review_due, run_backup_if_due, save_schedule, write_review
from .settle import Settler
from .state import DaemonState
from .watcher import EVENT_FILTER, ArchiveEvents, Debouncer, WatchdogAlarm, make_observer, schedule_shallow, use_polling

log = logging.getLogger("archivist.daemon")

EDITED_BY = "archivist"
FILING_CHUNK = 200  # files per batch: bounds how long a SIGTERM waits
BACKLOG_SLICE = 0.05  # seconds of background reconcile work between looks at live events


class DaemonRunning(ArchivistError):
    """Another daemon holds this root's lock."""


def _stamp(cfg: Config) -> str:
    """Wall-clock time in the office's zone (not ARCHIVIST_NOW: these are operational times)."""
    return datetime.now(ZoneInfo(cfg.timezone)).isoformat(timespec="seconds")


# -- single instance -----------------------------------------------------------------------------

def acquire_lock(cfg: Config, wait: float = 1.0) -> int:
    """Take the root's daemon lock (an flock the kernel releases even on kill -9) and write our pid.

    Waits briefly because `running()` takes a shared lock for an instant when it checks.
    """
    path = lock_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            if time.monotonic() >= deadline:
                os.close(fd)
                pid = (path.read_text(encoding="ascii", errors="replace").strip() or "?") if path.exists() else "?"
                raise DaemonRunning(
                    f"a daemon is already running for {cfg.root} (pid {pid}); only one may run per archive. "
                    f"Stop it first (`kill {pid}` or `systemctl --user stop archivist`), or use `archivist status`."
                ) from None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    os.fsync(fd)
    return fd


# -- logging ---------------------------------------------------------------------------------------

def setup_logging(cfg: Config, stderr: bool = True) -> list[logging.Handler]:
    path = log_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")]
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


# -- the index, kept at arm's length -----------------------------------------------------------------

class IndexFeeder(threading.Thread):
    """Owns the Index; applies the worker's requests in batches; survives the index being broken.

    Requests are coalesced (ten events on one folder are one refresh). When the index cannot be
    opened or a call fails, the error is logged, the index is dropped, and after a pause it is
    reopened (`open_index` rebuilds a corrupt one) and reconciled: the folders are the truth, so
    catching up is always possible.
    """

    RETRY_SECONDS = 5.0

    def __init__(self, cfg: Config) -> None:
        super().__init__(name="index-feeder", daemon=True)
        self.cfg = cfg
        self.cond = threading.Condition()
        self._refresh: dict[str, None] = {}
        self._remove: dict[str, None] = {}
        self._violations: dict[str, list[Any]] = {}
        self._reconcile = False
        self._stopping = False
        self._busy = False
        self.index: Any = None
        self.state = "starting"
        self.last_error: str | None = None
        self.last_reconcile: str | None = None
        self.opened = 0

    # called from the worker
    def refresh(self, folder: Path) -> None:
        with self.cond:
            self._refresh[str(folder)] = None
            self._remove.pop(str(folder), None)
            self.cond.notify()

    def remove(self, folder: Path) -> None:
        with self.cond:
            self._remove[str(folder)] = None
            self._refresh.pop(str(folder), None)
            self._violations.pop(str(folder), None)
            self.cond.notify()

    def set_violations(self, folder: Path, violations: list[Any]) -> None:
        with self.cond:
            self._violations[str(folder)] = violations
            self.cond.notify()

    def reconcile(self) -> None:
        with self.cond:
            self._reconcile = True
            self.cond.notify()

    def pending(self) -> int:
        with self.cond:
            return len(self._refresh) + len(self._remove) + int(self._reconcile) + int(self._busy)

    def stop(self) -> None:
        with self.cond:
            self._stopping = True
            self.cond.notify()

    def drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state == "down" or (self.pending() == 0 and self.state == "ok"):
                return True
            time.sleep(0.05)
        return False

    def run(self) -> None:
        while True:
            with self.cond:
                while not self._stopping and not (self._refresh or self._remove or self._violations or self._reconcile or self.index is None):
                    self.cond.wait(1.0)
                if self._stopping:
                    break
                refresh, self._refresh = list(self._refresh), {}
                remove, self._remove = list(self._remove), {}
                violations, self._violations = self._violations, {}
                reconcile, self._reconcile = self._reconcile, False
                self._busy = True
            try:
                self._apply(refresh, remove, violations, reconcile)
            except Exception as e:  # noqa: BLE001 - any index failure: log, drop, retry later
                self._fail(e)
                with self.cond:  # keep the work: it is re-done by the reconcile after reopening
                    self._reconcile = True
                    for p in refresh:
                        self._refresh.setdefault(p, None)
                    for p in remove:
                        self._remove.setdefault(p, None)
                    for p, v in violations.items():
                        self._violations.setdefault(p, v)
                    self._busy = False
                    self.cond.wait(self.RETRY_SECONDS)
                continue
            with self.cond:
                self._busy = False
        if self.index is not None:
            try:
                self.index.close()
            except Exception:  # noqa: BLE001
                pass

    def _open(self) -> None:
        from ..index import open_index

        def progress(msg: object = "", *args: object, **kw: object) -> None:
            if isinstance(msg, str) and msg:
                log.info("index: %s", msg)

        self.state = "opening"
        self.index = open_index(self.cfg, build_if_missing=True, progress=progress)
        db = getattr(self.index, "db", None)
        if db is not None:  # the daemon only writes small refreshes: keep its page cache small (RSS)
            db.execute("PRAGMA cache_size = -8000")
        self.state = "ok"
        self.opened += 1  # the worker re-sends the naming violations it knows to a (re)opened index
        log.info("index open: %s", self.cfg.index_file)

    def _apply(self, refresh: list[str], remove: list[str], violations: dict[str, list[Any]], reconcile: bool) -> None:
        if self.index is None:
            self._open()
            reconcile = True
        idx = self.index
        for p in remove:
            idx.remove(Path(p))
        if refresh:
            idx.refresh([Path(p) for p in refresh])
        for p, vs in violations.items():
            idx.set_violations(Path(p), vs)
        if reconcile:
            t0 = time.monotonic()
            summary = idx.reconcile()
            _trim_heap()
            self.last_reconcile = _stamp(self.cfg)
            log.info("index reconciled in %.1f s: %s", time.monotonic() - t0, summary)

    def _fail(self, e: BaseException) -> None:
        msg = f"{type(e).__name__}: {e}"
        if msg != self.last_error:
            log.error("index unavailable (%s); filing and enforcement go on, the index catches up later", msg)
        self.last_error = msg
        self.state = "down"
        if self.index is not None:
            try:
                self.index.close()
            except Exception:  # noqa: BLE001
                pass
        self.index = None


# -- scheduled jobs ----------------------------------------------------------------------------------

class Scheduler(threading.Thread):
    TICK = 10.0

    def __init__(self, cfg: Config, stop: threading.Event) -> None:
        super().__init__(name="scheduler", daemon=True)
        self.cfg = cfg
        self.stop_event = stop
        self._warned: set[str] = set()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.tick()
            self.stop_event.wait(self.TICK)

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    def tick(self, now: datetime | None = None) -> None:
        cfg = self.cfg
        now = now or tz_now(cfg.timezone)
        state = load_schedule(cfg)
        if review_due(cfg, now, state):
            try:
                from ..index import open_index

                idx = open_index(cfg, build_if_missing=False)
                try:
                    path = write_review(cfg, now, idx)
                finally:
                    idx.close()
                state["review"] = now.date().isoformat()
                save_schedule(cfg, state)
                log.info("daily review written: %s", path)
                self._warned.discard("review")
            except Exception as e:  # noqa: BLE001 - the index may be down: try again next tick
                self._warn_once("review", "daily review postponed (%s: %s)", type(e).__name__, e)
        try:
            summary = run_backup_if_due(cfg, now)
            if summary is not None and summary.get("ok") is False:
                log.warning("backup not made: %s", summary.get("error"))
            elif summary is not None:
                log.info("backup: %s", summary)
            self._warned.discard("backup")
        except Exception as e:  # noqa: BLE001
            self._warn_once("backup", "backup failed (%s: %s); retrying at the next tick", type(e).__name__, e)
        try:
            sent = flush_telegram(cfg)
            if sent:
                log.info("telegram: %d message(s) sent", sent)
        except Exception as e:  # noqa: BLE001
            self._warn_once("telegram", "telegram send failed (%s); messages stay in the outbox", e)


# -- the daemon ----------------------------------------------------------------------------------------

_TMP_WRITE = re.compile(rf"^\.{re.escape(LOG_NAME)}\.(\d+)\.[0-9a-f]+\.tmp$")


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


def _folder_stats(folder: Path) -> tuple[int, int, int] | None:
    try:
        d = os.stat(folder).st_mtime_ns
    except OSError:
        return None
    try:
        st = os.stat(folder / LOG_NAME)
        return d, st.st_mtime_ns, st.st_size
    except OSError:
        return d, 0, -1


class Daemon:
    def __init__(self, cfg: Config, once: bool = False, stderr: bool = True) -> None:
        self.cfg = cfg
        self.once = once
        self.layout = store.layout_of(cfg)
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self.debouncer = Debouncer(cfg.daemon.debounce_ms / 1000.0)
        self.settler = Settler(cfg.daemon.settle_seconds)
        self.inbox_q: queue.SimpleQueue[tuple[Path, bool]] = queue.SimpleQueue()
        # folders a reconcile found changed, as str (100,000 Paths would cost tens of MB), no duplicates
        self.backlog: OrderedDict[str, None] = OrderedDict()
        self.walk: Iterator[Path] | None = None
        self.walk_checked = 0
        self.reconcile_reason: str | None = None
        self.observer: Any = None
        self.observer_desc = "none"
        self.degraded = False
        self.feeder = IndexFeeder(cfg)
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

    def _on_inbox(self, path: Path, closed: bool) -> None:
        self.inbox_q.put((path, closed))
        self.wake.set()

    def _on_area(self, area: str) -> None:
        self.request_reconcile(f"the {area}/ folder itself changed")

    def request_reconcile(self, reason: str) -> None:
        self.reconcile_reason = reason
        self.wake.set()

    def _on_watchdog_alarm(self, message: str) -> None:
        if "limit" in message.lower() or "unable to rebuild" in message.lower():
            self.degraded = True
        self.request_reconcile(f"watchdog: {message}")

    # -- lifecycle --
    def run(self) -> int:
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
            log.info("daemon %s for %s (pid %d, policy %s)", "pass" if self.once else "started", self.cfg.root, os.getpid(),
                     self.cfg.naming.policy)
            self._route_index_hook()
            if self.once:
                self.feeder.start()
                return self._run_once()
            _limit_malloc_arenas()
            # watches first, then the index: their big one-off passes do not overlap (peak RSS)
            self._start_observer()
            self.feeder.start()
            self.scheduler = Scheduler(self.cfg, self.stop_event)
            self.scheduler.start()
            self.reconcile("start")
            self._loop()
            return 0
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
        try:
            from ..index.hook import refresh_on_change
        except ImportError:
            pass
        else:
            workflow.off_change(refresh_on_change)
        workflow.on_change(self._on_saved)

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
        os.close(lock_fd)  # releases the flock: `running()` says no from here on

    def _stop_observer(self) -> None:
        try:
            self.observer.stop()
            self.observer.join(timeout=1.0)
        except Exception:  # noqa: BLE001
            pass

    def _start_observer(self) -> None:
        polling, why = use_polling(self.cfg)
        handler = ArchiveEvents(self.cfg.root, self._on_folder, self._on_inbox, self._on_area)
        try:
            obs = make_observer(polling)
            obs.schedule(handler, str(self.cfg.root), recursive=True, event_filter=EVENT_FILTER)
            obs.start()
            self.degraded = False
            self.observer_desc = ("polling" if polling else "native") + f" ({why})"
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EMFILE, errno.ENOMEM):
                raise
            log.warning("cannot watch every folder (%s); watching the area folders only and reconciling every minute. "
                        "Raise fs.inotify.max_user_watches to watch everything.", e)
            obs = make_observer(polling)
            try:
                schedule_shallow(obs, handler, self.cfg.root)
                obs.start()
            except OSError:
                obs = make_observer(True)
                schedule_shallow(obs, handler, self.cfg.root)
                obs.start()
            self.degraded = True
            self.observer_desc = "shallow (inotify limit)"
        self.observer = obs
        log.info("watching %s with the %s observer", self.cfg.root, self.observer_desc)

    def _observer_ok(self) -> bool:
        obs = self.observer
        return obs is not None and obs.is_alive() and all(e.is_alive() for e in list(obs.emitters))

    # -- the loop --
    def _loop(self) -> None:
        interval = max(60.0, self.cfg.daemon.reconcile_minutes * 60.0)
        next_reconcile = time.monotonic() + interval
        next_publish = 0.0
        next_health = time.monotonic() + 2.0
        while not self.stop_event.is_set():
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
                    self.request_reconcile("watcher restarted")
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
        for folder in self.debouncer.take():
            self._safe_process(folder)
            if self.stop_event.is_set():
                return
        while True:
            try:
                path, closed = self.inbox_q.get_nowait()
            except queue.Empty:
                break
            if path.parent == self.layout.inbox:
                self.settler.touch(path, closed)
        ready = self.settler.ready()
        if ready:
            self._file(ready)
        if self._backlog_pending():
            deadline = time.monotonic() + BACKLOG_SLICE
            self._backlog_slice(lambda: time.monotonic() < deadline and not self.debouncer.next_due_passed())

    def _run_once(self) -> int:
        self.reconcile("daemon --once")
        self._drain_backlog()
        cutoff = time.time() - self.cfg.daemon.settle_seconds
        settled = []
        for p in inbox_entries(self.cfg):
            try:
                if p.stat().st_mtime < cutoff:
                    settled.append(p)
            except OSError:
                continue
        self._file(settled)
        self.settler = Settler(self.cfg.daemon.settle_seconds)
        self._drain_backlog()  # folders that received files
        if not self.feeder.drain(timeout=600):
            log.warning("the index is still busy; it will catch up at the next start")
        self._publish(force=True)
        v, inv = self.state.counts()
        log.info("pass done: %d violation(s), %d invalid log(s)", v, inv)
        return 0

    def _drain_backlog(self) -> None:
        while self._backlog_pending() and not self.stop_event.is_set():
            self._backlog_slice(lambda: True, limit=500)

    def _backlog_slice(self, more: Callable[[], bool], limit: int | None = None) -> None:
        """Look at up to `limit` queued folders while `more()` allows, in one state transaction: one
        commit per slice, not per folder, is what keeps a first start over 100,000 folders to minutes."""
        self.state.begin()
        done = 0
        try:
            while more() and (limit is None or done < limit) and not self.stop_event.is_set():
                done += 1
                folder = self._next_backlog()
                if folder is None:
                    break
                self._safe_process(folder, live=False)
        finally:
            self.state.commit()

    # -- reconcile --
    def reconcile(self, reason: str) -> None:
        """Start a stat-compare of the tree with what the daemon last saw.

        The walk is lazy: the worker pulls folders from it a slice at a time and looks only at
        those whose (dir mtime, log mtime, log size) changed, so a 100,000-folder tree never sits
        in memory as a list and live events are served between slices. Inbox files are picked up
        at once; the index runs its own reconcile in its thread.
        """
        self.walk = self._walk(reason)
        self.walk_checked = 0
        for p in inbox_entries(self.cfg):
            self.settler.touch(p)
        if self.feeder.opened:  # a freshly opened index is reconciled by the feeder anyway
            self.feeder.reconcile()
        self.last_reconcile = _stamp(self.cfg)

    def _walk(self, reason: str) -> Iterator[Path]:
        t0 = time.monotonic()
        changed = 0
        for _area, folder in store.iter_record_folders(self.layout):
            self.walk_checked += 1
            if self.state.folder_stat(folder) != _folder_stats(folder):
                changed += 1
                yield folder
        gone = 0
        for path in self.state.folder_paths():  # folders seen before that are no longer there
            if not os.path.isdir(path):
                gone += 1
                yield Path(path)
        log.info("reconcile (%s): %d folders, %d changed, %d gone, %.1f s", reason, self.walk_checked, changed, gone,
                 time.monotonic() - t0)
        _trim_heap()

    def _next_backlog(self) -> Path | None:
        """The next folder to look at in the background: explicit requests, then the walk."""
        if self.backlog:
            return Path(self.backlog.popitem(last=False)[0])
        if self.walk is not None:
            folder = next(self.walk, None)
            if folder is not None:
                return folder
            self.walk = None
        return None

    def _backlog_pending(self) -> bool:
        return bool(self.backlog) or self.walk is not None

    # -- one record folder --
    def _safe_process(self, folder: Path, live: bool = True) -> None:
        try:
            self.process_folder(folder, live)
        except Exception as e:  # noqa: BLE001 - one odd folder must not stop the daemon
            log.exception("could not process %s: %s", folder, e)

    def process_folder(self, folder: Path, live: bool = True) -> None:
        """Enforce, detect hand edits, report, and tell the index: the daemon's work on one folder.

        `live` is False for folders queued by a reconcile: the index's own reconcile re-reads
        those, so only what the daemon itself changes (fixes, new events, violations) is sent.
        """
        if not folder.is_dir():
            lead = self.state.drop_folder(folder)
            self.feeder.remove(folder)
            self.counts_dirty = True
            if lead:
                log.info("record folder gone: %s (%s)", self._rel(folder), lead)
            return
        area = self.layout.area_of(folder)
        if area is None:
            return
        self._remove_crash_leftovers(folder)
        stats = _folder_stats(folder)
        result = enforce_folder(self.cfg, area, folder)
        for v in result.fixed:
            log.info("fixed %s: %s → %s", v.rule, self._rel(Path(v.path)), Path(v.fix_to or "").name)
        for msg in result.skipped:
            log.warning("could not fix: %s", msg)
        if result.folder != folder:
            self.state.drop_folder(folder)
            self.feeder.remove(folder)
            folder = result.folder
            stats = _folder_stats(folder)
            live = True
        if live:
            self.feeder.refresh(folder)
        rec = result.record
        if rec is not None:
            prev = self.state.baseline(rec.lead)
            if prev and prev[1] != str(folder) and not Path(prev[1]).exists():
                log.info("record %s moved: %s → %s", rec.code, self._rel(Path(prev[1])), self._rel(folder))
                self.feeder.remove(Path(prev[1]))
            now = baseline_of(rec)
            changed = hand_edits(prev[0] if prev else None, rec, now)
            self.state.put_baseline(rec.lead, now, folder)
            if changed and prev:
                note = describe(prev[0], rec, changed, now)
                try:
                    workflow.append_event(self.cfg, folder, "edited", EDITED_BY, note, fields=changed)
                    log.info("hand edit in %s: %s", self._rel(folder), note)
                except ArchivistError as e:
                    log.warning("hand edit in %s seen but not logged: %s", self._rel(folder), e)
        vjson = [v.to_json() for v in result.violations]
        before = self.state.folder(folder)
        if before is None or before["violations"] != vjson:
            for v in result.violations:
                log.warning("%s: %s — %s", v.rule, self._rel(Path(v.path)), v.message)
            if before and before["violations"] and not vjson:
                log.info("resolved: %s has no naming problems now", self._rel(folder))
            self.counts_dirty = True
        if live or (before["violations"] if before else []) != vjson:
            self.feeder.set_violations(folder, list(result.violations))
        invalid = any(v.rule == "invalid-log" for v in result.violations)
        self.state.put_folder(folder, rec.lead if rec else None, stats or (0, 0, -1), vjson, invalid)

    def _remove_crash_leftovers(self, folder: Path) -> None:
        """Delete the temp file of an atomic log write whose process died (kill -9, power cut).

        It is archivist's own unfinished write, never a user's file: the log beside it is intact.
        """
        try:
            names = [n for n in os.listdir(folder) if n.startswith(f".{LOG_NAME}.") and n.endswith(".tmp")]
        except OSError:
            return
        for name in names:
            m = _TMP_WRITE.match(name)
            if not m or store.pid_alive(int(m.group(1))):
                continue
            try:
                os.unlink(folder / name)
                log.info("removed an unfinished write left by a crash: %s", self._rel(folder / name))
            except OSError:
                pass

    # -- inbox --
    def _file(self, paths: list[Path]) -> None:
        finder = CodeFinder(self.cfg)
        for i in range(0, len(paths), FILING_CHUNK):
            chunk = paths[i : i + FILING_CHUNK]
            try:
                result = file_paths(self.cfg, chunk, finder)
            except Exception as e:  # noqa: BLE001
                log.exception("filing failed: %s", e)
                continue
            for src, dst in result.filed:
                log.info("filed inbox/%s → %s", src.name, self._rel(dst))
            for folder in {dst.parent for _src, dst in result.filed}:
                self.debouncer.touch(folder, now=0.0)  # refresh now, do not wait for the watcher
                if self.once:
                    self.backlog[str(folder)] = None
            for msg in result.problems:
                log.warning("%s", msg)
            for p in result.left:
                if p.name not in self._reported_unfiled:
                    self._reported_unfiled.add(p.name)
                    log.warning("unfiled: inbox/%s (its name does not start with a known code)", p.name)
            if self.stop_event.is_set():
                break

    # -- status --
    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.cfg.root))
        except ValueError:
            return str(path)

    def _publish(self, force: bool = False) -> None:
        if self.counts_dirty:
            self.counts = self.state.counts()
            self.counts_dirty = False
        data = {
            "pid": os.getpid(),
            "started": datetime.fromtimestamp(self.started, ZoneInfo(self.cfg.timezone)).isoformat(timespec="seconds"),
            "started_ts": self.started,
            "last_reconcile": self.last_reconcile,
            "index_reconcile": self.feeder.last_reconcile,
            "reconcile_checked": self.walk_checked if self.walk is not None else None,
            "pending_events": len(self.debouncer) + len(self.settler) + len(self.backlog) + int(self.walk is not None)
            + self.inbox_q.qsize()
            + (self.feeder.pending() if self.feeder.state == "ok" else 0),
            "violations": self.counts[0],
            "invalid_logs": self.counts[1],
            "index": self.feeder.state,
            "index_error": self.feeder.last_error,
            "observer": self.observer_desc,
            "once": self.once,
        }
        path = state_path(self.cfg)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            log.warning("cannot write %s: %s", path, e)


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
