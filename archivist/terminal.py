"""Text made safe for a terminal: control characters shown as visible escapes.

A leaf, because the index stores the text review's lines already made safe (index/review.py)
and the CLI makes everything else it prints safe the same way: one rule, one place.
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def neutralize(text: str) -> str:
    """Control characters (ESC sequences that repaint or retitle a terminal, BEL, C1 controls) as
    visible escapes, so a company name or a file name can never act on the terminal."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
