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
import json
import os
import re
import stat
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

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
        listed: list[str] = []
        for area in areas or AREAS:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                listed.append("\n".join(os.listdir(layout.area(area))))
        if max(map(int, _code_runs("\n".join(listed))), default=0) <= above:
            return  # no digit run in any name is above: nothing to parse
        del listed
    names = list(iter_record_names(layout, areas or AREAS))
    for area, name in names:
        if above and all(int(run) <= above for run in _CODE_RUN.findall(name)):  # int() reads ۱۲ and ١٢ too
            continue
        tmpl = cfg.naming.case if area.endswith("customers") else cfg.naming.applicant
        parsed = tmpl.parse(name)
        if parsed:
            yield area, parsed


def _case_logs(layout: Layout) -> Iterator[tuple[str, _Log]]:
    """(folder, log) of every case (`log.raw`: its bytes; `log.memo`): a few thousand logs.

    Every allocation and tax-ID check reads them all; `<state>/case-logs.cache` keeps their bytes
    with each log's inode, mtime, ctime and size, so only logs whose stat changed are read again
    (a stat each instead of an open and read: 3,700 cases cost ~0.2 s to read, a few ms to stat).
    ctime changes with every write and every `touch`, so a same-size edit cannot hide; a log
    written less than two seconds before the cache was saved is read again (a later same-size
    write in the same timestamp tick would look unchanged: git's "racily clean" entries). The
    cache is derived: a missing, foreign or damaged one is rebuilt, one this account cannot write
    is only not kept. `memo` keeps what a scan derived from those bytes (the highest serial of a
    kind and year the text shows, the highest `lead:`), saved with them and dropped when the log
    changes: the scan's regexes then run only over the logs that changed."""
    cache = _CaseCache(layout)
    for area in CASE_AREAS:
        base = str(layout.area(area))
        try:
            entries = os.scandir(base)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            names = [e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
        for name in names:
            folder = f"{base}/{name}"
            rel = f"{area}/{name}"
            raw = cache.read(rel, folder)
            if raw:
                yield folder, _Log(raw, cache.memo(rel))
    cache.save()


class _Log:
    """A case log's bytes, copied out of the cache file only when asked for, and its memo."""

    __slots__ = ("_raw", "memo")

    def __init__(self, raw: bytes | memoryview, memo: dict[str, int]) -> None:
        self._raw, self.memo = raw, memo

    @property
    def raw(self) -> bytes:
        if not isinstance(self._raw, bytes):
            self._raw = bytes(self._raw)
        return self._raw


class _Memo(dict[str, int]):
    """A log's derived values; setting one marks the cache for saving."""

    def __init__(self, owner: _CaseCache, values: dict[str, int]) -> None:
        super().__init__(values)
        self.owner = owner

    def __setitem__(self, key: str, value: int) -> None:
        super().__setitem__(key, value)
        self.owner.changed = True
        self.owner.dirty += 1


class _CaseCache:
    MAGIC = b"archivist case-logs cache 2\n"
    ENTRY = struct.Struct("<IqqqqI")  # name length, inode, mtime_ns, ctime_ns, size, bytes kept
    RACY_NS = 2_000_000_000
    SAVE_AFTER = 64  # logs read or memos derived again before the whole file is rewritten

    def __init__(self, layout: Layout) -> None:
        self.path = layout.state / "case-logs.cache"
        self.old: dict[str, tuple[tuple[int, int, int, int], memoryview]] = {}
        self.new: dict[str, tuple[tuple[int, int, int, int], bytes | memoryview]] = {}
        self.old_memos: dict[str, dict[str, int]] = {}
        self.memos: dict[str, _Memo] = {}
        self.changed = False
        self.dirty = 0  # what a run without this save would have to read or derive again
        self.settled_before = time.time_ns() - self.RACY_NS  # older timestamps can no longer tick
        self.trusted_before = 0  # set from the cache file: what was settled when it was written
        with contextlib.suppress(OSError, ValueError, TypeError, struct.error):
            self.old = self._load(self.path.read_bytes())

    def memo(self, rel: str) -> dict[str, int]:
        """What was derived from this log's bytes (kept only while they stay cached)."""
        memo = self.memos.get(rel)
        if memo is None:
            memo = self.memos[rel] = _Memo(self, self.old_memos.get(rel, {}) if rel in self.new else {})
        return memo

    def _load(self, data: bytes) -> dict[str, tuple[tuple[int, int, int, int], memoryview]]:
        if not data.startswith(self.MAGIC) or len(data) < len(self.MAGIC) + 16:
            return {}
        body = memoryview(data)[len(self.MAGIC) : -4]
        if zlib.crc32(body) != int.from_bytes(data[-4:], "little"):
            return {}
        written = int.from_bytes(body[:8], "little")
        body = body[8:]
        n_memos = int.from_bytes(body[-4:], "little")
        memos = json.loads(bytes(body[len(body) - 4 - n_memos : -4]))
        if not isinstance(memos, dict):
            return {}
        body = body[: len(body) - 4 - n_memos]
        out = {}
        pos, end, size = 0, len(body), self.ENTRY.size
        while pos < end:
            n, ino, mtime, ctime, length, kept = self.ENTRY.unpack_from(body, pos)
            pos += size
            name = bytes(body[pos : pos + n]).decode("utf-8", "surrogateescape")
            pos += n
            out[name] = ((ino, mtime, ctime, length), body[pos : pos + kept])  # no copy
            pos += kept
        self.old_memos = {k: v for k, v in memos.items() if isinstance(v, dict) and k in out}
        self.trusted_before = written - self.RACY_NS
        return out

    def read(self, rel: str, folder: str) -> bytes | memoryview:
        raw: bytes | memoryview
        try:
            st = os.stat(f"{folder}/{LOG_NAME}", follow_symlinks=False)
        except OSError:
            self.changed = True
            return _read(folder)  # missing or unreadable: the same answer as before, uncached
        key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
        hit = self.old.get(rel)
        stamp = max(st.st_mtime_ns, st.st_ctime_ns)
        if hit is not None and hit[0] == key and stamp < self.trusted_before:
            raw = hit[1]
        else:  # new, changed, or cached while a same-size write could still keep its timestamps
            raw = _read(folder)
            self.dirty += 1
            if hit is None or hit[0] != key or hit[1] != raw:
                self.changed = True
                self.old_memos.pop(rel, None)  # derived from other bytes
            elif stamp < self.settled_before:
                self.changed = True  # settled since: saved now, it is trusted from the next run
        if stat.S_ISREG(st.st_mode) and len(raw) == st.st_size:
            self.new[rel] = (key, raw)
        return raw

    def save(self) -> None:
        if not self.changed and len(self.new) == len(self.old):
            return
        if self.old and self.dirty < min(self.SAVE_AFTER, len(self.new) // 4 + 1):
            # a few logs changed since the file was written (each contract or invoice changes one):
            # reading those few again next time costs less than rewriting every case log's bytes
            # (~9 MB at 3,700 cases, a tenth of a second per action); kept the old file stays
            # correct, as a changed log's stat no longer matches its entry
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:  # derived data: temp + rename, no fsync (a damaged file fails its checksum)
            make_dirs(self.path.parent)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()  # a leftover of this pid: the new file gets the mode below
            # 0600 (0660 when shared, see modes): it holds a copy of every case log
            with open(open_new(tmp, os.O_WRONLY), "wb") as f:  # piece by piece: never a second copy of every log in memory
                crc = 0

                def put(piece: bytes | memoryview) -> None:
                    nonlocal crc
                    crc = zlib.crc32(piece, crc)
                    f.write(piece)

                f.write(self.MAGIC)
                put(time.time_ns().to_bytes(8, "little"))
                for name, ((ino, mtime, ctime, size), raw) in self.new.items():
                    encoded = name.encode("utf-8", "surrogateescape")
                    put(self.ENTRY.pack(len(encoded), ino, mtime, ctime, size, len(raw)) + encoded)
                    put(raw)
                memos = json.dumps({rel: dict(m) for rel, m in self.memos.items() if m and rel in self.new}).encode()
                put(memos + len(memos).to_bytes(4, "little"))
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
    for _folder, log in _case_logs(layout):
        top = log.memo.get("lead")
        if top is None:
            top = log.memo["lead"] = max((int(m.group(1)) for m in _LEAD_LINE.finditer(log.raw)), default=0)
        high = max(high, top)
    return high


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


def disk_high_serial(cfg: Config, layout: Layout, kind: str, year: str | None, above: int) -> int:
    """The highest serial of a `kind` number of `year` in the case logs, if above `above`; else `above`.

    A text search picks the few logs worth parsing (those with something that looks like such a
    number with a higher serial); the parsed log then decides, so a date or a tax ID that merely
    looks like a number does not count. With the registry up to date no log is parsed at all.
    """
    fmt = getattr(cfg.numbers, kind)
    exact, loose = number_pattern(fmt), number_pattern(fmt, anchored=False)
    # the common case, in bytes and with the year written in: archivist writes ASCII digits
    fast = loose.pattern.replace(r"\d", "[0-9]").replace(r"\w", "[0-9A-Za-z_]")
    if year:
        fast = fast.replace("(?P<year>[0-9]{4})", year)
    fast_re = re.compile(fast.encode())
    year_bytes = year.encode() if year else b""

    def wanted(m: re.Match[str], floor: int) -> bool:
        y = m.groupdict().get("year")
        return (year is None or y is None or ascii_digits(y) == year) and int(ascii_digits(m.group("seq"))) > floor

    def text_top(raw: bytes) -> int:
        """The highest serial of such a number (of `year`) the log's text shows: what decides
        whether it is worth parsing (kept in the log's memo until its bytes change)."""
        if _OTHER_DIGITS.search(raw):  # a hand edit with Persian digits: read it as text
            return max(
                (int(ascii_digits(m.group("seq"))) for m in loose.finditer(raw.decode("utf-8", "replace")) if wanted(m, -1)),
                default=0,
            )
        if year_bytes not in raw:
            return 0
        return max(map(int, fast_re.findall(raw)), default=0)

    memo_key = f"serial {kind} {fmt} {year}"  # untranslated: a cache key, not a message
    high = above
    for folder, log in _case_logs(layout):
        top = log.memo.get(memo_key)
        if top is None:
            top = log.memo[memo_key] = text_top(log.raw)
        if top <= high:
            continue
        rec = _parse(folder, log.raw)
        for number in numbers_of(rec, kind) if rec else ():
            m = exact.match(number)
            if m and wanted(m, high):
                high = int(m.group("seq"))
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
