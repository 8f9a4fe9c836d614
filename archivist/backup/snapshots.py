"""What a backup target holds: its marker, dated snapshot folders, the `latest` link (SPEC §9)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from .. import dates, store
from ..config import Config
from ..errors import ArchivistError
from ..i18n import _
from ..modes import make_dirs

MARKER = ".archivist-backup"


LATEST = "latest"


IN_PROGRESS = ".in-progress"


RECORD_IN_SNAPSHOT = Path(".archivist") / "backup.yaml"


HISTORY_NAME = "backups.yaml"


STAMP_FORMAT = "%Y-%m-%dT%H%M%S"


STAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{6}$")


HISTORY_KEEP = 500


class BackupRefused(ArchivistError):
    """A guard said no (no marker, nested paths, source looks gone, another run): nothing written."""


class BackupFailed(ArchivistError):
    """rsync failed or was killed; the snapshot stays marked in-progress for the next run."""


@dataclass
class Snapshot:
    """One `<target>/<stamp>/` folder and what its record and marker say about it."""

    name: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    in_progress: bool = False

    @property
    def complete(self) -> bool:
        return bool(self.meta.get("complete")) and not self.in_progress

    @property
    def marker(self) -> Path:
        return self.path.with_name(self.name + IN_PROGRESS)

    def to_json(self, cfg: Config, latest: str | None = None) -> dict[str, Any]:
        taken = stamp_time(self.name, cfg.timezone)
        verified = self.meta.get("verified") or None
        return {
            "snapshot": self.name,
            "path": str(self.path),
            "date": dates.fmt(taken, cfg.calendar, cfg.timezone),
            "iso": taken.isoformat(),
            "complete": self.complete,
            "in_progress": self.in_progress,
            "latest": self.name == latest,
            "files": self.meta.get("files"),
            "size": self.meta.get("size"),
            "records": self.meta.get("records"),
            "verified": verified,
        }


def stamp_time(name: str, tz_name: str) -> datetime:
    return datetime.strptime(name, STAMP_FORMAT).replace(tzinfo=ZoneInfo(tz_name))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_yaml(path: Path, data: Any) -> None:
    make_dirs(path.parent)
    store.atomic_write(path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8"))


def snapshots(target: Path) -> list[Snapshot]:
    """Every snapshot folder on the target, oldest first (names sort by time)."""
    out = []
    try:
        entries = sorted(os.scandir(target), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    names = {e.name for e in entries}
    for e in entries:
        if STAMP_RE.match(e.name) and e.is_dir(follow_symlinks=False):
            p = Path(e.path)
            out.append(Snapshot(e.name, p, _read_yaml(p / RECORD_IN_SNAPSHOT), (e.name + IN_PROGRESS) in names))
    return out


def latest_name(target: Path) -> str | None:
    try:
        name = os.readlink(target / LATEST)
    except OSError:
        return None
    return Path(name).name


def latest_complete(target: Path) -> Snapshot | None:
    done = [s for s in snapshots(target) if s.complete]
    return done[-1] if done else None


def find_snapshot(target: Path, name: str | None) -> Snapshot:
    """A snapshot by name (`latest` or none = the newest complete one)."""
    snaps = snapshots(target)
    if not name or name == LATEST:
        pointed = latest_name(target)
        for s in reversed(snaps):
            if s.complete and (pointed is None or s.name == pointed):
                return s
        done = [s for s in snaps if s.complete]
        if done:
            return done[-1]
        raise ArchivistError(_("{target} holds no complete snapshot yet; run `archivist backup run`").format(target=target))
    for s in snaps:
        if s.name == name.rstrip("/"):
            return s
    names = ", ".join(s.name for s in snaps[-5:]) or "none"
    raise ArchivistError(
        _("no snapshot {name!r} in {target} (newest: {names}); see `archivist backup list`").format(
            name=name, target=target, names=names
        )
    )


def human(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # untranslated: a unit symbol, the same in every language
