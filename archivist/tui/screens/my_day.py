"""My day: a staff member's overdue, due-today and stuck records, and the office's health —
naming violations, unfiled inbox files, the last backup and whether the daemon runs.

The health part is `office.office_health` — the same function `archivist status` and the daily
review use — shown through `office.health`; naming violations come from the index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Label, Select, Static

from ... import faults
from ...dates import now
from ...i18n import N_, _
from ...office import Health, health, office_health, unfiled_paths
from ...store import relative_to_root
from ..bidi import shape
from ..office import OfficeScreen
from ..widgets.columns import SCROLLBAR, Column, clip, fit, widest
from ..widgets.results import ResultsTable
from ..words import translate_bindings

NOT_AVAILABLE = N_("not available in this installation")


class MyDayScreen(OfficeScreen):
    BINDINGS = [Binding("escape", "back", N_("back")), Binding("ctrl+r", "reload", N_("refresh"))]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        cfg = self.cfg
        mode = cfg.display.bidi
        by = self.office.by
        yield Header()
        with Horizontal(id="day-bar"):
            yield Label(shape(_("my day for") + " ", mode))
            yield Select(
                [(f"{k} {shape(v, mode)}", k) for k, v in cfg.staff.items()],
                id="day-staff",
                compact=True,
                value=by if by in cfg.staff else Select.NULL,
                prompt=shape(_("everyone"), mode),
            )
            yield Static("", id="day-counts")
        yield Static("", id="health")
        yield ResultsTable(cfg, extra=_("list"), id="due")
        yield DataTable(id="problems", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#due").focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.reload()

    @on(Select.Changed, "#day-staff")
    def _staff_changed(self) -> None:
        self.reload()

    def staff(self) -> str | None:
        v = self.query_one("#day-staff", Select).value
        return None if v is Select.NULL else str(v)

    @work(exclusive=True, group="day")
    async def reload(self) -> None:
        source = self.office.source
        cfg = self.cfg
        staff = self.staff()
        try:
            due = await source.call(source.due, staff, now(cfg.timezone))
        except Exception as e:
            due, due_error = None, str(e)
        else:
            due_error = ""
        faults.check("tui.worker")  # the test hook of the error boundary (archivist/faults.py)
        status = await source.call(office_health, cfg, source.violations)
        violations = status["violation_list"]
        self.show(staff, due, due_error, violations, health(cfg, status), unfiled_paths(cfg, status))

    def show(
        self,
        staff: str | None,
        due: dict[str, list[dict[str, Any]]] | None,
        due_error: str,
        violations: list[dict[str, Any]] | None,
        lines_of: Health,
        unfiled: list[Path],
    ) -> None:
        rows: list[dict[str, Any]] = []
        counts = []
        mode = self.cfg.display.bidi
        for key, label in (("overdue", _("overdue")), ("today", _("today")), ("stuck", _("stuck"))):
            items = (due or {}).get(key) or []
            counts.append(f"{len(items)} {label}")
            for item in items:
                row = dict(item)
                row["_list"] = key
                row["_list_label"] = shape(label, mode)
                row["_key"] = f"{key}:{item.get('path')}"  # a record can be overdue and stuck: one row each
                rows.append(row)
        order = {"overdue": 0, "today": 1}
        rows.sort(key=lambda r: (order.get(r["_list"], 2), r["_list"], r.get("next_followup") or ""))
        self.query_one("#due", ResultsTable).set_hits(rows)
        who = f"{staff}" if staff else _("everyone")
        if due is None:
            why = _(NOT_AVAILABLE) if not due_error else _("failed: {error}").format(error=due_error)
            counts_text = _("{who}: due lists {why} (needs the index)").format(who=who, why=why)
        else:
            counts_text = f"{who}: " + " · ".join(counts)
        self.query_one("#day-counts", Static).update(shape(counts_text, mode))

        lines = []
        for key in ("daemon", "backup"):
            text, level = lines_of[key]
            lines.append(f"[{_STYLE[level]}]{_esc(shape(text, mode))}[/]")
        if violations is None:
            lines.append(_esc(shape(_("naming: {what} (needs the index)").format(what=_(NOT_AVAILABLE)), mode)))
        else:
            text = _esc(shape(_("naming violations: {n}").format(n=len(violations)), mode))
            lines.append(f"[{_STYLE['error' if violations else 'ok']}]{text}[/]")
        text, level = lines_of["unfiled"]
        lines.append(f"[{_STYLE[level]}]{_esc(shape(text, mode))}[/]")
        self.query_one("#health", Static).update("\n".join(lines))

        found: list[tuple[str, str]] = [
            (str(v.get("rule", "naming")), f"{relative_to_root(self.cfg, v.get('path'))}: {v.get('message', '')}")
            for v in violations or []
        ]
        found += [(_("unfiled"), relative_to_root(self.cfg, p)) for p in unfiled]
        layout = fit(
            [
                Column(shape(_("problem"), mode), "problem", min(20, widest((shape(r, mode) for r, _w in found), 8))),
                Column(shape(_("where"), mode), "where"),
            ],
            self.size.width - SCROLLBAR,
        )
        problems = self.query_one("#problems", DataTable)
        problems.clear(columns=True)
        for label, key, width in layout:
            problems.add_column(label, key=key, width=width)
        for rule, where in found:
            problems.add_row(shape(clip(rule, layout[0][2]), mode), shape(clip(where, layout[1][2]), mode))
        problems.display = bool(problems.row_count)

    @on(DataTable.RowSelected, "#due")
    def _open(self, event: DataTable.RowSelected) -> None:
        hit = self.query_one("#due", ResultsTable).hits.get(str(event.row_key.value))
        if hit:
            self.office.open_record(hit.get("path"), hit.get("case") or hit.get("lead"))


_STYLE = {"ok": "$success", "warning": "$warning", "error": "bold $error"}  # untranslated: a Textual style


def _esc(text: str) -> str:
    from textual.markup import escape

    return escape(text)
