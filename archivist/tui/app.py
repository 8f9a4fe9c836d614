"""The archivist TUI: search first, then a record, my day and the register form.

Screens live in `screens/`, styles in `archivist.tcss`. The app owns the config, who is acting
(`--by` / $ARCHIVIST_STAFF) and the RecordSource through which every read and write runs off the
UI thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.worker import WorkerFailed

from .. import faults, i18n
from ..config import Config
from ..i18n import N_, _
from ..index import hook
from .bidi import shape
from .identity import remember_identity, remembered_identity
from .office import Guarded, report_error
from .source import RecordSource
from .words import translate_bindings


class RecordsProvider(Provider):
    """Command palette: records by company, code, phone… (through the same search as the first screen)."""

    async def search(self, query: str) -> Hits:
        app = self.app
        if not isinstance(app, ArchivistApp) or len(query.strip()) < 2:
            return
        try:
            hits = await app.source.call(app.source.search, query, limit=8)
        except Exception as e:  # the palette must stay usable while the index is rebuilt
            app.log.warning(f"palette search failed: {e}")
            return
        mode = app.cfg.display.bidi
        for i, h in enumerate(hits or []):
            code = h.get("case") or h.get("lead")
            label = f"{code}  {shape(str(h.get('company') or ''), mode)}"
            yield Hit(
                0.9 - i * 0.01,
                label,
                partial(app.open_record, h.get("path"), code),
                text=label,
                help=shape(
                    _("open record · {status} · staff {staff}").format(
                        status=i18n.stage_label(h.get("status")), staff=h.get("staff")
                    ),
                    mode,
                ),
            )


class RecordActionsProvider(Provider):
    """Command palette: the actions the open record's stage allows (nothing else is offered)."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        from .screens.record import RecordScreen

        screen = self.screen
        if not isinstance(screen, RecordScreen) or screen.record is None:
            return []
        return screen.palette_commands()

    async def discover(self) -> Hits:
        for title, help_, cb in self._commands():
            yield DiscoveryHit(title, cb, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_, cb in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), cb, text=title, help=help_)


class ArchivistApp(Guarded, App[None]):
    CSS_PATH = "archivist.tcss"
    TITLE = "archivist"
    COMMANDS = App.COMMANDS | {RecordsProvider, RecordActionsProvider}
    BINDINGS = [
        Binding("f2", "search", N_("search")),
        Binding("f3", "my_day", N_("my day")),
        Binding("f4", "register", N_("register")),
        Binding("ctrl+t", "toggle_dark", N_("theme"), show=False),
    ]

    def __init__(
        self, cfg: Config, *, by: str | None = None, source: RecordSource | None = None, theme: str | None = None
    ) -> None:
        super().__init__()
        i18n.set_surface("screen")  # errors name fields and actions, not CLI flags
        translate_bindings(self)
        self.cfg = cfg
        if cfg.accounts:  # identity is the login (`archivist tui` resolved it already when it passes `by`)
            from ..identity import resolve

            by = by if by is not None else resolve(cfg, os.environ.get("ARCHIVIST_STAFF")).by
        self.by = by if by is not None else os.environ.get("ARCHIVIST_STAFF") or remembered_identity(cfg)
        self.source = source or RecordSource(cfg)
        self._theme_name = theme or os.environ.get("ARCHIVIST_THEME") or "textual-dark"
        self._show_acting()

    def on_mount(self) -> None:
        from .screens.search import SearchScreen

        self.theme = self._theme_name
        ensure_index_listener(self)
        self.push_screen(SearchScreen())
        if not self.by:
            self.ask_identity()

    def ask_identity(self) -> None:
        """First use on this account: who are you? (staff list from config; remembered)."""
        from .screens.dialogs import IdentityDialog
        from .screens.search import SearchScreen

        def chosen(staff: str | None) -> None:
            if staff:
                self.act_as(staff)
                if isinstance(self.screen, SearchScreen):
                    self.screen.run_search()  # the empty search shows the chosen person's records

        self.push_screen(IdentityDialog(self.cfg), chosen)

    def _show_acting(self) -> None:
        if self.by:
            who = _("acting as {staff} {name}").format(staff=self.by, name=self.cfg.staff.get(self.by, ""))
        else:
            who = _("who are you? (ctrl+p, “act as”)")
        self.sub_title = shape(f"{self.cfg.root.name} · {who}".strip(), self.cfg.display.bidi)

    def _handle_exception(self, error: Exception) -> None:
        """Textual ends the app on an exception a worker or a widget's handler let through; while
        the app runs it is one notification instead (`report_error`), and the app goes on."""
        if not self.is_running or not isinstance(error, Exception):
            super()._handle_exception(error)
            return
        cause = error.error if isinstance(error, WorkerFailed) else error
        report_error(self, cause)

    def on_unmount(self) -> None:
        self.source.close()
        i18n.set_surface("cli")

    # -- navigation ----------------------------------------------------------------------------------
    def _top_of(self, kind: type[Screen]) -> bool:
        """Pop back to an open screen of this kind; False when none is on the stack."""
        if not any(isinstance(s, kind) for s in self.screen_stack):
            return False
        while not isinstance(self.screen, kind):
            self.pop_screen()
        return True

    def action_search(self) -> None:
        from .screens.search import SearchScreen

        if self._top_of(SearchScreen):
            self.screen.query_one("#query").focus()

    def action_my_day(self) -> None:
        from .screens.my_day import MyDayScreen

        faults.check("tui.action")  # the test hook of the error boundary (archivist/faults.py)
        faults.check("tui.user")
        if isinstance(self.screen, MyDayScreen):
            self.screen.reload()
        else:
            self.push_screen(MyDayScreen())

    def action_register(self) -> None:
        from .screens.register import RegisterScreen

        if not isinstance(self.screen, RegisterScreen):
            self.push_screen(RegisterScreen())

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def open_record(self, path: str | None, code: str | None = None) -> None:
        from .screens.record import RecordScreen

        self.push_screen(RecordScreen(path=path, code=code))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(_("Search records"), _("the first screen (F2)"), self.action_search)
        yield SystemCommand(_("My day"), _("overdue, due today, stuck; naming, inbox, backup, daemon (F3)"), self.action_my_day)
        yield SystemCommand(_("Register an applicant"), _("the new-applicant form (F4)"), self.action_register)
        yield SystemCommand(
            _("Toggle light/dark"), _("switch between the light and dark theme (ctrl+t)"), self.action_toggle_dark
        )
        for number, name in self.cfg.staff.items():
            yield SystemCommand(
                _("Act as {staff} {name}").format(staff=number, name=name),
                _("who is recorded as acting in new events"),
                partial(self.act_as, number),
                discover=False,
            )

    def act_as(self, staff: str) -> None:
        if self.cfg.accounts:  # identity is the login: only an admin acts for someone else
            from ..errors import ArchivistError
            from ..identity import act_for_in_process, resolve

            try:
                acting = resolve(self.cfg, staff)
            except ArchivistError as e:
                self.notify(shape(str(e), self.cfg.display.bidi), severity="error")
                return
            act_for_in_process(acting.on_behalf)
            self.by = acting.by
            self._show_acting()
            return
        self.by = staff
        remember_identity(self.cfg, staff)
        self._show_acting()
        self.notify(
            shape(_("acting as {staff} {name}").format(staff=staff, name=self.cfg.staff.get(staff, "")), self.cfg.display.bidi)
        )


def ensure_index_listener(app: ArchivistApp) -> None:
    """Keep the index fresh for what the TUI changes itself when no daemon is running.

    The index package provides a `workflow.on_change` listener (`archivist.index.hook.install`);
    actions run on the source's single I/O thread, so the listener's connection stays on it too.
    """

    hook.install()


def run(cfg: Config, by: str | None = None) -> int:
    """Open the TUI (the `archivist tui` command)."""
    ArchivistApp(cfg, by=by).run()
    return 0
