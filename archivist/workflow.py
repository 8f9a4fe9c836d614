"""The stages of SPEC §5 and the actions that move records through them.

One transition table decides what each stage allows; the CLI, the TUI and the daemon all call the
functions below, so a rule changes in one place. Every action appends a dated event naming who
acted, writes the log atomically under the record's lock, and moves the folder only after the log
says where it belongs (a crash in between leaves a "misplaced" record that `doctor --fix` finishes).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import allocation, archive_id, intents, journal, store
from .config import Config
from .dates import as_datetime
from .dates import now as _now
from .errors import ArchivistError, DuplicateNumber, StaleLog, TransitionError
from .i18n import N_, _, action_label, field, how, stage_label
from .invoices import check_tax_id, tax_id_in_use
from .naming import ascii_digits, normalize_phone, persian_letters
from .record import LOG_NAME, TOOL_ACTOR, Record, load_record, new_log
from .stages import ACTIVE_CASE as ACTIVE_CASE
from .stages import TRANSITIONS as TRANSITIONS
from .violations import Violation

LOG_KINDS = ("call", "note", "request", "quote", "service", "qc")
# a contact with the applicant or customer: the next follow-up moves ahead (followup.interval_days)
CONTACT_KINDS = ("call", "request", "quote")
# event kind → the log fields the action appending it may change. The daemon reads this to tell
# an action from a hand edit (a field outside these that changed along with new events was
# changed by hand); keep it in step with the actions below (test_daemon_parts runs them all)
FIELDS_WRITTEN: dict[str, tuple[str, ...]] = {
    "call": ("status", "next_followup"),
    "note": ("next_followup",),
    "quote": ("next_followup",),
    "request": ("requests", "next_followup"),
    "service": ("status",),
    "qc": (),
    "followup": ("next_followup",),
    "converted": ("case", "services", "status"),
    "declined": ("status", "next_followup"),
    "contract": ("contract", "status"),
    "invoice": ("invoices",),
    "cleared": ("status",),
    "crm": ("status", "next_followup"),
    "archived": ("status", "next_followup"),
    "reopened": ("status",),
    "filed": (),
    "renamed": (),
    "edited": (),
}
ACTION_HELP = {
    "log": N_("log a call, note, request or quote"),
    "followup": N_("set the next follow-up"),
    "convert": N_("convert to a customer case"),
    "decline": N_("record that the applicant declined"),
    "contract": N_("record the signed contract"),
    "invoice": N_("add an invoice"),
    "service": N_("log service work"),
    "qc": N_("log a quality check"),
    "clear": N_("clear the service"),
    "crm": N_("record the CRM step"),
    "archive": N_("archive the record"),
    "reopen": N_("reopen the archived record"),
}


CASE_ONLY = ("contract", "invoice")


def _done_already(record: Record, action: str) -> str | None:
    """Why an action the stage allows is still refused: it was done once and happens once, or it
    belongs to customer cases and the record is an applicant (open or declined)."""
    if action in CASE_ONLY and not record.case:
        what = _("a contract") if action == "contract" else _("an invoice")
        msg = _("{code} is an applicant ({stage}), not a case: {what} belongs to a customer case").format(
            code=record.code, stage=stage_label(record.status), what=what
        )
        if record.status in TRANSITIONS["convert"]:
            msg += "; " + _("convert it first ({how})").format(
                how=how(_("`archivist convert {code} --service …`").format(code=record.code), action_label("convert"))
            )
        return msg
    if action == "contract" and record.contract:
        return _("{code} already has contract {number}").format(code=record.code, number=record.contract)
    return None


def allowed_actions(record: Record) -> list[str]:
    """What the record's stage allows, in the order the procedure does them (the TUI's menu)."""
    return [a for a, table in TRANSITIONS.items() if record.status in table and not _done_already(record, a)]


def check_transition(record: Record, action: str) -> str | None:
    """The stage `action` leads to, or a TransitionError saying what to do instead."""
    table = TRANSITIONS[action]
    if action in CASE_ONLY and not record.case:
        raise TransitionError(_done_already(record, action))
    if record.status in table:
        done = _done_already(record, action)
        if done:
            raise TransitionError(done)
        return table[record.status]
    if action == "archive" and record.status != "archived":
        first = _("clear the service, then ") if record.status in ("open", "contracted", "in-service") else ""
        raise TransitionError(
            _("cannot archive {code}: archive is refused before CRM (stage is {stage}); {first}record CRM first ({how})").format(
                code=record.code,
                stage=stage_label(record.status),
                first=first,
                how=how(_("`archivist crm {code}`").format(code=record.code), action_label("crm")),
            )
        )
    allowed = ", ".join(action_label(a) for a in allowed_actions(record)) or _("nothing")
    if record.status == "archived":
        hint = _("reopen it first ({how})").format(
            how=how(_("`archivist reopen {code}`").format(code=record.code), action_label("reopen"))
        )
    else:
        hint = _("allowed now: {actions}").format(actions=allowed)
    raise TransitionError(
        _("cannot {action} {code}: it is {stage}; {hint}").format(
            action=action_label(action), code=record.code, stage=stage_label(record.status), hint=hint
        )
    )


# -- plumbing --------------------------------------------------------------------------------------


def _staff(cfg: Config, by: str | None, what: str = "--by") -> str:
    if not by:
        raise ArchivistError(
            how(
                _("say who is acting: pass --by SS or set ARCHIVIST_STAFF=SS"),
                _("say who is acting: choose your name under “who are you?”"),
            )
        )
    return cfg.staff_number(by, what)


@contextlib.contextmanager
def editing(cfg: Config, code: str) -> Iterator[Record]:
    """Load a record under its lock; the caller mutates and saves it before the lock is released."""
    archive_id.require_archive(cfg)  # "no record 00001" on an unplugged drive would hide the real problem
    folder = locate(cfg, code)
    lead = load_record(folder).lead
    layout = store.layout_of(cfg)
    with store.record_lock(layout, lead):
        if not (folder / LOG_NAME).exists():  # moved by another process while we waited
            folder = locate(cfg, code)
        yield load_record(folder)


STALE_RETRIES = 20


def _save(cfg: Config, record: Record, seen: bool = False, sync_dir: bool = True) -> Record:
    """Write the log under the record's lock (held by the caller). If the file changed on disk
    since it was read (an editor saved a hand edit meanwhile), the change is made again on the
    fresh content instead of overwriting the edit; a fresh log that no longer parses is refused,
    like any invalid log. Returns the record as written (the caller's, or the redone one)."""
    assert record.folder is not None
    store.check_inside(cfg.root, record.folder / LOG_NAME)
    for _attempt in range(STALE_RETRIES):
        try:
            if sync_dir:
                store.write_record(record)
            else:
                store.write_record(record, sync_dir=False)
            break
        except StaleLog:
            assert record.folder is not None
            record = record.replay_onto(load_record(record.folder))
    else:
        raise ArchivistError(
            _(
                "{folder}: the log keeps changing while archivist writes it; close the editor that is saving it and try again"
            ).format(folder=record.folder)
        )
    # confirmed events also go to the journal, so one a stale editor save drops is put back
    journal.record_events(
        store.layout_of(cfg).state, record.lead, [new for key, _old, new in record.changes if key == "event"], seen=seen
    )
    record.changes.clear()
    _after_change(cfg, record)
    return record


def restore_events(cfg: Config, folder: Path, lost: list[dict[str, Any]], by: str, note: str, fields: list[str]) -> Record:
    """Put back events a save dropped (in date order) with one `edited` event saying so; the
    daemon calls it with every event it knows the record had (its last look and the journal).
    Under the record lock the log is read again and only events still missing are put back; if
    an editor saves meanwhile, the whole computation is redone on that save (never a replay of
    an old list, which could drop what the new save dropped too)."""
    rec = load_record(folder)
    with store.record_lock(store.layout_of(cfg), rec.lead):
        for _attempt in range(STALE_RETRIES):
            rec = load_record(folder)
            events = rec.events
            missing = journal.dropped_events(lost, events)
            said = note
            if missing:
                rec.data["events"] = sorted(events + missing, key=_event_time)
                # the note of the `edited` event written into the log: data, in the log's own English
                what = ", ".join(
                    f"{ev.get('kind')} of {_shown_time(ev)} by {ev.get('by')}" for ev in missing
                )  # untranslated: stored in the log
                said = (
                    note + "; " if note else ""
                ) + f"restored {len(missing)} event(s) a save dropped: {what}"  # untranslated: stored in the log
            if not missing and not note:
                return rec
            rec.add_event(_now(cfg.timezone), by, "edited", said, fields=fields or ["events"])
            try:
                store.check_inside(cfg.root, folder / LOG_NAME)
                store.write_record(rec)
            except StaleLog:
                continue
            journal.record_events(store.layout_of(cfg).state, rec.lead, [new for key, _old, new in rec.changes if key == "event"])
            rec.changes.clear()
            _after_change(cfg, rec)
            return rec
        raise ArchivistError(
            _("{folder}: the log keeps changing while archivist restores its events; close the editor that is saving it").format(
                folder=folder
            )
        )


def _event_time(ev: Any) -> datetime:
    try:
        at = as_datetime(ev.get("at")) if isinstance(ev, dict) else None
    except (ValueError, TypeError):
        at = None
    return at or datetime.max.replace(tzinfo=UTC)


def _shown_time(ev: dict[str, Any]) -> str:
    at = ev.get("at")
    return at.isoformat(timespec="minutes") if isinstance(at, datetime) else str(at)


def _settle_home(cfg: Config, record: Record) -> None:
    """Move the folder to where the log says it belongs (after the log was written)."""
    assert record.folder is not None
    home = store.home_of(cfg, record)
    if record.folder.resolve() != home.resolve():
        old = record.folder
        store.check_inside(cfg.root, old)
        store.check_inside(cfg.root, home)
        store.move(old, home)
        record.folder = home
        _after_move(cfg, old, home)


# Hooks the index plugs into so the CLI and TUI keep it fresh when no daemon runs; the domain does
# not depend on the index being there.
_change_listeners: list[Callable[[Config, Path, Path | None], None]] = []


def on_change(fn: Callable[[Config, Path, Path | None], None]) -> None:
    _change_listeners.append(fn)


def off_change(fn: Callable[[Config, Path, Path | None], None]) -> None:
    """Unregister a listener (the daemon feeds the index itself, off the thread that writes)."""
    with contextlib.suppress(ValueError):
        _change_listeners.remove(fn)


def _after_change(cfg: Config, record: Record) -> None:
    for fn in _change_listeners:
        assert record.folder is not None
        fn(cfg, record.folder, None)


def _after_move(cfg: Config, old: Path, new: Path) -> None:
    for fn in _change_listeners:
        fn(cfg, new, old)


def _act(
    cfg: Config,
    code: str,
    action: str,
    by: str | None,
    note: str = "",
    kind: str | None = None,
    at: datetime | None = None,
    mutate: Callable[[Record, datetime], dict[str, Any] | None] | None = None,
    args: dict[str, Any] | None = None,
) -> Record:
    """The common shape of every action: check stage, mutate, append the event, save, move.

    An action that does more than write its log (convert: a case code, an announcement, a move;
    archive and reopen: a move) writes an intent first, so a run killed at any step is finished by
    the next daemon pass or one `doctor --fix` (see `_finish_action`)."""
    who = _staff(cfg, by)
    redo = _redoing.get()
    with editing(cfg, code) as rec:
        target = check_transition(rec, action)
        when = at or (as_datetime(redo["at"]) if redo else None) or _now(cfg.timezone)
        intent: Path | None = None
        token = None
        if action in FINISHED_ACTIONS:
            data: dict[str, Any] = (
                dict(redo) if redo else {"action": action, "lead": rec.lead, "by": who, "note": note, "at": when.isoformat()}
            )
            data.update(args or {}, pid=os.getpid())
            intent = intents.begin(cfg, "action", f"{action}-{rec.lead}", data)
            token = _current.set((intent, data))
        try:
            extra = (mutate(rec, when) if mutate else None) or {}
            if target:
                rec.set("status", target)
                extra["to"] = target
            rec.add_event(when, who, kind or action, note, **extra)
            store.check_inside(cfg.root, store.home_of(cfg, rec))  # refused before the log says it moved
            rec = _save(cfg, rec)
            _settle_home(cfg, rec)
        finally:
            if token is not None:
                _current.reset(token)
        if intent is not None:
            intents.done(intent)
        return rec


# Actions whose work is more than one write (see `_act`); the event kind each appends.
FINISHED_ACTIONS = {"convert": "converted", "archive": "archived", "reopen": "reopened"}
# the intent of the action being done in this context (its path and data: convert notes its case
# code there the moment it is allocated), and the intent being finished (`_finish_action`)
_current: ContextVar[tuple[Path, dict[str, Any]] | None] = ContextVar("archivist_intent", default=None)
_redoing: ContextVar[dict[str, Any] | None] = ContextVar("archivist_redo", default=None)


def _note_in_intent(**values: Any) -> None:
    """Record in the current action's intent what a step decided (before the next step runs)."""
    cur = _current.get()
    if cur is None:
        return
    path, data = cur
    data.update(values)
    intents.update(path, data)


def _finish_action(cfg: Config, data: dict[str, Any]) -> str:
    """Finish a convert/archive/reopen a killed run left: the event in the log once (redone with
    the intent's time, person, note and — for convert — case code, no second code issued), the
    announcement queued once, the folder under its name in its area."""
    action, lead, by = str(data["action"]), str(data["lead"]), str(data["by"])
    kind = FINISHED_ACTIONS[action]
    when = as_datetime(data["at"])
    folder = locate(cfg, lead)
    rec = load_record(folder)
    logged = any(
        isinstance(ev, dict) and ev.get("kind") == kind and str(ev.get("by")) == by and _event_time(ev) == when
        for ev in rec.events
    )
    token = _redoing.set(data)
    try:
        if not logged:
            try:
                rec = _REDO[action](cfg, lead, data)
            except TransitionError as e:
                return _("{action} of {lead} was interrupted and is not finished: {e}").format(
                    action=action_label(action), lead=lead, e=e
                )
            return _("finished {action} of {code} after a crash").format(action=action_label(action), code=rec.code)
        with store.record_lock(store.layout_of(cfg), rec.lead):
            rec = load_record(locate(cfg, lead))
            if action == "convert":
                from . import notify  # as in convert: http and email modules only for the action needing them

                notify.announce_conversion(cfg, rec)
            moved = rec.folder is not None and rec.folder.resolve() != store.home_of(cfg, rec).resolve()
            _settle_home(cfg, rec)
    finally:
        _redoing.reset(token)
    if not moved:
        return ""
    return _("finished {action} of {code} after a crash: its folder is now {folder}").format(
        action=action_label(action), code=rec.code, folder=rec.folder.name if rec.folder else ""
    )


_REDO: dict[str, Callable[[Config, str, dict[str, Any]], Record]] = {
    "convert": lambda cfg, lead, d: convert(cfg, lead, service=str(d["service"]), by=str(d["by"]), note=str(d.get("note", ""))),
    "archive": lambda cfg, lead, d: archive(cfg, lead, by=str(d["by"]), note=str(d.get("note", ""))),
    "reopen": lambda cfg, lead, d: reopen(cfg, lead, by=str(d["by"]), note=str(d.get("note", ""))),
}
intents.add_finisher("action", _finish_action)


# -- actions -----------------------------------------------------------------------------------------


def validate_contact(contact: dict[str, str]) -> dict[str, str]:
    """Check phone and email as typed; return them unchanged except for stray spaces."""
    out = {k: (v or "").strip() for k, v in contact.items()}
    for key in ("mobile", "phone"):
        v = out.get(key)
        if v:
            digits = normalize_phone(v)
            if not 7 <= len(digits) <= 13 or re.search(r"[^\d\s+()\-./۰-۹٠-٩]", v):
                raise ArchivistError(
                    _("{field} {value} does not look like a phone number (e.g. 0912 123 4567)").format(
                        field=field(f"--{key}", _("mobile") if key == "mobile" else _("phone")), value=repr(v)
                    ),
                    field=key,
                )
    email = out.get("email")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ArchivistError(
            _("{field} {value} does not look like an email address").format(
                field=field("--email", _("email")), value=repr(email)
            ),
            field="email",
        )
    return out


def register(
    cfg: Config,
    *,
    company: str,
    staff: str,
    by: str | None = None,
    contact: dict[str, str] | None = None,
    services: list[str] | None = None,
    requests: list[str] | None = None,
    note: str = "",
    related: list[str] | None = None,
    at: datetime | None = None,
) -> Record:
    """A new applicant: a fresh 5-digit code, its folder and F-31-08-01, first call due in 24 h."""
    company = persian_letters(" ".join((company or "").split()))
    if not company:
        raise ArchivistError(
            _("{field} is empty; give the applicant's company name").format(field=field("--company", _("company"))),
            field="company",
        )
    if not any(ch.isalnum() for ch in company):
        # only emoji, punctuation or combining marks: no search could ever find it again
        raise ArchivistError(
            _("{field} {value} has no letter or digit; nobody could find it by name").format(
                field=field("--company", _("company")), value=repr(company)
            ),
            field="company",
        )
    staff = _staff(cfg, staff, "--staff")
    who = _staff(cfg, by or staff)
    contact = validate_contact(contact or {})
    service_names = [cfg.services[cfg.service_prefix(s)] for s in services or []]
    archive_id.require_archive(cfg)  # only `init` creates: an empty mount point never gets a second archive
    store.layout_of(cfg).ensure()
    when = at or _now(cfg.timezone)
    lead = allocation.allocate_applicant_code(cfg)
    data = new_log(lead, staff, company, contact, service_names, [r.strip() for r in requests or [] if r.strip()])
    if related:
        data["related"] = list(related)
    rec = Record(data=data)
    rec.set("next_followup", when + timedelta(hours=cfg.followup.first_call_hours))
    rec.add_event(when, who, "registered", note, to="new")
    folder = store.home_of(cfg, rec)
    store.check_inside(cfg.root, folder)
    # a kill between the folder and its log would leave an empty folder for good: the intent lets
    # the next daemon run (or doctor --fix) put the log in
    intent = intents.begin(cfg, "register", lead, {"pid": os.getpid(), "folder": str(folder), "log": rec.dump().decode("utf-8")})
    store.make_folder(folder)
    rec.folder = folder
    rec = _save(cfg, rec)
    intents.done(intent)
    return rec


def next_after_contact(cfg: Config, record: Record, kind: str, when: datetime, given: datetime | None = None) -> datetime | None:
    """The follow-up a logged event leaves: the one given, else — after a contact with an applicant,
    or with a case that has a follow-up planned — `followup.interval_days` after it; None: unchanged."""
    if given is not None:
        if record.status not in TRANSITIONS["followup"]:
            raise TransitionError(
                _("no follow-up is planned for {code} in stage {stage}").format(
                    code=record.code, stage=stage_label(record.status)
                )
            )
        return given
    if kind not in CONTACT_KINDS or record.status not in TRANSITIONS["followup"]:
        return None
    if record.case and record.next_followup is None:
        return None
    return when + timedelta(days=cfg.followup.interval_days)


def followup_in_past(cfg: Config, when: datetime | None) -> bool:
    """A follow-up before now is accepted (staff may record a missed one) but reported: it is overdue at once."""
    return when is not None and when < _now(cfg.timezone)


def log_event(
    cfg: Config, code: str, *, kind: str, note: str, by: str | None, at: datetime | None = None, next_at: datetime | None = None
) -> Record:
    """Log a call, note, request, quote, service or QC entry. A first call moves `new` to `following`;
    a contact moves the next follow-up ahead (or to `next_at`), see `next_after_contact`."""
    if kind not in LOG_KINDS:
        raise ArchivistError(
            _("{field} {kind}: use one of {kinds}").format(
                field=field("--kind", _("kind")), kind=kind, kinds=", ".join(LOG_KINDS)
            )
        )
    if kind == "service":
        return record_service(cfg, code, note=note, by=by, at=at)
    if kind == "qc":
        return _act(cfg, code, "qc", by, note, at=at)

    def mutate(rec: Record, when: datetime) -> dict[str, Any] | None:
        extra: dict[str, Any] = {}
        if kind == "request" and note:
            rec.set("requests", rec.requests + [note])
        following = next_after_contact(cfg, rec, kind, when, next_at)
        if following is not None:
            rec.set("next_followup", following)
            extra["due"] = following
        if kind == "call" and rec.status == "new":
            rec.set("status", "following")
            extra["to"] = "following"
        return extra

    return _act(cfg, code, "log", by, note, kind=kind, at=at, mutate=mutate)


def set_followup(cfg: Config, code: str, *, when: datetime, by: str | None, note: str = "") -> Record:
    def mutate(rec: Record, at: datetime) -> dict[str, Any]:
        rec.set("next_followup", when)
        return {"due": when}

    return _act(cfg, code, "followup", by, note, mutate=mutate)


def requested_prefixes(cfg: Config, record: Record) -> list[str]:
    """The service prefixes the applicant asked for (its log's `services`), in the order asked."""
    out = []
    for name in record.services:
        try:
            prefix = cfg.service_prefix(str(name))
        except ArchivistError:
            continue  # a service no longer in config: nothing to pre-select for it
        if prefix not in out:
            out.append(prefix)
    return out


def case_code_range(cfg: Config, prefix: str) -> str:
    """What a conversion to `prefix` will take: `3xxx Training` (the case code's first digits are
    the service, for good: codes are never reissued)."""
    return f"{prefix}{'x' * (4 - len(prefix))} {cfg.services.get(prefix, '')}".rstrip()


def convert_warning(cfg: Config, record: Record, prefix: str) -> str | None:
    """Why converting `record` to service `prefix` deserves a second look (None: it is what was asked)."""
    asked = requested_prefixes(cfg, record)
    chosen = case_code_range(cfg, prefix)
    if not asked:
        return _("no service was requested for {code}; the case code will be {range} for good").format(
            code=record.code, range=chosen
        )
    if prefix not in asked:
        return _("{code} asked for {asked}, not {service}; the case code will be {range} for good").format(
            code=record.code,
            asked=", ".join(cfg.services.get(p, p) for p in asked),
            service=cfg.services.get(prefix, prefix),
            range=chosen,
        )
    return None


def convert(cfg: Config, code: str, *, service: str, by: str | None, note: str = "") -> Record:
    """Applicant → customer: a case code of the service's type; the folder moves to customers/<case>."""
    prefix = cfg.service_prefix(service)

    def mutate(rec: Record, when: datetime) -> dict[str, Any]:
        redo = _redoing.get()
        # a conversion a crash interrupted keeps the code it was given: never a second one
        case = str(redo["case"]) if redo and redo.get("case") else allocation.allocate_case_code(cfg, prefix)
        _note_in_intent(case=case)  # before the announcement and the log name it
        rec.set("case", case)
        name = cfg.services[prefix]
        if name not in rec.services:
            rec.set("services", rec.services + [name])
        # queued before the log is saved, so a crash cannot leave a conversion unannounced;
        # `notify.flush` sends it only once the conversion is on disk
        from . import notify  # http and email modules: imported by the one action that needs them

        notify.announce_conversion(cfg, rec)
        return {"case": case, "service": name}

    return _act(cfg, code, "convert", by, note, kind="converted", mutate=mutate, args={"service": prefix})


def decline(cfg: Config, code: str, *, by: str | None, note: str = "") -> Record:
    def mutate(rec: Record, when: datetime) -> None:
        rec.set("next_followup", None)

    return _act(cfg, code, "decline", by, note, kind="declined", mutate=mutate)


def sign_contract(cfg: Config, code: str, *, by: str | None, number: str | None = None, note: str = "") -> Record:
    def mutate(rec: Record, when: datetime) -> dict[str, Any]:
        n = allocation.allocate_number(cfg, "contract", when, number)
        rec.set("contract", n)
        return {"number": n}

    with _typed_numbers_lock(cfg, number is not None):
        return _act(cfg, code, "contract", by, note, mutate=mutate)


def add_invoice(
    cfg: Config,
    code: str,
    *,
    by: str | None,
    number: str | None = None,
    tax_id: str | None = None,
    amount: str | None = None,
    date: datetime | None = None,
    note: str = "",
) -> Record:
    tax = check_tax_id(tax_id) if tax_id else None
    if amount is not None:
        amount_s = ascii_digits(str(amount)).replace(",", "").replace("٬", "").strip()
        if not re.fullmatch(r"\d+(\.\d+)?", amount_s):
            raise ArchivistError(
                _("{field} {value} is not a number").format(field=field("--amount", _("amount")), value=repr(amount))
            )
        amount_v: Any = int(amount_s) if amount_s.isdigit() else float(amount_s)
    else:
        amount_v = None

    def mutate(rec: Record, when: datetime) -> dict[str, Any]:
        if tax:
            used = tax_id_in_use(cfg, tax)
            if used:
                other, inv = used
                raise DuplicateNumber(
                    _(
                        "{field} {tax} is already on invoice {number} of case {code} ({company}); a tax ID belongs to one invoice"
                    ).format(
                        field=field("--tax-id", _("tax ID")),
                        tax=tax,
                        number=inv.get("number"),
                        code=other.code,
                        company=other.company,
                    )
                    + how(_(", check it with `archivist trace {tax}`").format(tax=tax), "")
                )
        n = allocation.allocate_number(cfg, "invoice", when, number)
        inv = {"number": n, "tax_id": tax, "date": date or when, "amount": amount_v, "note": note}
        rec.set("invoices", rec.invoices + [inv])
        return {"number": n}

    with _typed_numbers_lock(cfg, bool(tax or number)):
        return _act(cfg, code, "invoice", by, note, mutate=mutate)


@contextlib.contextmanager
def _typed_numbers_lock(cfg: Config, needed: bool) -> Iterator[None]:
    """Held from the check of a typed number or tax ID until its log is saved, so two people typing
    the same one at once cannot both pass the check. Taken before the record lock, never after."""
    if not needed:
        yield
        return
    with store.lock(store.layout_of(cfg), "typed-numbers"):
        yield


def record_service(cfg: Config, code: str, *, note: str, by: str | None, at: datetime | None = None) -> Record:
    return _act(cfg, code, "service", by, note, at=at)


def clear(cfg: Config, code: str, *, by: str | None, note: str = "") -> Record:
    return _act(cfg, code, "clear", by, note, kind="cleared")


def crm(cfg: Config, code: str, *, by: str | None, note: str = "") -> Record:
    def mutate(rec: Record, when: datetime) -> None:
        rec.set("next_followup", None)

    return _act(cfg, code, "crm", by, note, mutate=mutate)


def archive(cfg: Config, code: str, *, by: str | None, note: str = "") -> Record:
    """Move a record into the archive; refused before CRM (procedure 4-4)."""

    def mutate(rec: Record, when: datetime) -> None:
        rec.set("next_followup", None)

    return _act(cfg, code, "archive", by, note, kind="archived", mutate=mutate)


def reopen(cfg: Config, code: str, *, by: str | None, note: str = "") -> Record:
    """Bring an archived record back: a case resumes in service, an applicant in follow-up."""

    def mutate(rec: Record, when: datetime) -> dict[str, Any]:
        target = "in-service" if rec.case else "following"
        rec.set("status", target)
        return {"to": target}

    return _act(cfg, code, "reopen", by, note, kind="reopened", mutate=mutate)


def append_event(cfg: Config, folder: Path, kind: str, by: str, note: str = "", **extra: Any) -> Record:
    """Append an event to the record in `folder` without a stage change (daemon: filed, renamed, edited)."""
    rec = load_record(folder)
    with store.record_lock(store.layout_of(cfg), rec.lead):
        rec = load_record(folder)
        rec.add_event(_now(cfg.timezone), by, kind, note, **extra)
        rec = _save(cfg, rec)
    return rec


def append_events(
    cfg: Config,
    folder: Path,
    by: str,
    events: list[tuple[str, str, dict[str, Any]]],
    at: datetime | None = None,
    record: Record | None = None,
    daemon: bool = False,
) -> Record:
    """Append several (kind, note, extra) events in one write: the daemon filing a batch of files.
    `record`: the log as the caller just read it, used as it is (not
    parsed again): the write checks under the lock that the file is still the one read, and makes
    the events again on the fresh log if not (`_save`). `daemon`: the daemon writes, and fsyncs the
    folder itself after moving the files in; its journal entries go in already seen (see
    journal.record_events)."""
    lead = record.lead if record is not None else load_record(folder).lead
    with store.record_lock(store.layout_of(cfg), lead):
        rec = record if record is not None else load_record(folder)
        when = at or _now(cfg.timezone)
        for kind, note, extra in events:
            rec.add_event(when, by, kind, note, **extra)
        rec = _save(cfg, rec, seen=daemon, sync_dir=not daemon)
    return rec


# How a code is found: by searching the folders, unless the index plugged in its faster look-up
# (`index.hook.install`, the daemon): the domain does not depend on the index being there.
_locator: Callable[[Config, str], Path] = store.locate


def use_locator(fn: Callable[[Config, str], Path]) -> None:
    global _locator
    _locator = fn


def locate(cfg: Config, code: str) -> Path:
    """The folder of the record a code names: through the index when one plugged in its look-up
    (each answer checked on disk, see index.lookup); the folders are searched otherwise."""
    return _locator(cfg, code)


def show(cfg: Config, code: str) -> Record:
    return load_record(locate(cfg, code))


# -- doctor --fix ------------------------------------------------------------------------------------


def apply_fixes(cfg: Config, violations: list[Violation], by: str = TOOL_ACTOR) -> tuple[list[Violation], list[str]]:
    """Perform the safe fixes; returns (fixed, messages about fixes skipped). Logs `renamed` events."""
    archive_id.require_archive(cfg)
    fixed: list[Violation] = []
    skipped: list[str] = []
    done_paths: set[str] = set()
    for msg in intents.finish_all(cfg):  # a killed register or filing batch, finished in this one pass
        (
            skipped.append(msg)
            if msg.startswith("could not")  # untranslated: matches the English prefix of intents.finish_all's messages
            else fixed.append(Violation("unfinished", str(store.layout_of(cfg).state / "intents"), msg, True, "finished"))
        )
    # deepest paths first so a folder is renamed after the files inside it
    for v in sorted((v for v in violations if v.fixable and v.fix_to), key=lambda v: -len(Path(v.path).parts)):
        if v.path in done_paths:
            continue
        src, dst = Path(v.path), Path(v.fix_to or "")
        try:
            store.move(src, dst)
        except (ArchivistError, OSError) as e:
            skipped.append(f"{src}: {e}")
            continue
        done_paths.add(v.path)
        fixed.append(v)
        record_folder = _record_folder_of(cfg, dst)
        if record_folder is not None:
            try:
                append_event(
                    cfg,
                    record_folder,
                    "renamed",
                    by,
                    f"{src.name} → {dst.name}",
                    **{"from": str(src.relative_to(cfg.root)), "into": str(dst.relative_to(cfg.root))},
                )
            except ArchivistError as e:
                skipped.append(_("{dst}: renamed, but the event could not be logged: {e}").format(dst=dst, e=e))
    return fixed, skipped


def _record_folder_of(cfg: Config, path: Path) -> Path | None:
    try:
        rel = path.relative_to(cfg.root)
    except ValueError:
        return None
    parts = rel.parts
    depth = store.record_depth(parts)
    if not depth or len(parts) < depth:
        return None
    folder = cfg.root.joinpath(*parts[:depth])
    return folder if (folder / LOG_NAME).exists() else None
