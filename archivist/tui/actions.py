"""The record actions as the TUI offers them: key, label, the fields its dialog asks for, and
the ONE workflow call each makes — the same functions the CLI handlers call, with the same
argument parsing (dates through `dates.parse_when`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import workflow
from ..config import Config
from ..dates import parse_when
from ..errors import ArchivistError
from ..record import Record


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | kind | service
    required: bool = False
    placeholder: str = ""


NOTE = Field("note", "note")
NOTE_REQUIRED = Field("note", "note", required=True)


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the workflow.TRANSITIONS key
    key: str
    label: str
    fields: tuple[Field, ...]


SPECS: dict[str, ActionSpec] = {s.name: s for s in (
    ActionSpec("log", "l", "log", (Field("kind", "kind", "kind"), NOTE_REQUIRED)),
    ActionSpec("followup", "f", "follow-up", (
        Field("when", "when", required=True, placeholder="+2d, +4h, 1405-09-10 10:00"), NOTE)),
    ActionSpec("convert", "v", "convert", (Field("service", "service", "service", required=True), NOTE)),
    ActionSpec("decline", "d", "decline", (NOTE,)),
    ActionSpec("contract", "k", "contract", (Field("number", "number", placeholder="empty: next serial"), NOTE)),
    ActionSpec("invoice", "i", "invoice", (
        Field("number", "number", placeholder="empty: next serial"), Field("tax_id", "tax ID"),
        Field("amount", "amount"), Field("date", "date", placeholder="empty: today"), NOTE)),
    ActionSpec("service", "s", "service", (NOTE_REQUIRED,)),
    ActionSpec("qc", "q", "QC", (NOTE_REQUIRED,)),
    ActionSpec("clear", "c", "clear", (NOTE,)),
    ActionSpec("crm", "r", "CRM", (NOTE,)),
    ActionSpec("archive", "a", "archive", (NOTE,)),
    ActionSpec("reopen", "R", "reopen", (NOTE,)),
)}
LOG_CHOICES = ("call", "note", "request", "quote")


def refusal(record: Record, action: str) -> str | None:
    """Why `action` is not offered for the record in its stage (the domain's words), or None if it is."""
    try:
        workflow.check_transition(record, action)
    except ArchivistError as e:
        return str(e)
    return None


def perform(cfg: Config, code: str, action: str, values: dict[str, Any], by: str | None) -> Record:
    """Run one action through the domain layer; ArchivistError (a refusal) propagates to the screen."""
    note = (values.get("note") or "").strip()
    if action == "log":
        return workflow.log_event(cfg, code, kind=values.get("kind") or "call", note=note, by=by)
    if action == "followup":
        return workflow.set_followup(cfg, code, when=parse_when(values.get("when") or "", cfg.timezone), by=by, note=note)
    if action == "convert":
        return workflow.convert(cfg, code, service=str(values.get("service") or ""), by=by, note=note)
    if action == "contract":
        return workflow.sign_contract(cfg, code, by=by, number=values.get("number") or None, note=note)
    if action == "invoice":
        date = values.get("date")
        return workflow.add_invoice(
            cfg, code, by=by, number=values.get("number") or None, tax_id=values.get("tax_id") or None,
            amount=values.get("amount") or None, date=parse_when(date, cfg.timezone) if date else None, note=note)
    if action == "service":
        return workflow.record_service(cfg, code, note=note, by=by)
    if action == "qc":
        return workflow.log_event(cfg, code, kind="qc", note=note, by=by)
    if action in ("decline", "clear", "crm", "archive", "reopen"):
        return getattr(workflow, action)(cfg, code, by=by, note=note)
    raise ValueError(f"unknown action {action!r}")
