"""The search, record and My day screens with `ui.language: fa` (the office's default), at 80×24.

Same archive and pinned time as tests/test_tui_snapshots.py; update after an intended change with
`python -m pytest tests/test_tui_snapshots_fa.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest

from archivist.config import Config
from archivist.tui.app import ArchivistApp

from .test_tui_snapshots import _typing, office  # noqa: F401 - the shared archive fixture


@pytest.fixture(autouse=True)
def _in_persian(persian: None) -> None:
    """Every snapshot here is the Persian office's screen."""


def test_search_screen_fa(office: Config, snap_compare: Any) -> None:  # noqa: F811
    assert snap_compare(ArchivistApp(office), terminal_size=(80, 24), run_before=_typing(*"شرکت"))


def test_empty_search_screen_fa_lists_my_open_records(office: Config, snap_compare: Any) -> None:  # noqa: F811
    assert snap_compare(ArchivistApp(office), terminal_size=(80, 24), run_before=_typing())


def test_record_screen_fa(office: Config, snap_compare: Any) -> None:  # noqa: F811
    assert snap_compare(ArchivistApp(office), terminal_size=(80, 24), run_before=_typing(*"1001", "enter"))


def test_my_day_screen_fa(office: Config, snap_compare: Any) -> None:  # noqa: F811
    assert snap_compare(ArchivistApp(office), terminal_size=(80, 24), run_before=_typing("f3"))
