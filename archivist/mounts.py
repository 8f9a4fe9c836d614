"""Which filesystem a path is on, from the mount table: one host owns the archive.

SQLite's WAL needs shared memory that network filesystems do not share between machines, and the
locks of a client (sshfs never forwards them; NFS and SMB only partly) do not stop the host's own
writers. So archivist refuses to write state, allocate numbers or run its daemon when the root
or the state dir is on a network filesystem, and answers reads from there without writing.

The table is `/proc/self/mounts`; `$ARCHIVIST_MOUNTS` names another file in the same format
(tests, and a diagnosis on a machine whose /proc is unusual).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

MOUNTS_ENV = "ARCHIVIST_MOUNTS"
PROC_MOUNTS = "/proc/self/mounts"

# Filesystem types whose files live on another machine (or are shared with one).
NETWORK_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "smb",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "ncpfs",
        "coda",
        "gfs2",
        "ocfs2",
        "davfs",
        "virtiofs",
        "beegfs",
        "orangefs",
        "sshfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.davfs2",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.cephfs",
        "fuse.ceph-fuse",
        "fuse.smbnetfs",
        "fuse.curlftpfs",
        "fuse.juicefs",
        "fuse.moosefs",
    }
)


@dataclass(frozen=True)
class Mount:
    device: str
    point: str
    fstype: str

    @property
    def network(self) -> bool:
        return self.fstype in NETWORK_TYPES


def _unescape(field: str) -> str:
    """Mount table fields escape space, tab, newline and backslash as \\040 and the like."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_table_path() -> str:
    return os.environ.get(MOUNTS_ENV) or PROC_MOUNTS


def read_mounts(table: str | None = None) -> list[Mount]:
    """The mounts in the table, in mount order; [] when there is no table to read."""
    try:
        text = Path(table or mount_table_path()).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            mounts.append(Mount(_unescape(parts[0]), _unescape(parts[1]), parts[2]))
    return mounts


def mount_of(path: Path, mounts: list[Mount]) -> Mount | None:
    """The mount a path is on: the longest mount point above it (the last one mounted wins)."""
    p = Path(os.path.realpath(path)).as_posix()
    best: Mount | None = None
    for m in mounts:
        point = m.point.rstrip("/") or "/"
        if p == point or p.startswith(point + "/") or point == "/":
            if best is None or len(point) >= len(best.point.rstrip("/") or "/"):
                best = m
    return best


@functools.lru_cache(maxsize=64)
def _network_mount(path: str, table: str) -> Mount | None:
    m = mount_of(Path(path), read_mounts(table))
    return m if m is not None and m.network else None


def network_mount(path: Path) -> Mount | None:
    """The network mount `path` is on, or None for a local filesystem (asked once per process)."""
    return _network_mount(os.path.realpath(path), mount_table_path())
