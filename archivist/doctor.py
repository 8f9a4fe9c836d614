"""Naming-rule checks over the tree (SPEC §6): shared by `doctor`, the daemon and the index.

`check_folder` looks at one record folder (what the daemon does on every change); `check_tree`
adds what needs the whole tree (a code used twice, the inbox). doctor only checks: the safe fixes
are made by `workflow.apply_fixes` (renames whose target is free and that change form, never
meaning), because they write `renamed` events.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from . import allocation, store
from .config import Config
from .errors import InvalidLogError
from .forked import map_forked
from .i18n import _
from .naming import (
    DEFAULT_SHARE_PREFIX,
    WINDOWS_MAX_PATH,
    FolderTemplate,
    ascii_digits,
    fold_compact,
    name_problems,
    safe_component,
    too_long,
    windows_path_length,
)
from .record import LOG_NAME, Record, load_record, read_log
from .violations import Violation as Violation  # re-exported: doctor reports them

if TYPE_CHECKING:
    from concurrent.futures import Executor

LOG_GLOB_PREFIX = "f-31-08-01"


def _is_log_name(name: str) -> bool:
    low = name.lower()
    return low.startswith(LOG_GLOB_PREFIX) and low.endswith((".yaml", ".yml"))


def check_names(paths: Iterable[Path], code: str | None = None) -> Iterator[Violation]:
    """Rule checks on individual names (files and folders inside a record, inbox files)."""
    for p in paths:
        problems = name_problems(p.name)
        if not problems:
            continue
        fixed = safe_component(p.name)
        target = p.with_name(fixed)
        safe = all(pr.fixable for pr in problems) and fixed != p.name and not os.path.lexists(target)
        for pr in problems:
            yield Violation(pr.rule, str(p), f"{p.name!r} {pr.message}", safe, str(target) if safe else None, code)


def case_clashes(paths: Iterable[Path], code: str | None = None) -> Iterator[Violation]:
    """Names in one folder that differ only by case: one file to a Windows client of the share,
    which opens either and overwrites one with the other on save."""
    groups: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for p in paths:
        groups[(p.parent, p.name.casefold())].append(p)
    for same in groups.values():
        if len(same) > 1:
            names = " and ".join(repr(p.name) for p in sorted(same))
            for p in sorted(same):
                yield Violation(
                    "case-clash",
                    str(p),
                    _("{names} differ only by case: Windows sees one of them; rename one").format(names=names),
                    False,
                    None,
                    code,
                )


def may_be_too_long(rel_length: int) -> bool:
    """A cheap bound before windows_path_length: a path relative to the root this long may pass
    MAX_PATH once the share's prefix is in front (no prefix is 40 characters); most are far shorter."""
    return rel_length + 40 >= WINDOWS_MAX_PATH


def windows_paths(cfg: Config, paths: Iterable[Path], code: str | None = None) -> Iterator[Violation]:
    """Paths longer than a Windows client of the share can open (MAX_PATH, share prefix included),
    of those `may_be_too_long` picked (the caller asks it of the plain strings)."""
    prefix = cfg.naming.windows_share or DEFAULT_SHARE_PREFIX
    for p in paths:
        try:
            rel = p.relative_to(cfg.root).as_posix()
        except ValueError:
            continue
        n = windows_path_length(rel, prefix)
        if n > WINDOWS_MAX_PATH:
            yield Violation(
                "windows-path-too-long",
                str(p),
                _(
                    "is {n} characters as {prefix}\\…; Windows opens at most {windows_max_path}: shorten the name or its folder"
                ).format(n=n, prefix=prefix, windows_max_path=WINDOWS_MAX_PATH),
                False,
                None,
                code,
            )


def _walk_names(folder: str) -> list[tuple[str, str]]:
    """Every file and sub-folder inside a record folder as (folder, name) strings, deepest first
    (so renames stay valid): a record holds a few files, each checked by its name alone, and a
    Path for each of them cost `doctor --full` more than the checks."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        for name in filenames:
            if name.startswith(".") and name.endswith(".tmp"):
                continue  # an atomic write in progress
            out.append((dirpath, name))
        out.extend((dirpath, name) for name in dirnames)
    return out


def check_folder(cfg: Config, area: str, folder: Path, known: Record | None = None) -> tuple[Record | None, list[Violation]]:
    """Everything wrong with one record folder, plus its record when the log could be read: one
    function per rule, in the order they are reported. `known`: the log as the caller just wrote
    or read it, used instead of parsing the file again while the file is still that one."""
    rec, out = _log_rule(folder, known)
    tmpl = cfg.naming.case if area.endswith("customers") else cfg.naming.applicant
    parsed = tmpl.parse(folder.name)
    code = rec.code if rec else (parsed or {}).get("case") or (parsed or {}).get("lead")
    out.extend(_content_rules(cfg, folder, code))
    long = too_long(folder.name)
    if rec is None:  # without a log only the name's own shape can be judged
        if parsed is None:
            out.append(
                Violation(
                    "wrong-pattern",
                    str(folder),
                    _("{name!r} does not match {template!r}").format(name=folder.name, template=tmpl.template),
                )
            )
        if long:
            out.append(_too_long(folder, long, code))
        return rec, out
    expected = store.home_of(cfg, rec)
    mismatch = _code_mismatch_rule(folder, tmpl, parsed, rec, expected) if parsed is not None else None
    if mismatch is not None:
        out.append(mismatch)
        if long:
            out.append(_too_long(folder, long, rec.code))
        return rec, out
    out.extend(_name_rule(folder, parsed, rec, expected, long))
    out.extend(_misplaced_rule(cfg, folder, rec, expected))
    return rec, out


def _log_rule(folder: Path, known: Record | None = None) -> tuple[Record | None, list[Violation]]:
    """Exactly one readable F-31-08-01.yaml: two-logs, no-log, invalid-log."""
    out: list[Violation] = []
    # every entry with a log's name counts, whatever it is: a FIFO, a device link or a folder
    # named F-31-08-01.yaml is an invalid log (the reader says why), not a missing one
    logs = [
        e.name for e in os.scandir(folder) if _is_log_name(e.name) and (e.name == LOG_NAME or e.is_file(follow_symlinks=False))
    ]
    rec: Record | None = None
    if len(logs) > 1:
        out.append(
            Violation(
                "two-logs",
                str(folder),
                _("holds {count} logs ({items}); keep exactly one {log_name}").format(
                    count=len(logs), items=", ".join(sorted(logs)), log_name=LOG_NAME
                ),
            )
        )
    if LOG_NAME not in logs:
        out.append(
            Violation(
                "no-log",
                str(folder),
                _("has no {log_name}; every record folder needs its follow-up log").format(log_name=LOG_NAME),
            )
        )
    elif known is not None and known.ident is not None and store.file_ident(folder / LOG_NAME) == known.ident:
        rec = known
    else:
        try:
            rec = load_record(folder)
        except InvalidLogError as e:
            out.append(
                Violation("invalid-log", str(e.path), e.reason + (_(" (line {line})").format(line=e.line) if e.line else ""))
            )
    return rec, out


def _content_rules(cfg: Config, folder: Path, code: str | None) -> list[Violation]:
    """The names inside the folder: each name's rules, case-only twins, Windows path lengths.

    Each rule is first asked of the plain strings; Paths are made only for the names it flags
    (nearly none), and the same functions as before then word the violations."""
    top = str(folder)
    inside = _walk_names(top)
    out = list(check_names([Path(d, n) for d, n in inside if (d != top or n != LOG_NAME) and name_problems(n)], code))
    groups = Counter((d, n.casefold()) for d, n in inside)
    if len(groups) < len(inside):
        out.extend(case_clashes([Path(d, n) for d, n in inside if groups[(d, n.casefold())] > 1], code))
    skip = len(str(cfg.root).rstrip("/")) + 1  # the root's "/…/" before each relative path
    far = [Path(d, n) for d, n in inside if may_be_too_long(len(d) + 1 + len(n) - skip)]
    out.extend(windows_paths(cfg, far, code))
    return out


def _too_long(folder: Path, long: str, code: str | None) -> Violation:
    """A folder name too long for Windows: a person must choose the shorter name."""
    return Violation("too-long", str(folder), f"{folder.name!r} {long}", False, None, code)


def _code_mismatch_rule(
    folder: Path, tmpl: FolderTemplate, parsed: dict[str, str], rec: Record, expected: Path
) -> Violation | None:
    """The name says other codes (or another company) than the log: only a person can tell which is right."""
    mismatch = []
    for key in ("lead", "case", "staff"):
        if key in parsed and parsed[key] != (getattr(rec, key) or ""):
            mismatch.append(
                _("{key} {named} in the name but {logged} in the log").format(
                    key=key, named=parsed[key], logged=getattr(rec, key)
                )
            )
    if "company" in parsed:
        # the company as the template writes it (cut when the name would be too long) or whole
        shortened = (tmpl.parse(expected.name) or {}).get("company", "")
        accepted = {fold_compact(rec.company), fold_compact(safe_component(rec.company)), fold_compact(shortened)}
        if fold_compact(parsed["company"]) not in accepted:
            mismatch.append(
                _("company {company!r} in the name but {logged!r} in the log").format(
                    company=parsed["company"], logged=rec.company
                )
            )
    return Violation("code-mismatch", str(folder), "; ".join(mismatch), False, None, rec.code) if mismatch else None


def _name_rule(folder: Path, parsed: dict[str, str] | None, rec: Record, expected: Path, long: str | None) -> list[Violation]:
    """The folder's name is the one the log gives it (wrong-pattern, persian-digits, too-long)."""
    if expected.name == folder.name:
        # a template whose fixed parts alone are too long: only a person can choose
        return [_too_long(folder, long, rec.code)] if long else []
    rule = "wrong-pattern"
    if long:
        rule = "too-long"
    elif parsed is not None and ascii_digits(folder.name) != folder.name:
        rule = "persian-digits"
    # Renaming is safe when only the form differs: the name parses to the log's codes, or at
    # least carries the log's code among its digits (e.g. "Pars_07_00417").
    carries_code = parsed is not None or rec.code in ascii_digits(folder.name)
    safe = carries_code and not os.path.lexists(folder.with_name(expected.name))
    message = _("{name!r} should be named {expected!r}").format(name=folder.name, expected=expected.name)
    if long:
        message = _("{name!r} {long}; it should be named {expected!r}").format(
            name=folder.name, long=long, expected=expected.name
        )
    return [Violation(rule, str(folder), message, safe, str(folder.with_name(expected.name)) if safe else None, rec.code)]


def _misplaced_rule(cfg: Config, folder: Path, rec: Record, expected: Path) -> list[Violation]:
    """The folder sits in the area its stage belongs in."""
    if expected.name != folder.name or expected.parent == folder.parent or expected.parent.resolve() == folder.parent.resolve():
        return []
    safe = not os.path.lexists(expected)
    return [
        Violation(
            "misplaced",
            str(folder),
            _("stage {status} belongs in {relative_to}/").format(
                status=rec.status, relative_to=expected.parent.relative_to(cfg.root)
            ),
            safe,
            str(expected) if safe else None,
            rec.code,
        )
    ]


# (lead, case, code, [(kind, number), …]) of a folder whose log could be read
Summary = tuple["str | None", "str | None", "str | None", "list[tuple[str, str]]"]
PARALLEL_FROM = 2000  # folders to read before worker processes pay for themselves
RULES_VERSION = "1"  # bump when a rule changes: what doctor remembered as clean is re-read
BATCH = 500  # folders asked of the memory at a time
CHUNK = 250  # folders a worker process reads per task


def _summary(rec: Record | None) -> Summary | None:
    return None if rec is None else (rec.lead, rec.case, rec.code, list(allocation.record_numbers(rec)))


def _check_chunk(args: tuple[Config, list[tuple[int, str, str]]]) -> list[tuple[int, Summary | None, list[Violation]]]:
    cfg, items = args
    layout = store.layout_of(cfg)
    bases = {area: str(layout.area(area)) for area in store.AREAS}
    folders = [Path(f"{bases[area]}/{name}") for _i, area, name in items]
    out = []
    blocks = _blocks_read()
    prefetch = None
    try:
        for n, (i, area, _name) in enumerate(items):
            if prefetch is None and n % PREFETCH_CHECK == 1 and n + 1 < len(items) and _blocks_read() > blocks:
                prefetch = _prefetch(folders[n:])  # folders came from the disk: so will the rest
            rec, found = check_folder(cfg, area, folders[n])
            out.append((i, _summary(rec), found))
    finally:
        if prefetch is not None:
            prefetch.shutdown(wait=True, cancel_futures=True)
    return out


PREFETCH_THREADS = 4  # per process, only while the folders come from the disk
PREFETCH_CHECK = 16  # folders between two looks at whether the disk was read (the first after one)


def _blocks_read() -> int:
    """Blocks this process has read from the disk so far (0 where the system does not count)."""
    try:
        import resource
    except ImportError:
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_inblock


def _prefetch(folders: list[Path]) -> Executor:
    """Read the folders' listings and logs ahead of the checks, several at once, so that their
    waits for the disk overlap (a read releases the GIL): a cold `doctor --full` otherwise waits
    for every folder in turn, as a `cat` does. With the page cache warm it never starts."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(PREFETCH_THREADS)
    for folder in folders:
        pool.submit(_touch, folder)
    return pool


def _touch(folder: Path) -> None:
    with contextlib.suppress(InvalidLogError):
        read_log(folder / LOG_NAME)  # refuses a FIFO, a device, a link or a huge file unread, as the check will
    for _walked in os.walk(folder):
        pass


def _check_all(cfg: Config, items: list[tuple[int, str, str]]) -> Iterator[tuple[int, Summary | None, list[Violation]]]:
    """check_folder over many folders, in order, in worker processes (one per core) when there are
    many: the same `forked.map_forked` the index's rebuild reads with."""
    import threading

    workers = min(os.cpu_count() or 1, 4)
    if len(items) < PARALLEL_FROM or workers < 2 or threading.active_count() > 1:
        for start in range(0, len(items), CHUNK):  # a chunk at a time: results never pile up
            yield from _check_chunk((cfg, items[start : start + CHUNK]))
        return
    chunks = [(cfg, items[i : i + CHUNK]) for i in range(0, len(items), CHUNK)]
    for part in map_forked(_check_chunk, chunks, workers):
        yield from part


class FolderMemory(Protocol):
    """What doctor remembers of clean folders between runs (kept in the index: index.checked)."""

    def recall(self, rels: list[str], full: bool = False) -> list[Summary | None]: ...

    def checked(self, rel: str, clean: Summary | None) -> None: ...

    def finish(self) -> None: ...


def memory_rules(cfg: Config) -> str:
    """What the checks depend on: a memory made under other rules (or another root) is not used."""
    return repr((RULES_VERSION, str(cfg.root), cfg.naming, getattr(cfg, "limits", None)))


class _Codes:
    """The whole-tree rules' view of every folder: which folders use each code and each contract,
    invoice or tax number. Folders are numbered in the walk's order; only a code's first folder
    is kept for each code, so 100,000 folders cost a dict of codes, not a list per code."""

    def __init__(self) -> None:
        self.first: dict[str, int] = {}
        self.more: dict[str, list[int]] = {}  # codes used by more than one folder: every folder
        self.numbers: dict[tuple[str, str], list[tuple[int, str | None]]] = defaultdict(list)

    def add(self, i: int, summary: Summary) -> None:
        lead, case, code, nums = summary
        self._code(lead or "", i)
        if case:
            self._code(case, i)
        for kind, number in nums:
            self.numbers[(kind, number)].append((i, code))

    def _code(self, code: str, i: int) -> None:
        first = self.first.get(code)
        if first is None:
            self.first[code] = i
        else:
            self.more.setdefault(code, [first]).append(i)

    def violations(self, cfg: Config, path: Callable[[int], Path]) -> Iterator[Violation]:
        for code, folders in sorted(self.more.items()):
            places = [str(path(i)) for i in sorted(folders)]
            for p in places:
                yield Violation(
                    "duplicate-code",
                    p,
                    _("code {code} is used by {count} folders: {items}").format(
                        code=code, count=len(places), items=", ".join(places)
                    ),
                    False,
                    None,
                    code,
                )
        for (kind, number), used in sorted(self.numbers.items()):
            if len(used) < 2:
                continue
            recs = [(used_by, path(i)) for i, used_by in sorted(used, key=lambda u: u[0])]
            where = ", ".join(f"{used_by} ({store.relative_to_root(cfg, folder)})" for used_by, folder in recs)
            once = {str(folder): (used_by, folder) for used_by, folder in recs}  # twice in one log: once there
            for used_by, folder in once.values():
                yield Violation(
                    f"duplicate-{kind}",
                    str(folder / LOG_NAME),
                    _(
                        "{kind} {number} appears {count} times: {where}; it belongs to one record only, correct the wrong log by hand"
                    ).format(kind=kind.replace("-", " "), number=number, count=len(recs), where=where),
                    False,
                    None,
                    used_by,
                )


def check_tree(cfg: Config, progress: object = None, full: bool = False, memory: FolderMemory | None = None) -> list[Violation]:
    """Every violation under the root, including codes used twice and unfiled inbox names.

    A folder found clean by an earlier run whose stats the index shows unchanged is not read again
    (the index's fingerprints: see index.checked, which the caller opens and passes as `memory`);
    `full` reads every folder all the same. The folders read are spread over one worker process per
    core. Only names and codes are held for the whole tree, never a record: the memory is asked
    BATCH folders at a time and each folder read is reported and let go before the next.
    """
    layout = store.layout_of(cfg)
    out: list[Violation] = []
    codes = _Codes()
    rels = [f"{area}/{name}" for area, name in store.iter_record_names(layout)]  # one string a folder
    bases = {area: str(layout.area(area)) for area in store.AREAS}

    def path(i: int) -> Path:
        area, name = _area_name(rels[i])
        return Path(f"{bases[area]}/{name}")

    todo: list[int] = []
    for start in range(0, len(rels), BATCH):
        batch = rels[start : start + BATCH]
        recalled = memory.recall(batch, full) if memory is not None else [None] * len(batch)
        for i, clean in enumerate(recalled, start):
            if clean is not None:
                codes.add(i, clean)
            else:
                todo.append(i)
    for i, summary, found in _check_all(cfg, [(i, *_area_name(rels[i])) for i in todo]):
        out.extend(found)  # folders remembered clean have none: `out` stays in the walk's order
        if summary:
            codes.add(i, summary)
        if memory is not None:
            memory.checked(rels[i], summary if not found else None)
    del todo
    if memory is not None:
        memory.finish()
    out.extend(codes.violations(cfg, path))
    out.extend(symlinks(cfg))
    for area in store.AREAS:  # record folders that differ only by case (`Pars - 01 - …` and `PARS - 01 - …`)
        out.extend(_folder_clashes(rels, area, path))
    if layout.inbox.is_dir():
        entries = sorted(layout.inbox.iterdir())
        out.extend(check_names(entries))
        out.extend(case_clashes(entries))
    return out


def _area_name(rel: str) -> tuple[str, str]:
    area, _slash, name = rel.rpartition("/")  # a folder name holds no "/"; an area may
    return area, name


def _folder_clashes(rels: list[str], area: str, path: Callable[[int], Path]) -> Iterator[Violation]:
    """case_clashes over one area's record folders, given Paths only for the names that may
    clash (the same hash of their case-folded name: only ints are held for the whole area)."""
    folded = Counter(hash(rel.casefold()) for rel in rels if rel.rpartition("/")[0] == area)
    if len(folded) < sum(folded.values()):
        yield from case_clashes(
            path(i) for i, rel in enumerate(rels) if rel.rpartition("/")[0] == area and folded[hash(rel.casefold())] > 1
        )


def symlinks(cfg: Config) -> list[Violation]:
    """Areas, the inbox and record folders that are symbolic links: archivist neither follows
    nor writes through them (a link would carry moves and rewrites out of the root)."""
    layout = store.layout_of(cfg)
    out: list[Violation] = []

    def report(path: Path, what: str) -> None:
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        out.append(
            Violation(
                "symlink",
                str(path),
                _(
                    "{what} is a symbolic link to {target}; archivist does not follow links out of the archive — put the real folder here"
                ).format(what=what, target=target),
            )
        )

    for name in (*store.AREAS, "inbox"):
        path = layout.root / name
        if path.is_symlink():
            report(path, _("the inbox") if name == "inbox" else _("the area {name}/").format(name=name))
            continue
        if name == "inbox":
            continue
        try:
            with os.scandir(path) as it:
                for e in it:
                    if e.is_symlink() and not e.name.startswith("."):
                        report(Path(e.path), _("this record folder"))
        except (FileNotFoundError, NotADirectoryError):
            continue
    return out
