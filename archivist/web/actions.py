"""The record actions as web forms: built from the shared action list, run through its function.

Nothing here decides what a stage allows or how an action works: `allowed` and `refusal` ask the
domain, `run` calls the one function the CLI and the TUI call. This module only turns the list's
fields into form inputs (with the choices the config offers) and a submitted form into values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import workflow
from ..config import Config
from ..record import Record
from ..tui import actions as shared

SPECS = shared.SPECS
LOG_CHOICES = shared.LOG_CHOICES


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
    for f in SPECS[action].fields:
        if f.kind == "choice":
            out.append(Input(f.name, "select", True, "", tuple((k, k) for k in f.menu), f.menu[0]))
        elif f.kind == "service":
            choices = tuple((p, n) for p, n in cfg.services.items())
            out.append(Input(f.name, "select", True, "", choices, requested_service(cfg, record)))
        else:
            out.append(Input(f.name, "textarea" if f.kind == "note" else "text", f.required, f.placeholder))
    return out


def requested_service(cfg: Config, record: Record) -> str:
    """The service prefix the applicant asked for first, if it is a configured service."""
    for name in record.services:
        try:
            return cfg.service_prefix(name)
        except Exception:  # a service removed from config since: nothing to pre-select
            continue
    return ""


def allowed(record: Record) -> list[str]:
    return [a for a in workflow.allowed_actions(record) if a in SPECS]


def refusals(record: Record) -> list[tuple[str, str]]:
    """(action, the procedure's reason) for the actions the stage does not allow now."""
    ok = set(allowed(record))
    out = []
    for name in SPECS:
        if name in ok:
            continue
        why = shared.refusal(record, name)
        if why:
            out.append((name, why))
    return out


def values_from(action: str, form: dict[str, Any]) -> dict[str, Any]:
    """The submitted values for the action's fields only (a form cannot smuggle others in)."""
    return {f.name: str(form.get(f.name) or "").strip() for f in SPECS[action].fields}


def run(cfg: Config, code: str, action: str, values: dict[str, Any], by: str) -> Record:
    return shared.perform(cfg, code, action, values, by)


def describe() -> list[dict[str, Any]]:
    """The action list as the API documents it."""
    return [{"name": s.name, "label": s.label, "stages": sorted(workflow.TRANSITIONS.get(s.name, {})),
             "fields": [{"name": f.name, "kind": f.kind, "required": f.required} for f in s.fields]}
            for s in SPECS.values()]
