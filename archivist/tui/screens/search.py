"""The first screen: one input, results as you type, filters, Enter opens the record."""

from __future__ import annotations

import time
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from ...i18n import N_, _, ngettext, stage_label
from ...stages import STAGES
from ..bidi import shape
from ..office import OfficeScreen
from ..widgets.inputs import TextInput
from ..widgets.results import ResultsTable
from ..words import translate_bindings

RESULT_ROWS = 100  # a screenful or three; more typing narrows it
DEBOUNCE_S = 0.015  # coalesces a burst (pasted text, key repeat); typing stays immediate


class SearchScreen(OfficeScreen):
    BINDINGS = [
        Binding("escape", "clear_query", N_("clear")),
        Binding("down", "focus_results", N_("results"), show=False),
        Binding("ctrl+r", "refresh", N_("refresh"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self._timer: Timer | None = None
        self.shown_query: str | None = None  # the query whose results the table shows (tests, bench)
        self.shown_at = 0.0

    def compose(self) -> ComposeResult:
        cfg = self.office.cfg
        mode = cfg.display.bidi
        yield Header()
        yield TextInput(placeholder=_("company, code, phone, email, contract, invoice, file…"), id="query")
        with Horizontal(id="filters"):
            yield Select(
                [(shape(stage_label(s), mode), s) for s in STAGES], prompt=shape(_("any stage"), mode), id="stage", compact=True
            )
            yield Select(
                [(f"{k} {shape(v, mode)}", k) for k, v in cfg.staff.items()],
                prompt=shape(_("any staff"), mode),
                id="staff",
                compact=True,
            )
            yield Select(
                [(shape(_("open only"), mode), "open"), (shape(_("archived only"), mode), "archived")],
                prompt=shape(_("open + archived"), mode),
                id="scope",
                compact=True,
            )
        yield ResultsTable(cfg, id="results")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        self.run_search()

    def on_screen_resume(self) -> None:
        # back from a record: its stage or folder may have changed
        if self.shown_query is not None:
            self.run_search()

    # -- searching ----------------------------------------------------------------------------------
    @on(Input.Changed, "#query")
    def _typed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_S, self.run_search)

    @on(Select.Changed)
    def _filtered(self) -> None:
        self.run_search()

    def filters(self) -> dict[str, Any]:
        def value(sel_id: str) -> Any:
            v = self.query_one(sel_id, Select).value
            return None if v is Select.NULL else v

        scope = value("#scope")
        return {"status": value("#stage"), "staff": value("#staff"), "archived": None if scope is None else scope == "archived"}

    def run_search(self) -> None:
        source = self.office.source
        source.generation += 1
        self._search(self.query_one("#query", Input).value, self.filters(), source.generation)

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(shape(text, self.office.cfg.display.bidi))

    @work(exclusive=True, group="search")
    async def _search(self, query: str, filters: dict[str, Any], generation: int) -> None:
        source = self.office.source
        status = self.query_one("#status", Static)
        progress = None
        if not source.opened:
            opening = _("opening the index (the first start builds it from the folders: minutes on a big archive)")
            self._say(opening + "…")
            progress = self.set_interval(0.5, lambda: self._say(f"{opening}: {source.building or '…'}"))
        mine = self.office.by
        try:
            hits = await source.call(source.search, query, generation=generation, limit=RESULT_ROWS, mine=mine, **filters)
        except Exception as e:  # show it; the next keystroke tries again
            self._say(_("search failed: {error}").format(error=e))
            status.add_class("error")
            return
        finally:
            if progress is not None:
                progress.stop()
        if hits is None or generation != source.generation:
            return  # a newer search is on its way
        self.query_one(ResultsTable).set_hits(hits)
        self.shown_query = query
        self.shown_at = time.perf_counter()
        status.remove_class("error")
        n = len(hits)
        more = "+" if n >= RESULT_ROWS else ""
        if query or any(v is not None for v in filters.values()):
            msg = ngettext("{n}{more} record", "{n}{more} records", n).format(n=n, more=more)
        elif mine:
            msg = _("your open records, most urgent first ({n}{more}); type to search").format(n=n, more=more)
        else:
            msg = _("type to search")
        if source.notice:
            msg += f" · {source.notice}"
        self._say(msg + " · " + _("Enter opens · F3 my day · F4 register"))
        if source.catch_up_due:
            source.catch_up_due = False  # here, not on the slow thread: a search finishing
            self._catch_up()  # meanwhile must not start a second walk

    @work(group="catch-up")
    async def _catch_up(self) -> None:
        """No daemon runs: bring the index up to date with the folders, then search again."""
        source = self.office.source
        try:
            changed = await source.call_slow(source.catch_up)
        except Exception as e:  # the results shown stay usable; say why they may be behind
            self._say(_("could not check the folders for changes: {error}").format(error=e))
            return
        if changed:
            self.run_search()

    # -- moving around ------------------------------------------------------------------------------
    def action_clear_query(self) -> None:
        q = self.query_one("#query", Input)
        q.value = ""
        q.focus()

    def action_focus_results(self) -> None:
        self.query_one(ResultsTable).focus()

    def action_refresh(self) -> None:
        self.run_search()

    @on(Input.Submitted, "#query")
    def _open_first(self) -> None:
        table = self.query_one(ResultsTable)
        hit = table.current_hit()
        if hit:
            self._open(hit)

    @on(DataTable.RowSelected, "#results")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        hit = self.query_one(ResultsTable).hits.get(str(event.row_key.value))
        if hit:
            self._open(hit)

    def _open(self, hit: dict[str, Any]) -> None:
        self.office.open_record(hit.get("path"), hit.get("case") or hit.get("lead"))
