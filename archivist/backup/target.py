"""Guards before a backup writes anything: the target is the marked drive, the source looks like the archive, no other run."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from .. import dates, store
from ..config import Config
from ..errors import ArchivistError
from ..i18n import _
from ..record import LOG_NAME
from .snapshots import IN_PROGRESS, MARKER, BackupRefused, Snapshot, _read_yaml, _write_yaml


def _nested(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def resolve_target(cfg: Config, target: str | os.PathLike[str] | None = None) -> Path:
    raw = target if target is not None else cfg.backup.target
    if raw is None:
        raise BackupRefused(_("no backup target: set backup.target in config.yaml or pass --target PATH"))
    return Path(raw).expanduser().resolve()


def check_target(cfg: Config, target: Path) -> None:
    """Refuse a target that is missing, unmarked, or nested with the archive root."""
    root = cfg.root.resolve()
    if _nested(target, root):
        where = _("inside the archive root") if target.is_relative_to(root) else _("around the archive root")
        raise BackupRefused(
            _("backup target {target} is {where} {root}; a backup must live on another drive").format(
                target=target, where=where, root=root
            )
        )
    if not target.is_dir():
        raise BackupRefused(_("backup target {target} does not exist; plug in and mount the backup drive").format(target=target))
    if not (target / MARKER).is_file():
        raise BackupRefused(
            _(
                "{target} has no {marker} marker, so it may be an empty mount point, not the backup drive; if it really is the drive, run `archivist backup init-target {target}` once"
            ).format(target=target, marker=MARKER)
        )


def target_ready(cfg: Config, target: str | os.PathLike[str] | None = None) -> bool:
    try:
        check_target(cfg, resolve_target(cfg, target))
    except ArchivistError:
        return False
    return True


def init_target(cfg: Config, path: str | os.PathLike[str]) -> Path:
    """Mark a folder on the drive as a backup target, after checking it can hold snapshots.

    Snapshots need hard links (--link-dest) and a symlink (`latest`); FAT and exFAT drives have
    neither, and finding that out on the first monthly run at 02:00 would be too late.
    """
    target = Path(path).expanduser().resolve()
    root = cfg.root.resolve()
    if _nested(target, root):
        raise BackupRefused(
            _("{target} is inside or around the archive root {root}; choose a folder on the backup drive").format(
                target=target, root=root
            )
        )
    if (target / MARKER).is_file():
        return target
    if not target.parent.is_dir():
        raise BackupRefused(_("{parent} does not exist; is the backup drive mounted?").format(parent=target.parent))
    target.mkdir(exist_ok=True)
    probe = target / f".archivist-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"probe")
        os.link(probe, probe.with_suffix(".link"))
        os.symlink(probe.name, probe.with_suffix(".sym"))
    except OSError as e:
        raise BackupRefused(
            _(
                "{target} cannot hold snapshots ({strerror}): the drive needs hard links and symlinks (ext4, btrfs, xfs, NTFS via ntfs3 — not FAT/exFAT)"
            ).format(target=target, strerror=e.strerror)
        ) from None
    finally:
        for p in (probe, probe.with_suffix(".link"), probe.with_suffix(".sym")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    _write_yaml(
        target / MARKER, {"archivist_backup": 1, "created": dates.now(cfg.timezone).isoformat(), "host": socket.gethostname()}
    )
    return target


def count_records(cfg: Config) -> int:
    return sum(1 for _ in store.iter_record_folders(store.layout_of(cfg)))


CASE_AREAS = ("customers", "archive/customers")
APPLICANT_AREAS = ("applicants", "archive/applicants")


def content_counts(root: Path) -> dict[str, int]:
    """What the shrink guard compares besides the folder count: cases (never deleted: conversion
    adds, archive and reopen move within the group), applicants, and logs that hold something."""
    layout = store.Layout(root)
    counts = {"cases": 0, "applicants": 0, "logs": 0}
    for area, folder in store.iter_record_folders(layout):
        counts["cases" if area in CASE_AREAS else "applicants"] += 1
        try:
            if os.lstat(folder / LOG_NAME).st_size > 0:
                counts["logs"] += 1
        except OSError:
            pass
    return counts


def _check_content(cfg: Config, previous: Snapshot) -> None:
    """Refuse when cases, applicants or non-empty logs shrank past backup.max_shrink since the last
    snapshot: deleting every customer (a few of many records) or truncating every log to 0 bytes
    passed the folder count alone and would have been backed up as the new truth."""
    stored = previous.meta.get("content")
    before = stored if isinstance(stored, dict) else content_counts(previous.path)
    now = content_counts(cfg.root)
    words = {"cases": _("customer cases"), "applicants": _("applicants"), "logs": _("follow-up logs with content")}
    for key, what in words.items():
        was = before.get(key)
        if not isinstance(was, int) or was <= 0:
            continue
        if now[key] < was * (1 - cfg.backup.max_shrink):
            raise BackupRefused(
                _(
                    "the archive has {value} {what} but the last snapshot ({name}) had {was}: more than {max_shrink:.0%} gone or emptied, which looks like damage, not work; nothing was backed up. If this is on purpose, run `archivist backup run --force`"
                ).format(value=now[key], what=what, name=previous.name, was=was, max_shrink=cfg.backup.max_shrink)
            )


def check_source(cfg: Config, previous: Snapshot | None, force: bool = False) -> int:
    """Refuse a source that looks gone; returns the record count (kept in the snapshot's record)."""
    layout = store.layout_of(cfg)
    if not cfg.root.is_dir():
        raise BackupRefused(_("the archive root {root} does not exist; is the right disk mounted?").format(root=cfg.root))
    if not layout.registry.is_file():
        raise BackupRefused(
            _(
                "{registry} is missing, so {root} does not look like the archive (unmounted or deleted?); nothing was backed up. If this is a new archive, run `archivist init` first"
            ).format(registry=layout.registry, root=cfg.root)
        )
    records = count_records(cfg)
    before = previous.meta.get("records") if previous else None
    if isinstance(before, int) and before > 0 and not force:
        floor = before * (1 - cfg.backup.max_shrink)
        if records < floor:
            raise BackupRefused(
                _(
                    "the archive has {records} records but the last snapshot ({name}) had {before}: more than {max_shrink:.0%} gone, which looks like a deleted or half-mounted archive; nothing was backed up. If the records were removed on purpose, run `archivist backup run --force`"
                ).format(records=records, name=previous.name if previous else "", before=before, max_shrink=cfg.backup.max_shrink)
            )
    if previous is not None and not force:
        _check_content(cfg, previous)
    return records


DYING_GRACE = 2.0  # seconds a killed writer may take to exit before its marker counts as live


def _alive_after(pid: object, grace: float) -> bool:
    """Whether `pid` is still alive after up to `grace` seconds: a run killed outright (power cut,
    SIGKILL to its process group) leaves an rsync that is still exiting for a moment; an orphaned
    rsync that really goes on writing is still there when the grace is over."""
    deadline = time.monotonic() + grace
    while store.pid_alive(pid):
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)
    return False


def _check_no_live_writer(target: Path) -> None:
    """An in-progress marker whose rsync (or archivist) is still alive on this host: refuse."""
    host = socket.gethostname()
    for marker in target.glob("*" + IN_PROGRESS):
        info = _read_yaml(marker)
        if info.get("host") != host:
            continue
        for key in ("rsync_pid", "pid"):
            pid = info.get(key)
            if pid != os.getpid() and _alive_after(pid, DYING_GRACE):
                raise BackupRefused(
                    _("another backup is still writing {snapshot} on {target} (pid {pid}); wait for it to finish").format(
                        snapshot=marker.name[: -len(IN_PROGRESS)], target=target, pid=pid
                    )
                )


@contextlib.contextmanager
def _backup_lock(cfg: Config) -> Iterator[None]:
    try:
        with store.lock(store.layout_of(cfg), "backup", timeout=0):
            yield
    except BackupRefused:
        raise
    except ArchivistError as e:
        if "busy" in str(e):
            raise BackupRefused(_("another backup of this archive is already running; wait for it to finish")) from None
        raise
