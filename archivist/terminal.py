"""Text made safe for a terminal: control characters shown as visible escapes.

A leaf, because the index stores the review's lines and JSON entries already made safe
(index/review.py) and the CLI makes everything else it prints safe the same way: one rule, one
place.
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def neutralize(text: str) -> str:
    """Control characters (ESC sequences that repaint or retitle a terminal, BEL, C1 controls) as
    visible escapes, so a company name or a file name can never act on the terminal."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def json_safe(text: str) -> str:
    """JSON text with DEL and the C1 codes escaped (\\u009b): JSON escapes C0 controls itself, DEL
    and C1 (CSI 0x9b acts on some terminals) only with ensure_ascii, which would also escape every
    Persian letter."""
    return _DEL_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_DEL_C1 = re.compile("[\x7f-\x9f]")
