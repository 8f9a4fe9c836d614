"""The Record: one folder and its F-31-08-01.yaml follow-up log (SPEC §3).

The log is kept as the mapping it was read as, in file order, so keys archivist does not know
(a hand-added field, a future schema's field) survive every rewrite. Typed properties read from
that mapping; validation says what is wrong and on which line, and never "repairs" a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from .dates import as_datetime
from .errors import InvalidLogError
from .naming import ascii_digits
from .stages import APPLICANT_STAGES as APPLICANT_STAGES
from .stages import CASE_STAGES as CASE_STAGES
from .stages import STAGES as STAGES

LOG_NAME = "F-31-08-01.yaml"
FORM = "F-31-08-01"
SCHEMA = 1
EVENT_KINDS = (
    "registered", "call", "note", "request", "quote", "followup", "converted", "declined", "contract",
    "invoice", "service", "qc", "cleared", "crm", "archived", "reopened", "renamed", "filed", "edited",
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class LogDumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """safe_dump, but datetimes as ISO 8601 with a `T` (PyYAML's default writes a space), and
    never an alias: a value used twice (an invoice's date is also its event's `at`) is written
    out twice, because `&id001`/`*id001` puzzle the people who read and edit these files."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_datetime(dumper: yaml.SafeDumper, value: datetime) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())


LogDumper.add_representer(datetime, _represent_datetime)


def dump_yaml(data: Any) -> bytes:
    return yaml.dump(data, Dumper=LogDumper, allow_unicode=True, sort_keys=False, width=1000).encode("utf-8")


@dataclass
class Record:
    """A follow-up log in memory plus the folder it was read from."""

    data: dict[str, Any]
    folder: Path | None = None
    mtime_ns: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    # -- fields ---------------------------------------------------------------------------------
    @property
    def lead(self) -> str:
        return self.data["lead"]

    @property
    def case(self) -> str | None:
        return self.data.get("case")

    @property
    def code(self) -> str:
        """The code the record is known by now: the case code once converted."""
        return self.case or self.lead

    @property
    def staff(self) -> str:
        return self.data["staff"]

    @property
    def company(self) -> str:
        return self.data["company"]

    @property
    def status(self) -> str:
        return self.data["status"]

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
        self.data.setdefault("events", []).append(ev)
        return ev

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def dump(self) -> bytes:
        return dump_yaml(self.data)

    def to_json(self) -> dict[str, Any]:
        """The record's fields as JSON-ready values (what `show --json` prints)."""
        out = _jsonable(self.data)
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


def new_log(lead: str, staff: str, company: str, contact: dict[str, str], services: list[str],
            requests: list[str]) -> dict[str, Any]:
    """The mapping for a fresh F-31-08-01, keys in the form's own order."""
    return {
        "form": FORM,
        "schema": SCHEMA,
        "lead": lead,
        "case": None,
        "staff": staff,
        "company": company,
        "contact": {k: contact.get(k, "") for k in ("person", "consultant", "mobile", "phone", "messenger", "email")},
        "services": list(services),
        "requests": list(requests),
        "status": "new",
        "next_followup": None,
        "contract": None,
        "invoices": [],
        "events": [],
    }


# -- reading and validation -----------------------------------------------------------------------

def load_record(folder: Path) -> Record:
    """Read and validate `<folder>/F-31-08-01.yaml`; InvalidLogError names file, line and reason."""
    path = folder / LOG_NAME
    try:
        raw = path.read_bytes()
        st = path.stat()
    except FileNotFoundError:
        raise InvalidLogError(path, "the follow-up log is missing") from None
    return parse_record(raw, path, folder, st.st_mtime_ns)


def parse_record(raw: bytes, path: Path, folder: Path | None = None, mtime_ns: int = 0) -> Record:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InvalidLogError(path, "not UTF-8 text", line) from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InvalidLogError(path, f"not valid YAML: {reason}", mark.line + 1 if mark else None) from None
    problem = validate(data)
    if problem:
        keys, reason = problem
        raise InvalidLogError(path, reason, _line_of(text, keys))
    return Record(data=data, folder=folder, mtime_ns=mtime_ns)


_CODE = {"lead": re.compile(r"^\d{5}$"), "case": re.compile(r"^\d{4}$"), "staff": re.compile(r"^\d{2}$")}


def validate(data: Any) -> tuple[list[Any], str] | None:
    """The first problem in a log mapping as (key path, reason), or None. Normalizes digit scripts."""
    if not isinstance(data, dict):
        return [], "the log must be a YAML mapping (key: value lines)"
    if data.get("form") != FORM:
        return ["form"], f"form must be {FORM}"
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        return ["schema"], "schema must be a number"
    if schema > SCHEMA:
        return ["schema"], f"schema {schema} is newer than this archivist understands ({SCHEMA}); upgrade archivist"
    for key in ("lead", "staff", "case"):
        value = data.get(key)
        if key == "case" and value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return [key], f"{key} must be quoted text like \"{value:0{5 if key == 'lead' else 2 if key == 'staff' else 4}d}\" (unquoted numbers lose their leading zeros)"
        if not isinstance(value, str) or not _CODE[key].match(ascii_digits(value)):
            n = {"lead": 5, "case": 4, "staff": 2}[key]
            return [key], f"{key} must be {n} digits in quotes" + (" (it is missing)" if value is None else f", got {value!r}")
        data[key] = ascii_digits(value)
    if not isinstance(data.get("company"), str) or not data["company"].strip():
        return ["company"], "company must be non-empty text"
    contact = data.get("contact")
    if contact is not None:
        if not isinstance(contact, dict):
            return ["contact"], "contact must be a mapping (person:, mobile:, …)"
        for k, v in contact.items():
            if v is not None and not isinstance(v, (str, int)):
                return ["contact", k], f"contact.{k} must be text"
    for key in ("services", "requests", "related"):
        v = data.get(key)
        if v is not None and (not isinstance(v, list) or not all(isinstance(x, (str, int)) for x in v)):
            return [key], f"{key} must be a list of text items"
    status = data.get("status")
    if status not in STAGES:
        return ["status"], f"status must be one of {', '.join(STAGES)}, got {status!r}"
    allowed = CASE_STAGES if data.get("case") else APPLICANT_STAGES
    if status not in allowed:
        kind = "a case" if data.get("case") else "an applicant (no case code)"
        return ["status"], f"status {status!r} is not a stage of {kind}; use one of {', '.join(allowed)}"
    nf = data.get("next_followup")
    if nf is not None:
        try:
            as_datetime(nf)
        except (ValueError, TypeError):
            return ["next_followup"], f"next_followup must be a date like 2026-11-24T10:00:00+03:30, got {nf!r}"
    c = data.get("contract")
    if c is not None and not isinstance(c, (str, int)):
        return ["contract"], "contract must be a number or text"
    invoices = data.get("invoices")
    if invoices is not None:
        if not isinstance(invoices, list):
            return ["invoices"], "invoices must be a list"
        for i, inv in enumerate(invoices):
            if not isinstance(inv, dict) or inv.get("number") in (None, ""):
                return ["invoices", i], f"invoice #{i + 1} must be a mapping with a number"
    events = data.get("events")
    if not isinstance(events, list):
        return ["events"], "events must be a list"
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            return ["events", i], f"event #{i + 1} must be a mapping with at, by, kind"
        for k in ("at", "by", "kind"):
            if ev.get(k) in (None, ""):
                return ["events", i], f"event #{i + 1} has no {k}"
        try:
            as_datetime(ev["at"])
        except (ValueError, TypeError):
            return ["events", i, "at"], f"event #{i + 1}: at must be a date, got {ev['at']!r}"
    return None


def _line_of(text: str, keys: list[Any]) -> int | None:
    """1-based line of a key path in YAML text, found through the node tree (safe: no objects built)."""
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
