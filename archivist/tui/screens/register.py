"""Register a new applicant: the form checks each field as it is typed (with the domain's own
checks), shows a likely returning company before anything is saved, then calls
`actions.register_applicant` — the same call as `archivist register`, so a confirmed returning
company gets the same `related:` in its new log."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, Select, SelectionList, Static

from ... import workflow
from ...actions import CONTACT_KEYS, register_applicant, returning_matches
from ...errors import ArchivistError
from ...i18n import N_, _, contact_label, stage_label
from ..bidi import shape
from ..office import OfficeScreen
from ..widgets.inputs import TextInput
from ..words import translate_bindings
from .dialogs import ConfirmDialog

CONTACT_FIELDS = CONTACT_KEYS
CHECKED = ("mobile", "phone", "email")


def find_similar(cfg: Any, company: str, phone: str | None, email: str | None) -> list[dict[str, Any]] | None:
    """Earlier records that look like this company, for the hint shown while typing; None: nothing to check."""
    if not company.strip():
        return None
    return returning_matches(cfg, company, {"mobile": phone or "", "email": email or ""})


class RegisterScreen(OfficeScreen):
    BINDINGS = [Binding("escape", "back", N_("back")), Binding("ctrl+s", "save", N_("save"))]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.similar: list[dict[str, Any]] = []
        self.confirmed_for: tuple[str, str, str] | None = None  # what the user chose to register anyway
        self._checked_key: tuple[str, str, str] | None = None  # what `similar` was found for

    def compose(self) -> ComposeResult:
        cfg = self.cfg
        mode = cfg.display.bidi
        by = self.office.by
        yield Header()
        with VerticalScroll(id="form"):
            yield Label(shape(_("company") + " *", mode))
            yield TextInput(id="company", placeholder=_("the applicant's company name"), compact=True)
            yield Static("", id="similar", classes="hint")
            yield Label(shape(_("staff") + " *", mode))
            staff = [(f"{k} {shape(v, mode)}", k) for k, v in cfg.staff.items()]
            yield Select(
                staff,
                id="staff",
                value=by if by in cfg.staff else Select.NULL,
                prompt=shape(_("executing staff member"), mode),
                compact=True,
            )
            for key in CONTACT_FIELDS:
                yield Label(shape(contact_label(key), mode))
                yield TextInput(id=key, placeholder="0912 123 4567" if key in ("mobile", "phone") else "", compact=True)
                if key in CHECKED:
                    yield Static("", id=f"{key}-error", classes="field-error")
            yield Label(shape(_("services"), mode))
            yield SelectionList[str](*((f"{p} {shape(n, mode)}", p) for p, n in cfg.services.items()), id="services")
            yield Label(shape(_("request"), mode))
            yield TextInput(id="request", placeholder=_("price quote, samples…"), compact=True)
            yield Label(shape(_("note"), mode))
            yield TextInput(id="note", compact=True)
        yield Static("", id="form-error", markup=False)
        with Horizontal(id="form-buttons"):
            yield Button(shape(_("register"), mode), variant="primary", id="save")
            yield Button(shape(_("cancel"), mode), id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#company", Input).focus()

    # -- field checks -------------------------------------------------------------------------------
    def field_error(self, key: str) -> str | None:
        """The domain's verdict on one contact field as it stands (None when fine)."""
        value = self.query_one(f"#{key}", Input).value
        try:
            workflow.validate_contact({key: value})
        except ArchivistError as e:
            return str(e)
        return None

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        key = event.input.id or ""
        if key in CHECKED:
            problem = self.field_error(key) if event.value.strip() else None
            err = self.query_one(f"#{key}-error", Static)
            err.update(shape(problem or "", self.cfg.display.bidi))
            err.set_class(bool(problem), "shown")
            event.input.set_class(bool(problem), "invalid")

    @on(Input.Blurred)
    def _left_field(self, event: Input.Blurred) -> None:
        # the check reads every log (seconds on a big archive), so it runs when a field is left,
        # not on every key, and on its own thread so searches are not held up
        if event.input.id in ("company", "mobile", "phone", "email"):
            self.look_for_returning()

    def values(self) -> dict[str, Any]:
        staff = self.query_one("#staff", Select).value
        return {
            "company": self.query_one("#company", Input).value,
            "staff": None if staff is Select.NULL else staff,
            "contact": {k: self.query_one(f"#{k}", Input).value for k in CONTACT_FIELDS},
            "services": list(self.query_one("#services", SelectionList).selected),
            "requests": [r for r in [self.query_one("#request", Input).value.strip()] if r],
            "note": self.query_one("#note", Input).value.strip(),
        }

    # -- returning companies ------------------------------------------------------------------------
    def similar_key(self, v: dict[str, Any]) -> tuple[str, str, str]:
        c = v["contact"]
        return (v["company"].strip(), (c["mobile"] or c["phone"]).strip(), c["email"].strip())

    def look_for_returning(self) -> None:
        key = self.similar_key(self.values())
        if key[0] and key != self._checked_key:
            self._look(key)

    @work(exclusive=True, group="similar")
    async def _look(self, key: tuple[str, str, str]) -> list[dict[str, Any]] | None:
        source = self.office.source
        hint = self.query_one("#similar", Static)
        hint.update(shape(_("checking for an earlier record of this company…"), self.cfg.display.bidi))
        try:
            found = await source.call_slow(find_similar, self.cfg, *key)
        except Exception as e:  # a matcher problem must not block registering
            hint.update(shape(_("returning-company check failed: {error}").format(error=e), self.cfg.display.bidi))
            return None
        # shown even if a field changed meanwhile: it is about what was checked, and leaving the
        # changed field (or saving) checks again
        self._checked_key = key
        self.show_similar(found)
        return found

    def show_similar(self, found: list[dict[str, Any]] | None) -> None:
        mode = self.cfg.display.bidi
        self.similar = found or []
        hint = self.query_one("#similar", Static)
        if found is None:
            hint.update("")
        elif not found:
            hint.update(shape(_("no earlier record looks like this company"), mode))
        else:
            items = [
                f"{r.get('code') or r.get('case') or r.get('lead')} {shape(str(r.get('company', '')), mode)} "
                f"({shape(stage_label(r.get('status')) or '?', mode)}{', ' + str(r['why']) if r.get('why') else ''})"
                for r in found[:3]
            ]
            hint.update(shape(_("likely returning company:"), mode) + " " + " · ".join(items))
        hint.set_class(bool(found), "warning")

    # -- saving -------------------------------------------------------------------------------------
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self._save(self.values())

    def filled(self) -> bool:
        """Something was typed or chosen beyond what the form starts with."""
        v = self.values()
        return bool(
            v["company"].strip() or any(x.strip() for x in v["contact"].values()) or v["services"] or v["requests"] or v["note"]
        )

    @on(Button.Pressed, "#cancel")
    def action_back(self) -> None:
        """Esc on a filled form asks before what was typed is thrown away."""
        if not self.filled():
            self.app.pop_screen()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.app.pop_screen()

        self.app.push_screen(
            ConfirmDialog(
                _("Discard this applicant's form? What you typed is not saved."),
                _("discard"),
                _("keep editing"),
                self.cfg.display.bidi,
            ),
            answered,
        )

    @work(exclusive=True, group="save")
    async def _save(self, v: dict[str, Any]) -> None:
        source = self.office.source
        error = self.query_one("#form-error", Static)
        bad = [k for k in CHECKED if v["contact"][k].strip() and self.field_error(k)]
        if bad:
            self.show_error(self.field_error(bad[0]) or "", bad[0])
            return
        key = self.similar_key(v)
        self.workers.cancel_group(self, "similar")  # the registration checks again itself
        try:
            reg = await source.call(
                register_applicant,
                self.cfg,
                company=v["company"],
                staff=v["staff"] or "",
                by=self.office.by,
                contact=v["contact"],
                services=v["services"],
                requests=v["requests"],
                note=v["note"],
                confirm=self.confirmed_for == key,
            )
        except ArchivistError as e:
            self.show_error(str(e), e.field or _field_of(str(e)))
            return
        rec = reg.record
        if rec is None:  # likely an earlier record: shown, and the next press confirms
            self._checked_key = key
            self.show_similar(reg.matches)
            self.confirmed_for = key
            self.show_error(
                _("this company looks like an earlier record (above); check it, then press register again to register anyway"),
                "company",
            )
            return
        error.update("")
        self.app.pop_screen()
        self.app.notify(shape(_("registered {code} {company}").format(code=rec.lead, company=rec.company), self.cfg.display.bidi))
        self.office.open_record(str(rec.folder), rec.lead)

    def show_error(self, text: str, field: str | None) -> None:
        error = self.query_one("#form-error", Static)
        error.update(shape(text, self.cfg.display.bidi))
        error.set_class(bool(text), "shown")
        for w in self.query(Input):
            if w.id == field:
                w.add_class("invalid")
                w.focus()
        if field == "staff":
            self.query_one("#staff", Select).focus()


def _field_of(message: str) -> str | None:
    """Which form field a domain message is about (`--company …`, `--staff …`, `--email …`)."""
    for key in ("company", "staff", *CONTACT_FIELDS):
        if message.startswith(f"--{key}"):
            return key
    if message.startswith(
        "say who is acting"
    ):  # untranslated: fallback match of an older English message; errors now carry ArchivistError.field
        return "staff"
    return None
