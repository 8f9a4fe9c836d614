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

The package is split by what each part does: `snapshots` (what a target holds), `target` (the
guards), `rsync` (running the binary), `run` (making a snapshot), `verify`, `restore`, `schedule`
(when the monthly run is due). The names below are the package's public API (and a few private
helpers the tests and benchmarks reach for), re-exported so `from archivist import backup` keeps working.
"""

from __future__ import annotations

from .restore import (
    restore,
)
from .rsync import (
    _PROGRESS_RE,
    _STATS,
    EXCLUDES,
    INCLUDES,
    RsyncResult,
    parse_stats,
    rsync_command,
    run_rsync,
)
from .run import (
    _cleanup_leftovers,
    _discard,
    _missing_records,
    _new_stamp,
    _record_run,
    _rmtree,
    _set_latest,
    _snapshot,
    history,
    history_path,
    list_snapshots,
    prune,
    run_backup,
    summary_line,
)
from .schedule import (
    RETRY_AFTER,
    _gregorian_month_slot,
    _hm,
    _jalali_month_slot,
    _last_attempt,
    _slots_around,
    advice,
    last_ok,
    last_slot_at_or_before,
    next_slot_after,
    run_if_due,
    schedule_state,
)
from .snapshots import (
    HISTORY_KEEP,
    HISTORY_NAME,
    IN_PROGRESS,
    LATEST,
    MARKER,
    RECORD_IN_SNAPSHOT,
    STAMP_FORMAT,
    STAMP_RE,
    BackupFailed,
    BackupRefused,
    Snapshot,
    _read_yaml,
    _write_yaml,
    find_snapshot,
    human,
    latest_complete,
    latest_name,
    snapshots,
    stamp_time,
)
from .target import (
    _backup_lock,
    _check_no_live_writer,
    _nested,
    check_source,
    check_target,
    count_records,
    init_target,
    resolve_target,
    target_ready,
)
from .verify import (
    _ESCAPE,
    _differences,
    _explained,
    _snapshot_start,
    _touched,
    _unescape,
    verify,
)

__all__ = [
    "_read_yaml",
    "_write_yaml",
    "BackupFailed",
    "BackupRefused",
    "find_snapshot",
    "HISTORY_KEEP",
    "HISTORY_NAME",
    "human",
    "IN_PROGRESS",
    "LATEST",
    "latest_complete",
    "latest_name",
    "MARKER",
    "RECORD_IN_SNAPSHOT",
    "Snapshot",
    "snapshots",
    "STAMP_FORMAT",
    "STAMP_RE",
    "stamp_time",
    "_backup_lock",
    "_check_no_live_writer",
    "_nested",
    "check_source",
    "check_target",
    "count_records",
    "init_target",
    "resolve_target",
    "target_ready",
    "_PROGRESS_RE",
    "_STATS",
    "EXCLUDES",
    "INCLUDES",
    "parse_stats",
    "rsync_command",
    "RsyncResult",
    "run_rsync",
    "_cleanup_leftovers",
    "_discard",
    "_missing_records",
    "_new_stamp",
    "_record_run",
    "_rmtree",
    "_set_latest",
    "_snapshot",
    "history",
    "history_path",
    "list_snapshots",
    "prune",
    "run_backup",
    "summary_line",
    "_differences",
    "_ESCAPE",
    "_explained",
    "_snapshot_start",
    "_touched",
    "_unescape",
    "verify",
    "restore",
    "_gregorian_month_slot",
    "_hm",
    "_jalali_month_slot",
    "_last_attempt",
    "_slots_around",
    "last_ok",
    "last_slot_at_or_before",
    "next_slot_after",
    "RETRY_AFTER",
    "run_if_due",
    "schedule_state",
    "advice",
]
