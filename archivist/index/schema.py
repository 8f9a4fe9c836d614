"""The index's SQLite schema, its version, and how a connection is opened.

The index is derived and disposable: a file whose `schema_version` differs from SCHEMA_VERSION, or
that SQLite cannot read, is thrown away and rebuilt from the folders, never migrated or trusted.

Size matters (target: under a quarter of the logs' size), so the tables hold only what search,
`due`, `list` and the F-31-08-02 export need; the timeline stays in the logs. The two FTS5 tables
are contentless: a record that changes gets a fresh row id (never reused) and its old FTS rows
simply stop joining to `records`; a reconcile rebuilds when many have piled up.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

SCHEMA_VERSION = 17

DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records(
  id INTEGER PRIMARY KEY,    -- the FTS rowid: the applicant code after a full build (see build.py)
  pkey INTEGER NOT NULL,     -- 64-bit hash of the folder path relative to the root
  area INTEGER NOT NULL,     -- index into store.AREAS
  name TEXT,                 -- folder name; NULL when it is exactly what the config template gives
  folder TEXT NOT NULL,      -- the folder name as it is (the export's column: no template per row; schema 11)
  lead TEXT, "case" TEXT, staff TEXT, company TEXT, company_key TEXT, status TEXT,
  company_words TEXT,        -- ' word word … ' folded, then each two neighbours run together (search's whole words)
  name_core TEXT,            -- the company as the returning-company check compares it (naming.name_keys):
  name_words TEXT,           --   core, and the distinctive words joined by spaces
  phones TEXT,               -- mobile and phone in canonical form, ' 09121234567 021… ' (spaces around each)
  email TEXT,                -- lower case
  next_ts INTEGER, stage_ts INTEGER, opened_ts INTEGER, last_ts INTEGER, last_kind TEXT,
  contract TEXT,
  invoices TEXT,             -- JSON [[number, tax_id, date ISO, amount], …]
  contact TEXT,              -- person, consultant, mobile, phone, messenger, email joined by U+001F
  services TEXT,             -- joined by U+001F
  files INTEGER NOT NULL DEFAULT 0,
  stale INTEGER NOT NULL DEFAULT 0,  -- 1: the log is invalid now; the row is its last good state
  log_mtime INTEGER, log_size INTEGER,
  dir_sig,                   -- folder mtime (integer), or text with sub-folder mtimes
  due_head TEXT, due_tail TEXT,  -- the record's parts of its `due` line, terminal-safe (review.py; schema 15)
  json_head TEXT, json_path TEXT,  -- the record's parts of its `due --json` entry (review.py; schema 16)
  next_json TEXT, stage_json TEXT  -- its dates and what follows them in `due --json`, for meta's json_for (schema 17)
);
CREATE INDEX IF NOT EXISTS records_pkey ON records(pkey);
CREATE INDEX IF NOT EXISTS records_lead ON records(lead);
-- the leads not written as 5 ASCII digits (typed by hand in Persian digits…): the few rows
-- lookup.live_high_lead reads besides max(lead), instead of the whole lead index (schema 14)
CREATE INDEX IF NOT EXISTS records_odd_lead ON records(lead)
  WHERE lead IS NOT NULL AND NOT lead GLOB '[0-9][0-9][0-9][0-9][0-9]';
CREATE INDEX IF NOT EXISTS records_case ON records("case") WHERE "case" IS NOT NULL;
-- the code order (search.CODE_ORDER, expressions written the same) as indexes, so `list`, the
-- export and each `due` section stream rows in their order from the first one instead of SQLite
-- sorting 100,000 rows in memory first (schema 8); records_next and records_stage also hold every
-- column a `due` row and its count read (index/due.py; the row id is in every index), so the
-- sections and their counts are read from the index alone, without a look-up in the table per
-- row: 126,000 of them at 100,000 records (schema 10; the folder since schema 12, the parts of the
-- text review's line since schema 15)
CREATE INDEX IF NOT EXISTS records_order ON records(coalesce(lead, '~'), coalesce("case", ''), area, coalesce(name, ''));
CREATE INDEX IF NOT EXISTS records_next
  ON records(next_ts, coalesce(lead, '~'), coalesce("case", ''), area, coalesce(name, ''),
             status, staff, lead, "case", company, stage_ts, name, folder, stale, due_head, due_tail)
  WHERE next_ts IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_stage
  ON records(stage_ts, coalesce(lead, '~'), coalesce("case", ''), area, coalesce(name, ''),
             status, staff, lead, "case", company, next_ts, name, folder, stale, due_head, due_tail);
-- the same order with what a `due --json` entry reads (index/due.py review_json; schema 16): apart
-- from the text review's indexes, which would be about twice as long with it (18 + 27 MB at 100,000)
CREATE INDEX IF NOT EXISTS records_next_json
  ON records(next_ts, coalesce(lead, '~'), coalesce("case", ''), area, coalesce(name, ''),
             status, staff, stale, json_head, next_json, json_path)
  WHERE next_ts IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_stage_json
  ON records(stage_ts, coalesce(lead, '~'), coalesce("case", ''), area, coalesce(name, ''),
             status, staff, stale, next_ts, json_head, next_json, json_path, stage_json);
-- the dates alone: a report reads its rows a window at a time, each window ending where the index
-- is CHUNK_ENTRIES rows further on (index/due.py `_windows`), counted here for a few MB
CREATE INDEX IF NOT EXISTS records_next_ts ON records(next_ts) WHERE next_ts IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_stage_ts ON records(stage_ts);
CREATE TABLE IF NOT EXISTS numbers(      -- contract and invoice numbers, tax IDs: exact look-ups
  number TEXT NOT NULL, kind TEXT NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY(number, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS numbers_rid ON numbers(rid);
-- the returning-company check (returning._index_candidates) as look-ups, not a scan of every row:
-- each of its conditions has an index that finds every row the condition can accept (schema 13)
CREATE TABLE IF NOT EXISTS terms(        -- a record's name words ('w ' + word) and phones ('p ' + phone)
  term TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY(term, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_rid ON terms(rid);
CREATE INDEX IF NOT EXISTS records_email ON records(email) WHERE email IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_first_word ON records(substr(name_words, 1, instr(name_words || ' ', ' ') - 1));
CREATE INDEX IF NOT EXISTS records_key_len ON records(length(company_key), company_key);
CREATE INDEX IF NOT EXISTS records_core_len
  ON records(length(coalesce(name_core, company_key)), coalesce(name_core, company_key));
CREATE TABLE IF NOT EXISTS vocab(        -- deletion neighbourhood of name words: typo tolerance
  key TEXT NOT NULL, word TEXT NOT NULL, PRIMARY KEY(key, word)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS violations(
  folder TEXT NOT NULL, rule TEXT NOT NULL, path TEXT NOT NULL, message TEXT NOT NULL,
  fixable INTEGER NOT NULL, fix_to TEXT, code TEXT
);
CREATE INDEX IF NOT EXISTS violations_folder ON violations(folder);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_ids USING fts5(t, content='', columnsize=0, detail=none);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_names USING fts5(t, content='', columnsize=0, detail=none);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_notes USING fts5(t, content='', columnsize=0, detail=none);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_files USING fts5(t, content='', columnsize=0, detail=none);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_company USING fts5(key, content='', columnsize=0, tokenize='trigram');
-- coalesce(name_core, company_key) by trigrams: the returning check's typo condition on the core (schema 13)
CREATE VIRTUAL TABLE IF NOT EXISTS fts_core USING fts5(key, content='', columnsize=0, tokenize='trigram');
"""


def connect(path: Path, *, bulk: bool = False, readonly: bool = False, immutable: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode (one writer, many readers); `bulk` trades safety for a cold build.

    `readonly` opens with `mode=ro`, for an account that may read the index but not write its
    folder or side files; `immutable` also skips the -shm/-wal files, the last resort when even
    those cannot be opened (a read-only `.archivist/` whose index has no side files yet).
    """
    if readonly or immutable:
        from urllib.parse import quote

        uri = f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if immutable else "")
        db = sqlite3.connect(uri, uri=True, timeout=1.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 1000")
        db.execute("PRAGMA cache_size = -32000")
        return db
    from ..store import create_file

    create_file(path)
    db = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 10000")
    if bulk:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
    else:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -32000")
    db.execute("PRAGMA temp_store = MEMORY")
    return db


JSON_FOR = "json_for"  # meta: the zone and root records.next_json/stage_json are written for (`json_stamp`)


def json_stamp(zone: str, root: object) -> str | None:
    """What a `due --json` in `zone` under `root` needs the stored parts to be written for: the
    zone's stamp (localtime.zone_stamp: its name and rules) and the root's text; None when the
    zone has no file to stamp or the root's name is not UTF-8 (such an index stores no dates, and
    every report makes its own)."""
    import json

    from .localtime import zone_stamp

    stamp, text = zone_stamp(zone), str(root)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a root whose name is not UTF-8: SQLite's text could not hold it
        return None
    return None if stamp is None else json.dumps([stamp, text], ensure_ascii=False)


def create(db: sqlite3.Connection, zone: str, root: object) -> None:
    """An empty index whose stored dates and root are written for `zone` and `root` (the building
    config's) for good: every later writer uses them whatever its own config says, so the rows
    agree, and a report in another zone, under other rules or another root makes its own."""
    db.executescript(DDL)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    write_json_for(db, zone, root)


def write_json_for(db: sqlite3.Connection, zone: str, root: object) -> None:
    """Say the stored parts are written for `zone` and `root` from now on (a new index, or one
    about to be filled again: Index.rebuild)."""
    stamp = json_stamp(zone, root)
    db.execute("DELETE FROM meta WHERE key = ?", (JSON_FOR,))
    if stamp is not None:
        db.execute("INSERT INTO meta VALUES (?, ?)", (JSON_FOR, stamp))


def json_for(db: sqlite3.Connection) -> str | None:
    """The `json_stamp` the stored parts were written for; None: no dates are stored."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (JSON_FOR,)).fetchone()
    return None if row is None else str(row[0])


def version_ok(db: sqlite3.Connection) -> bool:
    """True when the file is a readable index of this schema (else: rebuild it)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if not row or row[0] != str(SCHEMA_VERSION):
            return False
        db.execute("SELECT count(*) FROM records WHERE id < 0").fetchone()
        db.execute("SELECT rowid FROM fts_names WHERE fts_names MATCH 'x' LIMIT 1").fetchone()
        return True
    except sqlite3.DatabaseError as e:
        if not_now(e):  # busy, or not ours to open: says nothing about the file, never rebuild for it
            raise
        return False


# SQLite's primary result codes that mean "not now" or "not for this account", never "broken":
# PERM, BUSY, LOCKED, READONLY, IOERR (an -shm it may not map), FULL (a full disk: the index is
# fine, only nothing can be written; a read-only search once deleted it for this), CANTOPEN, AUTH
_NOT_NOW = {3, 5, 6, 8, 10, 13, 14, 23}
BUSY_CODES = {5, 6}


def not_now(e: sqlite3.Error) -> bool:
    """Whether an error is about access (busy, permissions) rather than a broken index file."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is None:
        text = str(e).lower()
        return any(
            w in text
            for w in (
                "locked",
                "busy",
                "readonly",
                "read-only",
                "unable to open",
                "permission",
                "disk is full",
                "disk i/o",
            )  # untranslated: SQLite's own (English) error text matched here
        )
    return code & 0xFF in _NOT_NOW


def is_busy(e: sqlite3.Error) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    return (code & 0xFF in BUSY_CODES) if code is not None else "locked" in str(e).lower() or "busy" in str(e).lower()


def remove_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(str(path) + suffix).unlink()
        except FileNotFoundError:
            pass


SCAN_CACHE_KIB = -2000  # PRAGMA cache_size while a query reads an index range once (negative: KiB)


@contextlib.contextmanager
def small_cache(db: sqlite3.Connection) -> Iterator[None]:
    """A small page cache while a query reads a range of the index once from end to end: the
    pages it keeps are never read again (the OS caches the file anyway), and holding them cost
    `due` 25 MB and 20 ms at 100,000 records. The connection's own size comes back after."""
    (size,) = db.execute("PRAGMA cache_size").fetchone()
    db.execute(f"PRAGMA cache_size = {SCAN_CACHE_KIB}")
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):  # a report left unfinished past close()
            db.execute(f"PRAGMA cache_size = {int(size)}")
