"""The master list F-31-08-02 as a derived SQLite index (WAL) at `<root>/.archivist/index.sqlite`.

    from archivist.index import Index, open_index
    idx = open_index(cfg)            # rebuilds a missing, old-schema or corrupt index first
    idx = open_current(cfg)          # what read commands use: refuses a missing archive, and
                                     # catches up with hand edits when no daemon runs
    idx.search("نمونه پارس")         # → [{lead, case, company, staff, status, next_followup, path,
                                     #      stale, score, matched}, …]
    idx.refresh([folder])            # after a change the caller knows about (workflow hook, daemon)
    idx.reconcile()                  # stat-compare the whole tree, re-read only what changed

Progress callbacks receive `(message, done, total)`. Nothing here writes a record: the folders
are the truth, and deleting `.archivist/` loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from array import array
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import archive_id
from ..config import Config
from ..dates import now as tz_now
from ..errors import ArchivistError
from ..i18n import _
from ..liveness import running
from ..modes import make_dirs
from ..stages import STAGES
from ..store import AREAS, record_depth
from . import build, catchup, lookup, review, schema
from .build import Progress
from .search_text import path_key

if TYPE_CHECKING:  # the daemon hands Violations in; a reading command never builds one
    from ..violations import Violation

__all__ = [
    "Index",
    "open_index",
    "open_current",
    "reindex",
    "require_archive",
    "check_staff",
    "check_status",
    "Progress",
    "index_exists",
    "IndexUnavailable",
]

T = TypeVar("T")


class IndexUnavailable(ArchivistError):
    """The index is busy (another process writes it) or this account may not open it: the records
    themselves are fine, only the derived answers must wait."""


def unavailable(path: Path, e: sqlite3.Error) -> IndexUnavailable:
    if schema.is_busy(e):
        return IndexUnavailable(
            _("the index is busy (another process is writing {name}); the records are safe: try again in a moment").format(
                name=path.name
            )
        )
    return IndexUnavailable(
        _(
            "this account cannot open the index {path} ({e}); give the archive's group read and write access to {parent} (see README, An office on one host)"
        ).format(path=path, e=e, parent=path.parent)
    )


def _reading(method):  # type: ignore[no-untyped-def]
    """A read that meets a busy or inaccessible index says so in one line instead of a traceback."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as e:
            if schema.not_now(e):
                raise unavailable(self.path, e) from None
            raise

    return wrapper


def _stderr_progress(message: str, done: int, total: int) -> None:
    if total == 0:
        print(_("archivist: {message}").format(message=message), file=sys.stderr)


class Index:
    """One connection to the index; safe for one writer thread plus readers (a lock serializes)."""

    def __init__(self, cfg: Config, db: sqlite3.Connection, readonly: bool = False) -> None:
        self.cfg = cfg
        self.path = cfg.index_file
        self.readonly = readonly  # this account may read the index but not write it
        self.db = db
        # what cold_build said when opening had to build the file first (old schema, corrupt,
        # missing): `reindex` then has nothing left to do instead of building it a second time
        self.just_built: dict[str, Any] | None = None
        self.db.row_factory = sqlite3.Row
        self._lock = threading.RLock()

    # -- building ------------------------------------------------------------------------------------
    def rebuild(self, progress: Progress | None = None) -> dict[str, Any]:
        """Read every record folder again and replace the whole index in one transaction."""
        if self.readonly:
            raise IndexUnavailable(
                _(
                    "this account may only read the index {path}; rebuild it on the host that owns the archive, as its service account (or give the group write access)"
                ).format(path=self.path)
            )
        with self._lock:
            started = time.monotonic()
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                for table in ("records", "numbers", "terms", "vocab"):
                    db.execute(f"DELETE FROM {table}")
                # the index's own rules are re-derived by the fill; the others come from the daemon,
                # which sends them only when a folder changes, so they are kept (see _drop_vanished)
                db.execute("DELETE FROM violations WHERE rule IN ('invalid-log', 'no-log')")
                db.execute("DELETE FROM meta WHERE key = 'next_sparse'")
                schema.write_json_for(db, self.cfg.timezone, self.cfg.root)  # every row is written again
                for table in FTS_TABLES:
                    db.execute(f"INSERT INTO {table}({table}) VALUES ('delete-all')")
                build.forget_words(db)
                n, writing = _fill(db, self.cfg, progress)
                started_finish = time.monotonic()
                _drop_vanished(db, {key for (key,) in db.execute("SELECT pkey FROM records")})
                optimize(db)
                db.execute("COMMIT")
                writing += time.monotonic() - started_finish
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return {"records": n, "seconds": round(time.monotonic() - started, 2), "write_seconds": round(writing, 2)}

    def refresh(self, paths: Iterable[Path | str]) -> int:
        """Re-read the given record folders if their log or file list changed; drop vanished ones."""
        return self.update(refresh=paths)

    def update(
        self,
        refresh: Iterable[Path | str] = (),
        remove: Iterable[Path | str] = (),
        violations: Mapping[Path | str, list[Violation]] | None = None,
    ) -> int:
        """Forget the folders of `remove`, re-read those of `refresh` that changed, replace the
        violations of those in `violations`: for many folders in one transaction (the daemon's
        feeder after a filing batch: one commit for 200 records, not 400); how many changed."""
        gone = {rel for p in remove if (rel := self._record_folder(Path(p))) is not None}
        fresh = {rel for p in refresh if (rel := self._record_folder(Path(p))) is not None} - gone
        found = [(rel, vs) for p, vs in (violations or {}).items() if (rel := self._record_folder(Path(p))) is not None]
        changed = 0
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for rel in sorted(gone):
                    build.delete_path(self.db, rel)
                for rel in sorted(fresh):
                    changed += self._refresh_one(rel)
                for rel, vs in found:
                    self._replace_violations(rel, vs)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return changed

    def reconcile(self, progress: Progress | None = None) -> dict[str, int]:
        """Compare every folder on disk with the index by stats; re-read only what changed.

        The stat walk runs outside any transaction (in threads when the metadata has to come from
        disk: see build.probe), so the CLI and TUI are never blocked by it; only the changed
        folders are written, re-checked under the write lock in case a refresh got there first.
        """
        root = str(self.cfg.root)
        templates = build.templates_of(self.cfg)

        def lookup(keys: list[int]) -> dict[int, tuple]:
            marks = ",".join("?" * len(keys))
            with self._lock:
                return {
                    r[0]: r[1:]
                    for r in self.db.execute(
                        f"SELECT pkey, id, log_mtime, log_size, dir_sig FROM records WHERE pkey IN ({marks})", keys
                    )
                }

        with self._lock:  # before the walk: a record added meanwhile must not look vanished
            before = array("q", (key for (key,) in self.db.execute("SELECT pkey FROM records")))  # 0.8 MB
        seen, changed = build.probe(root, lookup)
        gone = [key for key in before if key not in seen]
        del before
        with self._lock:
            vanished = [rid for key in gone for (rid,) in self.db.execute("SELECT id FROM records WHERE pkey = ?", (key,))]
        added = sum(1 for c in changed if c[2] is None)
        with self._lock:
            if changed or vanished:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    dates = _stored_dates(self.db)
                    for area, name, _prev in changed:
                        rel = f"{area}/{name}"
                        prev = build.find_row(self.db, rel)
                        if prev is not None and build.unchanged(f"{root}/{rel}", prev):
                            continue
                        build.insert_scan(self.db, build.scan_folder(root, area, name, templates), dates, prev)
                    for rid in vanished:
                        build._retire(self.db, rid)
                    _drop_vanished(self.db, seen)
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
            total = len(seen)
            sparse = self.db.execute("SELECT count(*) FROM records WHERE id >= ?", (build.SPARSE,)).fetchone()[0]
        if sparse > max(2000, total // 10):
            self.rebuild(progress)  # many re-read records: old FTS rows pile up and searches merge more
        return {"added": added, "updated": len(changed) - added, "removed": len(vanished), "records": total}

    def reconcile_if_free(self, progress: Progress | None = None, wait: float = 0.3) -> dict[str, int] | None:
        """`reconcile`, unless another process holds the index for writing (or this account may
        not write it): then None at once, for a read command that should answer rather than wait."""
        if self.readonly:
            return None
        with self._lock:
            self.db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            return self.reconcile(progress)
        except sqlite3.OperationalError as e:
            if schema.not_now(e):
                return None
            raise
        finally:
            with self._lock:
                self.db.execute("PRAGMA busy_timeout = 10000")

    # -- reading -------------------------------------------------------------------------------------
    @_reading
    def search(
        self, query: str, limit: int = 50, status: str | None = None, staff: str | None = None, archived: bool | None = None
    ) -> list[dict[str, Any]]:
        from .search import search

        status, staff = check_status(status), check_staff(self.cfg, staff)
        with self._lock:
            return search(self.db, self.cfg, query, limit, status, staff, archived)

    @_reading
    def get(self, code: str) -> dict[str, Any] | None:
        """The indexed record for an applicant or case code (any digit script), or None."""
        from .search import get

        with self._lock:
            return get(self.db, self.cfg, code)

    @_reading
    def records(self, status: str | None = None, staff: str | None = None, archived: bool | None = None) -> list[dict[str, Any]]:
        """Every readable record (what `list` prints), by applicant code."""
        from .search import list_records

        status, staff = check_status(status), check_staff(self.cfg, staff)
        with self._lock:
            return list_records(self.db, self.cfg, status, staff, archived)

    @_reading
    def count_records(self, status: str | None = None, staff: str | None = None, archived: bool | None = None) -> int:
        from .search import count_records

        status, staff = check_status(status), check_staff(self.cfg, staff)
        with self._lock:
            return count_records(self.db, status, staff, archived)

    def iter_records(
        self, status: str | None = None, staff: str | None = None, archived: bool | None = None
    ) -> Iterator[dict[str, Any]]:
        """`records` one at a time (the lock is held while the caller iterates: one thread)."""
        from .search import iter_records

        status, staff = check_status(status), check_staff(self.cfg, staff)
        with self._lock:
            yield from iter_records(self.db, self.cfg, status, staff, archived)

    def iter_brief(
        self, status: str | None = None, staff: str | None = None, archived: bool | None = None
    ) -> Iterator[tuple[str | None, str | None, str | None, str, str | None]]:
        """`iter_records` as (lead, case, staff, status, company): what `list` prints, nothing more."""
        from .search import iter_brief

        status, staff = check_status(status), check_staff(self.cfg, staff)
        with self._scanning():
            yield from iter_brief(self.db, status, staff, archived)

    @_reading
    def due(self, staff: str | None = None, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
        from .due import due

        staff = check_staff(self.cfg, staff)
        with self._lock:
            return due(self.db, self.cfg, staff, now)

    @_reading
    def first_calls_passed(self, since_ts: int, until_ts: int) -> list[dict[str, Any]]:
        from .due import first_calls_passed

        with self._lock:
            return first_calls_passed(self.db, self.cfg, since_ts, until_ts)

    @_reading
    def most_urgent(self, staff: str | None, limit: int = 50) -> list[dict[str, Any]]:
        """Records not archived, earliest follow-up first (of `staff`, or everyone's)."""
        from .due import most_urgent

        staff = check_staff(self.cfg, staff)
        with self._lock:
            return most_urgent(self.db, self.cfg, staff, limit)

    @_reading
    def due_counts(self, staff: str | None = None, now: datetime | None = None) -> dict[str, int]:
        from .due import due_counts

        staff = check_staff(self.cfg, staff)
        with self._lock:
            return due_counts(self.db, self.cfg, staff, now)

    def iter_due(self, staff: str | None = None, now: datetime | None = None) -> dict[str, Iterator[dict[str, Any]]]:
        """`due` with each section an iterator (read them in order, in the thread that asked)."""
        from .due import iter_due

        staff = check_staff(self.cfg, staff)
        return {key: self._scanned(rows) for key, rows in iter_due(self.db, self.cfg, staff, now).items()}

    @_reading
    def due_head(
        self, staff: str | None = None, now: datetime | None = None, limit: int = 15
    ) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
        """(`due_counts`, the first `limit` entries of each `due` section): a digest's worth,
        without the whole lists."""
        from itertools import islice

        from .due import due_counts, iter_due

        staff = check_staff(self.cfg, staff)
        now = now or tz_now(self.cfg.timezone)
        with self._lock:
            counts = due_counts(self.db, self.cfg, staff, now)
            sections = iter_due(self.db, self.cfg, staff, now)
            heads = {key: list(islice(rows, limit)) for key, rows in sections.items()}
            for rows in sections.values():
                rows.close()  # type: ignore[attr-defined]
        return counts, heads

    @_reading
    def review_text(self, staff: str | None = None, now: datetime | None = None) -> dict[str, tuple[int, list[bytes]]]:
        """`due` as text: each section's count and lines, terminal-safe UTF-8 (due.review_text)."""
        from .due import review_text

        staff = check_staff(self.cfg, staff)
        with self._scanning():
            return review_text(self.db, self.cfg, staff, now)

    @_reading
    def review_json(self, staff: str | None = None, now: datetime | None = None) -> dict[str, Iterator[bytes]]:
        """`due --json`: each section as chunks of its entries' JSON text (due.review_json; read
        them in order). The sections' first queries run here, the rest as they are read."""
        from .due import review_json

        staff = check_staff(self.cfg, staff)
        with self._lock:
            sections = review_json(self.db, self.cfg, staff, now)
        return {key: self._scanned(chunks) for key, chunks in sections.items()}

    @contextlib.contextmanager
    def _scanning(self) -> Iterator[None]:
        """The lock, and schema.small_cache while a report reads its index range."""
        with self._lock, schema.small_cache(self.db):
            yield

    def _scanned(self, rows: Iterator[T]) -> Iterator[T]:
        with self._scanning():
            yield from rows

    @_reading
    def export_rows(self) -> list[dict[str, Any]]:
        from .export import rows

        with self._lock:
            return rows(self.db, self.cfg)

    @_reading
    def export_count(self) -> int:
        from .export import count

        with self._lock:
            return count(self.db)

    def iter_export_cells(self) -> Iterator[list[str]]:
        """`export_rows` one at a time, as lists of cells in export.COLUMNS order (what the file
        writers take: no dict built and taken apart again per row; the lock is held while the
        caller iterates, so one thread)."""
        from .export import iter_cells

        with self._scanning():
            yield from iter_cells(self.db, self.cfg)

    @_reading
    def violations(self) -> list[dict[str, Any]]:
        with self._lock:
            return lookup.violations_of(self.db)

    def _replace_violations(self, rel: str, violations: list[Violation]) -> None:
        self.db.execute("DELETE FROM violations WHERE folder = ?", (rel,))
        self.db.executemany(
            "INSERT INTO violations VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(rel, v.rule, v.path, v.message, int(v.fixable), v.fix_to, v.code) for v in violations],
        )

    @_reading
    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_status = {
                r[0] or "unreadable": r[1]
                for r in self.db.execute("SELECT status, count(*) FROM records GROUP BY status ORDER BY status")
            }
            total = sum(by_status.values())
            stale = self.db.execute("SELECT count(*) FROM records WHERE stale = 1").fetchone()[0]
            archived = self.db.execute("SELECT count(*) FROM records WHERE area >= 2").fetchone()[0]
            violations = self.db.execute("SELECT count(*) FROM violations").fetchone()[0]
        size = sum(os.path.getsize(str(self.path) + s) for s in ("", "-wal") if os.path.exists(str(self.path) + s))
        return {
            "records": total,
            "by_status": by_status,
            "archived": archived,
            "stale": stale,
            "violations": violations,
            "index_bytes": size,
            "path": str(self.path),
        }

    def folder_count(self) -> int:
        """How many record folders the index knows (readable or not): what a reconcile walks."""
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM records").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            build.forget_words(self.db)
            self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------------------------
    def _record_folder(self, path: Path) -> str | None:
        """The record folder (relative to the root) a path is or lies in; a file path is accepted too."""
        p = path if path.is_absolute() else self.cfg.root / path
        try:
            parts = Path(os.path.abspath(p)).relative_to(self.cfg.root).parts
        except ValueError:
            return None
        depth = record_depth(parts)
        if not depth or len(parts) < depth or "/".join(parts[: depth - 1]) not in AREAS:
            return None
        return "/".join(parts[:depth])

    def _refresh_one(self, rel: str) -> int:
        root = str(self.cfg.root)
        folder = f"{root}/{rel}"
        area, _, name = rel.rpartition("/")
        if not os.path.isdir(folder):
            return int(build.delete_path(self.db, rel))
        prev = build.find_row(self.db, rel)
        if prev is not None and build.unchanged(folder, prev):
            return 0
        build.insert_scan(
            self.db, build.scan_folder(root, area, name, build.templates_of(self.cfg)), _stored_dates(self.db), prev
        )
        return 1


def _drop_vanished(db: sqlite3.Connection, seen: set[int]) -> None:
    """Forget violations of record folders that are no longer there (`seen`: path keys on disk;
    after a fill, the records table's: every folder found got a row, readable or not)."""
    for (folder,) in db.execute("SELECT DISTINCT folder FROM violations").fetchall():
        if path_key(folder) not in seen:
            db.execute("DELETE FROM violations WHERE folder = ?", (folder,))


def _fill(db: sqlite3.Connection, cfg: Config, progress: Progress | None) -> tuple[int, float]:
    """Insert every folder's scan into empty tables (ids are applicant codes: see build.py);
    (records, seconds the main process spent writing them)."""
    return build.insert_fresh(db, build.prepared_all(cfg, progress), _stored_dates(db))


def _stored_dates(db: sqlite3.Connection) -> build.DateText:
    """How this index stores a record's dates (for its own zone and root, whatever this config's are)."""
    return review.json_dates(schema.json_for(db))


FTS_TABLES = ("fts_ids", "fts_names", "fts_notes", "fts_files", "fts_company", "fts_core")


def optimize(db: sqlite3.Connection) -> None:
    """Merge each FTS table into one segment: smaller, and every query reads one b-tree."""
    for table in FTS_TABLES:
        db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")


def index_exists(cfg: Config) -> bool:
    return cfg.index_file.exists()


def require_archive(cfg: Config) -> None:
    """Refuse a root that is not an archive, before anything builds or reconciles an index there.

    An unmounted drive leaves an empty mount point (or no folder at all); indexing it would create
    `.archivist/` there and answer "nothing found" as if the archive were empty, and reconciling a
    configured index against it would forget every record. A reader does not write the identity
    file of an old archive (writers do, `archive_id.require_archive`).
    """
    archive_id.require_archive(cfg, adopt=False)


def check_status(status: str | None) -> str | None:
    """A stage filter, refused when it is not a stage (one message for `list`, `search` and the TUI)."""
    if status is not None and status not in STAGES:
        raise ArchivistError(
            _("--status {status!r} is not a stage; use one of {items}").format(status=status, items=", ".join(STAGES))
        )
    return status


def check_staff(cfg: Config, staff: str | None) -> str | None:
    """A staff filter as the index stores it (`7` → `07`), refused when it is not in config."""
    if staff is None or staff == "":
        return None
    return cfg.staff_number(staff, "--staff")


SLOW_RECONCILE_S = 1.0  # about 90,000 record folders with warm metadata: say why a read was slow


def daemon_running(cfg: Config) -> bool:
    return bool(running(cfg))


def cached_search(cfg: Config, query: str, limit: int = 50) -> list[dict[str, Any]] | None:
    """The index's hits for `query`, or None when there is no usable index (it is only a cache)."""
    if not cfg.index_file.exists():
        return None  # never build an index just to answer one question; the disk scan is exact
    try:
        idx = open_index(cfg, build_if_missing=False)
    except Exception:  # noqa: BLE001 - a broken or missing index must never stop a lookup
        return None
    try:
        return list(idx.search(query, limit=limit))
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            idx.close()
        except Exception:  # noqa: BLE001
            pass


def open_for_reading(cfg: Config, progress: Progress | None = None) -> tuple[Index, bool]:
    """The index of an archive, and whether it may be behind the folders: it was not built just
    now and no daemon keeps it live, so hand edits made meanwhile need a `reconcile`."""
    require_archive(cfg)
    built_now = not index_exists(cfg)
    idx = open_index(cfg, progress=progress)
    return idx, not built_now and not daemon_running(cfg)


def open_current(cfg: Config, progress: Progress | None = None, wait: bool = False) -> Index:
    """The index for a read command: the archive must exist, and the index must show what is on disk.

    With a daemon running it follows every change already. Without one, a hand edit (or a copy,
    a deletion, a file dropped into a folder) would stay invisible until the next `reindex`, so
    the index is reconciled: a stat of each record folder and its log, re-reading only what
    changed. Up to `catchup.SYNC_FOLDERS` folders (≲ 0.1 s) that happens before answering; on a
    bigger archive the command answers at once and a detached process catches up, so the next
    command shows the hand edit (see docs/decisions.md) — unless `wait` (doctor) asks for the
    walk first whatever the size.
    """
    idx, behind = open_for_reading(cfg, progress)
    if behind and not idx.readonly and not wait:
        folders = idx.folder_count()
        if folders > catchup.SYNC_FOLDERS:
            catchup.start(cfg, progress or _stderr_progress, folders)
            return idx
    if behind and idx.readonly:
        (progress or _stderr_progress)(
            _(
                "this account may only read the index: changes made since the last "
                "update may be missing until the daemon or `archivist reindex` catches up"
            ),
            0,
            0,
        )
    elif behind:
        started = time.monotonic()
        try:
            done = idx.reconcile_if_free(progress)
        except BaseException:
            idx.close()
            raise
        if done is None:
            (progress or _stderr_progress)(
                _(
                    "the index is busy (another process is writing it): answering from it "
                    "as it is; changes of the last moments may be missing"
                ),
                0,
                0,
            )
            return idx
        seconds = time.monotonic() - started
        if seconds >= SLOW_RECONCILE_S:
            (progress or _stderr_progress)(
                _(
                    "no daemon running, so {records} record folders were checked for changes first ({seconds:.1f} s); with the daemon running (`archivist start` or its systemd unit) this is skipped"
                ).format(records=done["records"], seconds=seconds),
                0,
                0,
            )
    return idx


def reindex(cfg: Config, progress: Progress | None = None) -> dict[str, Any]:
    """Rebuild the whole index from the folders (`archivist reindex`): {records, seconds, write_seconds}.

    An existing index is rebuilt in place, so a daemon that has it open sees the result and the
    naming violations the daemon reported stay; a missing one is built next to its final place.
    """
    require_archive(cfg)
    from ..store import layout_of

    layout_of(cfg).require_local(_("rebuild the index"))
    if index_exists(cfg):
        with open_index(cfg, progress=progress) as idx:
            return idx.just_built or idx.rebuild(progress)
    return cold_build(cfg, progress)


def open_index(cfg: Config, build_if_missing: bool = True, progress: Progress | None = None) -> Index:
    """The index for cfg's root; a missing, old-schema or corrupt one is rebuilt first (with a message)."""
    path = cfg.index_file
    say = progress or _stderr_progress
    remote = _seen_remotely(cfg)
    if path.exists():
        try:
            db, readonly = _connect_existing(path, remote)
        except sqlite3.DatabaseError as e:
            if schema.not_now(e):
                raise unavailable(path, e) from None
            db, readonly, reason = None, not _may_write(path), _("the index is unreadable")
        if db is not None:
            try:
                if schema.version_ok(db):
                    return Index(cfg, db, readonly=readonly)
                reason = _("the index is from another version of archivist")
            except sqlite3.DatabaseError as e:  # only "not now" errors get here
                db.close()
                raise unavailable(path, e) from None
            db.close()
        if not build_if_missing:
            raise sqlite3.DatabaseError(f"{path}: {reason}")
        require_archive(cfg)
        if readonly or remote:  # never delete what could not be opened for writing
            where = (
                _("it is reached through {remote}").format(remote=remote)
                if remote
                else _("{parent} is not writable for this account").format(parent=path.parent)
            )
            raise IndexUnavailable(
                _(
                    "{reason}, and it cannot be rebuilt from here ({where}); run `archivist reindex` on the host that owns the archive, as its service account"
                ).format(reason=reason, where=where)
            )
        say(_("{reason}; rebuilding it from the folders").format(reason=reason), 0, 0)
        schema.remove_files(path)
    elif not build_if_missing:
        raise FileNotFoundError(_("{path} does not exist; run `archivist reindex`").format(path=path))
    else:
        require_archive(cfg)  # before saying "building": a missing archive gets one line
        if remote:
            raise IndexUnavailable(
                _(
                    "there is no index yet, and it is not built through a network filesystem ({remote}); run `archivist reindex` on the host that owns the archive"
                ).format(remote=remote)
            )
        folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), path.parent)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise IndexUnavailable(
                _(
                    "there is no index yet and this account may not create one in {folder}; run `archivist reindex` as the archive's service account"
                ).format(folder=folder)
            )
        say(_("no index yet; building it from the folders"), 0, 0)
    built = cold_build(cfg, progress)
    idx = Index(cfg, schema.connect(path))
    idx.just_built = built
    return idx


def _may_write(path: Path) -> bool:
    """Whether this account may write the index: the file, its folder and any side files."""
    side = [Path(f"{path}{s}") for s in ("-wal", "-shm")]
    return (
        os.access(path, os.W_OK)
        and os.access(path.parent, os.W_OK | os.X_OK)
        and all(os.access(p, os.W_OK) for p in side if p.exists())
    )


def _seen_remotely(cfg: Config) -> str | None:
    """How the index is reached when through a network filesystem (then it is only read)."""
    from ..mounts import network_mount
    from ..store import layout_of

    layout = layout_of(cfg)
    if layout.allow_network_fs:
        return None
    found = layout.remote()
    if found:
        return _("{fstype} at {point}").format(fstype=found[2].fstype, point=found[2].point)
    m = network_mount(cfg.index_file.parent)
    return _("{fstype} at {point}").format(fstype=m.fstype, point=m.point) if m else None


def _connect_existing(path: Path, remote: str | None = None) -> tuple[sqlite3.Connection, bool]:
    """(connection, read-only?) to an existing index: for writing when this account may, else
    `mode=ro`, else `immutable` (no side files can be made in a read-only folder). Through a
    network filesystem only `immutable`: WAL's shared memory is not shared across machines."""
    if remote:
        return schema.connect(path, immutable=True), True
    if _may_write(path):
        try:
            return schema.connect(path), False
        except sqlite3.OperationalError as e:
            if not schema.not_now(e) or schema.is_busy(e):
                raise
    try:
        db = schema.connect(path, readonly=True)
        db.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
        return db, True
    except sqlite3.OperationalError as e:
        if schema.is_busy(e) or not schema.not_now(e):
            raise
    db = schema.connect(path, immutable=True)
    return db, True


def cold_build(cfg: Config, progress: Progress | None = None) -> dict[str, Any]:
    """Build a fresh index file next to the final one and move it into place atomically."""
    require_archive(cfg)
    path = cfg.index_file
    make_dirs(path.parent)
    started = time.monotonic()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.building")
    schema.remove_files(tmp)
    db = schema.connect(tmp, bulk=True)
    try:
        schema.create(db, cfg.timezone, cfg.root)
        db.execute("BEGIN")
        n, writing = _fill(db, cfg, progress)
        started_finish = time.monotonic()
        db.execute("COMMIT")
        optimize(db)
        db.execute("VACUUM")
        db.execute("PRAGMA journal_mode = WAL")
        writing += time.monotonic() - started_finish
    finally:
        build.forget_words(db)
        db.close()
    os.replace(tmp, path)
    return {"records": n, "seconds": round(time.monotonic() - started, 2), "write_seconds": round(writing, 2)}
