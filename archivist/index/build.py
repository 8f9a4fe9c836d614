"""Filling the index from the folders: cold rebuild, refresh of a few folders, reconcile of all.

Reading is the expensive part (YAML), so a cold rebuild parses in worker processes and one
writer inserts in a single transaction. A refresh compares each log's (mtime_ns, size) and each
folder's signature with what the index holds, and re-reads only what changed. A log that has
turned invalid keeps its last good row, marked stale, plus an `invalid-log` violation.

A full build gives each record the row id of its applicant code (00417 → 417), so FTS5, which
hands back row ids in order, lists matches in applicant-code order without sorting. A record
re-read later gets a fresh id from SPARSE upwards (never reused: its old contentless FTS rows
stay behind); search merges that small tail in, so answers never depend on the index's history.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..errors import InvalidLogError
from ..forked import map_forked
from ..i18n import _
from ..naming import FolderTemplate
from ..record import LOG_NAME, parse_record, read_log
from ..store import AREAS
from .search_text import Entry, build_entry, deletions, dir_signature, list_files, path_key, placeholder_entry

Progress = Callable[[str, int, int], None]

ROW_COLUMNS = (
    "id",
    "pkey",
    "area",
    "name",
    "folder",
    "lead",
    "case",
    "staff",
    "company",
    "company_key",
    "company_words",
    "status",
    "name_core",
    "name_words",
    "phones",
    "email",
    "next_ts",
    "stage_ts",
    "opened_ts",
    "last_ts",
    "last_kind",
    "contract",
    "invoices",
    "contact",
    "services",
    "files",
    "stale",
    "log_mtime",
    "log_size",
    "dir_sig",
    "due_head",
    "due_tail",
    "json_head",
    "json_path",
    "next_json",
    "stage_json",
)
_NEXT_TS, _STAGE_TS, _NEXT_JSON, _STAGE_JSON = (ROW_COLUMNS.index(c) for c in ("next_ts", "stage_ts", "next_json", "stage_json"))
DateText = Callable[[int | None, int | None], tuple[str | None, str | None]]  # review.json_dates
_INSERT = "INSERT INTO records({}) VALUES ({})".format(
    ", ".join(f'"{c}"' for c in ROW_COLUMNS), ", ".join("?" * len(ROW_COLUMNS))
)
PARALLEL_FROM = 3000  # below this, worker processes cost more than they save
SPARSE = 1 << 20  # ids below: applicant codes from the last full build; above: later versions


@dataclass
class Scan:
    """What reading one record folder found (picklable: built in worker processes)."""

    rel: str
    area: str
    log_mtime: int | None
    log_size: int | None
    dir_sig: int | str | None
    entry: Entry | None  # None when the log is invalid or missing
    error: tuple[str, str] | None  # (log path, reason with line) when invalid
    placeholder: Entry | None  # what the folder name alone tells, for a never-indexed invalid log


def scan_folder(root: str, area: str, name: str, templates: tuple[str, str]) -> Scan:
    """Read one record folder: its log (parsed and validated) and its file names."""
    rel = f"{area}/{name}"
    folder = os.path.join(root, area, name)
    files, sig = list_files(folder)
    path = os.path.join(folder, LOG_NAME)
    if not os.path.lexists(path):
        reason = _("has no {log_name}; every record folder needs its follow-up log").format(log_name=LOG_NAME)
        return Scan(rel, area, None, None, sig, None, (folder, reason), _placeholder(rel, area, name, files, templates))
    try:
        st, raw = read_log(path)  # refuses a FIFO, a device, a symlink or a file over the size limit first
    except InvalidLogError as e:
        try:
            lst = os.lstat(path)
            mtime, size = lst.st_mtime_ns, lst.st_size
        except OSError:
            mtime = size = None  # type: ignore[assignment]
        return Scan(rel, area, mtime, size, sig, None, (str(e.path), e.reason), _placeholder(rel, area, name, files, templates))
    try:
        rec = parse_record(raw, pathlib.Path(path), None, st.st_mtime_ns)  # the fast reader first
        entry = build_entry(rec, rel, area, files, templates)
        error = None
    except InvalidLogError as e:
        entry = None
        error = (str(e.path), e.reason + (_(" (line {line})").format(line=e.line) if e.line else ""))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        # a value validation let through that the index cannot hold: still this log's problem,
        # reported on it, never a failed rebuild of the whole archive
        entry = None
        error = (path, _("cannot be indexed: {e}").format(e=e))
    placeholder = _placeholder(rel, area, name, files, templates) if entry is None else None
    return Scan(rel, area, st.st_mtime_ns, st.st_size, sig, entry, error, placeholder)


def _placeholder(rel: str, area: str, name: str, files: list[str], templates: tuple[str, str]) -> Entry:
    tmpl = FolderTemplate(templates[1] if area.endswith("customers") else templates[0])
    return placeholder_entry(rel, area, tmpl.parse(name), files, templates)


def _prepare_chunk(args: tuple[str, list[tuple[str, str]], tuple[str, str]]) -> list[Prepared]:
    root, items, templates = args
    return [prepare(scan_folder(root, area, name, templates)) for area, name in items]


def templates_of(cfg: Config) -> tuple[str, str]:
    return cfg.naming.applicant_folder, cfg.naming.case_folder


def record_folders(root: str) -> Iterator[tuple[str, str]]:
    """(area, folder name) for every record folder; hidden names skipped (as store does)."""
    for area in AREAS:
        try:
            it = os.scandir(os.path.join(root, area))
        except (FileNotFoundError, NotADirectoryError):
            continue
        with it:
            for e in it:
                if not e.name.startswith(".") and e.is_dir(follow_symlinks=False):
                    yield area, e.name


# A scan as a full build inserts it: plain tuples, because sending Scan objects from the workers
# cost more to unpickle (~50 µs each) than the main process spends inserting them.
#   (row values in ROW_COLUMNS order with id None, lead,
#    ((fts table, text), …), ((number, kind), …), (name words, …), violation row or None)
Prepared = tuple[
    list[Any],
    "str | None",
    tuple[tuple[str, str], ...],
    tuple[tuple[str, str], ...],
    tuple[str, ...],
    "tuple[str, str, str, str, str | None] | None",
]


def prepare(scan: Scan) -> Prepared:
    """The rows one scan gives (insert_fresh, insert_scan), computed where the scan was made."""
    entry = scan.entry or scan.placeholder
    assert entry is not None
    row = dict(entry.row, id=None, log_mtime=scan.log_mtime, log_size=scan.log_size, dir_sig=scan.dir_sig)
    row["next_json"] = row["stage_json"] = None  # written with the row, for the index's zone and root (`dated`)
    texts = tuple(
        (table, text)
        for table, text in (
            ("ids", entry.ids),
            ("names", entry.names),
            ("notes", entry.notes),
            ("files", entry.files),
            ("company", entry.company_key),
            ("core", entry.row.get("name_core") or entry.row.get("company_key")),  # the returning check's typos
        )
        if text
    )
    return (
        [row[c] for c in ROW_COLUMNS],
        entry.row["lead"],
        texts,
        tuple(entry.numbers),
        tuple(entry.words),
        own_violation(scan),
    )


def prepared_all(cfg: Config, progress: Progress | None = None, workers: int | None = None) -> Iterable[Prepared]:
    """Every record folder under the root, read and prepared in parallel when there are many."""
    root = str(cfg.root)
    folders = sorted(record_folders(root))
    total = len(folders)
    templates = templates_of(cfg)
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    done = 0
    # Worker processes are forked, and forking a process that runs other threads (the daemon's
    # watcher, the TUI's workers) can copy a held lock into the child, so those read in-process.
    if total < PARALLEL_FROM or workers <= 1 or threading.active_count() > 1:
        for area, name in folders:
            yield prepare(scan_folder(root, area, name, templates))
            done += 1
            if progress and done % 1000 == 0:
                progress(_("reading logs"), done, total)
    else:
        size = 250
        chunks = [(root, folders[i : i + size], templates) for i in range(0, total, size)]
        for items in map_forked(_prepare_chunk, chunks, workers):
            yield from items
            done += len(items)
            if progress:
                progress(_("reading logs"), done, total)
    if progress and total:  # (…, 0, 0) is how a plain message is passed: an empty archive has none
        progress(_("reading logs"), total, total)


# -- writing ------------------------------------------------------------------------------------------


def _new_id(db: sqlite3.Connection) -> int:
    """A fresh row id from SPARSE upwards, never reused (see the module docstring)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'next_sparse'").fetchone()
    rid = max(int(row[0]) if row else SPARSE, SPARSE)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('next_sparse', ?)", (str(rid + 1),))
    return rid


_FTS_INSERT = {
    table: f"INSERT INTO fts_{table}(rowid, {'key' if table in ('company', 'core') else 't'}) VALUES (?, ?)"
    for table in ("ids", "names", "notes", "files", "company", "core")
}


def _retire(db: sqlite3.Connection, rid: int) -> None:
    """Forget a row; its FTS rows stay (contentless) but no future row will have its id."""
    db.execute("DELETE FROM records WHERE id = ?", (rid,))
    db.execute("DELETE FROM numbers WHERE rid = ?", (rid,))
    db.execute("DELETE FROM terms WHERE rid = ?", (rid,))


_NAME_WORDS = ROW_COLUMNS.index("name_words")
_PHONES = ROW_COLUMNS.index("phones")
_TERMS_INSERT = "INSERT OR IGNORE INTO terms VALUES (?, ?)"


def terms(values: list[Any], rid: int) -> list[tuple[str, int]]:
    """The `terms` rows of a records row: each word of its name_words and each phone of its phones
    as they are stored (split at the spaces that separate them), so a look-up of one finds every
    row in which the returning-company check's whole-word or phone condition can hold."""
    words, phones = values[_NAME_WORDS], values[_PHONES]
    out = {f"w {w}" for w in words.split(" ") if w} if words else set()
    if phones:
        out.update(f"p {p}" for p in phones.split(" ") if p)
    return [(t, rid) for t in out]


def dated(values: list[Any], dates: DateText) -> list[Any]:
    """A prepared row with its dates' text for `due --json` (for the index's zone and root: schema.create)."""
    values[_NEXT_JSON], values[_STAGE_JSON] = dates(values[_NEXT_TS], values[_STAGE_TS])
    return values


def insert_scan(db: sqlite3.Connection, scan: Scan, dates: DateText, previous: sqlite3.Row | tuple | None = None) -> None:
    """Store one folder's scan, replacing its previous row (`previous`: id first, status at [4])."""
    if scan.entry is None and previous is not None and previous[4] is not None:
        # invalid now, valid before: keep the last good state, marked stale, stats updated so the
        # same broken file is not re-read on every refresh
        db.execute(
            "UPDATE records SET stale = 1, log_mtime = ?, log_size = ?, dir_sig = ? WHERE id = ?",
            (scan.log_mtime, scan.log_size, scan.dir_sig, previous[0]),
        )
        _set_own_violation(db, scan)
        return
    if previous is not None:
        _retire(db, previous[0])
    values, _lead, texts, numbers, words, _violation = prepare(scan)
    rid = values[0] = _new_id(db)
    db.execute(_INSERT, dated(values, dates))
    db.executemany(_TERMS_INSERT, terms(values, rid))
    for table, text in texts:
        db.execute(_FTS_INSERT[table], (rid, text))
    if numbers:
        db.executemany("INSERT OR IGNORE INTO numbers VALUES (?, ?, ?)", [(n, k, rid) for n, k in numbers])
    if words:
        add_words(db, words)
    _set_own_violation(db, scan)


def insert_fresh(db: sqlite3.Connection, items: Iterable[Prepared], dates: DateText, batch: int = 1000) -> tuple[int, float]:
    """A full build into empty tables: ids are applicant codes, rows go in with executemany.

    Returns (records, seconds spent writing): the writing is the part no worker can share.
    """
    used: set[int] = set()
    count = 0
    pending: list[Prepared] = []
    writing = 0.0

    def flush() -> None:
        nonlocal writing
        started = time.perf_counter()
        records: list[Any] = []
        numbers: list[Any] = []
        name_terms: list[tuple[str, int]] = []
        words: set[str] = set()
        violations: list[Any] = []
        fts: dict[str, list[tuple[int, str]]] = {"ids": [], "names": [], "notes": [], "files": [], "company": [], "core": []}
        for values, lead, texts, nums, name_words, violation in pending:
            rid = int(lead) if lead and lead.isdigit() and int(lead) not in used else _new_id(db)
            used.add(rid)
            values[0] = rid
            records.append(dated(values, dates))
            name_terms += terms(values, rid)
            for table, text in texts:
                fts[table].append((rid, text))
            numbers.extend((n, k, rid) for n, k in nums)
            words.update(name_words)
            if violation:
                violations.append(violation)
        db.executemany(_INSERT, records)
        db.executemany(_TERMS_INSERT, name_terms)
        for table, values in fts.items():
            db.executemany(_FTS_INSERT[table], values)
        db.executemany("INSERT OR IGNORE INTO numbers VALUES (?, ?, ?)", numbers)
        add_words(db, words)
        db.executemany(_OWN_RULES_DELETE, [(v[0],) for v in violations])
        db.executemany(_VIOLATION_INSERT, violations)
        pending.clear()
        writing += time.perf_counter() - started

    for item in items:
        pending.append(item)
        count += 1
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return count, writing


_known_words: dict[int, set[str]] = {}


def add_words(db: sqlite3.Connection, words: Iterable[str]) -> None:
    seen = _known_words.setdefault(id(db), set())
    new = [w for w in words if w not in seen]
    if not new:
        return
    rows = []
    for w in new:
        seen.add(w)
        rows.append((w, w))
        rows.extend((k, w) for k in deletions(w))
    db.executemany("INSERT OR IGNORE INTO vocab VALUES (?, ?)", rows)


def forget_words(db: sqlite3.Connection) -> None:
    _known_words.pop(id(db), None)


_OWN_RULES_DELETE = "DELETE FROM violations WHERE folder = ? AND rule IN ('invalid-log', 'no-log')"
_VIOLATION_INSERT = "INSERT INTO violations VALUES (?, ?, ?, ?, 0, NULL, ?)"


def own_violation(scan: Scan) -> tuple[str, str, str, str, str | None] | None:
    """The index reports unreadable logs itself (other rules come from the daemon/doctor):
    (folder, rule, path, message, code) for an invalid or missing log, else None."""
    if scan.error is None:
        return None
    source = scan.entry or scan.placeholder
    code = (source.row["case"] or source.row["lead"]) if source else None
    rule = "invalid-log" if scan.log_mtime is not None else "no-log"
    return scan.rel, rule, scan.error[0], scan.error[1], code


def _set_own_violation(db: sqlite3.Connection, scan: Scan) -> None:
    db.execute(_OWN_RULES_DELETE, (scan.rel,))
    row = own_violation(scan)
    if row:
        db.execute(_VIOLATION_INSERT, row)


def find_row(db: sqlite3.Connection, rel: str) -> sqlite3.Row | None:
    return db.execute("SELECT id, log_mtime, log_size, dir_sig, status FROM records WHERE pkey = ?", (path_key(rel),)).fetchone()


def delete_path(db: sqlite3.Connection, rel: str) -> bool:
    row = find_row(db, rel)
    db.execute("DELETE FROM violations WHERE folder = ?", (rel,))
    if row is None:
        return False
    _retire(db, row[0])
    return True


def unchanged(folder: str, previous: sqlite3.Row | tuple) -> bool:
    """Whether the log's (mtime, size) and the folder signature still match (stats only)."""
    try:
        st = os.stat(folder + "/" + LOG_NAME)
        mtime, size = st.st_mtime_ns, st.st_size
    except (FileNotFoundError, NotADirectoryError):
        mtime = size = None  # type: ignore[assignment]
    if mtime != previous[1] or size != previous[2]:
        return False
    return dir_signature(folder, previous[3]) == previous[3]


COLD_BATCH_S = 0.03  # 500 folders whose metadata is cached stat in ~8 ms; read from disk, ~80 ms
STAT_THREADS = 4


def probe(
    root: str, lookup: Callable[[list[int]], dict[int, tuple]], batch: int = 500
) -> tuple[set[int], list[tuple[str, str, tuple | None]]]:
    """(path keys of every record folder, [(area, name, indexed row or None) that changed or are new]).

    Two stats per folder (log, folder) plus one per sub-folder, relative to each area's open
    directory so the kernel does not walk the whole path 200,000 times. The indexed rows are
    asked for `batch` folders at a time (`lookup`: path keys → (id, log mtime, log size, dir
    signature); called from several threads), not loaded whole: at 100,000 records a dict of
    every row cost the daemon ~60 MB at each start.

    Batches run one after another while the metadata is cached; once a batch shows it comes from
    disk (after a reboot, or a page cache the system emptied), the rest run in STAT_THREADS
    threads, whose stats wait for the disk together (a stat releases the GIL): at 100,000 records
    16 s → 7 s here. With the metadata cached, threads would only add GIL hand-offs (~+20%).
    """
    seen: set[int] = set()
    changed: list[tuple[str, str, tuple | None]] = []
    log_suffix = "/" + LOG_NAME
    fds: list[int] = []
    jobs: list[tuple[str, int, str, list[str]]] = []

    def run(job: tuple[str, int, str, list[str]]) -> tuple[list[int], list[tuple[str, str, tuple | None]]]:
        area, fd, base, chunk = job
        keys = [path_key(area + "/" + name) for name in chunk]
        known = lookup(keys)
        out = []
        for name, key in zip(chunk, keys, strict=True):
            prev = known.get(key)
            if prev is None or not _same_as_indexed(fd, base, name + log_suffix, name, prev):
                out.append((area, name, prev))
        return keys, out

    try:
        for area in AREAS:
            base = root + "/" + area
            try:
                fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
            except (FileNotFoundError, NotADirectoryError):
                continue
            fds.append(fd)
            with os.scandir(fd) as it:
                names = [e.name for e in it if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
            jobs.extend((area, fd, base, names[i : i + batch]) for i in range(0, len(names), batch))
        for i, job in enumerate(jobs):
            started = time.perf_counter()
            keys, out = run(job)
            seen.update(keys)
            changed.extend(out)
            if time.perf_counter() - started > COLD_BATCH_S and i + 1 < len(jobs):
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(STAT_THREADS) as pool:
                    for keys, out in pool.map(run, jobs[i + 1 :]):
                        seen.update(keys)
                        changed.extend(out)
                break
    finally:
        for fd in fds:
            os.close(fd)
    return seen, changed


def _same_as_indexed(fd: int, base: str, log_rel: str, name: str, prev: tuple) -> bool:
    try:
        st = os.stat(log_rel, dir_fd=fd)
        same = st.st_mtime_ns == prev[1] and st.st_size == prev[2]
    except (FileNotFoundError, NotADirectoryError):
        same = prev[1] is None
    if not same:
        return False
    sig = prev[3]
    if isinstance(sig, str):
        return dir_signature(base + "/" + name, sig) == sig
    try:
        return os.stat(name, dir_fd=fd).st_mtime_ns == sig
    except (FileNotFoundError, NotADirectoryError):
        return False
