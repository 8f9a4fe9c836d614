"""Making one snapshot: stamp, rsync with --link-dest, record, swap `latest`, prune, keep the run history."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .. import dates, store
from ..config import Config
from ..i18n import _
from ..notify import child_env
from .rsync import INCLUDES, rsync_command, run_rsync
from .snapshots import (
    HISTORY_KEEP,
    HISTORY_NAME,
    IN_PROGRESS,
    LATEST,
    RECORD_IN_SNAPSHOT,
    STAMP_FORMAT,
    BackupFailed,
    Snapshot,
    _read_yaml,
    _write_yaml,
    human,
    latest_complete,
    latest_name,
    snapshots,
)
from .target import _backup_lock, _check_no_live_writer, check_source, check_target, content_counts, resolve_target


def _new_stamp(cfg: Config, taken: list[str]) -> str:
    """Now in the office's zone; bumped past every existing name so names keep sorting by age."""
    t = dates.now(cfg.timezone)
    name = t.strftime(STAMP_FORMAT)
    newest = max(taken) if taken else ""
    while name <= newest:
        t += timedelta(seconds=1)
        name = t.strftime(STAMP_FORMAT)
    return name


def _rmtree(path: Path) -> None:
    """Delete a snapshot even where rsync kept a read-only folder's permissions."""

    def fix(func: Any, p: str, _exc: Any) -> None:
        parent = os.path.dirname(p)
        with contextlib.suppress(OSError):
            os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        with contextlib.suppress(OSError):
            os.chmod(p, os.lstat(p).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        func(p)

    shutil.rmtree(path, onerror=fix)


def _discard(target: Path, snap_path: Path) -> None:
    """Rename first, so a half-deleted snapshot never looks like a snapshot at all."""
    doomed = target / f".deleting-{snap_path.name}-{os.getpid()}"
    os.rename(snap_path, doomed)
    _rmtree(doomed)


def _cleanup_leftovers(target: Path) -> None:
    for e in os.scandir(target):
        if e.name.startswith(".deleting-"):
            _rmtree(Path(e.path))
        elif e.name.endswith(IN_PROGRESS) and not (target / e.name[: -len(IN_PROGRESS)]).is_dir():
            os.unlink(e.path)  # a marker whose snapshot was already renamed or deleted


def _set_latest(target: Path, name: str) -> None:
    tmp = target / f".{LATEST}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(name, tmp)
    os.replace(tmp, target / LATEST)
    store.fsync_dir(target)


def history_path(cfg: Config) -> Path:
    return store.layout_of(cfg).state / HISTORY_NAME


def history(cfg: Config) -> list[dict[str, Any]]:
    """Every recorded run, oldest first, from `<root>/.archivist/backups.yaml`."""
    runs = _read_yaml(history_path(cfg)).get("runs")
    return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []


def _record_run(cfg: Config, run: dict[str, Any]) -> None:
    runs = history(cfg)
    runs.append(run)
    _write_yaml(history_path(cfg), {"runs": runs[-HISTORY_KEEP:]})


def _missing_records(cfg: Config, snap: Path) -> list[str]:
    """Record folders in the live root that the snapshot lacks: a record moved while rsync ran
    (convert, archive) can be missed by a single pass, with or without a 'vanished' warning.
    One folder at a time: the names of every folder on both sides, held as two sets, were ~25 MB
    at 100,000 records and the daemon's peak memory during its backup."""
    missing = []
    for area, name in store.iter_record_names(store.layout_of(cfg)):
        try:
            copied = stat.S_ISDIR(os.lstat(snap / area / name).st_mode)
        except OSError:
            copied = False
        if not copied:
            missing.append(f"{area}/{name}")
    return sorted(missing)


def run_backup(
    cfg: Config, target: str | os.PathLike[str] | None = None, force: bool = False, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Make one snapshot; returns its summary. Guards raise BackupRefused before any write."""
    tgt = resolve_target(cfg, target)
    check_target(cfg, tgt)
    previous = latest_complete(tgt)
    records = check_source(cfg, previous, force)
    _check_no_live_writer(tgt)
    with _backup_lock(cfg):
        return _snapshot(cfg, tgt, previous, records, progress)


def _snapshot(
    cfg: Config, tgt: Path, previous: Snapshot | None, records: int, progress: Callable[[str], None] | None
) -> dict[str, Any]:
    """One run, as named steps: claim a destination (resuming a partial snapshot), copy with rsync,
    record the snapshot, then swap `latest` and prune."""
    run = _claim_destination(cfg, tgt)
    passes, seconds, stats = _copy(cfg, run, _rsync_options(cfg, previous, progress), progress)
    summary = _summary(cfg, run, previous, records, passes, seconds, stats)
    _complete(cfg, run, summary)
    summary["pruned"] = prune(tgt, cfg.backup.keep)
    _record_run(cfg, {k: v for k, v in summary.items() if k != "path"})
    return summary


@dataclass
class _Run:
    """The snapshot a run writes: its name, folder, in-progress marker and what the marker says."""

    target: Path
    name: str
    dest: Path
    marker: Path
    started: datetime
    started_ts: float
    info: dict[str, Any]


def _claim_destination(cfg: Config, tgt: Path) -> _Run:
    """Name the new snapshot and mark it in progress; the newest partial snapshot is finished under
    the new name (what it holds is kept), older leftovers are replaced."""
    _cleanup_leftovers(tgt)
    snaps = snapshots(tgt)
    name = _new_stamp(cfg, [s.name for s in snaps])
    dest = tgt / name
    marker = tgt / (name + IN_PROGRESS)
    started = dates.now(cfg.timezone)
    started_ts = _time.time()  # the real clock, to the microsecond: verify compares file times with it
    info: dict[str, Any] = {
        "started": started.isoformat(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "source": str(cfg.root),
    }
    partial = [s for s in snaps if not s.complete]
    if partial:
        info["resumed_from"] = partial[-1].name
    _write_yaml(marker, info)
    if partial:
        os.rename(partial[-1].path, dest)
        with contextlib.suppress(FileNotFoundError):
            partial[-1].marker.unlink()
        for s in partial[:-1]:
            _discard(tgt, s.path)
            with contextlib.suppress(FileNotFoundError):
                s.marker.unlink()
    else:
        dest.mkdir()
    return _Run(tgt, name, dest, marker, started, started_ts, info)


def _rsync_options(cfg: Config, previous: Snapshot | None, progress: Callable[[str], None] | None) -> list[str]:
    # --sparse: a sparse file (a VM image, a database) stays sparse on the drive instead of
    # being written out in full
    options = ["-a", "--sparse", "--delete", "--stats", *INCLUDES, *cfg.backup.rsync_options]
    if previous:
        options.append(f"--link-dest={previous.path}")
    if progress:
        options.append("--info=progress2")
    return options


def _copy(
    cfg: Config, run: _Run, options: list[str], progress: Callable[[str], None] | None
) -> tuple[int, float, dict[str, int]]:
    """rsync into the snapshot, again (at most three passes) while records moved during a pass were
    missed; (passes, seconds, rsync's stats). A failed rsync is recorded and raises BackupFailed."""
    cmd = rsync_command(cfg.root, run.dest, options)

    def on_start(pid: int) -> None:
        _write_yaml(run.marker, {**run.info, "rsync_pid": pid})

    passes = 0
    total = 0.0
    while True:
        passes += 1
        res = run_rsync(cmd, progress, on_start, env=child_env(cfg))
        total += res.seconds
        vanished = res.returncode == 24  # files moved or deleted while rsync ran: not an error
        if res.returncode not in (0, 24):
            why = (
                res.stderr.splitlines()[-1]
                if res.stderr
                else _("rsync exited with {returncode}").format(returncode=res.returncode)
            )
            if res.returncode < 0:
                why = _("rsync was killed by signal {signal}").format(signal=-res.returncode)
            _record_run(
                cfg,
                {
                    "snapshot": run.name,
                    "target": str(run.target),
                    "started": run.started.isoformat(),
                    "finished": dates.now(cfg.timezone).isoformat(),
                    "ok": False,
                    "error": why,
                },
            )
            raise BackupFailed(
                _(
                    "backup into {dest} failed: {why}; the partial snapshot is kept and the next `archivist backup run` completes it"
                ).format(dest=run.dest, why=why)
            )
        if passes >= 3 or not (vanished or _missing_records(cfg, run.dest)):
            return passes, total, res.stats


def _summary(
    cfg: Config, run: _Run, previous: Snapshot | None, records: int, passes: int, seconds: float, stats: dict[str, int]
) -> dict[str, Any]:
    return {
        "ok": True,
        "snapshot": run.name,
        "target": str(run.target),
        "path": str(run.dest),
        "started": run.started.isoformat(),
        "finished": dates.now(cfg.timezone).isoformat(),
        "seconds": round(seconds, 2),
        "records": records,
        "files": stats.get("files", 0),
        "size": stats.get("size", 0),
        "copied_files": stats.get("transferred", 0),
        "bytes_sent": stats.get("transferred_size", 0),
        "linked_to": previous.name if previous else None,
        "resumed_from": run.info.get("resumed_from"),
        "passes": passes,
    }


def _complete(cfg: Config, run: _Run, summary: dict[str, Any]) -> None:
    """Write the snapshot's record (only now is it complete), drop the marker, point `latest` at it."""
    snap_record = {
        **summary,
        "content": content_counts(cfg.root),
        "started_ts": run.started_ts,
        "complete": True,
        "source": str(cfg.root),
        "host": run.info["host"],
        "rsync_options": list(cfg.backup.rsync_options),
        "verified": None,
    }
    _write_yaml(run.dest / RECORD_IN_SNAPSHOT, snap_record)
    run.marker.unlink()
    store.fsync_dir(run.target)
    _set_latest(run.target, run.name)


def prune(target: Path, keep: int) -> list[str]:
    """Delete complete snapshots beyond the newest `keep`; never `latest` or an in-progress one."""
    pointed = latest_name(target)
    done = [s for s in snapshots(target) if s.complete]
    doomed = [s for s in done[: max(0, len(done) - keep)] if s.name != pointed]
    for s in doomed:
        _discard(target, s.path)
    return [s.name for s in doomed]


def summary_line(summary: dict[str, Any]) -> str:
    """The one line every run prints: files, bytes sent, duration."""
    if not summary.get("ok"):
        return _("backup not made: {error}").format(error=summary.get("error"))
    extra = _(", pruned {count}").format(count=len(summary["pruned"])) if summary.get("pruned") else ""
    return _(
        "backup {snapshot}: {files:,} files ({size}), {copied_files:,} copied, {bytes_sent} sent, {seconds:.1f} s → {target}{extra}"
    ).format(
        snapshot=summary["snapshot"],
        files=summary["files"],
        size=human(summary["size"]),
        copied_files=summary["copied_files"],
        bytes_sent=human(summary["bytes_sent"]),
        seconds=summary["seconds"],
        target=summary["target"],
        extra=extra,
    )


def list_snapshots(cfg: Config, target: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    tgt = resolve_target(cfg, target)
    check_target(cfg, tgt)
    pointed = latest_name(tgt)
    return [s.to_json(cfg, pointed) for s in snapshots(tgt)]
