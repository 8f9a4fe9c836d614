"""Copying a snapshot (or one record from it) back, never over existing files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from .. import dates, store
from ..config import Config
from ..errors import ArchivistError, RecordNotFound
from ..i18n import _
from ..naming import normalize_code
from ..notify import child_env
from .rsync import rsync_command, run_rsync
from .snapshots import RECORD_IN_SNAPSHOT, STAMP_FORMAT, find_snapshot
from .target import _nested, check_target, resolve_target


def restore(
    cfg: Config,
    snapshot: str,
    to: str | os.PathLike[str] | None,
    record: str | None = None,
    into_root: bool = False,
    yes: bool = False,
    target: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Copy a record or a whole snapshot out of the backup; the live archive only when asked twice.

    Into a separate path nothing existing is overwritten (the destination must be new or empty).
    Into the live root (`--into-root --yes`) a record comes back only if it is not there any more,
    and a whole snapshot is laid over the root with every replaced file kept under
    `.archivist/replaced-by-restore/<time>/`; nothing in the root is deleted.
    """
    tgt = resolve_target(cfg, target)
    check_target(cfg, tgt)
    snap = find_snapshot(tgt, snapshot)
    if not snap.complete:
        raise ArchivistError(
            _("snapshot {name} is incomplete (its run was interrupted); restore from a complete one").format(name=snap.name)
        )
    root = cfg.root.resolve()
    if to is None and not into_root:
        raise ArchivistError(_("say where to restore: --to PATH (or --into-root --yes for the live archive)"))
    dest = Path(to).expanduser().resolve() if to is not None else root
    if _nested(dest, root) and not (into_root and yes):
        raise ArchivistError(
            _(
                "{dest} is the live archive (or inside/around it); restore to another path, or pass --into-root --yes to write into the live archive on purpose"
            ).format(dest=dest)
        )
    if _nested(dest, tgt):
        raise ArchivistError(_("{dest} is on the backup target itself; restore to another path").format(dest=dest))
    over_root = dest == root
    stamp = dates.now(cfg.timezone).strftime(STAMP_FORMAT)
    options = ["-a", "--sparse", "--stats"]
    if record:
        code = normalize_code(record)
        try:
            src = store.locate(cfg.with_root(snap.path), code)
        except RecordNotFound:
            raise ArchivistError(_("snapshot {name} has no record {code}").format(name=snap.name, code=code)) from None
        if over_root:
            with contextlib.suppress(RecordNotFound):
                live = store.locate(cfg, code)
                raise ArchivistError(
                    _(
                        "record {code} is in the live archive at {live}; restore it --to another path and compare, or move the live folder away first"
                    ).format(code=code, live=live)
                )
            out = root / src.relative_to(snap.path)
        else:
            out = dest / src.name
        if os.path.lexists(out):
            raise ArchivistError(_("{out} already exists; restore to an empty path").format(out=out))
        out.parent.mkdir(parents=True, exist_ok=True)
        res = run_rsync(rsync_command(src, out, options, ()), env=child_env(cfg))
    elif over_root:
        backup_dir = store.layout_of(cfg).state / "replaced-by-restore" / stamp
        # by checksum: a damaged file may keep its size and time, and only real changes get replaced
        options += ["-c", "--backup", f"--backup-dir={backup_dir}"]
        out = root
        res = run_rsync(rsync_command(snap.path, root, options, ("/.archivist/",)), env=child_env(cfg))
    else:
        if dest.exists() and any(dest.iterdir()):
            raise ArchivistError(_("{dest} is not empty; restore a whole snapshot into a new or empty folder").format(dest=dest))
        out = dest
        res = run_rsync(rsync_command(snap.path, dest, options, ("/" + RECORD_IN_SNAPSHOT.as_posix(),)), env=child_env(cfg))
    if res.returncode != 0:
        raise ArchivistError(_("restore from {name} failed: {error}").format(name=snap.name, error=res.stderr or res.returncode))
    return {
        "snapshot": snap.name,
        "record": normalize_code(record) if record else None,
        "to": str(out),
        "files": res.stats.get("files", 0),
        "size": res.stats.get("size", 0),
        "replaced_kept_in": str(store.layout_of(cfg).state / "replaced-by-restore" / stamp) if over_root and not record else None,
    }
