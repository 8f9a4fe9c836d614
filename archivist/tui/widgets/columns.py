"""Column widths for a terminal's width: every header whole, one column takes what is left.

A DataTable column narrower than its header cuts the header («پرون» for «پرونده»), so a column
is never narrower than its label in the language shown; the column that holds names (the company,
a note, a file) gets the rest of the width.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.cells import cell_len

PADDING = 2  # a DataTable cell's padding, one cell each side
SCROLLBAR = 2  # a vertical scrollbar's width: kept free by tables filled before they know their height


@dataclass(frozen=True)
class Column:
    label: str  # as shown (shaped)
    key: str
    width: int = 0  # the content's width; 0: this column takes the rest
    least: int = 8  # the rest is never below this


def widest(texts: Iterable[str], at_least: int = 1) -> int:
    """The widest of these texts in terminal cells."""
    return max([at_least, *(cell_len(t) for t in texts)])


def fit(columns: list[Column], total: int) -> list[tuple[str, str, int]]:
    """(label, key, width) for each column: each at least its label's width, the flexible one the
    rest of `total` cells (the table's width inside any scrollbar)."""
    widths = [max(c.width, cell_len(c.label)) if c.width else 0 for c in columns]
    used = sum(widths) + PADDING * len(columns)
    return [(c.label, c.key, w or max(c.least, cell_len(c.label), total - used)) for c, w in zip(columns, widths, strict=True)]


def clip(text: str, width: int) -> str:
    """`text` cut to `width` cells, with an ellipsis when it was cut."""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"
