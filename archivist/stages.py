"""The stage table of SPEC §5: the stages, which belong to applicants and which to cases, and what
each action is allowed in and leads to. A leaf: config, record, workflow, the index and the
front-ends all read it, and it reads nothing of archivist.
"""

from __future__ import annotations

STAGES = ("new", "following", "declined", "open", "contracted", "in-service", "cleared", "crm-done", "archived")
APPLICANT_STAGES = ("new", "following", "declined", "crm-done", "archived")
CASE_STAGES = ("open", "contracted", "in-service", "cleared", "crm-done", "archived")
ACTIVE_CASE = ("open", "contracted", "in-service", "cleared")

# action → {stage it is allowed in: stage it leads to (None: unchanged)}
TRANSITIONS: dict[str, dict[str, str | None]] = {
    "log": {s: None for s in ("new", "following", "declined", "crm-done", *ACTIVE_CASE)},
    "followup": {s: None for s in ("new", "following", *ACTIVE_CASE)},
    "convert": {"new": "open", "following": "open"},
    "decline": {"new": "declined", "following": "declined"},
    "contract": {"open": "contracted", "in-service": None, "cleared": None},
    "invoice": {s: None for s in (*ACTIVE_CASE, "crm-done")},
    "service": {"open": "in-service", "contracted": "in-service", "in-service": None},
    "qc": {"in-service": None, "cleared": None},
    "clear": {"in-service": "cleared"},
    "crm": {"declined": "crm-done", "cleared": "crm-done"},
    "archive": {"crm-done": "archived"},
    "reopen": {"archived": None},  # target depends on the record: see reopen()
}
