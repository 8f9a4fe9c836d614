"""Monthly snapshots of the archive on an external drive (SPEC §9), in the rsync-time-backup style.

Layout of a backup target (a folder on the drive, made once by `backup init-target`):

    <target>/.archivist-backup                  marker: without it nothing is ever written here
    <target>/<YYYY-MM-DDTHHMMSS>/               one snapshot: a copy of the root (unchanged files are
                                                hard links into the previous snapshot: --link-dest)
    <target>/<YYYY-MM-DDTHHMMSS>/.archivist/backup.yaml   the run's record, written after rsync succeeded
    <target>/<YYYY-MM-DDTHHMMSS>.in-progress    marker while a run writes that snapshot (pid, rsync pid)
    <target>/latest -> <YYYY-MM-DDTHHMMSS>      relative symlink, swapped only after success

A snapshot is complete only when its record says so and no in-progress marker sits beside it, so
a run killed at any point (power cut, SIGKILL, unplugged drive) can never leave something that
claims success; the next run renames the newest partial snapshot to its own name and lets rsync
finish it (whatever was already copied is kept) or, if there is none, starts a fresh one.

Why the guards: a backup that silently wrote into an unplugged drive's empty mount point, or that
propagated a deleted archive over the good copies, is worse than none. Guard refusals raise
`BackupRefused` before anything is written anywhere.

rsync is the real binary; its command line is built by `sysrsync.get_rsync_command` (the same
builder `sysrsync.run` uses). We start it ourselves with Popen instead of `sysrsync.run` because
that helper neither returns rsync's output (we need `--stats` for the summary and `-i` for
verify) nor exposes the child's pid (the in-progress marker records it, so a later run can tell
an orphaned rsync that is still writing from a dead one).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import stat
import subprocess
import threading
import time as _time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime
import sysrsync
import yaml

from . import dates, store
from .config import Config
from .errors import ArchivistError, RecordNotFound
from .naming import normalize_code

MARKER = ".archivist-backup"
LATEST = "latest"
IN_PROGRESS = ".in-progress"
RECORD_IN_SNAPSHOT = Path(".archivist") / "backup.yaml"
HISTORY_NAME = "backups.yaml"
STAMP_FORMAT = "%Y-%m-%dT%H%M%S"
STAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{6}$")
HISTORY_KEEP = 500
RETRY_AFTER = timedelta(hours=1)  # a refused or failed scheduled run is retried at most this often

# What goes into a snapshot: everything except the derived state under .archivist/, but the
# Telegram outbox (messages not yet sent are not derivable) is kept. registry.yaml sits at the top
# of the root and is included like any other file. Filter rules are order-sensitive: the includes
# come first (in the options), the exclusion after (sysrsync appends exclusions at the end).
INCLUDES = ("--include=/.archivist/", "--include=/.archivist/outbox/***")
EXCLUDES = ("/.archivist/*",)


class BackupRefused(ArchivistError):
    """A guard said no (no marker, nested paths, source looks gone, another run): nothing written."""


class BackupFailed(ArchivistError):
    """rsync failed or was killed; the snapshot stays marked in-progress for the next run."""


# -- snapshots on the target ---------------------------------------------------------------------------

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
    path.parent.mkdir(parents=True, exist_ok=True)
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
        raise ArchivistError(f"{target} holds no complete snapshot yet; run `archivist backup run`")
    for s in snaps:
        if s.name == name.rstrip("/"):
            return s
    names = ", ".join(s.name for s in snaps[-5:]) or "none"
    raise ArchivistError(f"no snapshot {name!r} in {target} (newest: {names}); see `archivist backup list`")


# -- targets and guards --------------------------------------------------------------------------------

def _nested(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def resolve_target(cfg: Config, target: str | os.PathLike[str] | None = None) -> Path:
    raw = target if target is not None else cfg.backup.target
    if raw is None:
        raise BackupRefused("no backup target: set backup.target in config.yaml or pass --target PATH")
    return Path(raw).expanduser().resolve()


def check_target(cfg: Config, target: Path) -> None:
    """Refuse a target that is missing, unmarked, or nested with the archive root."""
    root = cfg.root.resolve()
    if _nested(target, root):
        where = "inside the archive root" if target.is_relative_to(root) else "around the archive root"
        raise BackupRefused(f"backup target {target} is {where} {root}; a backup must live on another drive")
    if not target.is_dir():
        raise BackupRefused(f"backup target {target} does not exist; plug in and mount the backup drive")
    if not (target / MARKER).is_file():
        raise BackupRefused(
            f"{target} has no {MARKER} marker, so it may be an empty mount point, not the backup drive; "
            f"if it really is the drive, run `archivist backup init-target {target}` once"
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
        raise BackupRefused(f"{target} is inside or around the archive root {root}; choose a folder on the backup drive")
    if (target / MARKER).is_file():
        return target
    if not target.parent.is_dir():
        raise BackupRefused(f"{target.parent} does not exist; is the backup drive mounted?")
    target.mkdir(exist_ok=True)
    probe = target / f".archivist-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"probe")
        os.link(probe, probe.with_suffix(".link"))
        os.symlink(probe.name, probe.with_suffix(".sym"))
    except OSError as e:
        raise BackupRefused(f"{target} cannot hold snapshots ({e.strerror}): the drive needs hard links and "
                            "symlinks (ext4, btrfs, xfs, NTFS via ntfs3 — not FAT/exFAT)") from None
    finally:
        for p in (probe, probe.with_suffix(".link"), probe.with_suffix(".sym")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    _write_yaml(target / MARKER, {"archivist_backup": 1, "created": dates.now(cfg.timezone).isoformat(),
                                  "host": socket.gethostname()})
    return target


def count_records(cfg: Config) -> int:
    return sum(1 for _ in store.iter_record_folders(store.layout_of(cfg)))


def check_source(cfg: Config, previous: Snapshot | None, force: bool = False) -> int:
    """Refuse a source that looks gone; returns the record count (kept in the snapshot's record)."""
    layout = store.layout_of(cfg)
    if not cfg.root.is_dir():
        raise BackupRefused(f"the archive root {cfg.root} does not exist; is the right disk mounted?")
    if not layout.registry.is_file():
        raise BackupRefused(
            f"{layout.registry} is missing, so {cfg.root} does not look like the archive (unmounted or "
            "deleted?); nothing was backed up. If this is a new archive, run `archivist init` first"
        )
    records = count_records(cfg)
    before = previous.meta.get("records") if previous else None
    if isinstance(before, int) and before > 0 and not force:
        floor = before * (1 - cfg.backup.max_shrink)
        if records < floor:
            raise BackupRefused(
                f"the archive has {records} records but the last snapshot ({previous.name}) had {before}: "  # type: ignore[union-attr]
                f"more than {cfg.backup.max_shrink:.0%} gone, which looks like a deleted or half-mounted "
                "archive; nothing was backed up. If the records were removed on purpose, run "
                "`archivist backup run --force`"
            )
    return records


def _check_no_live_writer(target: Path) -> None:
    """An in-progress marker whose rsync (or archivist) is still alive on this host: refuse."""
    host = socket.gethostname()
    for marker in target.glob("*" + IN_PROGRESS):
        info = _read_yaml(marker)
        if info.get("host") != host:
            continue
        for key in ("rsync_pid", "pid"):
            pid = info.get(key)
            if pid != os.getpid() and store.pid_alive(pid):
                raise BackupRefused(f"another backup is still writing {marker.name[:-len(IN_PROGRESS)]} on "
                                    f"{target} (pid {pid}); wait for it to finish")


@contextlib.contextmanager
def _backup_lock(cfg: Config) -> Iterator[None]:
    try:
        with store.lock(store.layout_of(cfg), "backup", timeout=0):
            yield
    except BackupRefused:
        raise
    except ArchivistError as e:
        if "busy" in str(e):
            raise BackupRefused("another backup of this archive is already running; wait for it to finish") from None
        raise


# -- rsync -------------------------------------------------------------------------------------------

@dataclass
class RsyncResult:
    returncode: int
    stdout: str
    stderr: str
    stats: dict[str, int]
    seconds: float


_STATS = {
    "Number of files": "entries",
    "Number of created files": "created",
    "Number of deleted files": "deleted",
    "Number of regular files transferred": "transferred",
    "Total file size": "size",
    "Total transferred file size": "transferred_size",
    "Total bytes sent": "bytes_sent",
    "Total bytes received": "bytes_received",
}


def parse_stats(text: str) -> dict[str, int]:
    """rsync --stats output → numbers (thousands separators removed)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if not sep or key.strip() not in _STATS:
            continue
        m = re.match(r"\s*([\d,.]+)", rest)
        if m:
            out[_STATS[key.strip()]] = int(re.sub(r"[,.]", "", m.group(1)))
        reg = re.search(r"reg:\s*([\d,.]+)", rest)
        if reg and key.strip() == "Number of files":
            out["files"] = int(re.sub(r"[,.]", "", reg.group(1)))
    return out


def rsync_command(src: Path, dst: Path, options: list[str], exclusions: tuple[str, ...] = EXCLUDES) -> list[str]:
    """The command line, built by sysrsync: `rsync OPTIONS src/ dst --exclude …` (contents of src)."""
    return sysrsync.get_rsync_command(
        source=str(src), destination=str(dst), options=options, exclusions=list(exclusions),
        sync_source_contents=True,
    )


_PROGRESS_RE = re.compile(r"^\s*[\d,.]+[KMGT]?\s+\d+%")


def run_rsync(cmd: list[str], progress: Callable[[str], None] | None = None,
              on_start: Callable[[int], None] | None = None) -> RsyncResult:
    """Run rsync, streaming `--info=progress2` lines to `progress`; never raises on a bad exit."""
    started = _time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ArchivistError("rsync is not installed; install it (apt install rsync) and try again") from None
    if on_start:
        on_start(proc.pid)
    err_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    drain.start()
    out_lines: list[str] = []
    pending = b""
    try:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            pending += chunk
            parts = re.split(rb"[\r\n]", pending)
            pending = parts.pop()
            for raw in parts:
                line = raw.decode("utf-8", "replace")
                if _PROGRESS_RE.match(line):
                    if progress:
                        progress(line.strip())
                elif line:
                    out_lines.append(line)
        if pending:
            out_lines.append(pending.decode("utf-8", "replace"))
        proc.wait()
    except BaseException:
        # Ctrl-C, or the daemon stopping: do not leave an orphaned rsync writing to the drive
        proc.kill()
        proc.wait()
        raise
    drain.join()
    stdout = "\n".join(out_lines)
    return RsyncResult(proc.returncode, stdout, b"".join(err_chunks).decode("utf-8", "replace").strip(),
                       parse_stats(stdout), _time.monotonic() - started)


# -- the run --------------------------------------------------------------------------------------------

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
    (convert, archive) can be missed by a single pass, with or without a 'vanished' warning."""
    live = {f"{a}/{p.name}" for a, p in store.iter_record_folders(store.layout_of(cfg))}
    copied = {f"{a}/{p.name}" for a, p in store.iter_record_folders(store.Layout(snap))}
    return sorted(live - copied)


def run_backup(cfg: Config, target: str | os.PathLike[str] | None = None, force: bool = False,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Make one snapshot; returns its summary. Guards raise BackupRefused before any write."""
    tgt = resolve_target(cfg, target)
    check_target(cfg, tgt)
    previous = latest_complete(tgt)
    records = check_source(cfg, previous, force)
    _check_no_live_writer(tgt)
    with _backup_lock(cfg):
        return _snapshot(cfg, tgt, previous, records, progress)


def _snapshot(cfg: Config, tgt: Path, previous: Snapshot | None, records: int,
              progress: Callable[[str], None] | None) -> dict[str, Any]:
    _cleanup_leftovers(tgt)
    snaps = snapshots(tgt)
    name = _new_stamp(cfg, [s.name for s in snaps])
    dest = tgt / name
    marker = tgt / (name + IN_PROGRESS)
    started = dates.now(cfg.timezone)
    started_ts = _time.time()  # the real clock, to the microsecond: verify compares file times with it
    info: dict[str, Any] = {"started": started.isoformat(), "host": socket.gethostname(), "pid": os.getpid(),
                            "source": str(cfg.root)}
    partial = [s for s in snaps if not s.complete]
    if partial:
        info["resumed_from"] = partial[-1].name
    _write_yaml(marker, info)
    if partial:
        # finish the newest partial snapshot under the new name; older leftovers are replaced
        os.rename(partial[-1].path, dest)
        with contextlib.suppress(FileNotFoundError):
            partial[-1].marker.unlink()
        for s in partial[:-1]:
            _discard(tgt, s.path)
            with contextlib.suppress(FileNotFoundError):
                s.marker.unlink()
    else:
        dest.mkdir()

    options = ["-a", "--delete", "--stats", *INCLUDES, *cfg.backup.rsync_options]
    if previous:
        options.append(f"--link-dest={previous.path}")
    if progress:
        options.append("--info=progress2")
    cmd = rsync_command(cfg.root, dest, options)

    def on_start(pid: int) -> None:
        _write_yaml(marker, {**info, "rsync_pid": pid})

    passes = 0
    total = 0.0
    while True:
        passes += 1
        res = run_rsync(cmd, progress, on_start)
        total += res.seconds
        vanished = res.returncode == 24  # files moved or deleted while rsync ran: not an error
        if res.returncode not in (0, 24):
            why = res.stderr.splitlines()[-1] if res.stderr else f"rsync exited with {res.returncode}"
            if res.returncode < 0:
                why = f"rsync was killed by signal {-res.returncode}"
            _record_run(cfg, {"snapshot": name, "target": str(tgt), "started": started.isoformat(),
                              "finished": dates.now(cfg.timezone).isoformat(), "ok": False, "error": why})
            raise BackupFailed(f"backup into {dest} failed: {why}; the partial snapshot is kept and the "
                               "next `archivist backup run` completes it")
        if passes >= 3 or not (vanished or _missing_records(cfg, dest)):
            break
    stats = res.stats
    finished = dates.now(cfg.timezone)
    summary: dict[str, Any] = {
        "ok": True,
        "snapshot": name,
        "target": str(tgt),
        "path": str(dest),
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "seconds": round(total, 2),
        "records": records,
        "files": stats.get("files", 0),
        "size": stats.get("size", 0),
        "copied_files": stats.get("transferred", 0),
        "bytes_sent": stats.get("transferred_size", 0),
        "linked_to": previous.name if previous else None,
        "resumed_from": info.get("resumed_from"),
        "passes": passes,
    }
    snap_record = {**summary, "started_ts": started_ts, "complete": True, "source": str(cfg.root), "host": info["host"],
                   "rsync_options": list(cfg.backup.rsync_options), "verified": None}
    _write_yaml(dest / RECORD_IN_SNAPSHOT, snap_record)
    marker.unlink()
    store.fsync_dir(tgt)
    _set_latest(tgt, name)
    summary["pruned"] = prune(tgt, cfg.backup.keep)
    _record_run(cfg, {k: v for k, v in summary.items() if k != "path"})
    return summary


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
        return f"backup not made: {summary.get('error')}"
    extra = f", pruned {len(summary['pruned'])}" if summary.get("pruned") else ""
    return (f"backup {summary['snapshot']}: {summary['files']:,} files ({human(summary['size'])}), "
            f"{summary['copied_files']:,} copied, {human(summary['bytes_sent'])} sent, "
            f"{summary['seconds']:.1f} s → {summary['target']}{extra}")


def human(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


# -- list, verify, restore ------------------------------------------------------------------------------

def list_snapshots(cfg: Config, target: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    tgt = resolve_target(cfg, target)
    check_target(cfg, tgt)
    pointed = latest_name(tgt)
    return [s.to_json(cfg, pointed) for s in snapshots(tgt)]


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
            out.append({"path": _unescape(line[len("*deleting"):].strip()), "kind": "extra"})
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
    res = run_rsync(rsync_command(cfg.root, snap.path, options))
    if res.returncode not in (0, 24):
        raise ArchivistError(f"verify of {snap.name} failed: {res.stderr or res.returncode}")
    diffs = _differences(res.stdout)
    since = _snapshot_start(cfg, snap)
    missing_dirs: dict[str, bool] = {}  # folder missing from the snapshot → explained
    for d in diffs:
        d["changed_since"] = _explained(cfg.root, d, since, missing_dirs)  # type: ignore[assignment]
    damage = [d for d in diffs if not d["changed_since"]]
    result = {"snapshot": snap.name, "path": str(snap.path), "ok": not damage, "complete": snap.complete,
              "at": dates.now(cfg.timezone).isoformat(), "damaged": len(damage),
              "changed_since": len(diffs) - len(damage), "differences": diffs}
    if snap.meta:
        snap.meta["verified"] = {"at": result["at"], "ok": result["ok"], "differences": len(damage),
                                 "changed_since": len(diffs) - len(damage)}
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
    for parent in Path(rel).parents:
        folder = root / parent
        if folder.is_dir():
            return _touched(folder, since)
    return False


def restore(cfg: Config, snapshot: str, to: str | os.PathLike[str] | None, record: str | None = None,
            into_root: bool = False, yes: bool = False, target: str | os.PathLike[str] | None = None) -> dict[str, Any]:
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
        raise ArchivistError(f"snapshot {snap.name} is incomplete (its run was interrupted); restore from a complete one")
    root = cfg.root.resolve()
    if to is None and not into_root:
        raise ArchivistError("say where to restore: --to PATH (or --into-root --yes for the live archive)")
    dest = Path(to).expanduser().resolve() if to is not None else root
    if _nested(dest, root) and not (into_root and yes):
        raise ArchivistError(f"{dest} is the live archive (or inside/around it); restore to another path, or pass "
                             "--into-root --yes to write into the live archive on purpose")
    if _nested(dest, tgt):
        raise ArchivistError(f"{dest} is on the backup target itself; restore to another path")
    over_root = dest == root
    stamp = dates.now(cfg.timezone).strftime(STAMP_FORMAT)
    options = ["-a", "--stats"]
    if record:
        code = normalize_code(record)
        try:
            src = store.locate(cfg.with_root(snap.path), code)
        except RecordNotFound:
            raise ArchivistError(f"snapshot {snap.name} has no record {code}") from None
        if over_root:
            with contextlib.suppress(RecordNotFound):
                live = store.locate(cfg, code)
                raise ArchivistError(f"record {code} is in the live archive at {live}; restore it --to another "
                                     "path and compare, or move the live folder away first")
            out = root / src.relative_to(snap.path)
        else:
            out = dest / src.name
        if os.path.lexists(out):
            raise ArchivistError(f"{out} already exists; restore to an empty path")
        out.parent.mkdir(parents=True, exist_ok=True)
        res = run_rsync(rsync_command(src, out, options, ()))
    elif over_root:
        backup_dir = store.layout_of(cfg).state / "replaced-by-restore" / stamp
        # by checksum: a damaged file may keep its size and time, and only real changes get replaced
        options += ["-c", "--backup", f"--backup-dir={backup_dir}"]
        out = root
        res = run_rsync(rsync_command(snap.path, root, options, ("/.archivist/",)))
    else:
        if dest.exists() and any(dest.iterdir()):
            raise ArchivistError(f"{dest} is not empty; restore a whole snapshot into a new or empty folder")
        out = dest
        res = run_rsync(rsync_command(snap.path, dest, options, ("/" + RECORD_IN_SNAPSHOT.as_posix(),)))
    if res.returncode != 0:
        raise ArchivistError(f"restore from {snap.name} failed: {res.stderr or res.returncode}")
    return {"snapshot": snap.name, "record": normalize_code(record) if record else None, "to": str(out),
            "files": res.stats.get("files", 0), "size": res.stats.get("size", 0),
            "replaced_kept_in": str(store.layout_of(cfg).state / "replaced-by-restore" / stamp)
            if over_root and not record else None}


# -- schedule ------------------------------------------------------------------------------------------

def _hm(cfg: Config) -> tuple[int, int]:
    hh, _, mm = cfg.backup.time.partition(":")
    return int(hh or 0), int(mm or 0)


def _jalali_month_slot(cfg: Config, y: int, m: int) -> datetime:
    while m > 12:
        y, m = y + 1, m - 12
    while m < 1:
        y, m = y - 1, m + 12
    day = cfg.backup.day
    while day > 28:
        try:
            jdatetime.date(y, m, day)
            break
        except ValueError:
            day -= 1
    g = jdatetime.date(y, m, max(1, day)).togregorian()
    hh, mm = _hm(cfg)
    return datetime(g.year, g.month, g.day, hh, mm, tzinfo=ZoneInfo(cfg.timezone))


def _gregorian_month_slot(cfg: Config, y: int, m: int) -> datetime:
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    last = (nxt - timedelta(days=1)).day
    hh, mm = _hm(cfg)
    return datetime(y, m, max(1, min(cfg.backup.day, last)), hh, mm, tzinfo=ZoneInfo(cfg.timezone))


def _slots_around(cfg: Config, t: datetime) -> list[datetime]:
    """Scheduled instants from a little before `t` to a little after it, in order.

    monthly: `day` of each month (of the Jalali month when calendar is jalali; clamped to the
    month's length) at `time`; weekly: ISO weekday `day` (1 = Monday … 7 = Sunday); daily: `time`.
    """
    local = t.astimezone(ZoneInfo(cfg.timezone))
    hh, mm = _hm(cfg)
    kind = cfg.backup.schedule
    if kind == "monthly":
        if cfg.calendar == "jalali":
            j = jdatetime.date.fromgregorian(date=local.date())
            return [_jalali_month_slot(cfg, j.year, j.month + k) for k in (-1, 0, 1, 2)]
        return [_gregorian_month_slot(cfg, local.year, local.month + k) for k in (-1, 0, 1, 2)]
    if kind == "weekly":
        base = local.date() - timedelta(days=local.isoweekday() - max(1, min(7, cfg.backup.day)))
        days = [base + timedelta(weeks=k) for k in (-1, 0, 1, 2)]
    else:
        days = [local.date() + timedelta(days=k) for k in (-1, 0, 1)]
    return [datetime(d.year, d.month, d.day, hh, mm, tzinfo=ZoneInfo(cfg.timezone)) for d in days]


def next_slot_after(cfg: Config, t: datetime) -> datetime:
    return next(s for s in _slots_around(cfg, t) if s > t)


def last_slot_at_or_before(cfg: Config, t: datetime) -> datetime:
    return [s for s in _slots_around(cfg, t) if s <= t][-1]


def last_ok(cfg: Config, target: str | os.PathLike[str] | None = None) -> datetime | None:
    """The last good backup: from the run history, or from the drive when .archivist/ was rebuilt."""
    best: datetime | None = None
    for run in history(cfg):
        if run.get("ok") and run.get("started"):
            with contextlib.suppress(ValueError, TypeError):
                t = datetime.fromisoformat(str(run["started"]))
                best = t if best is None or t > best else best
    if target_ready(cfg, target):
        snap = latest_complete(resolve_target(cfg, target))
        if snap:
            t = stamp_time(snap.name, cfg.timezone)
            best = t if best is None or t > best else best
    return best


def schedule_state(cfg: Config, now: datetime | None = None) -> dict[str, Any]:
    """For `status` and the TUI: last good backup, when the next is due, overdue, drive ready.

    A backup is overdue as soon as its scheduled time has passed without a good run (a missed run
    is run by the daemon at its next start once the drive is present); never backed up means
    overdue since the most recent scheduled time.
    """
    now = now or dates.now(cfg.timezone)
    ready = target_ready(cfg)
    last = last_ok(cfg)
    state: dict[str, Any] = {"last_ok": last.isoformat() if last else None, "next_due": None, "overdue": False,
                             "target_ready": ready, "target": str(cfg.backup.target) if cfg.backup.target else None,
                             "schedule": cfg.backup.schedule}
    if cfg.backup.schedule == "off":
        return state
    due = next_slot_after(cfg, last) if last else last_slot_at_or_before(cfg, now)
    state["next_due"] = due.isoformat()
    state["overdue"] = now >= due
    return state


_last_attempt: dict[str, datetime] = {}


def run_if_due(cfg: Config, now: datetime | None = None) -> dict[str, Any] | None:
    """The daemon's scheduler hook: run a backup when one is due and the drive is present.

    Returns the run's summary, None when nothing was due or the drive is absent, or
    `{"ok": False, "error": …}` when a guard refused or rsync failed (then it waits RETRY_AFTER
    before trying again, so a refusing guard is not hammered every minute). Never raises for
    user-fixable problems: the daemon only logs what it gets.
    """
    now = now or dates.now(cfg.timezone)
    state = schedule_state(cfg, now)
    if not state["overdue"] or not state["target_ready"]:
        return None
    key = str(cfg.root)
    tried = _last_attempt.get(key)
    if tried and now - tried < RETRY_AFTER:
        return None
    try:
        summary = run_backup(cfg)
    except ArchivistError as e:
        _last_attempt[key] = now
        return {"ok": False, "error": str(e), "at": now.isoformat()}
    _last_attempt.pop(key, None)
    return summary
