"""The typed view the screens have of the app: what `ArchivistApp` offers them.

Screens reach the app through `self.office` (a Protocol, so this module needs no import of the app
and the app none of the screens at import time) instead of `self.app.cfg  # type: ignore`.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from textual.screen import Screen

from ..config import Config
from .source import RecordSource


class OfficeApp(Protocol):
    cfg: Config
    by: str | None
    source: RecordSource

    def open_record(self, path: str | None, code: str | None = None) -> None: ...


class OfficeScreen(Screen[Any]):
    """A screen of the archivist app."""

    @property
    def office(self) -> OfficeApp:
        return cast(OfficeApp, self.app)

    @property
    def cfg(self) -> Config:
        return self.office.cfg
