"""The results table: one row per record hit, columns sized to the terminal's width."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from ...config import Config
from ...dates import shown
from ...i18n import _, stage_label
from ..bidi import shape
from ..source import contact_of


def followup_text(cfg: Config, iso: str | None, with_time: bool = True) -> str:
    """A next follow-up as staff read it (Jalali by default); '' when there is none."""
    return shown(iso, cfg.calendar, cfg.timezone, time=with_time)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


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
        """Columns for the width: the company name gets the room; below 110 columns the contact
        column goes (the record shows it) rather than cutting names to a dozen letters."""
        width = max(self.size.width, 78)
        wide = width >= 110
        cols: list[tuple[str, str, int]] = []
        if self.extra:
            cols.append((self.extra, "extra", 9))
        cols += [(_("code"), "lead", 5), (_("case"), "case", 4)]
        tail = [
            (_("staff"), "staff", 14 if wide else 2),
            (_("stage"), "status", 16 if wide else 11),
            (_("follow-up"), "next", 16 if wide else 10),
        ]
        middle = 2 if wide else 1
        fixed = sum(w for _l, _k, w in cols + tail) + 2 * (len(cols) + len(tail) + middle) + 2
        free = max(18, width - fixed)
        if not wide:
            return cols + [(_("company"), "company", free)] + tail
        contact_w = max(8, free * 2 // 5)
        return cols + [(_("company"), "company", free - contact_w), (_("contact"), "contact", contact_w)] + tail

    def set_hits(self, hits: list[dict[str, Any]]) -> None:
        """Replace the rows, keeping the cursor on the same record when it is still there."""
        self._rows = list(hits)
        keep = (
            self.hits and self.cursor_row < self.row_count and self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        )
        layout = self._layout()
        wide = self.size.width >= 110
        mode = self.cfg.display.bidi
        if layout != self._columns:  # columns change only with the terminal's width
            self.clear(columns=True)
            for label, key, width in layout:
                self.add_column(shape(label, mode), key=key, width=width)
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
            if wide:
                staff = f"{staff} {shape(self.cfg.staff.get(staff, ''), mode)}".strip()
            values = {
                "extra": hit.get("_list_label") or hit.get("_list", ""),
                "lead": hit.get("lead") or "",
                "case": hit.get("case") or "",
                "company": shape(clip(str(hit.get("company") or ""), 60), mode),
                "contact": shape(clip(contact_of(hit), 40), mode),
                "staff": staff,
                "status": shape(stage_label(hit.get("status")), mode),
                "next": followup_text(self.cfg, hit.get("next_followup"), with_time=wide),
            }
            if hit.get("stale"):
                values["status"] = Text(f"{values['status']}!", style="bold red")
            self.add_row(*(values[k] for _l, k, _w in layout), key=key)
        if keep and keep in self.hits:
            self.move_cursor(row=self.get_row_index(keep))

    def current_hit(self) -> dict[str, Any] | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.hits.get(str(key))
