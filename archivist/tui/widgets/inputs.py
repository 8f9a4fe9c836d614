"""Text input that keeps the Persian joiners staff type.

Textual's Input inserts only `str.isprintable()` characters, and ZWNJ (U+200C, shift+space on a
Persian keyboard) is a format character, so "نمونه‌پارس" would silently become "نمونهپارس".
This input accepts ZWNJ and ZWJ as typed.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

JOINERS = ("\u200c", "\u200d")


class TextInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        if event.character in JOINERS:
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor(event.character)
            return
        await super()._on_key(event)
