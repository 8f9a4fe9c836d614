"""Every user flow as one domain function, and the ONE declared list of record actions.

The CLI, the TUI and the web app build their commands, keys, menus and forms from `ACTIONS` and
run each one through `perform`, so an action asks for the same fields and calls the same workflow
function whatever front-end a person uses. A front-end parses what was typed into `values` (a
mapping of field name → text, as typed) and shows the returned Record; nothing else.

The other flows live here too, with the same arguments for every caller: `init_archive`
(`archivist init`, `archivist start`) and `register_applicant` (the returning-company check and an
explicit confirm, so the TUI and the web write the same `related:` as `archivist register --yes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import allocation, archive_id, store, workflow
from .config import Config
from .dates import parse_when
from .errors import ArchivistError
from .i18n import N_, _
from .record import CONTACT_KEYS as CONTACT_KEYS
from .record import Record
from .returning import catch_up, find_similar
from .stages import TRANSITIONS

Values = Mapping[str, Any]


@dataclass(frozen=True)
class Field:
    """One thing an action asks for. `kind` tells a front-end which input to build:

    text (one line) · note (free text) · choice (one of `choices`) · service (a configured service)
    · when (a moment: +2d, +4h, Jalali or ISO) · date (a day; empty: today)
    """

    name: str  # the key in `values`
    label: str
    kind: str = "text"
    required: bool = False
    placeholder: str = ""
    help: str = ""
    choices: tuple[str, ...] = ()  # accepted values of a choice field
    offered: tuple[str, ...] = ()  # what a menu offers first (default: all choices)
    flag: str = ""  # the CLI option (default: --<name>)

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def menu(self) -> tuple[str, ...]:
        return self.offered or self.choices


@dataclass(frozen=True)
class Action:
    """One record action: its name (the TRANSITIONS key and the CLI command), how menus show it,
    the key the TUI binds, what it asks for, and the domain call it makes."""

    name: str
    label: str
    key: str
    help: str
    fields: tuple[Field, ...]
    run: Callable[[Config, str, Values, str | None], Record] = field(repr=False, compare=False)

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages that allow this action (from the stage table)."""
        return tuple(TRANSITIONS[self.name])


# -- the domain call each action makes, from values as typed ---------------------------------------


def _text(values: Values, name: str) -> str:
    return str(values.get(name) or "").strip()


def _optional(values: Values, name: str) -> str | None:
    return _text(values, name) or None


def _log(cfg: Config, code: str, values: Values, by: str | None) -> Record:
    nxt = _text(values, "next")
    return workflow.log_event(
        cfg,
        code,
        kind=_text(values, "kind") or "call",
        note=_text(values, "note"),
        by=by,
        next_at=parse_when(nxt, cfg.timezone) if nxt else None,
    )


def _followup(cfg: Config, code: str, values: Values, by: str | None) -> Record:
    return workflow.set_followup(
        cfg, code, when=parse_when(_text(values, "when"), cfg.timezone), by=by, note=_text(values, "note")
    )


def _convert(cfg: Config, code: str, values: Values, by: str | None) -> Record:
    return workflow.convert(cfg, code, service=_text(values, "service"), by=by, note=_text(values, "note"))


def _contract(cfg: Config, code: str, values: Values, by: str | None) -> Record:
    return workflow.sign_contract(cfg, code, by=by, number=_optional(values, "number"), note=_text(values, "note"))


def _invoice(cfg: Config, code: str, values: Values, by: str | None) -> Record:
    day = _text(values, "date")
    return workflow.add_invoice(
        cfg,
        code,
        by=by,
        number=_optional(values, "number"),
        tax_id=_optional(values, "tax_id"),
        amount=_optional(values, "amount"),
        date=parse_when(day, cfg.timezone) if day else None,
        note=_text(values, "note"),
    )


def _service(cfg: Config, code: str, values: Values, by: str | None) -> Record:
    return workflow.record_service(cfg, code, note=_text(values, "note"), by=by)


def _qc(cfg: Config, code: str, values: Values, by: str | None) -> Record:
    return workflow.log_event(cfg, code, kind="qc", note=_text(values, "note"), by=by)


def _step(fn: Callable[..., Record]) -> Callable[[Config, str, Values, str | None], Record]:
    """An action that only takes a note (decline, clear, crm, archive, reopen)."""

    def run(cfg: Config, code: str, values: Values, by: str | None) -> Record:
        return fn(cfg, code, by=by, note=_text(values, "note"))

    return run


# -- the list -------------------------------------------------------------------------------------

NOTE = Field("note", "note", "note")
NOTE_REQUIRED = Field("note", "note", "note", required=True)
NUMBER = Field(
    "number", "number", placeholder=N_("empty: next serial"), help=N_("a number typed by hand (default: the next serial)")
)
LOG_CHOICES = ("call", "note", "request", "quote")  # what the log menu offers; service and qc have their own actions

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "log",
            "log",
            "l",
            N_("log a call, note, request, quote, service or qc entry"),
            (
                Field("kind", "kind", "choice", required=True, choices=workflow.LOG_KINDS, offered=LOG_CHOICES),
                NOTE_REQUIRED,
                Field(
                    "next",
                    N_("next follow-up"),
                    "when",
                    placeholder=N_("empty: followup.interval_days ahead"),
                    help=N_("the next follow-up (+3d, Jalali or ISO; default: a contact moves it followup.interval_days ahead)"),
                ),
            ),
            _log,
        ),
        Action(
            "followup",
            "follow-up",
            "f",
            N_("set the next follow-up (+1d, +4h, Jalali or ISO date)"),
            (
                Field("when", "when", "when", required=True, placeholder="+2d, +4h, 1405-09-10 10:00", flag="--at"),
                NOTE,
            ),
            _followup,
        ),
        Action(
            "convert",
            "convert",
            "v",
            N_("convert an applicant to a case; prints the 4-digit case code"),
            (
                Field("service", "service", "service", required=True),
                NOTE,
            ),
            _convert,
        ),
        Action("decline", "decline", "d", N_("the applicant declined"), (NOTE,), _step(workflow.decline)),
        Action("contract", "contract", "k", N_("record the signed contract; prints its number"), (NUMBER, NOTE), _contract),
        Action(
            "invoice",
            "invoice",
            "i",
            N_("add an invoice to a case; prints its number"),
            (
                NUMBER,
                Field("tax_id", N_("tax ID"), help=N_("the tax authority's unique invoice ID")),
                Field("amount", "amount"),
                Field(
                    "date", "date", "date", placeholder=N_("empty: today"), help=N_("invoice date (Jalali or ISO; default now)")
                ),
                NOTE,
            ),
            _invoice,
        ),
        Action("service", "service", "s", N_("log service work (moves the case to in-service)"), (NOTE_REQUIRED,), _service),
        Action("qc", "QC", "q", N_("log a quality check"), (NOTE_REQUIRED,), _qc),
        Action("clear", "clear", "c", N_("the service is cleared"), (NOTE,), _step(workflow.clear)),
        Action("crm", "CRM", "r", N_("the CRM step is done"), (NOTE,), _step(workflow.crm)),
        Action("archive", "archive", "a", N_("archive (only after CRM)"), (NOTE,), _step(workflow.archive)),
        Action("reopen", "reopen", "R", N_("reopen an archived record"), (NOTE,), _step(workflow.reopen)),
    )
}


def allowed(record: Record) -> list[Action]:
    """The actions the record's stage allows now, in the order the procedure does them."""
    return [ACTIONS[a] for a in workflow.allowed_actions(record) if a in ACTIONS]


def refusal(record: Record, action: str) -> str | None:
    """Why `action` is not offered for the record in its stage (the domain's words), or None if it is."""
    try:
        workflow.check_transition(record, action)
    except ArchivistError as e:
        return str(e)
    return None


def perform(cfg: Config, code: str, action: str, values: Values, by: str | None) -> Record:
    """Run one action on one record; ArchivistError (a refusal, a bad value) propagates to the caller."""
    try:
        spec = ACTIONS[action]
    except KeyError:
        raise ValueError(
            f"unknown action {action!r}"
        ) from None  # untranslated: a programming error (action names come from ACTIONS)
    return spec.run(cfg, code, values, by)


# -- the flows that do not act on one record -------------------------------------------------------


def init_archive(cfg: Config) -> Path:
    """Create the archive's folders and its registry (nothing existing is touched); returns the root.

    The one way an archive comes to be: every other command refuses a root that holds none
    (`archive_id.require_archive`)."""
    layout = store.layout_of(cfg)
    if cfg.root.exists() and not cfg.root.is_dir():
        raise ArchivistError(_("the archive root {root} is a file, not a folder; point root: at a folder").format(root=cfg.root))
    gone = archive_id.unplugged_mount(cfg.root)
    if gone is not None and not archive_id.has_archive(cfg.root):
        raise ArchivistError(
            _(
                "not creating an archive at {root_where}: the drive mounted on {gone} (/etc/fstab) is not mounted, so it would land on the disk beneath; mount the drive first"
            ).format(root_where=cfg.root_where, gone=gone)
        )
    layout.ensure()
    if not layout.registry.exists():
        allocation.write_registry(layout, allocation.read_registry(layout))
    archive_id.create(cfg)
    return layout.root


def archive_ready(cfg: Config) -> bool:
    """Whether `init_archive` has nothing left to do."""
    layout = store.layout_of(cfg)
    return layout.registry.exists() and all(layout.area(a).is_dir() for a in store.AREAS)


def start_archive(cfg: Config, ask: Callable[[str], bool] | None = None) -> Path | None:
    """What `archivist start` (the main job) does first: the root, made ready when that is safe;
    None when it was ready already.

    An existing archive missing a folder is completed. A new archive is created only at the
    built-in default root (no config file, --root or ARCHIVIST_ROOT chose one: the README's quick
    start) or when `ask` (a person at a terminal) says yes; a root someone configured that holds
    no archive is refused like every other command, because it is most often a drive that is not
    plugged in."""
    if archive_ready(cfg):
        return None
    if archive_id.has_archive(cfg.root) or cfg.root_is_default:
        return init_archive(cfg)
    question = _("no archive at {root_where}. Create a new, empty archive there?").format(root_where=cfg.root_where)
    if ask is not None and cfg.root.parent.is_dir() and ask(question):
        return init_archive(cfg)
    archive_id.require_archive(cfg)  # raises: where it looked, and that `archivist init` creates one
    return init_archive(cfg)  # not reached: require_archive refuses a root without an archive


@dataclass(frozen=True)
class Registration:
    """What `register_applicant` did: the new record, or None when earlier records look like the
    same company and the caller has not confirmed yet; `matches` are those records (best first)."""

    record: Record | None
    matches: list[dict[str, Any]]


def returning_matches(cfg: Config, company: str, contact: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Earlier records (open or archived) that look like this company, by name, phone or email."""
    if not (company or "").strip():
        return []
    c = contact or {}
    return find_similar(cfg, company, phone=(c.get("mobile") or c.get("phone") or None), email=c.get("email") or None)


def register_applicant(
    cfg: Config,
    *,
    company: str,
    staff: str,
    by: str | None = None,
    contact: Mapping[str, str] | None = None,
    services: list[str] | None = None,
    requests: list[str] | None = None,
    note: str = "",
    confirm: bool = False,
) -> Registration:
    """Register a new applicant, checking first for a returning company.

    With likely earlier records and no `confirm`, nothing is written: the caller shows the matches
    and asks. Confirmed, the new log lists them under `related:` (SPEC: traceable years later).
    """
    contact = {k: str(v or "") for k, v in (contact or {}).items()}
    catch_up(cfg)  # the index the check compares with shows the hand edits made since
    matches = returning_matches(cfg, company, contact)
    if matches and not confirm:
        return Registration(None, matches)
    rec = workflow.register(
        cfg,
        company=company,
        staff=staff,
        by=by,
        contact=contact,
        services=services,
        requests=requests,
        note=note,
        related=[m["code"] for m in matches] or None,
    )
    return Registration(rec, matches)
