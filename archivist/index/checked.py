"""What `doctor` found clean last time, kept beside the index's rows so that a folder whose stats
have not changed since is not read again.

The index already knows each record folder's log (mtime, size) and folder signature, and keeps
them current (the daemon live; without one, `open_current` reconciles by stats first). A folder
doctor found without a violation is remembered with that fingerprint and the codes and numbers
the whole-tree rules need (a code or number used twice); the next run re-reads only folders whose
fingerprint differs, or that had a violation (whether a fix is safe depends on the neighbours).
The table is derived like everything in the index: a rebuilt index starts it empty.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..config import Config
from ..errors import ArchivistError
from . import index_exists, open_current
from .search_text import path_key

DDL = """CREATE TABLE IF NOT EXISTS checked(
  pkey INTEGER PRIMARY KEY, fp TEXT NOT NULL, lead TEXT, "case" TEXT, code TEXT, numbers TEXT)"""
# (lead, case, code, [(kind, number), …]) of a clean record folder
Clean = tuple["str | None", "str | None", "str | None", "list[tuple[str, str]]"]


def _fp(log_mtime: int | None, log_size: int | None, dir_sig: int | str | None) -> str:
    return f"{log_mtime}:{log_size}:{dir_sig}"


class CheckedFolders:
    """The index's fingerprints now, and doctor's memory of clean folders (only when its rules and
    the root are those it was made with: `rules` is a digest of what the checks depend on)."""

    def __init__(self, db: sqlite3.Connection, rules: str) -> None:
        self.db = db
        self.rules = hashlib.sha256(rules.encode()).hexdigest()
        db.execute(DDL)
        self.now = {key: _fp(m, s, d) for key, m, s, d in db.execute("SELECT pkey, log_mtime, log_size, dir_sig FROM records")}
        row = db.execute("SELECT value FROM meta WHERE key = 'checked_rules'").fetchone()
        self.memory: dict[int, tuple[str, Clean]] = {}
        if row and row[0] == self.rules:
            for key, fp, lead, case, code, numbers in db.execute('SELECT pkey, fp, lead, "case", code, numbers FROM checked'):
                self.memory[key] = (fp, (lead, case, code, [tuple(n) for n in json.loads(numbers)]))
        self.found: dict[int, tuple[str, Clean] | None] = {}

    def clean(self, rel: str) -> Clean | None:
        """What the folder held when doctor last found it clean, if nothing changed since."""
        key = path_key(rel)
        remembered = self.memory.get(key)
        if remembered is not None and remembered[0] == self.now.get(key):
            return remembered[1]
        return None

    def checked(self, rel: str, clean: Clean | None) -> None:
        """Doctor read the folder now: remember it when clean (with the fingerprint the index had)."""
        key = path_key(rel)
        fp = self.now.get(key)
        self.found[key] = (fp, clean) if clean is not None and fp is not None else None

    def save_folders(self, rels: list[str]) -> None:
        """`save` for the folders doctor looked at (relative paths); a memory that cannot be kept
        costs the next run time, never an answer."""
        try:
            self.save({path_key(rel) for rel in rels})
        except sqlite3.Error:
            pass

    def save(self, present: set[int]) -> None:
        """Store what changed: new clean folders, forgotten ones that are gone or not clean now."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if not self.memory:
                db.execute("DELETE FROM checked")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('checked_rules', ?)", (self.rules,))
            db.executemany(
                "DELETE FROM checked WHERE pkey = ?",
                [(k,) for k in self.memory if k not in present or (k in self.found and self.found[k] is None)],
            )
            rows: list[tuple[Any, ...]] = []
            for key, value in self.found.items():
                if value is not None:
                    fp, (lead, case, code, numbers) = value
                    rows.append((key, fp, lead, case, code, json.dumps(numbers, ensure_ascii=False)))
            db.executemany(
                'INSERT OR REPLACE INTO checked(pkey, fp, lead, "case", code, numbers) VALUES (?, ?, ?, ?, ?, ?)', rows
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


@contextmanager
def doctor_memory(cfg: Config, rules: str) -> Iterator[CheckedFolders | None]:
    """doctor's memory of clean folders in cfg's index, for the length of one `doctor` run (None:
    no index, or it cannot be used now; then every folder is read). Without a daemon the index is
    first brought up to date (open_current, walking first whatever the archive's size)."""
    if not index_exists(cfg):
        yield None
        return
    try:
        idx = open_current(cfg, wait=True)
    except (sqlite3.Error, ArchivistError, OSError):
        yield None
        return
    try:
        try:
            memory: CheckedFolders | None = CheckedFolders(idx.db, rules)
        except sqlite3.Error:
            memory = None
        yield memory
    finally:
        idx.close()
