"""The Record: one folder and its F-31-08-01.yaml follow-up log (SPEC §3).

The log is kept as the mapping it was read as, in file order, so keys archivist does not know
(a hand-added field, a future schema's field) survive every rewrite. Typed properties read from
that mapping; validation says what is wrong and on which line, and never "repairs" a file.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import yaml

from . import fastlog, limits
from .dates import as_datetime
from .errors import InvalidLogError
from .i18n import N_, _
from .identity import on_behalf
from .naming import ascii_digits
from .stages import APPLICANT_STAGES as APPLICANT_STAGES
from .stages import CASE_STAGES as CASE_STAGES
from .stages import STAGES as STAGES

LOG_NAME = "F-31-08-01.yaml"

FORM = "F-31-08-01"
# The contact fields of a log, in the form's order: the one list every screen, command and the index use.
CONTACT_KEYS = ("person", "consultant", "mobile", "phone", "messenger", "email")
# The `by:` of events archivist writes by itself (the daemon's filing, hand-edit notes, doctor --fix).
TOOL_ACTOR = "archivist"
SCHEMA = 1
EVENT_KINDS = (
    "registered",
    "call",
    "note",
    "request",
    "quote",
    "followup",
    "converted",
    "declined",
    "contract",
    "invoice",
    "service",
    "qc",
    "cleared",
    "crm",
    "archived",
    "reopened",
    "renamed",
    "filed",
    "edited",
)

# yaml is imported by the first function that writes or slowly reads a log, not at the top: a
# command that reads no log (`due`, `search`, `--help`) never loads it (tests/test_cli_startup.py).


@functools.cache
def _log_dumper() -> Any:
    """safe_dump, but datetimes as ISO 8601 with a `T` (PyYAML's default writes a space), and
    never an alias: a value used twice (an invoice's date is also its event's `at`) is written
    out twice, because `&id001`/`*id001` puzzle the people who read and edit these files."""
    import yaml

    class LogDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def represent_datetime(dumper: yaml.SafeDumper, value: datetime) -> yaml.Node:
        return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())

    LogDumper.add_representer(datetime, represent_datetime)
    return LogDumper


def dump_yaml(data: Any) -> bytes:
    import yaml

    return str(yaml.dump(data, Dumper=_log_dumper(), allow_unicode=True, sort_keys=False, width=1000)).encode("utf-8")


@dataclass
class Record:
    """A follow-up log in memory plus the folder it was read from."""

    data: dict[str, Any]
    folder: Path | None = None
    mtime_ns: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # (device, inode, mtime_ns, size) of the file this was read from: a write checks it is still
    # the same file before replacing it, so a hand edit saved meanwhile is never overwritten
    ident: tuple[int, int, int, int] | None = None
    # what this process changed since reading, so a write that found the file changed on disk
    # can make the same change again on the fresh content (`replay_onto`)
    changes: list[tuple[str, Any, Any]] = field(default_factory=list, repr=False, compare=False)

    # -- fields ---------------------------------------------------------------------------------
    @property
    def lead(self) -> str:
        return cast(str, self.data["lead"])

    @property
    def case(self) -> str | None:
        return self.data.get("case")

    @property
    def code(self) -> str:
        """The code the record is known by now: the case code once converted."""
        return self.case or self.lead

    @property
    def staff(self) -> str:
        return cast(str, self.data["staff"])

    @property
    def company(self) -> str:
        return cast(str, self.data["company"])

    @property
    def status(self) -> str:
        return cast(str, self.data["status"])

    @property
    def is_case(self) -> bool:
        return bool(self.case)

    @property
    def contact(self) -> dict[str, str]:
        return dict(self.data.get("contact") or {})

    @property
    def services(self) -> list[str]:
        return list(self.data.get("services") or [])

    @property
    def requests(self) -> list[str]:
        return list(self.data.get("requests") or [])

    @property
    def contract(self) -> str | None:
        c = self.data.get("contract")
        return None if c is None else str(c)

    @property
    def invoices(self) -> list[dict[str, Any]]:
        return list(self.data.get("invoices") or [])

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.data.get("events") or [])

    @property
    def next_followup(self) -> datetime | None:
        return as_datetime(self.data.get("next_followup"))

    @property
    def related(self) -> list[str]:
        return [str(c) for c in self.data.get("related") or []]

    def opened(self) -> datetime | None:
        evs = self.events
        return as_datetime(evs[0]["at"]) if evs else None

    def last_event(self) -> dict[str, Any] | None:
        evs = self.events
        return evs[-1] if evs else None

    def stage_since(self) -> datetime | None:
        """When the record entered its current stage: the last event that moved it there."""
        for ev in reversed(self.events):
            if ev.get("to") == self.status:
                return as_datetime(ev["at"])
        return self.opened()

    # -- changes (pure: the caller writes) -------------------------------------------------------
    def add_event(self, at: datetime, by: str, kind: str, note: str = "", **extra: Any) -> dict[str, Any]:
        ev: dict[str, Any] = {"at": at, "by": by, "kind": kind, "note": note}
        ev.update({k: v for k, v in extra.items() if v is not None})
        acted_for = on_behalf()
        if acted_for and acted_for != by and "for" not in ev:  # an admin acting for someone: both recorded
            ev["for"] = acted_for
        self.data.setdefault("events", []).append(ev)
        self.changes.append(("event", None, ev))
        return ev

    def set(self, key: str, value: Any) -> None:
        old = self.data.get(key)
        self.changes.append((key, list(old) if isinstance(old, list) else old, value))
        self.data[key] = value

    def replay_onto(self, fresh: Record) -> Record:
        """`fresh` (the log as it is on disk now) with this record's changes made again: events
        appended, fields set; a list this record only extended (requests, invoices) is extended
        on the fresh side too, so an item someone added meanwhile stays."""
        for key, old, new in self.changes:
            if key == "event":
                fresh.add_event(
                    **{"at": new["at"], "by": new["by"], "kind": new["kind"], "note": new.get("note", "")},
                    **{k: v for k, v in new.items() if k not in ("at", "by", "kind", "note")},
                )
            elif isinstance(old, list) and isinstance(new, list) and new[: len(old)] == old:
                fresh.set(key, list(fresh.data.get(key) or []) + new[len(old) :])
            else:
                fresh.set(key, new)
        fresh.folder = fresh.folder or self.folder
        return fresh

    def dump(self) -> bytes:
        return dump_yaml(self.data)

    def to_json(self) -> dict[str, Any]:
        """The record's fields as JSON-ready values (what `show --json` prints)."""
        out: dict[str, Any] = _jsonable(self.data)
        out["path"] = str(self.folder) if self.folder else None
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def new_log(
    lead: str, staff: str, company: str, contact: dict[str, str], services: list[str], requests: list[str]
) -> dict[str, Any]:
    """The mapping for a fresh F-31-08-01, keys in the form's own order."""
    return {
        "form": FORM,
        "schema": SCHEMA,
        "lead": lead,
        "case": None,
        "staff": staff,
        "company": company,
        "contact": {k: contact.get(k, "") for k in CONTACT_KEYS},
        "services": list(services),
        "requests": list(requests),
        "status": "new",
        "next_followup": None,
        "contract": None,
        "invoices": [],
        "events": [],
    }


# -- reading and validation -----------------------------------------------------------------------

_KINDS = (
    (stat.S_ISDIR, N_("a folder")),
    (stat.S_ISFIFO, N_("a named pipe (FIFO)")),
    (stat.S_ISCHR, N_("a character device")),
    (stat.S_ISBLK, N_("a block device")),
    (stat.S_ISSOCK, N_("a socket")),
)


def read_log(path: Path | str, limit: int | None = None) -> tuple[os.stat_result, bytes]:
    """(stat, bytes) of a log, refusing anything but a regular file of at most `limit` bytes.

    The checks happen on the open descriptor, before a byte is read: opened without following a
    symlink (a link to /dev/zero would never end), non-blocking (a FIFO with no writer would block
    every command that walks the archive), then fstat for the kind and size (a 4 GB sparse file
    would fill the memory). Every refusal is an InvalidLogError with the reason, like a YAML error.
    """
    limit = limits.max_log_bytes if limit is None else limit
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidLogError(path, _("the follow-up log is missing")) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InvalidLogError(path, _("the log is a symbolic link, not a file; put the real file here")) from None
        if e.errno == errno.ENOTDIR:
            raise InvalidLogError(path, _("the follow-up log is missing (the record folder is not a folder)")) from None
        raise InvalidLogError(path, _("the log cannot be opened: {error}").format(error=e.strerror or e)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((_(name) for test, name in _KINDS if test(st.st_mode)), _("not a regular file"))
            raise InvalidLogError(
                path, _("the log is {kind}, not a regular file; replace it with the real log").format(kind=kind)
            )
        if st.st_size > limit:
            raise InvalidLogError(path, _too_big(st.st_size, limit))
        parts: list[bytes] = []
        size = 0
        while True:  # read to the end (it may have grown since fstat), never past the limit
            chunk = os.read(fd, max(st.st_size + 1 - size, 1 << 16))
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                raise InvalidLogError(path, _too_big(size, limit))
        return st, b"".join(parts)
    except OSError as e:
        raise InvalidLogError(path, _("the log cannot be read: {error}").format(error=e.strerror or e)) from None
    finally:
        os.close(fd)


def log_bytes(folder: Path | str) -> bytes:
    """A log's bytes for a byte search (codes on disk, a number, a company), or b"" when it is
    missing or refused by `read_log` (a FIFO, a device, too big): the scan goes on without it
    and `doctor` reports it."""
    try:
        return read_log(Path(folder) / LOG_NAME)[1]
    except InvalidLogError:
        return b""


def _too_big(size: int, limit: int) -> str:
    return _(
        "the log is {size:,} bytes, more than the {limit:,} a follow-up log may have (limits.max_log_bytes in config.yaml); it was not read"
    ).format(size=size, limit=limit)


def load_record(folder: Path) -> Record:
    """Read and validate `<folder>/F-31-08-01.yaml`; InvalidLogError names file, line and reason."""
    path = folder / LOG_NAME
    st, raw = read_log(path)
    rec = parse_record(raw, path, folder, st.st_mtime_ns)
    rec.ident = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    return rec


@functools.cache
def _strict_loader() -> Any:
    """safe_load that refuses a mapping with the same key twice: YAML keeps only the last one, so
    after a botched merge (two `events:`) the first list would vanish at the next write."""
    import yaml

    class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, Any] = {}
                for key_node, _value in node.value:
                    if not isinstance(key_node, yaml.ScalarNode):
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        if key in seen:
                            raise yaml.constructor.ConstructorError(
                                None,
                                None,
                                _("the key {key!r} appears twice (YAML would keep only the last one)").format(key=key),
                                key_node.start_mark,
                            )
                        seen[key] = True
                    except TypeError:
                        continue
            return cast(dict[Any, Any], super().construct_mapping(node, deep=deep))

    return StrictLoader


def _check_no_alias(node: yaml.Node | None) -> None:
    """Refuse a document that uses a mapping or list twice (`*alias` of a collection): archivist
    never writes one, and a nest of them (an "alias bomb", a few hundred bytes) expands to
    gigabytes when built. An alias of a single value (a date, a name) cannot grow anything and is
    what `yaml.safe_dump` writes for a value used twice, so a script's edit stays readable."""
    import yaml

    seen: set[int] = set()
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if id(n) in seen:
            if isinstance(n, yaml.ScalarNode):
                continue
            raise yaml.composer.ComposerError(
                None,
                None,
                _("aliases (*name) of a list or mapping are not allowed in a follow-up log; write the value out again"),
                n.start_mark,
            )
        seen.add(id(n))
        if isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.append(k)
                stack.append(v)


def safe_load_log(text: str) -> Any:
    """yaml.safe_load with duplicate keys and aliases of collections refused (yaml.YAMLError)."""
    loader = _strict_loader()(text)
    try:
        node = loader.get_single_node()
        _check_no_alias(node)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def parse_record(raw: bytes, path: Path, folder: Path | None = None, mtime_ns: int = 0) -> Record:
    """A log's bytes as a valid Record, or InvalidLogError saying what is wrong and on which line.

    Logs in the shape dump_yaml writes go through `fastlog` (~0.1 ms instead of ~1–2 ms: 100,000 of
    them are a rebuild or a `doctor --full`); anything else, and any log the fast reader's result
    fails validation on, goes through yaml, which builds the same mapping and words the reason."""
    data = fastlog.load_bytes(raw)
    if data is not None and validate(data) is None:
        return Record(data=data, folder=folder, mtime_ns=mtime_ns)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line: int | None = raw[: e.start].count(b"\n") + 1
        raise InvalidLogError(path, _("not UTF-8 text"), line) from None
    import yaml

    try:
        data = safe_load_log(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InvalidLogError(
            path, _("not valid YAML: {reason}").format(reason=reason), mark.line + 1 if mark else None
        ) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as e:
        # yaml's constructors raise plain ValueError for an impossible date (2026-02-30) and a
        # deep nest hits the recursion limit: still one bad log, never a crash of the command
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        line, value = _value_error_at(text)
        shown = _("{value!r} is not a valid value").format(value=value) if value is not None else _("not a valid value")
        raise InvalidLogError(
            path,
            _("{shown} ({reason}); dates are written like 2026-11-24T10:00:00+03:30").format(shown=shown, reason=reason),
            line,
        ) from None
    try:
        problem = validate(data)
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        problem = [], _("not a valid value: {e}").format(e=e)
    if problem:
        keys, reason = problem
        raise InvalidLogError(path, reason, _line_of(text, keys))
    return Record(data=data, folder=folder, mtime_ns=mtime_ns)


def _value_error_at(text: str) -> tuple[int | None, str | None]:
    """(line, text) of the first scalar the safe constructor cannot build (an impossible date)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except Exception:  # noqa: BLE001 - only a hint for the message
        return None, None
    constructor = yaml.constructor.SafeConstructor()
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop(0)
        if isinstance(n, yaml.ScalarNode):
            try:
                constructor.construct_object(n)
            except Exception:  # noqa: BLE001
                return n.start_mark.line + 1, n.value
        elif isinstance(n, yaml.SequenceNode):
            stack[:0] = n.value
        elif isinstance(n, yaml.MappingNode):
            stack[:0] = [x for pair in n.value for x in pair]
    return None, None


_CODE = {"lead": re.compile(r"^\d{5}$"), "case": re.compile(r"^\d{4}$"), "staff": re.compile(r"^\d{2}$")}


def validate(data: Any) -> tuple[list[Any], str] | None:
    """The first problem in a log mapping as (key path, reason), or None. Normalizes digit scripts."""
    if not isinstance(data, dict):
        return [], _("the log must be a YAML mapping (key: value lines)")
    if data.get("form") != FORM:
        return ["form"], _("form must be {form}").format(form=FORM)
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        return ["schema"], _("schema must be a number")
    if schema > SCHEMA:
        return ["schema"], _("schema {schema} is newer than this archivist understands ({supported}); upgrade archivist").format(
            schema=schema, supported=SCHEMA
        )
    for key in ("lead", "staff", "case"):
        value = data.get(key)
        if key == "case" and value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return (
                [key],
                _('{key} must be quoted text like "{code}" (unquoted numbers lose their leading zeros)').format(
                    key=key, code=f"{value:0{5 if key == 'lead' else 2 if key == 'staff' else 4}d}"
                ),
            )
        if not isinstance(value, str) or not _CODE[key].match(ascii_digits(value)):
            n = {"lead": 5, "case": 4, "staff": 2}[key]
            return [key], _("{key} must be {n} digits in quotes").format(key=key, n=n) + (
                _(" (it is missing)") if value is None else _(", got {value!r}").format(value=value)
            )
        data[key] = ascii_digits(value)
    if not isinstance(data.get("company"), str) or not data["company"].strip():
        return ["company"], _("company must be non-empty text")
    contact = data.get("contact")
    if contact is not None:
        if not isinstance(contact, dict):
            return ["contact"], _("contact must be a mapping (person:, mobile:, …)")
        for k, v in contact.items():
            if v is not None and not isinstance(v, (str, int)):
                return ["contact", k], _("contact.{k} must be text").format(k=k)
    for key in ("services", "requests", "related"):
        v = data.get(key)
        if v is not None and (not isinstance(v, list) or not all(isinstance(x, (str, int)) for x in v)):
            return [key], _("{key} must be a list of text items").format(key=key)
    status = data.get("status")
    if status not in STAGES:
        return ["status"], _("status must be one of {items}, got {status!r}").format(items=", ".join(STAGES), status=status)
    allowed = CASE_STAGES if data.get("case") else APPLICANT_STAGES
    if status not in allowed:
        kind = _("a case") if data.get("case") else _("an applicant (no case code)")
        return ["status"], _("status {status!r} is not a stage of {kind}; use one of {items}").format(
            status=status, kind=kind, items=", ".join(allowed)
        )
    nf = data.get("next_followup")
    if nf is not None:
        try:
            as_datetime(nf)
        except (ValueError, TypeError):
            return ["next_followup"], _("next_followup must be a date like 2026-11-24T10:00:00+03:30, got {nf!r}").format(nf=nf)
    c = data.get("contract")
    if c is not None and not isinstance(c, (str, int)):
        return ["contract"], _("contract must be a number or text")
    invoices = data.get("invoices")
    if invoices is not None:
        if not isinstance(invoices, list):
            return ["invoices"], _("invoices must be a list")
        for i, inv in enumerate(invoices):
            if not isinstance(inv, dict) or inv.get("number") in (None, ""):
                return ["invoices", i], _("invoice #{number} must be a mapping with a number").format(number=i + 1)
    events = data.get("events")
    if not isinstance(events, list):
        return ["events"], _("events must be a list")
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            return ["events", i], _("event #{number} must be a mapping with at, by, kind").format(number=i + 1)
        for k in ("at", "by", "kind"):
            if ev.get(k) in (None, ""):
                return ["events", i], _("event #{number} has no {key}").format(number=i + 1, key=k)
        try:
            as_datetime(ev["at"])
        except (ValueError, TypeError):
            return ["events", i, "at"], _("event #{number}: at must be a date, got {at!r}").format(number=i + 1, at=ev["at"])
    return None


def _line_of(text: str, keys: list[Any]) -> int | None:
    """1-based line of a key path in YAML text, found through the node tree (safe: no objects built)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = 1 if node is None else node.start_mark.line + 1
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
