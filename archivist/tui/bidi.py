"""How Persian text reaches the terminal (config `display.bidi`, README "Persian text in the TUI").

Textual lays text out cell by cell in logical (typed) order and leaves joining and right-to-left
ordering to the terminal. Two ways to make that legible:
- `terminal` (default): the terminal shapes and reorders (VTE/GNOME Terminal, Konsole, mlterm,
  Windows Terminal's newer builds). Such a terminal applies the bidi algorithm to a whole screen
  line, which would swap neighbouring Persian table cells and pull a number column ("01") into
  them; so every display string holding right-to-left text is fenced with LRM marks (U+200E,
  zero width, invisible where bidi is not done) and each cell reorders in place. ZWNJ stays, so
  the terminal joins letters correctly.
- `reshape`: for terminals that do neither (kitty, Alacritty, xterm, st, tmux inside a non-bidi
  terminal): join letters with arabic-reshaper (presentation forms) and put each string into
  visual order with python-bidi, one cell at a time. Never use it on a bidi terminal (it would
  reverse the text a second time).
Only display strings are shaped; what staff type in inputs stays in logical order.
"""

from __future__ import annotations

import re
from functools import lru_cache

_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_ZWNJ = "\u200c"
LRM = "\u200e"


def has_rtl(text: str) -> bool:
    return bool(_RTL.search(text))


@lru_cache(maxsize=1)
def reshape_available() -> bool:
    try:
        import arabic_reshaper  # noqa: F401
        import bidi  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=4096)
def _reshape(text: str) -> str:
    import arabic_reshaper
    from bidi import get_display

    # Presentation forms already encode "do not join here", so the zero-width ZWNJ is dropped:
    # terminals disagree on its width, and a disagreement shifts every cell after it.
    return get_display(arabic_reshaper.reshape(text)).replace(_ZWNJ, "")


def shape(text: str | None, mode: str = "terminal") -> str:
    """`text` as it should be written to the terminal in display mode `mode`."""
    if not text:
        return ""
    if not has_rtl(text):
        return text
    if mode == "reshape" and reshape_available():
        return _reshape(text)
    return f"{LRM}{text}{LRM}"
