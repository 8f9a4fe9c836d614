"""Modal dialogs: the fields one action asks for, and the record's action menu.

A dialog stays open until the domain layer accepts the action, so a refusal (shown in the
dialog) never throws away the note someone just typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ... import workflow
from ...actions import Action
from ...config import Config
from ...i18n import N_, _, action_label, kind_label
from ...record import Record
from ..bidi import shape
from ..office import Guarded
from ..widgets.inputs import TextInput
from ..words import translate_bindings

Submit = Callable[[dict[str, Any]], Awaitable[str | None]]


class ActionDialog(Guarded, ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", N_("cancel")), Binding("ctrl+s", "submit", N_("save"))]

    def __init__(self, spec: Action, title: str, cfg: Config, submit: Submit, record: Record | None = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.spec = spec
        self.title_text = title
        self.cfg = cfg
        self.submit_fn = submit
        self.record = record
        self.confirmed: str | None = None  # the service the user confirmed after a warning

    def compose(self) -> ComposeResult:
        mode = self.cfg.display.bidi
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="dialog-title", markup=False)
            with VerticalScroll(id="dialog-fields"):
                for f in self.spec.fields:
                    yield Label(shape(_(f.label) + (" *" if f.required else ""), mode))
                    if f.kind == "choice":
                        yield Select(
                            [(shape(kind_label(k) if f.name == "kind" else _(k), mode), k) for k in f.menu],
                            value=f.menu[0],
                            allow_blank=False,
                            id=f"f-{f.name}",
                            compact=True,
                        )
                    elif f.kind == "service":
                        yield from self._service_field(f.name)
                    else:
                        yield TextInput(placeholder=_(f.placeholder) if f.placeholder else "", id=f"f-{f.name}", compact=True)
            yield Static("", id="dialog-error", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button(shape(action_label(self.spec.name), mode), variant="primary", id="ok")
                yield Button(shape(_("cancel"), mode), id="cancel")
            yield Static(shape(_("ctrl+s save · Esc cancel · Tab next field"), mode), classes="dialog-keys", markup=False)

    def _service_field(self, name: str) -> ComposeResult:
        """The service a conversion takes: the one the applicant asked for pre-selected, and the
        code range it will give shown as it changes (a case code's first digit is its service)."""
        mode = self.cfg.display.bidi
        opts = [(f"{p} {shape(n, mode)}", p) for p, n in self.cfg.services.items()]
        asked = workflow.requested_prefixes(self.cfg, self.record) if self.record is not None else []
        value = asked[0] if asked else Select.NULL
        yield Select(
            opts, value=value, allow_blank=not asked, prompt=shape(_("choose the service"), mode), id=f"f-{name}", compact=True
        )
        yield Static(self._range_text(value), id="service-range", markup=False)

    def _range_text(self, prefix: Any) -> str:
        if prefix is Select.NULL or not prefix:
            return ""
        return shape(
            _("→ case code {range}").format(range=workflow.case_code_range(self.cfg, str(prefix))), self.cfg.display.bidi
        )

    @on(Select.Changed)
    def _service_changed(self, event: Select.Changed) -> None:
        if event.select.id == "f-service":
            self.query_one("#service-range", Static).update(self._range_text(event.value))

    def on_mount(self) -> None:
        # typing straight away goes into the first text field (the note of a log), never into a list
        first = (
            self.query("#dialog-fields Input").first() if self.query("#dialog-fields Input") else None
        )  # untranslated: a Textual CSS selector
        (first or self.query("#dialog-fields Select").first()).focus()  # untranslated: a Textual CSS selector

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.spec.fields:
            w: Any = self.query_one(f"#f-{f.name}", Input if f.kind not in ("choice", "service") else Select)
            v = w.value
            out[f.name] = None if v is Select.NULL else (v.strip() if isinstance(v, str) else v)
        return out

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def action_submit(self) -> None:
        values = self.values()
        missing = [_(f.label) for f in self.spec.fields if f.required and not values.get(f.name)]
        if missing:
            self.show_error(_("{fields}: required").format(fields=", ".join(missing)))
            return
        if self.spec.name == "convert" and self.record is not None and values.get("service") != self.confirmed:
            warning = workflow.convert_warning(self.cfg, self.record, str(values.get("service")))
            if warning:
                self.confirmed = str(values.get("service"))
                self.show_error(warning + " — " + _("press {action} again to confirm").format(action=action_label("convert")))
                return
        self._submit(values)

    @work(exclusive=True, group="submit")
    async def _submit(self, values: dict[str, Any]) -> None:
        self.query_one("#ok", Button).disabled = True
        try:
            error = await self.submit_fn(values)
        finally:
            self.query_one("#ok", Button).disabled = False
        if error:
            self.show_error(error)
        else:
            self.dismiss(True)

    def show_error(self, text: str) -> None:
        err = self.query_one("#dialog-error", Static)
        err.update(shape(text, self.cfg.display.bidi))
        err.add_class("shown")


class _ChoiceDialog(Guarded, ModalScreen[str | None]):
    """A list to choose one entry from: focused on opening, Enter returns the entry's id, Esc None."""

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MenuDialog(_ChoiceDialog):
    """The record's menu: the allowed actions plus opening and copying; returns the chosen id."""

    BINDINGS = [Binding("escape", "cancel", N_("cancel"))]

    def __init__(self, title: str, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        translate_bindings(self)
        self.title_text = title
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(id="menu"):
            yield Static(self.title_text, id="dialog-title", markup=False)
            yield OptionList(*(Option(label, id=key) for key, label in self.entries), id="menu-options")
            yield Static(_("Enter chooses · Esc cancel"), classes="dialog-keys", markup=False)


class IdentityDialog(_ChoiceDialog):
    """Who are you? The staff list from config; the choice is remembered for this account."""

    BINDINGS = [Binding("escape", "cancel", N_("later"))]

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        translate_bindings(self)
        self.cfg = cfg

    def compose(self) -> ComposeResult:
        mode = self.cfg.display.bidi
        with Vertical(id="menu"):
            yield Static(
                shape(_("Who are you? Events you record carry your staff number."), mode), id="dialog-title", markup=False
            )
            yield OptionList(*(Option(f"{k}  {shape(v, mode)}", id=k) for k, v in self.cfg.staff.items()), id="who")
            yield Static(
                shape(_("Enter chooses · Esc later (ctrl+p “act as” changes it)"), mode), classes="dialog-keys", markup=False
            )


class ConfirmDialog(Guarded, ModalScreen[bool]):
    """A yes/no question; y or the first button says yes, n, Esc or the second says no."""

    BINDINGS = [
        Binding("escape", "no", N_("keep editing")),
        Binding("y", "yes", N_("discard"), show=False),
        Binding("n", "no", N_("keep editing"), show=False),
    ]

    def __init__(self, question: str, yes: str, no: str, mode: str = "terminal") -> None:
        super().__init__()
        translate_bindings(self)
        self.question, self.yes, self.no, self.mode = question, yes, no, mode

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(shape(self.question, self.mode), id="dialog-title", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button(shape(self.yes, self.mode), variant="error", id="yes")
                yield Button(shape(self.no, self.mode), variant="primary", id="no")
            yield Static(
                shape(_("y {yes} · n or Esc {no}").format(yes=self.yes, no=self.no), self.mode),
                classes="dialog-keys",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)
