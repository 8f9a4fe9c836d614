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

from ...actions import Action
from ...config import Config
from ..widgets.inputs import TextInput

Submit = Callable[[dict[str, Any]], Awaitable[str | None]]


class ActionDialog(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("ctrl+s", "submit", "save")]

    def __init__(self, spec: Action, title: str, cfg: Config, submit: Submit) -> None:
        super().__init__()
        self.spec = spec
        self.title_text = title
        self.cfg = cfg
        self.submit_fn = submit

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="dialog-title", markup=False)
            with VerticalScroll(id="dialog-fields"):
                for f in self.spec.fields:
                    yield Label(f.label + (" *" if f.required else ""))
                    if f.kind == "choice":
                        yield Select([(k, k) for k in f.menu], value=f.menu[0], allow_blank=False, id=f"f-{f.name}",
                                     compact=True)
                    elif f.kind == "service":
                        opts = [(f"{p} {n}", p) for p, n in self.cfg.services.items()]
                        yield Select(opts, value=opts[0][1], allow_blank=False, id=f"f-{f.name}", compact=True)
                    else:
                        yield TextInput(placeholder=f.placeholder, id=f"f-{f.name}", compact=True)
            yield Static("", id="dialog-error", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button(self.spec.label, variant="primary", id="ok")
                yield Button("cancel", id="cancel")

    def on_mount(self) -> None:
        first = self.query("#dialog-fields Input, #dialog-fields Select").first()
        first.focus()

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.spec.fields:
            w = self.query_one(f"#f-{f.name}")
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
        missing = [f.label for f in self.spec.fields if f.required and not values.get(f.name)]
        if missing:
            self.show_error(f"{', '.join(missing)}: required")
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
        err.update(text)
        err.add_class("shown")


class MenuDialog(ModalScreen[str | None]):
    """The record's menu: the allowed actions plus opening and copying; returns the chosen id."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(id="menu"):
            yield Static(self.title_text, id="dialog-title", markup=False)
            yield OptionList(*(Option(label, id=key) for key, label in self.entries), id="menu-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
