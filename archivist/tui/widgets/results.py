"""The results table: one row per record hit, columns sized to the terminal's width."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from ...config import Config
from ...dates import shown
from ...i18n import _, stage_label
from ...stages import STAGES
from ..bidi import shape
from ..source import contact_of
from .columns import PADDING, Column, clip, fit, widest


def followup_text(cfg: Config, iso: str | None, with_time: bool = True) -> str:
    """A next follow-up as staff read it (Jalali by default); '' when there is none."""
    return shown(iso, cfg.calendar, cfg.timezone, time=with_time)


WIDE = 110  # from this width: applicant and case codes apart, the contact, follow-up times
STAFF_NAMES = 140  # from this width: the staff member's name beside the number


class ResultsTable(DataTable):
    """Search hits (or due items) as rows keyed by record path; Enter posts RowSelected."""

    def __init__(self, cfg: Config, *, extra: str | None = None, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.cfg = cfg
        self.extra = extra  # an optional first column (e.g. "list" on the my-day screen)
        self.hits: dict[str, dict[str, Any]] = {}
        self._rows: list[dict[str, Any]] = []
        self._columns: list[tuple[str, str, int]] = []

    def on_resize(self) -> None:
        if self._layout() != self._columns:
            self.set_hits(self._rows)

    def _layout(self) -> list[tuple[str, str, int]]:
        """Columns for the width: every header whole in the language shown, every stage name
        whole, and the company name gets the rest. Below 110 columns one code column (the case
        code once there is one, else the applicant code) and no contact column (the record shows
        it), rather than cutting names to a dozen letters."""
        width = max(self.size.width, 78)
        wide = width >= WIDE
        mode = self.cfg.display.bidi
        cols: list[Column] = []
        if self.extra:
            labels = {str(h.get("_list_label") or h.get("_list") or "") for h in self._rows}
            cols.append(Column(shape(self.extra, mode), "extra", widest(labels, 4)))
        stage_w = widest(shape(stage_label(s), mode) for s in STAGES)
        if wide:
            cols += [Column(shape(_("code"), mode), "lead", 5), Column(shape(_("case"), mode), "case", 4)]
            cols += [Column(shape(_("company"), mode), "company")]
            staff_w = 14 if width >= STAFF_NAMES else 2
            tail = [(_("staff"), "staff", staff_w), (_("stage"), "status", max(16, stage_w)), (_("follow-up"), "next", 16)]
        else:
            cols += [Column(shape(_("code"), mode), "code", 5), Column(shape(_("company"), mode), "company")]
            tail = [(_("staff"), "staff", 2), (_("stage"), "status", stage_w), (_("follow-up"), "next", 10)]
        cols += [Column(shape(label, mode), key, w) for label, key, w in tail]
        if not wide:
            return fit(cols, width)
        # wide: the contact takes a third of what the company would have had, at most 20 cells
        rest = next(w for _l, key, w in fit(cols, width) if key == "company")
        at = [c.key for c in cols].index("company") + 1
        contact = shape(_("contact"), mode)
        cols.insert(at, Column(contact, "contact", max(10, cell_len(contact), min(20, (rest - PADDING) // 3))))
        return fit(cols, width)

    def set_hits(self, hits: list[dict[str, Any]]) -> None:
        """Replace the rows, keeping the cursor on the same record when it is still there."""
        self._rows = list(hits)
        keep = (
            self.hits and self.cursor_row < self.row_count and self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        )
        layout = self._layout()
        wide = self.size.width >= WIDE
        names = self.size.width >= STAFF_NAMES
        mode = self.cfg.display.bidi
        room = {key: w for _l, key, w in layout}
        if layout != self._columns:  # columns change only with the terminal's width (and My day's lists)
            self.clear(columns=True)
            for label, key, width in layout:
                self.add_column(label, key=key, width=width)
            self._columns = layout
        else:
            self.clear()
        self.hits = {}
        for hit in self._rows:
            key = str(hit.get("_key") or hit.get("path") or hit.get("lead"))
            if key in self.hits:
                continue
            self.hits[key] = hit
            staff = hit.get("staff") or ""
            if names:
                staff = f"{staff} {shape(self.cfg.staff.get(staff, ''), mode)}".strip()
            values = {
                "extra": hit.get("_list_label") or hit.get("_list", ""),
                "lead": hit.get("lead") or "",
                "case": hit.get("case") or "",
                "code": hit.get("case") or hit.get("lead") or "",
                "company": shape(clip(str(hit.get("company") or ""), room.get("company", 60)), mode),
                "contact": shape(clip(contact_of(hit), room.get("contact", 40)), mode),
                "staff": staff,
                "status": shape(stage_label(hit.get("status")), mode),
                "next": followup_text(self.cfg, hit.get("next_followup"), with_time=wide),
            }
            if hit.get("stale"):
                values["status"] = Text(f"{values['status']}!", style="bold red")  # untranslated: a Textual style
            self.add_row(*(values[k] for _l, k, _w in layout), key=key)
        if keep and keep in self.hits:
            self.move_cursor(row=self.get_row_index(keep))

    def current_hit(self) -> dict[str, Any] | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.hits.get(str(key))
