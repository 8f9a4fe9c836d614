"""Where the TUI reads from and how it calls the domain, off the UI thread.

Every index query and every workflow action runs on ONE background thread (a single-worker
executor): SQLite connections belong to the thread that opened them, the workflow's `on_change`
hook refreshes the index from the thread that saved, and the UI thread never waits on a disk.
Screens `await source.call(fn, ...)` from their `@work` workers.

The index is the fast path. When no daemon runs it is reconciled with the folders in the
background after the first results (`catch_up`), so hand edits made while nothing watched show
within a second or two of start without delaying the first screen. When
`archivist.index` is not importable (or fails to open), search falls back to reading the folders
once into memory, so the TUI still works on a small archive; the status line says so.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from .. import index as index_mod
from .. import store, workflow
from ..config import Config
from ..errors import InvalidLogError
from ..i18n import _
from ..index import hook
from ..naming import digits_only, fold, fold_compact
from ..record import Record, load_record

T = TypeVar("T")

ENRICH_ROWS = 60  # more than a 120×40 terminal shows


class RecordSource:
    """The TUI's window on the archive: index reads and domain writes on one worker thread."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archivist-tui-io")
        self._slow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archivist-tui-scan")
        self._index: Any = None
        self._memory: list[dict[str, Any]] | None = None
        self._opened = threading.Event()
        self.notice = ""
        self.building = ""
        self.generation = 0  # the newest search asked for; older ones are skipped, not run
        self.catch_up_due = False

    # -- threading ---------------------------------------------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` on the I/O thread and await its result (exceptions propagate)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def call_slow(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a long file scan (e.g. the returning-company check) without holding up searches.

        It gets its own thread, so it must not touch the index connection.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._slow_pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        def _close() -> None:
            if self._index is not None:
                try:
                    self._index.close()
                except Exception:  # closing a cache must never stop the app from quitting
                    pass
                self._index = None
            hook.close_all()  # its connections live on this thread too

        try:
            self._pool.submit(_close).result(timeout=5)
        except Exception:
            pass
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._slow_pool.shutdown(wait=False, cancel_futures=True)

    # -- opening (runs on the I/O thread) ----------------------------------------------------------
    def _progress(self, message: str, done: int = 0, total: int = 0) -> None:
        # never print: the terminal belongs to Textual; the status line shows the latest message
        self.building = f"{message} ({done}/{total})" if total else message

    def open(self) -> str:
        """Open (or build) the index; returns a one-line notice for the status bar ('' if all is well)."""
        if self._opened.is_set():
            return self.notice
        try:
            # when the index may be behind (no daemon), the screen asks for `catch_up` after
            # its first results, so start-up never waits on a walk of every folder
            self._index, self.catch_up_due = index_mod.open_for_reading(self.cfg, progress=self._progress)
        except Exception as e:  # a broken cache must not keep staff out of their records
            self.notice = _("index could not be opened ({e}); searching by reading the folders").format(e=e)
            self._index = None
        self._opened.set()
        return self.notice

    def catch_up(self) -> bool:
        """Reconcile the index with the folders (no daemon runs); True when anything changed.

        Runs on the slow thread with a connection of its own: a stat of every record folder takes
        about a second per 100,000 records, and searches must go on meanwhile (SQLite's WAL lets
        this connection write while the I/O thread's reads).
        """
        if self._index is None:
            return False
        with index_mod.open_index(self.cfg, build_if_missing=False) as idx:
            done = idx.reconcile()
        return bool(done["added"] or done["updated"] or done["removed"])

    @property
    def opened(self) -> bool:
        return self._opened.is_set()

    # -- reads (run on the I/O thread) -------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        status: str | None = None,
        staff: str | None = None,
        archived: bool | None = None,
        limit: int = 200,
        generation: int | None = None,
        mine: str | None = None,
    ) -> list[dict[str, Any]] | None:
        """Hits for the search box, or None when a newer search has superseded this one. Nothing
        typed and no filter: `mine`'s open records, most urgent first (what they should do next)."""
        if generation is not None and generation != self.generation:
            return None
        self.open()
        if self._index is not None:
            try:
                if mine and not fold(query) and not (status or staff or archived is not None):
                    return self._with_contact(list(self._index.most_urgent(mine, limit)))
                return self._index_search(query, status, staff, archived, limit)
            except Exception as e:  # a broken cache must not keep staff out of their records
                self.notice = _("index search failed ({e}); searching by reading the folders").format(e=e)
        return self._memory_search(query, status, staff, archived, limit)

    def _index_search(
        self, query: str, status: str | None, staff: str | None, archived: bool | None, limit: int
    ) -> list[dict[str, Any]]:
        idx = self._index
        if fold(query):
            hits = list(idx.search(query, limit=limit, status=status, staff=staff, archived=archived))
        elif status or staff or archived is not None:
            # filters alone list what they select (the index's `list`), newest codes first; archived
            # means the folder's area (archive/…), as in search, never a guess from the path text
            rows = idx.records(status=status, staff=staff, archived=archived)
            hits = rows[::-1][:limit]
        else:
            return []
        return self._with_contact(hits)

    def _with_contact(self, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Search hits carry no contact; the rows a screen shows get it from the index's detail."""
        for h in hits[:ENRICH_ROWS]:
            if "contact" not in h and h.get("lead"):
                detail = self._index.get(h.get("case") or h["lead"])
                if detail and detail.get("path") == h.get("path"):
                    h["contact"] = detail.get("contact") or {}
        return hits

    def get(self, code: str) -> dict[str, Any] | None:
        self.open()
        if self._index is not None:
            return self._index.get(code)
        for row in self._memory_rows():
            if code in (row["lead"], row["case"]):
                return row
        return None

    def load(self, path: str | Path | None = None, code: str | None = None) -> Record:
        """The record as it is on disk now (the index may lag a hand edit by a moment)."""
        if path is not None:
            p = Path(path)
            if p.is_dir():
                return load_record(p)
            if code is None:
                raise InvalidLogError(p, _("the folder is gone (moved or deleted since the search)"))
        assert code is not None
        return workflow.show(self.cfg, code)

    def due(self, staff: str | None, now: datetime | None = None) -> dict[str, list[dict[str, Any]]] | None:
        self.open()
        if self._index is None:
            return None
        lists = self._index.due(staff=staff, now=now)
        return {k: self._with_contact(list(v)) for k, v in lists.items()}

    def violations(self) -> list[dict[str, Any]] | None:
        self.open()
        if self._index is None:
            return None
        return list(self._index.violations())

    def refresh(self, paths: list[Path]) -> None:
        """After a change made here, when nothing else (daemon, on_change hook) refreshed the index."""
        if self._index is not None:
            self._index.refresh(paths)
        self._memory = None

    # -- the fallback when there is no index ---------------------------------------------------------
    def _memory_rows(self) -> list[dict[str, Any]]:
        if self._memory is None:
            rows = []
            for area, folder in store.iter_record_folders(store.layout_of(self.cfg)):
                try:
                    rec = load_record(folder)
                except InvalidLogError:
                    continue
                rows.append({**hit_of(rec), "_archived": area.startswith("archive/")})
            rows.sort(key=lambda r: (r["case"] or "", r["lead"]), reverse=True)
            self._memory = rows
        return self._memory

    def _memory_search(
        self, query: str, status: str | None, staff: str | None, archived: bool | None, limit: int
    ) -> list[dict[str, Any]]:
        q = fold_compact(query)
        qd = digits_only(query)
        out = []
        for row in self._memory_rows():
            if status and row["status"] != status or staff and row["staff"] != staff:
                continue
            if archived is not None and row["_archived"] != archived:
                continue
            if q and q not in row["_folded"] and not (qd and qd in row["_digits"]):
                continue
            out.append(row)
            if len(out) >= limit:
                break
        return out


def hit_of(rec: Record) -> dict[str, Any]:
    """A record shaped like an index search hit (plus the fields the fallback matches on)."""
    c = rec.contact
    contact = " ".join(str(c.get(k) or "") for k in ("person", "mobile", "phone", "email") if c.get(k))
    text = " ".join(
        [rec.company, contact, rec.lead, rec.case or "", rec.contract or "", *(str(i.get("number", "")) for i in rec.invoices)]
    )
    nf = rec.next_followup
    return {
        "lead": rec.lead,
        "case": rec.case,
        "company": rec.company,
        "staff": rec.staff,
        "status": rec.status,
        "next_followup": nf.isoformat() if nf else None,
        "path": str(rec.folder),
        "stale": False,
        "score": 0.0,
        "matched": "",
        "contact": contact,
        "person": c.get("person") or "",
        "mobile": c.get("mobile") or "",
        "phone": c.get("phone") or "",
        "email": c.get("email") or "",
        "_folded": fold_compact(text) + " " + fold(text),
        "_digits": digits_only(text),
    }


def contact_of(hit: dict[str, Any]) -> str:
    """The one contact line the results table shows: a person's name, else a phone or email."""
    for key in ("person", "contact", "mobile", "phone", "email"):
        v = hit.get(key)
        if isinstance(v, dict):
            v = v.get("person") or v.get("mobile") or v.get("phone") or v.get("email")
        if v:
            return str(v).split("  ")[0]
    return ""
