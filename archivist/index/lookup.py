"""Finding a record's folder by code through the index, checked against that one folder on disk.

The index is derived and may lag a hand edit, so here it is a guide, never the truth: a folder it
names is used only when the log inside still carries the code (a byte search of one file). When
the index names no such folder (a record made or moved by hand since it was last brought up to
date) the folders themselves are searched as before (`store.locate`); when there is no usable
index at all, too, and that is said once per process, because at 100,000 records each such
look-up costs about a second where the index answers in a millisecond.

    folder = locate(cfg, "۰۰۴۱۷")      # applicant or case code, any digit script
    with reader(cfg) as db: …          # the process's read connection (None: no usable index)
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import store
from ..config import Config
from ..i18n import _
from ..liveness import running
from ..naming import ascii_digits, normalize_code
from ..record import log_bytes
from . import schema

_lock = threading.RLock()
_readers: dict[str, tuple[tuple[int, int], sqlite3.Connection]] = {}
_said: set[str] = set()
SLOW_SCAN_S = 0.5  # a walk this slow is worth a word about the index; a small archive stays quiet


@contextmanager
def reader(cfg: Config) -> Iterator[sqlite3.Connection | None]:
    """A read connection to cfg's index, opened once per process and reopened when the file was
    replaced (a rebuild moves a new file into place); None when there is no index or it is of
    another version or unreadable (this never builds one: the caller falls back to the folders).
    One thread at a time uses it (the TUI's workers share it)."""
    path = str(cfg.index_file)
    try:
        st = os.stat(path)
    except OSError:
        yield None
        return
    ident = (st.st_dev, st.st_ino)
    with _lock:
        cached = _readers.get(path)
        if cached is None or cached[0] != ident:
            if cached is not None:
                _readers.pop(path)
                cached[1].close()
            db = _open(path)
            if db is None:
                yield None
                return
            cached = _readers[path] = (ident, db)
        yield cached[1]


def _open(path: str) -> sqlite3.Connection | None:
    try:
        db = schema.connect(Path(path))
    except sqlite3.DatabaseError:
        return None
    try:
        if schema.version_ok(db):
            db.row_factory = sqlite3.Row
            return db
    except sqlite3.DatabaseError:
        pass
    db.close()
    return None


VIOLATIONS_SQL = "SELECT rule, path, message, fixable, fix_to, code FROM violations ORDER BY folder, path, rule"


def violations_of(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """The naming violations an index holds (its row factory must be sqlite3.Row)."""
    return [dict(r, fixable=bool(r["fixable"])) for r in db.execute(VIOLATIONS_SQL)]


def indexed_violations(cfg: Config) -> list[dict[str, Any]] | None:
    """The naming violations in cfg's index, through the process's read connection; None: no usable index."""
    with reader(cfg) as db:
        return None if db is None else violations_of(db)


def close_readers() -> None:
    """Close the cached connections (tests that delete an index; a process about to fork)."""
    with _lock:
        for _ident, db in _readers.values():
            db.close()
        _readers.clear()


def say_once(cfg: Config, what: str) -> None:
    """Tell the person once per process that a look-up walked the folders because there is no index."""
    key = f"{cfg.index_file}:{what}"
    if key in _said:
        return
    _said.add(key)
    print(
        _(
            "archivist: no usable index at {index_file}, so {what} looked through every record folder (slow on a big archive); `archivist reindex` builds it, the daemon keeps it current"
        ).format(index_file=cfg.index_file, what=what),
        file=sys.stderr,
    )


def holds_code(folder: Path, code: str) -> bool:
    """Whether the log in `folder` carries `code` as its applicant or case code (one file read)."""
    return store.code_line(code).search(log_bytes(folder)) is not None


def indexed_folders(cfg: Config, code: str) -> list[Path] | None:
    """The folders the index gives for a code, best first (readable before stale); None when there
    is no usable index."""
    from .search import CODE_ORDER, rel_path

    col = '"case"' if len(code) == 4 else "lead"
    with reader(cfg) as db:
        if db is None:
            return None
        try:
            rows = db.execute(
                f"SELECT r.area, r.folder FROM records r WHERE r.{col} = ? ORDER BY r.stale, {CODE_ORDER}",
                (code,),
            ).fetchall()
        except sqlite3.DatabaseError:
            return None
    return [cfg.root / rel_path(row) for row in rows]


def locate(cfg: Config, code: str) -> Path:
    """The folder of the record a code names (what `store.locate` answers), through the index.

    Raises RecordNotFound like `store.locate` when no folder holds the code.
    """
    code = normalize_code(code)
    if not re.fullmatch(r"\d{4}|\d{5}", code):
        return store.locate(cfg, code)  # its message says what a code looks like
    folders = indexed_folders(cfg, code)
    if folders is None:
        started = time.monotonic()
        try:
            return store.locate(cfg, code)
        finally:
            if time.monotonic() - started >= SLOW_SCAN_S:
                say_once(cfg, _("finding a record by its code"))
    for folder in folders:
        if holds_code(folder, code):
            return folder
    return store.locate(cfg, code)  # made, renamed or moved by hand since the index last looked


_CODE5 = "[0-9][0-9][0-9][0-9][0-9]"
# the WHERE of the partial index records_odd_lead, word for word (SQLite uses it only then)
ODD_LEADS_SQL = f"SELECT lead FROM records WHERE lead IS NOT NULL AND NOT lead GLOB '{_CODE5}'"


def live_high_lead(cfg: Config) -> int | None:
    """The highest applicant code in the index when a daemon keeps it live (every folder name and
    every case log's `lead:` is in it); None without a daemon or a usable index, and then the
    caller reads the folders (allocation.disk_high_applicant)."""
    if not running(cfg):
        return None
    with reader(cfg) as db:
        if db is None:
            return None
        try:
            (top,) = db.execute(f"SELECT max(lead) FROM records WHERE lead GLOB '{_CODE5}'").fetchone()
            high = int(top) if top else 0
            for (lead,) in db.execute(ODD_LEADS_SQL):
                digits = ascii_digits(str(lead)).strip()  # a name typed with Persian digits
                if digits.isdigit() and len(digits) <= 5:
                    high = max(high, int(digits))
        except sqlite3.Error:
            return None
    return high
