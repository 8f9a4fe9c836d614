"""The typed view the screens have of the app: what `ArchivistApp` offers them.

Screens reach the app through `self.office` (a Protocol, so this module needs no import of the app
and the app none of the screens at import time) instead of `self.app.cfg  # type: ignore`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol, cast

from textual.app import App
from textual.message import Message
from textual.screen import Screen

from ..boundary import describe
from ..config import Config
from .bidi import shape
from .source import RecordSource

log = logging.getLogger("archivist.tui")


class OfficeApp(Protocol):
    cfg: Config
    by: str | None
    source: RecordSource

    def open_record(self, path: str | None, code: str | None = None) -> None: ...


def report_error(app: App[Any], e: BaseException) -> None:
    """The TUI's error boundary (the CLI's rule, `boundary.describe`): a user error is its message
    in one notification; anything else one line saying where its full report was written. The
    app keeps running."""
    cfg = cast(Config | None, getattr(app, "cfg", None))
    line, where = describe(cfg, e, "archivist tui")  # untranslated: the crash report's first line (a file for support)
    if where is not None:
        log.error("%s", line)
    try:
        app.notify(shape(line, cfg.display.bidi) if cfg else line, severity="error", timeout=20)
    except Exception:  # noqa: BLE001 - an app already closing: the report is written, nothing to show on
        log.error("could not show: %s", line)


class Guarded:
    """A message pump (the app, a screen, a dialog) whose handlers and key-bound actions fail into
    one notification instead of ending the app. Textual stops a pump's message loop after a handler
    raises, so the failure is caught one level below, where each message is dispatched."""

    async def _dispatch_message(self, message: Message) -> None:
        try:
            await super()._dispatch_message(message)  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - the boundary: reported, the screen goes on
            report_error(cast(Any, self).app, e)


class OfficeScreen(Guarded, Screen[Any]):
    """A screen of the archivist app."""

    @property
    def office(self) -> OfficeApp:
        return cast(OfficeApp, self.app)

    @property
    def cfg(self) -> Config:
        return self.office.cfg
