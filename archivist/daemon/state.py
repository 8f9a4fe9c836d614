"""What the daemon remembers between runs, in `.archivist/daemon.sqlite` (derived, disposable).

Kept apart from the index on purpose: filing, enforcement and hand-edit detection must work while
the index is missing, rebuilding or broken. Two tables:
- `folders`: each record folder's last seen (dir mtime, log mtime, log size) so a reconcile after
  a restart looks again only at what changed, plus its open violations;
- `baselines`: each record's fields as last seen (by applicant code), for `edited` events.
Deleting the file costs one quiet full pass: no `edited` events for edits made before it.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..modes import make_dirs
from ..record import dump_yaml, safe_load_log
from ..store import create_file
from .edits import Baseline

SCHEMA = 2  # 2: baselines keep the events' text (to restore events a save dropped)


class DaemonState:
    """One connection, used by the daemon's worker thread only."""

    def __init__(self, path: Path) -> None:
        make_dirs(path.parent)
        self.path = path
        try:
            self.db = self._open(path)
        except sqlite3.DatabaseError:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            self.db = self._open(path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        create_file(path)  # group-writable when the archive is shared (SQLite alone makes it 0644)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA:
            db.executescript("DROP TABLE IF EXISTS folders; DROP TABLE IF EXISTS baselines;")
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS folders(
                path TEXT PRIMARY KEY, lead TEXT, dir_mtime INTEGER, log_mtime INTEGER, log_size INTEGER,
                violations TEXT NOT NULL DEFAULT '[]', invalid INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS baselines(
                lead TEXT PRIMARY KEY, events_count INTEGER, events_hash TEXT, fields TEXT, folder TEXT,
                events BLOB);
            """
        )
        db.execute(f"PRAGMA user_version={SCHEMA}")
        return db

    def close(self) -> None:
        self.db.close()

    # -- folders -------------------------------------------------------------------------------
    def folder_stats(self) -> dict[str, tuple[int, int, int]]:
        return {p: (d, m, s) for p, d, m, s in self.db.execute("SELECT path, dir_mtime, log_mtime, log_size FROM folders")}

    def folder_stat(self, path: Path) -> tuple[int, int, int] | None:
        row = self.db.execute("SELECT dir_mtime, log_mtime, log_size FROM folders WHERE path=?", (str(path),)).fetchone()
        return tuple(row) if row else None  # type: ignore[return-value]

    def folder_paths(self) -> Iterator[str]:
        """Every known folder path, streamed in pages (the table may hold 100,000 rows)."""
        last = ""
        while True:
            rows = self.db.execute("SELECT path FROM folders WHERE path > ? ORDER BY path LIMIT 1000", (last,)).fetchall()
            if not rows:
                return
            for (path,) in rows:
                yield path
            last = rows[-1][0]

    def folder(self, path: Path) -> dict[str, Any] | None:
        row = self.db.execute("SELECT lead, violations, invalid FROM folders WHERE path=?", (str(path),)).fetchone()
        if row is None:
            return None
        return {"lead": row[0], "violations": json.loads(row[1]), "invalid": bool(row[2])}

    def put_folder(
        self, path: Path, lead: str | None, stats: tuple[int, int, int], violations: list[dict[str, Any]], invalid: bool
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO folders(path, lead, dir_mtime, log_mtime, log_size, violations, invalid) VALUES(?,?,?,?,?,?,?)",
            (str(path), lead, *stats, json.dumps(violations, ensure_ascii=False), int(invalid)),
        )

    def drop_folder(self, path: Path) -> str | None:
        row = self.db.execute("SELECT lead FROM folders WHERE path=?", (str(path),)).fetchone()
        self.db.execute("DELETE FROM folders WHERE path=?", (str(path),))
        return row[0] if row else None

    def counts(self) -> tuple[int, int]:
        """(violations, invalid logs) currently open across the tree."""
        v = 0
        for (text,) in self.db.execute("SELECT violations FROM folders WHERE violations != '[]'"):
            v += len(json.loads(text))
        inv = self.db.execute("SELECT count(*) FROM folders WHERE invalid").fetchone()[0]
        return v, inv

    def violations_by_folder(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        for path, text in self.db.execute(
            "SELECT path, violations FROM folders WHERE violations != '[]' ORDER BY path"
        ).fetchall():
            yield path, json.loads(text)

    # -- baselines -------------------------------------------------------------------------------
    def baseline(self, lead: str) -> tuple[Baseline, str] | None:
        row = self.db.execute("SELECT events_count, events_hash, fields, folder FROM baselines WHERE lead=?", (lead,)).fetchone()
        if row is None:
            return None
        return Baseline(row[0], row[1], json.loads(row[2])), row[3]

    def put_baseline(self, lead: str, base: Baseline, folder: Path) -> None:
        self.db.execute(
            "INSERT INTO baselines(lead, events_count, events_hash, fields, folder) VALUES(?,?,?,?,?) "
            "ON CONFLICT(lead) DO UPDATE SET events_count=excluded.events_count, events_hash=excluded.events_hash, "
            "fields=excluded.fields, folder=excluded.folder",  # keeps the events text (put_events)
            (lead, base.events_count, base.events_hash, json.dumps(base.fields, ensure_ascii=False, default=str), str(folder)),
        )

    def events(self, lead: str) -> list[dict[str, Any]]:
        """The record's events as last seen (what a later save must not drop)."""
        row = self.db.execute("SELECT events FROM baselines WHERE lead=?", (lead,)).fetchone()
        if row is None or not row[0]:
            return []
        try:
            value = safe_load_log(zlib.decompress(row[0]).decode("utf-8"))
        except (zlib.error, UnicodeDecodeError, yaml.YAMLError, ValueError, TypeError):
            return []
        return [ev for ev in value if isinstance(ev, dict)] if isinstance(value, list) else []

    def put_events(self, lead: str, events: list[dict[str, Any]]) -> None:
        blob = zlib.compress(dump_yaml(events), 1)  # written after every change: the fast level
        self.db.execute("UPDATE baselines SET events=? WHERE lead=?", (blob, lead))

    def add_events(self, lead: str, stored: int, events: list[dict[str, Any]]) -> bool:
        """Append `events` to the record's stored events text (they were added after the `stored`
        ones kept: filing, an action), dumping only them; False when the text is not a block list
        of `stored` items (nothing stored, an empty list, an older text): the caller stores the
        whole list then. Each item of a list dump_yaml writes starts a line with `- `, every other
        line of it is indented, so the items are counted without parsing."""
        row = self.db.execute("SELECT events FROM baselines WHERE lead=?", (lead,)).fetchone()
        if row is None or not row[0]:
            return False
        try:
            text = zlib.decompress(row[0])
        except zlib.error:
            return False
        if not text.startswith(b"- ") or not text.endswith(b"\n") or text.count(b"\n- ") + 1 != stored:
            return False
        blob = zlib.compress(text + dump_yaml(events), 1)
        self.db.execute("UPDATE baselines SET events=? WHERE lead=?", (blob, lead))
        return True

    def begin(self) -> None:
        self.db.execute("BEGIN")

    def commit(self) -> None:
        self.db.execute("COMMIT")
