"""The only code that writes into the archive: layout paths, atomic writes, locks and moves.

Every write is maildir-style: a temp file in the same folder, flushed and fsynced, renamed over
the target, then the folder fsynced, so a reader (or a crash) only ever sees the old or the new
file. Moves never land on an existing name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .config import Config
from .errors import NameClash, NetworkFilesystem, OutsideRoot, RecordNotFound, StaleLog
from .i18n import _, how
from .locking import LOCK_TIMEOUT, posix_lock
from .modes import PRIVATE_DIR, SHARED_DIR, create_empty, make_dirs, open_new, shared
from .mounts import Mount, network_mount
from .naming import normalize_code
from .record import LOG_NAME, Record, load_record, log_bytes

AREAS = ("applicants", "customers", "archive/applicants", "archive/customers")
CASE_AREAS = ("customers", "archive/customers")  # only cases have case codes, contracts, invoices
STATE_DIR = ".archivist"


@dataclass(frozen=True)
class Layout:
    """Where things live under the root (SPEC §2)."""

    root: Path
    state_dir: Path | None = None  # config `state_dir`; default <root>/.archivist
    allow_network_fs: bool = False

    def area(self, name: str) -> Path:
        return self.root / name

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def registry(self) -> Path:
        return self.root / "registry.yaml"

    @property
    def state(self) -> Path:
        return self.state_dir or self.root / STATE_DIR

    def remote(self) -> tuple[str, Path, Mount] | None:
        """(what, path, mount) when the root or the state dir is on a network filesystem."""
        if self.allow_network_fs:
            return None
        for what, path in ((_("the archive root"), self.root), (_("the state dir"), self.state)):
            m = network_mount(path)
            if m is not None:
                return what, path, m
        return None

    def require_local(self, action: str) -> None:
        """Refuse `action` (a write) when the archive is seen through a network filesystem."""
        found = self.remote()
        if found is None:
            return
        what, path, m = found
        raise NetworkFilesystem(
            _(
                "refusing to {action}: {what} {path} is on a network filesystem ({fstype}, {device}); one host owns the archive, so run archivist there (e.g. over ssh) or use its web app; search and show still work from here. If {path} is in fact local to this host, set allow_network_fs: true in config.yaml"
            ).format(action=action, what=what, path=path, fstype=m.fstype, device=m.device)
        )

    @property
    def locks(self) -> Path:
        return self.state / "locks"

    def area_of(self, folder: Path) -> str | None:
        """Which area a record folder sits in ("customers", "archive/applicants", …)."""
        try:
            rel = folder.resolve().relative_to(self.root.resolve())
        except ValueError:
            return None
        parent = rel.parent.as_posix()
        return parent if parent in AREAS else None

    def ensure(self) -> None:
        self.require_local(_("create an archive"))
        for name in (*AREAS, "inbox"):
            make_dirs(self.root / name)
        make_dirs(self.state)


GROUP_UMASK = 0o007


def shared_by_group(root: Path) -> bool:
    """Whether the archive is shared by a group: its root (or, before `init`, the nearest folder
    that exists above it) has the setgid bit, so everything made inside belongs to that group."""
    import stat

    for p in (root, *root.parents):
        try:
            return bool(p.stat().st_mode & stat.S_ISGID)
        except FileNotFoundError:
            continue
        except OSError:
            return False
    return False


def use_group_access(root: Path) -> None:
    """In an archive shared by a group, make everything this process creates group-writable.

    Another account of the group must be able to lock, rewrite and rename what this one made
    (an owner-only `locks/` or index locked every other account out). New folders inherit the
    group and the setgid bit from the root; the umask gives the group write access. The systemd
    unit sets the same umask for the daemon (contrib/archivist-system.service).
    """
    if shared_by_group(root):
        os.umask(GROUP_UMASK)


def create_file(path: Path) -> None:
    """Create `path` empty if missing, 0600 (0660 when shared; see `modes`).

    For SQLite files: SQLite creates a database 0644 whatever the umask, and makes its -wal and
    -shm side files with the database's mode, so an index made by one account would be readable by
    every account of the host (or read-only for the rest of the group). An empty file is a valid
    new database.
    """
    create_empty(path)


def layout_of(cfg: Config) -> Layout:
    return Layout(cfg.root, cfg.state_dir, cfg.allow_network_fs)


def folder_name(cfg: Config, record: Record) -> str:
    """The folder name the templates give a record: by case code once converted."""
    if record.case:
        return cfg.naming.case.format(case=record.case, lead=record.lead, staff=record.staff, company=record.company)
    return cfg.naming.applicant.format(company=record.company, staff=record.staff, lead=record.lead)


def home_of(cfg: Config, record: Record) -> Path:
    """Where a record belongs given its code and stage."""
    archived = record.status == "archived"
    area = ("archive/" if archived else "") + ("customers" if record.case else "applicants")
    return cfg.root / area / folder_name(cfg, record)


# -- atomic writes -------------------------------------------------------------------------------


def temp_beside(path: Path) -> Path:
    """Where an atomic write of `path` puts its data first: a hidden name beside it, with the
    writer's pid (the daemon removes one whose process died: `temp_pattern`)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def temp_pattern(name: str) -> re.Pattern[str]:
    """`temp_beside`'s names for a file called `name`; group 1 is the writer's pid."""
    return re.compile(rf"^\.{re.escape(name)}\.(\d+)\.[0-9a-f]+\.tmp$")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _replacing(path: Path, check: Callable[[], None] | None = None, private: bool = True) -> Iterator[BinaryIO]:
    """The temp file beside `path` that `atomic_writer` and `atomic_write` write into: synced, then
    `check` (if any), then renamed over `path`; on any error the temp file is removed instead.
    `private`: the file gets archivist's mode (0600, 0660 when shared; `modes`) whatever the umask;
    otherwise the umask decides (an export the user asked for, wherever they put it)."""
    tmp = temp_beside(path)
    if private:
        fd = open_new(tmp, os.O_WRONLY)
    else:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_writer(path: Path, private: bool = True) -> Iterator[BinaryIO]:
    """`atomic_write` for output written as it is made (an export of 100,000 rows): the caller
    writes into a temp file beside `path`, which replaces `path` only when the block ends without
    an error; an interrupted export leaves the last good file where it was. `private=False` for a
    file that is the user's (an export wherever they asked): its mode is what their umask gives."""
    with _replacing(path, private=private) as f:
        yield f


def atomic_write(path: Path, data: bytes, check: Callable[[], None] | None = None) -> os.stat_result:
    """Replace `path` with `data` so that a crash leaves either the old or the new bytes.

    `check` runs after the new bytes are safe on disk and just before the rename; if it raises,
    nothing is replaced (how a log write refuses to overwrite a file changed since it was read).
    Returns the stat of the file written (its inode and mtime, taken before anyone can touch it).
    """
    with _replacing(path, check) as f:
        f.write(data)
        f.flush()
        st = os.fstat(f.fileno())  # written, so its size and mtime are final (syncing changes neither)
    return st


def file_ident(path: Path) -> tuple[int, int, int, int] | None:
    """(device, inode, mtime_ns, size) of a file, not following a symlink; None if it is gone."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


def write_record(record: Record, sync_dir: bool = True) -> None:
    """Write the log; refused with StaleLog if the file on disk is no longer the one the record
    was read from (a hand edit or an editor's save landed since), so that save is never lost.
    The caller holds the record lock and redoes its change on the fresh file (workflow).
    `sync_dir=False` (an existing log only): the caller fsyncs the folder itself, once, after
    moving files into it (the daemon filing inbox files, under an intent that covers both)."""
    assert record.folder is not None
    path = record.folder / LOG_NAME
    expected = record.ident

    def unchanged() -> None:
        if expected is not None and file_ident(path) != expected:
            raise StaleLog(_("{path} changed on disk while archivist was writing it").format(path=path))

    if expected is None:  # a new log: nothing read, nothing to lose
        st = atomic_write(path, record.dump(), unchanged)
    else:
        st = _write_unless_changed(path, record.dump(), expected, unchanged, sync_dir)
    record.mtime_ns = st.st_mtime_ns
    record.ident = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _write_unless_changed(
    path: Path, data: bytes, expected: tuple[int, int, int, int], check: Callable[[], None], sync_dir: bool = True
) -> os.stat_result:
    """Replace the log the caller read (`expected`: its dev, inode, mtime_ns, size) with `data`, or
    raise StaleLog and leave whatever is there now in place.

    `check` compares just before the rename, but a save can still land between that look and the
    rename. On Linux the rename is an atomic exchange (renameat2 RENAME_EXCHANGE): the file it
    displaced is compared with the one read, and if it is another (a save in the window) it is
    exchanged back, so that save is on disk again and the caller redoes its change on it (the same
    StaleLog as the check's). Where the filesystem refuses an exchange, a plain rename as before.
    """
    tmp = temp_beside(path)
    fd = open_new(tmp, os.O_WRONLY)  # 0600, 0660 when shared (modes)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            st = os.fstat(f.fileno())
        check()
        try:
            exchanged = _renameat2(tmp, path, _RENAME_EXCHANGE)
        except FileNotFoundError:  # the log went away after the check: nothing to replace
            raise StaleLog(_("{path} was removed while archivist was writing it").format(path=path)) from None
        if not exchanged:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if exchanged:
        displaced = file_ident(tmp)  # what was at `path` the instant ours went in
        if displaced != expected:
            _put_back(path, tmp, st, displaced)
            raise StaleLog(_("{path} was saved by someone else while archivist was writing it").format(path=path))
        os.unlink(tmp)
    if sync_dir:
        fsync_dir(path.parent)
    return st


def _put_back(path: Path, tmp: Path, ours: os.stat_result, displaced: tuple[int, int, int, int] | None) -> None:
    """A save landed between the check and the exchange: exchange again, so that save is the log
    once more, and remove our file. If yet another save replaced ours meanwhile (two saves within
    microseconds), the newest stays the log and the one between is kept beside it, never deleted."""
    if displaced is None or not _renameat2(tmp, path, _RENAME_EXCHANGE):
        return
    back = file_ident(tmp)
    if back is not None and back[:2] == (ours.st_dev, ours.st_ino):
        os.unlink(tmp)
        fsync_dir(path.parent)
        return
    _renameat2(tmp, path, _RENAME_EXCHANGE)  # the newest save back in place
    kept = free_name(path.parent, f".{path.name}.overwritten-{time.strftime('%Y%m%dT%H%M%S')}")
    os.rename(tmp, kept)
    fsync_dir(path.parent)
    import logging  # here, not at the top: logging (and traceback) cost every command 4 ms to import

    logging.getLogger("archivist.store").warning(
        "%s: two saves landed while archivist wrote it; the one in between is kept as %s", path, kept.name
    )


# -- locks ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def lock(layout: Layout, name: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """An inter-process lock under the state dir's locks/; recreated if deleted.

    A POSIX record lock (see `locking`), so it holds against every writer on the host, a second
    account's processes and threads of this one included.
    """
    layout.require_local(_("write to the archive"))  # every writer takes a lock first
    make_dirs(layout.locks)
    with posix_lock(layout.locks / f"{name}.lock", timeout=timeout, what=name):
        yield


def record_lock(layout: Layout, lead: str) -> contextlib.AbstractContextManager[None]:
    # Keyed by the applicant code, which never changes, so a lock survives the folder's moves.
    return lock(layout, f"record-{lead}")


def pid_alive(pid: object) -> bool:
    """Whether a process that wrote a pid into a marker or temp name can still write anything.

    Used to tell a live writer's leftovers (leave alone) from a dead one's (safe to clean up).
    """
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed child not yet reaped) writes nothing any more
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


# -- moves and folders -----------------------------------------------------------------------------

if TYPE_CHECKING:
    import ctypes

_libc: ctypes.CDLL | bool | None = None
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2


def _renameat2(src: Path, dst: Path, flags: int = _RENAME_NOREPLACE) -> bool:
    """renameat2(2) with RENAME_NOREPLACE (or RENAME_EXCHANGE) where the kernel, libc and the
    filesystem have it; False if unsupported."""
    import ctypes  # here, not at the top: ctypes costs every command a few ms

    global _libc
    if _libc is None:
        try:  # the symbols already loaded (libc's among them): ctypes.util.find_library("c") ran
            _libc = ctypes.CDLL(None, use_errno=True)  # `ldconfig -p` in a subprocess, ~10 ms per move
        except OSError:
            _libc = False
    if not isinstance(_libc, ctypes.CDLL) or not hasattr(_libc, "renameat2"):
        return False
    AT_FDCWD = -100
    res = _libc.renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), flags)
    if res == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.EEXIST:
        raise NameClash(
            _("cannot move {name} to {dst}: that name already exists; resolve it by hand").format(name=src.name, dst=dst)
        )
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dst if err == errno.ENOENT else src))


def move(src: Path, dst: Path, sync: bool = True) -> None:
    """Move a file or folder on the same filesystem, never onto an existing name.

    `sync=False` leaves fsyncing both folders to the caller: the daemon filing a batch of inbox
    files syncs each folder once instead of twice per file.
    """
    make_dirs(dst.parent)
    if not _renameat2(src, dst):
        if os.path.lexists(dst):
            raise NameClash(
                _("cannot move {name} to {dst}: that name already exists; resolve it by hand").format(name=src.name, dst=dst)
            )
        os.rename(src, dst)
    if not sync:
        return
    fsync_dir(dst.parent)
    if src.parent != dst.parent:
        fsync_dir(src.parent)


def free_name(folder: Path, name: str, planned: set[str] | frozenset[str] = frozenset()) -> Path:
    """`name` in `folder`, or `name (2)`, `name (3)`… if taken (on disk, or in `planned`: names a
    batch chose already): how filing avoids overwriting.

    Taken means taken for a Windows client too: the share is case-insensitive, so `1001 Scan.pdf`
    beside `1001 scan.pdf` would be one file to Explorer, and a save through it would overwrite the
    other.
    """
    try:
        taken = {n.casefold() for n in os.listdir(folder)}
    except FileNotFoundError:
        taken = set()
    taken |= {n.casefold() for n in planned}
    candidate = folder / name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext, dot = name, "", ""
    n = 2
    while candidate.name.casefold() in taken or os.path.lexists(candidate):
        candidate = folder / f"{stem} ({n}){dot}{ext}"
        n += 1
    return candidate


def check_inside(root: Path, path: Path) -> None:
    """Refuse to write at `path` unless it lies inside `root` through real folders only.

    A record folder, an area or the inbox that is a symbolic link would carry archivist's moves
    and rewrites to wherever it points (another disk, another archive, /etc): every folder on the
    way from the root down is checked with lstat. The root itself may be a link (resolved at load).
    """
    base = Path(os.path.abspath(root))
    target = Path(os.path.abspath(path))
    try:
        rel = target.relative_to(base)
    except ValueError:
        raise OutsideRoot(
            _("{path} is outside the archive ({root}); archivist writes only inside its root").format(path=path, root=root)
        ) from None
    cur = base
    for part in rel.parts:
        if part == "..":
            raise OutsideRoot(
                _("{path} leaves the archive ({root}); archivist writes only inside its root").format(path=path, root=root)
            )
        cur = cur / part
        if os.path.islink(cur):
            raise OutsideRoot(
                _(
                    "{cur} is a symbolic link; archivist never follows a link out of the archive — put the real folder there (doctor lists every link)"
                ).format(cur=cur)
            )


def make_folder(path: Path) -> None:
    """Exclusive mkdir: two processes can never both believe they created the same record.
    The folder is 0700 (2770 in a shared archive), see `modes`."""
    make_dirs(path.parent)
    group = shared(path.parent)
    try:
        os.mkdir(path, 0o770 if group else PRIVATE_DIR)
    except FileExistsError:
        raise NameClash(_("{path} already exists; resolve it by hand").format(path=path)) from None
    if group:
        os.chmod(path, SHARED_DIR)
    fsync_dir(path.parent)


# -- finding records ----------------------------------------------------------------------------


def iter_record_folders(layout: Layout, areas: tuple[str, ...] = AREAS) -> Iterator[tuple[str, Path]]:
    """(area, folder) for every folder in the record areas; hidden names are skipped."""
    bases = {area: str(layout.area(area)) for area in areas}
    for area, name in iter_record_names(layout, areas):
        yield area, Path(f"{bases[area]}/{name}")


def iter_record_names(layout: Layout, areas: tuple[str, ...] = AREAS) -> Iterator[tuple[str, str]]:
    """(area, folder name) for every record folder: the walk without building a Path per folder,
    for scans that mostly look at names (100,000 of them)."""
    for area in areas:
        try:
            entries = os.scandir(layout.area(area))
        except FileNotFoundError:
            continue
        with entries:
            for e in entries:
                if not e.name.startswith(".") and e.is_dir(follow_symlinks=False):
                    yield area, e.name


def locate(cfg: Config, code: str, scan: bool = True) -> Path:
    """The folder of the record a code names (case or applicant code, any digit script).

    Fast paths read only folder names; a converted applicant code (or a folder renamed by hand)
    needs a look inside the logs, done as a cheap byte search before any YAML is parsed, and
    skipped with `scan=False` by callers that will ask again.
    """
    code = normalize_code(code)
    if not re.fullmatch(r"\d{4}|\d{5}", code):
        raise RecordNotFound(_("{code} is not a code: an applicant code has 5 digits, a case code 4").format(code=repr(code)))
    layout = layout_of(cfg)
    if len(code) == 4:
        name = cfg.naming.case.format(case=code, lead="", staff="", company="")
        for area in CASE_AREAS:
            p = layout.area(area) / name
            if (p / LOG_NAME).exists() and not p.is_symlink():
                return p
    else:
        for area in ("applicants", "archive/applicants"):
            base = layout.area(area)
            if not base.is_dir():
                continue
            for e in os.scandir(base):
                parsed = cfg.naming.applicant.parse(e.name)
                if parsed and parsed.get("lead") == code and e.is_dir(follow_symlinks=False):
                    return Path(e.path)
    found = _scan_logs_for(layout, code) if scan else None
    if found:
        return found
    raise RecordNotFound(
        _("no record has the code {code}; search by company name{how}").format(
            code=code, how=how(_(" with `archivist search`"), "")
        )
    )


def code_line(code: str) -> re.Pattern[bytes]:
    """The line of a log that gives it `code` (`lead: '00417'`, `case: '2031'`): found by a byte
    search, before (and without) any YAML parse."""
    key = "case" if len(code) == 4 else "lead"
    return re.compile(rf"^{key}:\s*['\"]?{code}['\"]?\s*$".encode(), re.M)


def _scan_logs_for(layout: Layout, code: str) -> Path | None:
    needle = code_line(code)
    # a converted applicant code lives in a case log: the case areas hold a few thousand logs
    # where the applicant areas hold the other ~95%, so look there first
    order = (*CASE_AREAS, *(a for a in AREAS if a not in CASE_AREAS))
    for _area, folder in iter_record_folders(layout, order):
        raw = log_bytes(folder)
        if needle.search(raw):
            return folder
    return None


def load(cfg: Config, code: str) -> Record:
    return load_record(locate(cfg, code))


def relative_to_root(cfg: Config, path: str | os.PathLike[str] | None) -> str:
    """A path as messages and screens show it: relative to the archive root, as given when it lies
    outside, "" for none. The one home of this rule (the daemon's log, doctor, the TUI)."""
    if not path:
        return ""
    try:
        return str(Path(path).relative_to(cfg.root))
    except ValueError:
        return str(path)


def record_depth(parts: tuple[str, ...] | list[str]) -> int:
    """How many parts of a root-relative path name a record folder: 2 under applicants/ and
    customers/ (area/folder), 3 under archive/ (archive/area/folder); 0 outside the areas. The one
    home of this rule (the watcher, the index, doctor --fix)."""
    head = parts[0] if parts else ""
    return 2 if head in ("applicants", "customers") else 3 if head == "archive" else 0
