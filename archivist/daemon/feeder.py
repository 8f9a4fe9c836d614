"""The index, kept at arm's length: a thread that owns the Index and applies the worker's requests in batches."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import faults
from ..config import Config
from .guard import Supervisor
from .process import _stamp, _trim_heap

log = logging.getLogger("archivist.daemon")


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
        self._held = 0  # > 0 while the worker gathers a batch (see `held`)
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

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Requests made inside are applied together when the block ends: a filing batch's 200
        records are one index transaction, not one each while the worker is still filing."""
        with self.cond:
            self._held += 1
        try:
            yield
        finally:
            with self.cond:
                self._held -= 1
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

    supervisor: Supervisor | None = None  # the daemon's thread boundary (None: a feeder used alone)

    def run(self) -> None:
        if self.supervisor is None:
            self._serve()
        else:
            self.supervisor.run("index-feeder", self._serve, lambda: self._stopping)
        if self.index is not None:
            try:
                self.index.close()
            except Exception:  # noqa: BLE001
                pass

    def _serve(self) -> None:
        with self.cond:
            self._busy = False  # started again after a failure: nothing is in hand
        while True:
            faults.check("daemon.feeder")
            with self.cond:
                while not self._stopping and (
                    self._held or not (self._refresh or self._remove or self._violations or self._reconcile or self.index is None)
                ):
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
        if refresh or remove or violations:
            idx.update(refresh, remove, violations)  # one transaction for the whole batch
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
