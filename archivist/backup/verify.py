"""Comparing a snapshot with the live archive (rsync dry run with checksums), explaining expected differences."""

from __future__ import annotations

import contextlib
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import dates
from ..config import Config
from ..errors import ArchivistError
from ..i18n import _
from ..notify import child_env
from .rsync import INCLUDES, rsync_command, run_rsync
from .snapshots import RECORD_IN_SNAPSHOT, Snapshot, _write_yaml, find_snapshot, stamp_time
from .target import check_target, resolve_target

_ESCAPE = re.compile(r"\\#([0-7]{3})")


def _unescape(path: str) -> str:
    """rsync writes unprintable bytes of a name as \\#ooo even with -8; put them back."""
    if "\\#" not in path:
        return path
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), path)


def _differences(itemized: str) -> list[dict[str, str]]:
    out = []
    for line in itemized.splitlines():
        if line.startswith("*deleting"):
            out.append({"path": _unescape(line[len("*deleting") :].strip()), "kind": "extra"})
            continue
        m = re.match(r"^([<>ch.*][fdLDS][^ ]{9}) (.*)$", line)
        if not m:
            continue
        flags, path = m.groups()
        if "+++++++++" in flags:
            out.append({"path": _unescape(path), "kind": "missing"})
        elif flags[1] in "fL" and (flags[2] == "c" or flags[3] == "s" or flags[0] in "<>"):
            out.append({"path": _unescape(path), "kind": "differs"})
    return out


def verify(cfg: Config, snapshot: str | None = None, target: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Compare a snapshot with the live archive by checksum; every differing, missing or extra file.

    The comparison is with the archive as it is now, so work done since the snapshot shows up too.
    Each difference says whether the live archive explains it (`changed_since`: the live side
    changed after the snapshot started) or not; only the others are damage, and `ok` is about
    damage alone. Rules, with "touched" = mtime or ctime after the snapshot started (ctime moves
    on every write, rename and move, and nobody can set it back):
    - `differs`: the live file was touched. Untouched live file, different content: damage.
    - `missing` (in the archive, not in the snapshot): the live file, or the folder it came with
      (the highest one the snapshot lacks), was touched: created, filed or moved in since.
    - `extra` (in the snapshot, gone from the archive): the nearest live folder that still
      exists on its path was touched: an entry was removed or moved away there since.
    """
    tgt = resolve_target(cfg, target)
    check_target(cfg, tgt)
    snap = find_snapshot(tgt, snapshot)
    options = ["-a", "-n", "-c", "-i", "-8", "--delete", *INCLUDES]
    res = run_rsync(rsync_command(cfg.root, snap.path, options), env=child_env(cfg))
    if res.returncode not in (0, 24):
        raise ArchivistError(_("verify of {name} failed: {error}").format(name=snap.name, error=res.stderr or res.returncode))
    diffs = _differences(res.stdout)
    since = _snapshot_start(cfg, snap)
    missing_dirs: dict[str, bool] = {}  # folder missing from the snapshot → explained
    for d in diffs:
        d["changed_since"] = _explained(cfg.root, d, since, missing_dirs)  # type: ignore[assignment]
    damage = [d for d in diffs if not d["changed_since"]]
    result = {
        "snapshot": snap.name,
        "path": str(snap.path),
        "ok": not damage,
        "complete": snap.complete,
        "at": dates.now(cfg.timezone).isoformat(),
        "damaged": len(damage),
        "changed_since": len(diffs) - len(damage),
        "differences": diffs,
    }
    if snap.meta:
        snap.meta["verified"] = {
            "at": result["at"],
            "ok": result["ok"],
            "differences": len(damage),
            "changed_since": len(diffs) - len(damage),
        }
        _write_yaml(snap.path / RECORD_IN_SNAPSHOT, snap.meta)
    return result


def _snapshot_start(cfg: Config, snap: Snapshot) -> float:
    """When the run that made the snapshot started (a file touched later may differ for good reason).

    Older records have only `started`, in whole seconds (and pinned by ARCHIVIST_NOW in tests), or
    nothing but the name; those are used as they are, which counts a file touched in the same
    second as changed since: lenient, never a false alarm.
    """
    with contextlib.suppress(KeyError, TypeError, ValueError):
        # file times come from the kernel's coarse clock, never ahead of the real one: a file
        # stamped after this was written after the run began
        return float(snap.meta["started_ts"])
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return datetime.fromisoformat(str(snap.meta["started"])).timestamp()
    return stamp_time(snap.name, cfg.timezone).timestamp()


def _touched(path: Path, since: float) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    return max(st.st_mtime, st.st_ctime) > since


def _explained(root: Path, d: dict[str, Any], since: float, missing_dirs: dict[str, bool]) -> bool:
    rel = d["path"].rstrip("/")
    if d["kind"] == "differs":
        return _touched(root / rel, since)
    if d["kind"] == "missing":
        parents = [str(p) for p in reversed(Path(rel).parents) if str(p) != "."]
        for parent in parents:  # a folder the snapshot lacks explains everything inside it
            if parent in missing_dirs:
                return missing_dirs[parent]
        explained = _touched(root / rel, since)
        if d["path"].endswith("/") or (root / rel).is_dir():
            missing_dirs[rel] = explained
        return explained
    # extra: gone from the archive; the folder it was removed from changed then
    for up in Path(rel).parents:
        folder = root / up
        if folder.is_dir():
            return _touched(folder, since)
    return False
