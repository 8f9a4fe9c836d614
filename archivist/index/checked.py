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
from collections.abc import Callable, Iterator
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
    the root are those it was made with: `rules` is a digest of what the checks depend on).

    Asked and written a batch at a time (`recall`, `checked`, `finish`): neither the index's
    fingerprints nor the memory is ever loaded whole, so 100,000 folders cost what a batch costs."""

    FLUSH = 2000  # folders read before what was learned about them is written

    def __init__(self, db: sqlite3.Connection, rules: str) -> None:
        self.db = db
        self.rules = hashlib.sha256(rules.encode()).hexdigest()
        db.execute(DDL)
        row = db.execute("SELECT value FROM meta WHERE key = 'checked_rules'").fetchone()
        self.usable = bool(row and row[0] == self.rules)  # a memory made under other rules is not used
        self.kept = self.usable  # whether the table holds only this memory (else it is emptied first)
        self.reading: dict[int, str | None] = {}  # fingerprints of folders recalled and not remembered
        self.remember: list[tuple[Any, ...]] = []
        self.forget: list[tuple[int]] = []
        self.broken = False

    def recall(self, rels: list[str], full: bool = False) -> list[Clean | None]:
        """For each folder (relative paths): what it held when doctor last found it clean, if its
        fingerprint in the index is the same now; None for a folder to read (every one if `full`)."""
        keys = [path_key(rel) for rel in rels]
        rows = {
            key: (_fp(m, s, d), fp, lead, case, code, numbers)
            for key, m, s, d, fp, lead, case, code, numbers in self.db.execute(
                'SELECT r.pkey, r.log_mtime, r.log_size, r.dir_sig, c.fp, c.lead, c."case", c.code, c.numbers '
                "FROM records r LEFT JOIN checked c ON c.pkey = r.pkey "
                f"WHERE r.pkey IN ({', '.join('?' * len(keys))})",
                keys,
            )
        }
        out: list[Clean | None] = []
        for key in keys:
            row = rows.get(key)
            if row is not None and self.usable and not full and row[1] is not None and row[1] == row[0]:
                _now, _fp_then, lead, case, code, numbers = row
                out.append((lead, case, code, [tuple(n) for n in json.loads(numbers)]))
            else:
                self.reading[key] = row[0] if row is not None else None
                out.append(None)
        return out

    def checked(self, rel: str, clean: Clean | None) -> None:
        """Doctor read the folder now: remember it when clean (with the fingerprint the index had
        when it was recalled, before the read), forget it otherwise."""
        key = path_key(rel)
        fp = self.reading.pop(key, None)
        if clean is not None and fp is not None:
            lead, case, code, numbers = clean
            self.remember.append((key, fp, lead, case, code, json.dumps(numbers, ensure_ascii=False)))
        else:
            self.forget.append((key,))
        if len(self.remember) + len(self.forget) >= self.FLUSH:
            self._flush()

    def finish(self) -> None:
        """Write the rest, and forget folders the index no longer has (it was brought up to date
        with the disk before doctor started). A memory that cannot be kept costs the next run
        time, never an answer: what is remembered is only used while the index's fingerprint of
        the folder is the one doctor saw."""
        self._flush()
        if self.broken:
            return
        try:
            self._write(lambda db: db.execute("DELETE FROM checked WHERE pkey NOT IN (SELECT pkey FROM records)"))
        except sqlite3.Error:
            self.broken = True

    def _flush(self) -> None:
        remember, forget = self.remember, self.forget
        self.remember, self.forget = [], []
        if self.broken:
            return

        def write(db: sqlite3.Connection) -> None:
            if not self.kept:  # made under other rules (or never): start it again
                db.execute("DELETE FROM checked")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('checked_rules', ?)", (self.rules,))
            db.executemany("DELETE FROM checked WHERE pkey = ?", forget)
            db.executemany(
                'INSERT OR REPLACE INTO checked(pkey, fp, lead, "case", code, numbers) VALUES (?, ?, ?, ?, ?, ?)', remember
            )

        try:
            self._write(write)
            self.kept = True
        except sqlite3.Error:
            self.broken = True

    def _write(self, fn: Callable[[sqlite3.Connection], object]) -> None:
        """One short write transaction (the daemon writes the index too)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
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
