"""The record actions as web forms: built from the shared action list, run through its `perform`.

Nothing here decides what a stage allows or how an action works: `allowed` and `refusals` ask the
domain (archivist.actions), `run` is the one call the CLI and the TUI make too. This module only
turns the list's fields into form inputs (with the choices the config offers) and a submitted form
into the values the list expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import actions as shared
from ..config import Config
from ..errors import ArchivistError
from ..record import Record

ACTIONS = shared.ACTIONS


@dataclass(frozen=True)
class Input:
    name: str
    kind: str  # text | textarea | select
    required: bool
    placeholder: str
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    selected: str = ""


def inputs(cfg: Config, record: Record, action: str) -> list[Input]:
    """The form inputs for one action on one record (convert pre-selects the requested service)."""
    out = []
    for f in ACTIONS[action].fields:
        if f.kind == "choice":
            out.append(Input(f.name, "select", f.required, "", tuple((k, k) for k in f.menu), f.menu[0] if f.menu else ""))
        elif f.kind == "service":
            choices = tuple((p, n) for p, n in cfg.services.items())
            out.append(Input(f.name, "select", f.required, "", choices, requested_service(cfg, record)))
        else:
            out.append(Input(f.name, "textarea" if f.kind == "note" else "text", f.required, f.placeholder))
    return out


def requested_service(cfg: Config, record: Record) -> str:
    """The service prefix the applicant asked for first, if it is a configured service."""
    for name in record.services:
        try:
            return cfg.service_prefix(name)
        except ArchivistError:  # a service removed from config since: nothing to pre-select
            continue
    return ""


def allowed(record: Record) -> list[str]:
    return [a.name for a in shared.allowed(record)]


def refusals(record: Record) -> list[tuple[str, str]]:
    """(action, the procedure's reason) for the actions the stage does not allow now."""
    ok = set(allowed(record))
    out = []
    for name in ACTIONS:
        if name in ok:
            continue
        why = shared.refusal(record, name)
        if why:
            out.append((name, why))
    return out


def values_from(action: str, form: dict[str, Any]) -> dict[str, str]:
    """The submitted values for the action's fields only (a form cannot smuggle others in)."""
    return {f.name: str(form.get(f.name) or "").strip() for f in ACTIONS[action].fields}


def run(cfg: Config, code: str, action: str, values: dict[str, str], by: str) -> Record:
    return shared.perform(cfg, code, action, values, by)


def describe() -> list[dict[str, Any]]:
    """The action list as the API documents it."""
    return [
        {
            "name": a.name,
            "label": a.label,
            "stages": list(a.stages),
            "fields": [{"name": f.name, "kind": f.kind, "required": f.required, "choices": list(f.menu)} for f in a.fields],
        }
        for a in ACTIONS.values()
    ]
