"""Allocation of applicant, case, contract and invoice numbers (SPEC §4).

`registry.yaml` remembers the last number issued so a deleted folder's code is never reissued.
What is on disk is checked too, every time, so a lost, emptied or stale registry (one restored
from an old backup) never causes reuse of a number on disk: applicant codes from the folder names
and the `lead:` lines of the case logs (a converted applicant's code lives only there), case codes
from the folder names, contract and invoice numbers from the case logs (only cases have them).
Both reads and the registry write happen under one inter-process lock.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import re
import stat
import struct
import sys
import time
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import Config
from .dates import year_of
from .errors import ArchivistError, CodeExhausted, DuplicateNumber
from .i18n import _, kind_label
from .locking import posix_lock
from .modes import make_dirs, open_new
from .naming import ANY_DIGIT, ascii_digits, digit_variants
from .record import LOG_NAME, Record, dump_yaml, log_bytes, parse_record
from .store import AREAS, CASE_AREAS, Layout, atomic_write, free_name, iter_record_names, layout_of, lock
from .taxid import normalize_tax_id


def _log() -> Any:
    """This module's logger (the daemon's log shows its warnings), imported when first needed:
    logging costs every command a few milliseconds of start-up."""
    import logging

    return logging.getLogger(__name__)


@dataclass
class Registry:
    applicant: int = 0
    case: dict[str, int] = field(default_factory=dict)
    contract: dict[str, int] = field(default_factory=dict)
    invoice: dict[str, int] = field(default_factory=dict)
    present: bool = True
    # the bytes of a registry.yaml that YAML could not read: kept aside before it is replaced
    unreadable: bytes | None = None

    def to_yaml(self) -> bytes:
        head = b"# archivist registry: the last numbers issued. Never lower them by hand: codes are never reissued.\n"
        return head + dump_yaml(
            {"applicant": self.applicant, "case": self.case, "contract": self.contract, "invoice": self.invoice}
        )


def read_registry(layout: Layout) -> Registry:
    """The registry as stored; `present=False` when there is nothing usable to read.

    A missing or empty file (a truncated copy, a failed sync) and a file YAML cannot read at all
    count as missing: every counter is then rebuilt from disk. A readable mapping with a wrong
    value (`applicant: abc`) is a hand edit whose other numbers are still worth more than a
    rebuild, so it is refused with the key named.
    """
    path = layout.registry
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Registry(present=False)
    import yaml  # here: the CLI's parser imports this module for every command (index.hook)

    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return Registry(present=False, unreadable=raw)
    if data is None:
        return Registry(present=False)
    if not isinstance(data, dict):
        return Registry(present=False, unreadable=raw)

    def bad(key: str, value: Any, what: str) -> ArchivistError:
        return ArchivistError(
            _(
                "{path}: key '{key}' must be {what}, got {value!r}; fix it by hand (the last number issued) or restore registry.yaml from a backup"
            ).format(path=path, key=key, what=what, value=value)
        )

    def number(key: str, value: Any) -> int:
        if value is None:
            return 0
        if isinstance(value, str) and ascii_digits(value.strip()).isdigit():
            return int(ascii_digits(value.strip()))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(key, value, _("a whole number"))
        return value

    def counters(key: str) -> dict[str, int]:
        v = data.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise bad(key, v, _("a mapping (year or service prefix: last number)"))
        return {str(k): number(f"{key}.{k}", n) for k, n in v.items()}

    return Registry(
        applicant=number("applicant", data.get("applicant")),
        case=counters("case"),
        contract=counters("contract"),
        invoice=counters("invoice"),
    )


def write_registry(layout: Layout, reg: Registry) -> None:
    # never creates the root: only `init` does (archive_id.require_archive), so a root that went
    # away fails here instead of starting a second archive on an empty mount point
    if reg.unreadable is not None:
        kept = _set_aside(layout.registry, reg.unreadable)
        _log().warning(
            "%s could not be read; it was kept as %s and the numbers were rebuilt from the records on disk",
            layout.registry,
            kept.name,
        )
        reg.unreadable = None
    atomic_write(layout.registry, reg.to_yaml())


def _set_aside(path: Path, data: bytes) -> Path:
    """Keep the bytes of an unreadable registry beside it (`registry.yaml.unreadable-<time>`)."""
    kept = free_name(path.parent, f"{path.name}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}")
    atomic_write(kept, data)
    return kept


# -- what is on disk -----------------------------------------------------------------------------

_LEAD_LINE = re.compile(rb"^lead:\s*['\"]?(\d{5})['\"]?\s*$", re.M)


# a 4- or 5-digit run in any digit script: what a case or applicant code looks like in a name
_CODE_RUN = re.compile(rf"{ANY_DIGIT}{{4,5}}")
_ASCII_RUN = re.compile(r"[0-9]{4,5}")  # the same runs in a text with no other digits: 5× faster
_OTHER_DIGIT = re.compile("[\u06f0-\u06f9\u0660-\u0669]")


def _code_runs(text: str) -> list[str]:
    return (_CODE_RUN if _OTHER_DIGIT.search(text) else _ASCII_RUN).findall(text)


def _names(
    cfg: Config, layout: Layout, above: int = 0, areas: tuple[str, ...] | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """Parsed record folder names that may hold a code higher than `above`.

    A name whose digit runs are all at or below `above` cannot raise the highest code, so it is
    skipped without the template parse: with a current registry nothing is parsed. The common
    case is decided on the bare listings (os.listdir: no DirEntry per name, no test whether each
    is a folder; a stray file can only make the answer "look closer"), one regex pass in C.
    """
    if above:
        tops = _AreaTops(layout)
        high = max((tops.top(area) for area in areas or AREAS), default=0)
        tops.save()
        if high <= above:
            return  # no digit run in any name is above: nothing to parse
    names = list(iter_record_names(layout, areas or AREAS))
    for area, name in names:
        if above and all(int(run) <= above for run in _CODE_RUN.findall(name)):  # int() reads ۱۲ and ١٢ too
            continue
        tmpl = cfg.naming.case if area.endswith("customers") else cfg.naming.applicant
        parsed = tmpl.parse(name)
        if parsed:
            yield area, parsed


class _AreaTops:
    """`<state>/area-codes.cache`: for each area folder, the highest code-like digit run in its
    entries' names, with the folder's stat (device, inode, mtime, ctime) when it was listed.

    A folder's mtime and ctime change whenever an entry is made, removed or renamed in it, so
    while they are those recorded the listing (100,000 names, ~0.15 s with the regex pass) would
    give the same answer and is skipped; a hand-made folder changes them and is seen. A listing is
    recorded only when the folder's timestamps were settled (2 s older than the stat taken before
    it): a later change in the same timestamp tick could not be told apart otherwise (git's
    "racily clean" rule, as for the case logs). Derived: a missing or damaged file is only a
    listing more. `refresh` (the background catch-up, after its walk) records the areas a command
    changed, so the next registration lists nothing."""

    MAGIC = b"archivist area codes 1\n"
    RACY_NS = 2_000_000_000

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.path = layout.state / "area-codes.cache"
        self.known: dict[str, list[int]] = {}  # area: [device, inode, mtime_ns, ctime_ns, top]
        self.changed = False
        with contextlib.suppress(OSError, ValueError, TypeError):
            data = self.path.read_bytes()
            body, _sep, crc = data[len(self.MAGIC) :].rpartition(b"\n")
            if data.startswith(self.MAGIC) and zlib.crc32(body) == int(crc):
                known = json.loads(body)
                if isinstance(known, dict):
                    self.known = {
                        str(k): v
                        for k, v in known.items()
                        if isinstance(v, list) and len(v) == 5 and all(type(x) is int for x in v)
                    }

    def top(self, area: str) -> int:
        """The highest digit run in the names in `area` (0: none, or no such folder)."""
        path = self.layout.area(area)
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        known = self.known.get(area)
        if known is not None and known[:4] == [st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]:
            return known[4]
        return self._list(area, path)

    def _list(self, area: str, path: Path) -> int:
        started = time.time_ns()
        try:
            st = os.stat(path)  # before the listing: a change after it shows as another stat
            names = os.listdir(path)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        top = max(map(int, _code_runs("\n".join(names))), default=0)
        if max(st.st_mtime_ns, st.st_ctime_ns) < started - self.RACY_NS:
            self.known[area] = [st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, top]
            self.changed = True
        elif self.known.pop(area, None) is not None:
            self.changed = True
        return top

    def refresh(self, wait: float = 3.0) -> None:
        """List the areas whose listing is not recorded (or no longer holds), first waiting (at
        most `wait` seconds) until each folder's timestamps have settled, then save."""
        for area in AREAS:
            path = self.layout.area(area)
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            known = self.known.get(area)
            if known is not None and known[:4] == [st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]:
                continue
            settled = max(st.st_mtime_ns, st.st_ctime_ns) + self.RACY_NS - time.time_ns()
            if 0 < settled <= wait * 1e9:
                time.sleep(settled / 1e9 + 0.05)
            self._list(area, path)
        self.save()

    def save(self) -> None:
        if not self.changed:
            return
        body = json.dumps(self.known, sort_keys=True).encode()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:  # derived data: temp + rename, no fsync (a damaged file fails its checksum)
            make_dirs(self.path.parent)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            with open(open_new(tmp, os.O_WRONLY), "wb") as f:
                f.write(self.MAGIC + body + b"\n" + str(zlib.crc32(body)).encode())
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.changed = False


def refresh_area_tops(cfg: Config) -> None:
    """Record the area folders' listings that no longer hold (the background catch-up calls it
    after its walk), so that the next allocation lists no folder while nothing changed."""
    _AreaTops(layout_of(cfg)).refresh()


def _case_folders(layout: Layout) -> Iterator[tuple[str, str]]:
    """(folder, area-relative name) of every case folder, from the bare listings of the case areas."""
    for area in CASE_AREAS:
        base = str(layout.area(area))
        try:
            entries = os.scandir(base)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            names = [e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
        for name in names:
            yield f"{base}/{name}", f"{area}/{name}"


def _case_logs(layout: Layout) -> Iterator[tuple[str, _Log]]:
    """(folder, log) of every case (`log.raw`: its bytes): a few thousand logs.

    What needs every case log's text (a typed number or tax ID searched for, a lost registry
    rebuilt) reads them here; `<state>/case-logs.cache` keeps their bytes with each log's inode,
    mtime, ctime and size, so only logs whose stat changed are read again (a stat each instead of
    an open and read: 3,700 cases cost ~0.2 s to read, a few ms to stat). ctime changes with every
    write and every `touch`, so a same-size edit cannot hide; a log written less than two seconds
    before the cache was saved is read again (a later same-size write in the same timestamp tick
    would look unchanged: git's "racily clean" entries). The cache is derived: a missing, foreign
    or damaged one is rebuilt, one this account cannot write is only not kept. The highest numbers
    need no text at all (`_CaseCache.tops`)."""
    cache = _CaseCache(layout)
    for folder, rel in _case_folders(layout):
        raw = cache.read(rel, folder)
        if raw:
            yield folder, _Log(raw)
    cache.save()


class _Log:
    """A case log's bytes, copied out of the cache file only when asked for."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes | memoryview) -> None:
        self._raw = raw

    @property
    def raw(self) -> bytes:
        if not isinstance(self._raw, bytes):
            self._raw = bytes(self._raw)
        return self._raw


_Key = tuple[int, int, int, int]  # a log's inode, mtime_ns, ctime_ns, size


class _CaseCache:
    """`<state>/case-logs.cache`: every case log's stat, what was derived from its text (memos:
    the highest serial of a kind and year it shows, the highest `lead:`) and its bytes.

    The file is a table (names, stats, and the memos as one column of numbers per kind, with its
    own checksum) followed by the logs' bytes (with a second one): the highest numbers (`tops`)
    read only the table, ~200 KB instead of every log's bytes (~9 MB at 3,700 cases, a checksum
    over them and a copy in memory); the bytes are read only when a memo must be derived again
    from a log that did not change, or when the file is rewritten."""

    MAGIC = b"archivist case-logs cache 3\n"
    HEAD = struct.Struct("<qIIII")  # when written (ns), rows, names' length, memo kinds' length, memo kinds
    ROW = struct.Struct("<qqqqI")  # inode, mtime_ns, ctime_ns, size, bytes kept
    RACY_NS = 2_000_000_000
    SAVE_AFTER = 64  # logs read or memos derived again before the whole file is rewritten

    def __init__(self, layout: Layout, whole: bool = True) -> None:
        self.layout = layout
        self.path = layout.state / "case-logs.cache"
        self.index: dict[str, int] = {}  # name: its row in the file's table
        self.keys: list[_Key] = []  # each row's stat when cached
        self.at: list[int] = [0]  # where each row's bytes start in the blob (one more: where they end)
        self.cols: dict[str, array[int]] = {}  # memo kind: each row's value (-1: none)
        self.blob: memoryview | None = None  # the logs' bytes as the file holds them (checked)
        self._rest: Any = None  # the open file, while only its table was read
        self.new: dict[str, tuple[_Key, bytes | memoryview | None]] = {}  # None: the blob's bytes
        self.derived: dict[str, dict[str, int]] = {}  # memos derived in this run
        self.reread: set[str] = set()  # logs whose bytes changed: the file's memos no longer hold
        self.changed = False
        self.dirty = 0  # what a run without this save would have to read or derive again
        self.settled_before = time.time_ns() - self.RACY_NS  # older timestamps can no longer tick
        self.trusted_before = 0  # set from the cache file: what was settled when it was written
        try:
            f: Any = open(self.path, "rb")  # noqa: SIM115 - kept open until its bytes are wanted (or close())
        except OSError:
            return
        try:
            self._load(f)
            if whole and self.index and self._read_blob(f) is None:
                self._forget()  # damaged: every log is read again
            elif not whole:
                self._rest, f = f, None
        except (OSError, ValueError, TypeError, IndexError, struct.error):
            self._forget()
        finally:
            if f is not None:
                f.close()

    def _forget(self) -> None:
        self.index, self.keys, self.at, self.cols, self.blob = {}, [], [0], {}, None
        self.close()

    def _load(self, f: Any) -> None:
        first = f.read(len(self.MAGIC) + self.HEAD.size)
        if len(first) < len(self.MAGIC) + self.HEAD.size or not first.startswith(self.MAGIC):
            return
        head = first[len(self.MAGIC) :]
        written, n, names_len, kinds_len, n_kinds = self.HEAD.unpack(head)
        rows_at = names_len
        kinds_at = rows_at + n * self.ROW.size
        cols_at = kinds_at + kinds_len
        size = cols_at + 8 * n * n_kinds
        table = f.read(size + 4)
        if len(table) != size + 4 or zlib.crc32(memoryview(table)[:size], zlib.crc32(head)) != int.from_bytes(
            table[size:], "little"
        ):
            return
        names = table[:names_len].decode("utf-8", "surrogateescape").split("\0") if n else []
        kinds = json.loads(table[kinds_at:cols_at])
        if len(names) != n or not isinstance(kinds, list) or len(kinds) != n_kinds:
            return
        rows = list(self.ROW.iter_unpack(memoryview(table)[rows_at:kinds_at]))
        for j, kind in enumerate(kinds):
            col = array("q")
            col.frombytes(table[cols_at + 8 * n * j : cols_at + 8 * n * (j + 1)])
            if sys.byteorder != "little":
                col.byteswap()
            self.cols[str(kind)] = col
        self.index = dict(zip(names, range(n), strict=True))
        self.keys = [row[:4] for row in rows]
        self.at = list(itertools.accumulate((row[4] for row in rows), initial=0))
        self.trusted_before = written - self.RACY_NS

    def _read_blob(self, f: Any) -> memoryview | None:
        """The logs' bytes after the table, from the file whose table was read (checked); None
        when unusable."""
        if self.blob is None:
            size = self.at[-1]
            data = f.read(size + 4)
            if len(data) == size + 4 and zlib.crc32(memoryview(data)[:size]) == int.from_bytes(data[size:], "little"):
                self.blob = memoryview(data)[:size]
        return self.blob

    def close(self) -> None:
        if self._rest is not None:
            self._rest.close()
            self._rest = None

    def _cached(self, rel: str) -> memoryview | None:
        """The bytes the cache file keeps for `rel` (its bytes part read on first use)."""
        i = self.index.get(rel)
        if i is None:
            return None
        if self.blob is None and self._rest is not None:
            rest, self._rest = self._rest, None
            try:
                self._read_blob(rest)
            except OSError:
                pass
            finally:
                rest.close()
        return None if self.blob is None else self.blob[self.at[i] : self.at[i + 1]]

    def memo(self, rel: str, kind: str, fresh: bool) -> int | None:
        """What was derived of `kind` from the log's bytes (while they are those cached), if known."""
        derived = self.derived.get(rel)
        if derived is not None and kind in derived:
            return derived[kind]
        if not fresh or rel in self.reread:
            return None
        col = self.cols.get(kind)
        value = col[self.index[rel]] if col is not None else -1
        return value if value >= 0 else None

    def _stat(self, rel: str, folder: str) -> tuple[os.stat_result | None, bool]:
        """The log's stat (None: missing or unreadable) and whether its cached entry still holds."""
        try:
            st = os.stat(f"{folder}/{LOG_NAME}", follow_symlinks=False)
        except OSError:
            self.changed = True
            return None, False
        i = self.index.get(rel)
        fresh = (
            i is not None
            and self.keys[i] == (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
            and max(st.st_mtime_ns, st.st_ctime_ns) < self.trusted_before
        )
        return st, fresh

    def _keep(self, rel: str, st: os.stat_result, raw: bytes | memoryview | None) -> None:
        if raw is None or stat.S_ISREG(st.st_mode) and len(raw) == st.st_size:
            self.new[rel] = ((st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size), raw)

    def _read_again(self, rel: str, folder: str, st: os.stat_result) -> bytes:
        """A new, changed or racily cached log read from disk; its memos dropped unless the bytes
        are those cached (then, settled now, it is trusted from the next run)."""
        raw = _read(folder)
        self.dirty += 1
        i = self.index.get(rel)
        # (compared only with bytes already read: the highest numbers do not read them for this)
        old = self._cached(rel) if self.blob is not None else None
        if (
            i is None
            or self.keys[i] != (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
            or old is None
            or old.tobytes() != raw
        ):
            self.changed = True
            self.reread.add(rel)
            self.derived.pop(rel, None)
        elif max(st.st_mtime_ns, st.st_ctime_ns) < self.settled_before:
            self.changed = True
        self._keep(rel, st, raw)
        return raw

    def read(self, rel: str, folder: str) -> bytes | memoryview:
        """The log's bytes: the cached ones while its stat holds, else read from disk."""
        st, fresh = self._stat(rel, folder)
        if st is None:
            return _read(folder)  # missing or unreadable: the same answer as before, uncached
        cached = self._cached(rel) if fresh else None
        if cached is None:
            return self._read_again(rel, folder, st)
        self._keep(rel, st, cached)
        return cached

    def tops(self, kind: str, derive: Callable[[bytes], int]) -> list[tuple[str, str, int]]:
        """(folder, name, `derive(bytes)`) for every case log that is not empty, from the log's memo
        while its stat holds: only the logs that changed are read and derived again, and the cache
        file's bytes part is not read at all."""
        out = []
        for folder, rel in _case_folders(self.layout):
            st, fresh = self._stat(rel, folder)
            if st is None:
                raw: bytes | memoryview = _read(folder)
                if raw:
                    out.append((folder, rel, derive(bytes(raw))))
                continue
            value = self.memo(rel, kind, fresh)
            if value is not None:
                self._keep(rel, st, None)
                if st.st_size:
                    out.append((folder, rel, value))
                continue
            cached = self._cached(rel) if fresh else None
            if cached is not None:
                raw = cached
                self._keep(rel, st, None)
            else:
                raw = self._read_again(rel, folder, st)
            if not raw:
                continue
            value = derive(bytes(raw))
            self.derived.setdefault(rel, {})[kind] = value
            self.changed = True
            self.dirty += 1
            out.append((folder, rel, value))
        return out

    def bytes_of(self, rel: str, folder: str) -> bytes:
        """A log's bytes after `tops`: those just read, else the cached ones if the cache file's
        bytes were read anyway, else the log itself (one file, rather than every log's copy)."""
        kept = self.new.get(rel)
        if kept is not None and kept[1] is not None:
            return bytes(kept[1])
        cached = self._cached(rel) if kept is not None and self.blob is not None else None
        return bytes(cached) if cached is not None else _read(folder)

    def save(self) -> None:
        try:
            self._save()
        finally:
            self.close()

    def _save(self) -> None:
        if not self.changed and len(self.new) == len(self.index):
            return
        if self.index and self.dirty < min(self.SAVE_AFTER, len(self.new) // 4 + 1):
            # a few logs changed since the file was written (each contract or invoice changes one):
            # reading those few again next time costs less than rewriting every case log's bytes
            # (~9 MB at 3,700 cases, a tenth of a second per action); kept the old file stays
            # correct, as a changed log's stat no longer matches its row
            return
        rows: list[tuple[str, _Key, bytes | memoryview]] = []
        for name, (key, raw) in self.new.items():
            if raw is None:
                raw = self._cached(name)  # kept by the old file (lost with a damaged one: read again next time)
                if raw is None:
                    continue
            rows.append((name, key, raw))
        kinds = sorted({kind for memos in self.derived.values() for kind in memos} | set(self.cols))
        cols = {kind: array("q", [-1]) * len(rows) for kind in kinds}
        derive = {kind: _deriver(kind) for kind in kinds}
        for j, (name, _key, raw) in enumerate(rows):
            i = None if name in self.reread else self.index.get(name)
            derived = self.derived.get(name, {})
            for kind, col in cols.items():
                if kind in derived:
                    col[j] = derived[kind]
                elif i is not None and kind in self.cols and self.cols[kind][i] >= 0:
                    col[j] = self.cols[kind][i]
                elif (fn := derive[kind]) is not None:  # every row saved with every memo: a later
                    col[j] = fn(bytes(raw))  # scan of another kind then reads no log's bytes
        names = "\0".join(name for name, _key, _raw in rows).encode("utf-8", "surrogateescape")
        table = bytearray(names)
        for _name, (ino, mtime, ctime, size), raw in rows:
            table += self.ROW.pack(ino, mtime, ctime, size, len(raw))
        kinds_json = json.dumps(kinds).encode()
        table += kinds_json
        for col in cols.values():
            if sys.byteorder != "little":
                col.byteswap()
            table += col.tobytes()
        head = self.HEAD.pack(time.time_ns(), len(rows), len(names), len(kinds_json), len(kinds))
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:  # derived data: temp + rename, no fsync (a damaged file fails its checksum)
            make_dirs(self.path.parent)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()  # a leftover of this pid: the new file gets the mode below
            # 0600 (0660 when shared, see modes): it holds a copy of every case log
            with open(open_new(tmp, os.O_WRONLY), "wb") as f:  # piece by piece: never a second copy of every log in memory
                f.write(self.MAGIC + head)
                f.write(table)
                f.write(zlib.crc32(table, zlib.crc32(head)).to_bytes(4, "little"))
                crc = 0
                for _name, _key, raw in rows:
                    crc = zlib.crc32(raw, crc)
                    f.write(raw)
                f.write(crc.to_bytes(4, "little"))
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _parse(folder: Path | str, raw: bytes) -> Record | None:
    folder = Path(folder)
    try:
        return parse_record(raw, folder / LOG_NAME, folder)
    except ArchivistError:
        return None


def _no_live_index(cfg: Config) -> int | None:
    return None


_live_high: Callable[[Config], int | None] = _no_live_index


def use_live_high(fn: Callable[[Config], int | None]) -> None:
    """Where the highest applicant code comes from when an index is kept live by a running daemon
    (set by `index.hook.install`; allocation sits below the index and cannot ask it itself)."""
    global _live_high
    _live_high = fn


def disk_high_applicant(cfg: Config, layout: Layout, above: int = 0) -> int:
    """Highest applicant code on disk (at least `above`): from folder names and from the `lead:`
    lines of case logs (a converted applicant's code lives only there).

    With a daemon running, its live index knows every folder name and every case log's `lead:`,
    so one indexed query answers (a walk of 100,000 names and 3,700 case logs costs register
    ~0.2 s); without one, the folders themselves are read, as a hand-made folder may not be
    indexed yet."""
    known = _live_high(cfg)
    if known is not None:
        return max(above, known)
    high = above
    for _area, parsed in _names(cfg, layout, above):
        if "lead" in parsed:
            high = max(high, int(ascii_digits(parsed["lead"])))
    cache = _CaseCache(layout, whole=False)
    try:
        tops = cache.tops("lead", _top_lead)
    except BaseException:
        cache.close()
        raise
    cache.save()
    return max([high, *(top for _folder, _rel, top in tops)])


def _top_lead(raw: bytes) -> int:
    """The highest `lead:` a case log's text shows."""
    return max((int(m.group(1)) for m in _LEAD_LINE.finditer(raw)), default=0)


def disk_high_case(cfg: Config, layout: Layout, prefix: str, above: int = 0) -> int:
    """Highest case code of a service type on disk (at least `above`); only case folders carry one."""
    high = above
    for _area, parsed in _names(cfg, layout, above, CASE_AREAS):
        code = ascii_digits(parsed.get("case") or "")
        if code and code.startswith(prefix):
            high = max(high, int(code))
    return high


def _read(folder: Any) -> bytes:
    return log_bytes(folder)


def record_numbers(record: Record) -> Iterator[tuple[str, str]]:
    """(kind, number) for a record's contract, invoice numbers and tax IDs, in the form compared:
    digits in ASCII, tax IDs as stored (`normalize_tax_id`)."""
    if record.contract:
        yield "contract", ascii_digits(record.contract).strip()
    for inv in record.invoices:
        yield "invoice", ascii_digits(str(inv["number"])).strip()
        if inv.get("tax_id"):
            yield "tax-id", normalize_tax_id(str(inv["tax_id"]))


def numbers_of(record: Record, kind: str) -> list[str]:
    """The record's numbers of one kind (`contract`, `invoice`, `tax-id`)."""
    return [n for k, n in record_numbers(record) if k == kind]


_CONTRACT_SET = re.compile(rb"^contract:[ \t]*(?!null\b|~|#|$)\S", re.M)


def numbers_on_disk(layout: Layout) -> tuple[set[str], set[str]]:
    """(contract numbers, invoice numbers) in every case log (only cases have them)."""
    contracts: set[str] = set()
    invoices: set[str] = set()
    for folder, log in _case_logs(layout):
        raw = log.raw
        if b"number" not in raw and not _CONTRACT_SET.search(raw):
            continue
        rec = _parse(folder, raw)
        if rec:
            contracts.update(numbers_of(rec, "contract"))
            invoices.update(numbers_of(rec, "invoice"))
    return contracts, invoices


@functools.lru_cache(maxsize=16)
def _serial_top(fmt: str, year: str | None) -> Callable[[bytes], int]:
    """The highest serial of a number in format `fmt` (of `year`) a log's text shows: what decides
    whether the log is worth parsing (kept as its memo until its bytes change)."""
    loose = number_pattern(fmt, anchored=False)
    # the common case, in bytes and with the year written in: archivist writes ASCII digits
    fast = loose.pattern.replace(r"\d", "[0-9]").replace(r"\w", "[0-9A-Za-z_]")
    if year:
        fast = fast.replace("(?P<year>[0-9]{4})", year)
    fast_re = re.compile(fast.encode())
    year_bytes = year.encode() if year else b""

    def of_year(m: re.Match[str]) -> bool:
        y = m.groupdict().get("year")
        return year is None or y is None or ascii_digits(y) == year

    def text_top(raw: bytes) -> int:
        if _OTHER_DIGITS.search(raw):  # a hand edit with Persian digits: read it as text
            return max(
                (int(ascii_digits(m.group("seq"))) for m in loose.finditer(raw.decode("utf-8", "replace")) if of_year(m)),
                default=0,
            )
        if year_bytes not in raw:
            return 0
        return max(map(int, fast_re.findall(raw)), default=0)

    return text_top


def _deriver(kind: str) -> Callable[[bytes], int] | None:
    """How a memo kind of the case-log cache is derived from a log's bytes ("lead", or "serial
    <kind> <format> <year>" as disk_high_serial names it); None for a kind not known here."""
    if kind == "lead":
        return _top_lead
    head, _sp, rest = kind.partition(" ")
    fmt, _sp, year = rest.partition(" ")[2].rpartition(" ")
    if head != "serial" or not fmt or not (year == "None" or year.isdigit()):
        return None
    return _serial_top(fmt, None if year == "None" else year)


def disk_high_serial(cfg: Config, layout: Layout, kind: str, year: str | None, above: int) -> int:
    """The highest serial of a `kind` number of `year` in the case logs, if above `above`; else `above`.

    A text search picks the few logs worth parsing (those with something that looks like such a
    number with a higher serial); the parsed log then decides, so a date or a tax ID that merely
    looks like a number does not count. With the registry up to date no log is parsed at all.
    """
    fmt = getattr(cfg.numbers, kind)
    exact = number_pattern(fmt)

    def wanted(m: re.Match[str], floor: int) -> bool:
        y = m.groupdict().get("year")
        return (year is None or y is None or ascii_digits(y) == year) and int(ascii_digits(m.group("seq"))) > floor

    memo_key = f"serial {kind} {fmt} {year}"  # untranslated: a cache key, not a message
    high = above
    cache = _CaseCache(layout, whole=False)
    try:
        for folder, rel, top in cache.tops(memo_key, _serial_top(fmt, year)):
            if top <= high:
                continue
            rec = _parse(folder, cache.bytes_of(rel, folder))
            for number in numbers_of(rec, kind) if rec else ():
                m = exact.match(number)
                if m and wanted(m, high):
                    high = int(m.group("seq"))
    except BaseException:
        cache.close()
        raise
    cache.save()
    return high


_OTHER_DIGITS = re.compile(rb"\xdb[\xb0-\xb9]|\xd9[\xa0-\xa9]")  # Persian or Arabic-Indic digits in UTF-8


def number_in_case_logs(layout: Layout, kind: str, number: str) -> Record | None:
    """The case whose log holds `number` (in its stored form) as its contract, one of its invoice
    numbers or one of its tax IDs; a byte search before any YAML is parsed."""
    needles = digit_variants(number)
    for folder, log in _case_logs(layout):
        raw = log.raw
        hay = raw.upper() if kind == "tax-id" else raw  # tax IDs may be typed in lower case
        if any(n in hay for n in needles):
            rec = _parse(folder, raw)
            if rec and number in numbers_of(rec, kind):
                return rec
    return None


def _recover_numbers(cfg: Config, layout: Layout, reg: Registry) -> None:
    """With the registry lost, rebuild every counter from what is on disk."""
    reg.applicant = max(reg.applicant, disk_high_applicant(cfg, layout))
    for prefix in cfg.services:
        high = disk_high_case(cfg, layout, prefix)
        if high:
            reg.case[prefix] = max(reg.case.get(prefix, 0), high)
    contracts, invoices = numbers_on_disk(layout)
    for kind, found in (("contract", contracts), ("invoice", invoices)):
        pat = number_pattern(getattr(cfg.numbers, kind))
        counters = getattr(reg, kind)
        for number in found:
            m = pat.match(number)
            if m and m.groupdict().get("year"):
                year = m.group("year")
                counters[year] = max(counters.get(year, 0), int(m.group("seq")))


# -- allocation ------------------------------------------------------------------------------------


@contextlib.contextmanager
def registry_locked(layout: Layout) -> Iterator[None]:
    """Exclusive use of the registry: archivist's own lock, then a record lock on registry.yaml.

    The second lock is the one a Samba (or NFS) client's lock on registry.yaml turns into on the
    host, so a number is never issued while someone holds the file open for writing elsewhere.
    """
    layout.require_local(_("allocate numbers"))
    with lock(layout, "registry"), contextlib.ExitStack() as held:
        with contextlib.suppress(FileNotFoundError):  # a new archive has no registry.yaml yet
            # shared is enough to wait for a client's write lock, and needs only read access
            held.enter_context(posix_lock(layout.registry, exclusive=False, what="registry.yaml", create=False))
        yield


def _open_registry(cfg: Config, layout: Layout) -> Registry:
    """The registry under its lock; rebuilt from disk first when it was missing or unreadable."""
    reg = read_registry(layout)
    if not reg.present:
        _recover_numbers(cfg, layout, reg)
        if reg.applicant:  # records exist, so this is not a new archive: the registry was lost
            _log().warning(
                "%s was missing, empty or unreadable; its counters were rebuilt from the folders. "
                "Codes of folders deleted since can no longer be known: if a backup holds "
                "registry.yaml, compare it (`archivist backup list`)",
                layout.registry,
            )
    return reg


def allocate_applicant_code(cfg: Config) -> str:
    layout = layout_of(cfg)
    with registry_locked(layout):
        reg = _open_registry(cfg, layout)
        high = disk_high_applicant(cfg, layout, above=reg.applicant)
        n = high + 1
        if n > 99999:
            raise CodeExhausted(_("all 5-digit applicant codes are used (99999 reached); the procedure needs a new code scheme"))
        reg.applicant = n
        write_registry(layout, reg)
    return f"{n:05d}"


def case_range(prefix: str) -> tuple[int, int]:
    """First and last case code of a service type: prefix "1" → 1001..1999."""
    width = 4 - len(prefix)
    base = int(prefix) * 10**width
    return base + 1, base + 10**width - 1


def allocate_case_code(cfg: Config, prefix: str) -> str:
    layout = layout_of(cfg)
    first, last = case_range(prefix)
    with registry_locked(layout):
        reg = _open_registry(cfg, layout)
        high = max(disk_high_case(cfg, layout, prefix, above=reg.case.get(prefix, 0)), first - 1)
        n = high + 1
        if n > last:
            raise CodeExhausted(
                _(
                    "all case codes for service {prefix} ({service}) are used ({first}..{last}); add a new service prefix in config.yaml"
                ).format(prefix=prefix, service=cfg.services[prefix], first=first, last=last)
            )
        reg.case[prefix] = n
        write_registry(layout, reg)
    return f"{n:04d}"


def number_pattern(fmt: str, anchored: bool = True) -> re.Pattern[str]:
    """A regex that reads year and serial back out of a configured number format.

    Unanchored, it finds such numbers inside a log's text (not glued to other letters or digits).
    """
    out, pos = [], 0
    for m in re.finditer(r"\{(year|seq)(?::0?(\d+)d)?\}", fmt):
        out.append(re.escape(fmt[pos : m.start()]))
        if m.group(1) == "year":
            out.append(r"(?P<year>\d{4})")
        else:
            out.append(r"(?P<seq>\d{%s,})" % (m.group(2) or "1"))
        pos = m.end()
    out.append(re.escape(fmt[pos:]))
    body = "".join(out)
    return re.compile(f"^{body}$" if anchored else rf"(?<!\w){body}(?!\w)")


def allocate_number(cfg: Config, kind: str, at: datetime, manual: str | None = None) -> str:
    """Next contract or invoice number, or register a hand-typed one after checking it is unused.

    A serial number is also checked against the case logs, so a stale registry (restored from an
    old backup, or reset by hand) never reissues a number already written in a log.
    """
    assert kind in ("contract", "invoice")
    layout = layout_of(cfg)
    fmt = getattr(cfg.numbers, kind)
    with registry_locked(layout):
        reg = _open_registry(cfg, layout)
        counters = getattr(reg, kind)
        if manual is not None:
            number = ascii_digits(manual).strip()
            if not number:
                raise ArchivistError(_("the {kind} number is empty").format(kind=kind_label(kind)))
            if number_in_case_logs(layout, kind, number) is not None:
                raise DuplicateNumber(
                    _("{kind} number {number} is already used; check it with `archivist trace {number}`").format(
                        kind=kind_label(kind), number=number
                    )
                )
            m = number_pattern(fmt).match(number)
            if m and m.groupdict().get("year"):
                year = m.group("year")
                counters[year] = max(counters.get(year, 0), int(m.group("seq")))
        else:
            year = str(year_of(at, cfg.calendar))
            has_year = "year" in number_pattern(fmt).groupindex
            seq = disk_high_serial(cfg, layout, kind, year if has_year else None, counters.get(year, 0)) + 1
            number = fmt.format(year=int(year), seq=seq)
            counters[year] = seq
        write_registry(layout, reg)
    return number
