"""Who is acting, asked once per account (issue 16: the first save must not fail with CLI advice).

`--by` and `$ARCHIVIST_STAFF` still win. Otherwise the TUI remembers the staff number each OS
account chose for each archive in `$XDG_CONFIG_HOME/archivist/identity.json` (default
`~/.config/…`): a per-account file outside the archive, since the archive is shared by everyone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..config import Config
from ..store import atomic_write


def identity_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "archivist" / "identity.json"


def _read() -> dict[str, str]:
    try:
        data = json.loads(identity_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def remembered_identity(cfg: Config) -> str | None:
    """The staff number this account chose for this archive, if it is still in config's staff."""
    staff = _read().get(str(cfg.root))
    return staff if staff in cfg.staff else None


def remember_identity(cfg: Config, staff: str) -> None:
    """Remember `staff` for this account and archive (best effort: a read-only home only costs a question)."""
    data = _read()
    data[str(cfg.root)] = staff
    path = identity_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
    except OSError:
        pass
