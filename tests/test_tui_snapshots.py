"""Snapshots of the search, record and my-day screens at 80×24 and 120×40 with Persian content.

Time is pinned with $ARCHIVIST_NOW and the archive is built from fixed data, so a snapshot only
changes when what staff see changes. Update after an intended change with
`python -m pytest tests/test_tui_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from textual.pilot import Pilot

from archivist import workflow
from archivist.config import Config, DisplayConfig
from archivist.tui.app import ArchivistApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def at(day: int, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"2026-11-{day:02d}T{hour:02d}:00:00+03:30")


@pytest.fixture
def office(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    """A small office archive: applicants and cases at several stages, Persian names and notes."""
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-20T10:00:00+03:30")
    reg = workflow.register
    reg(
        cfg,
        company="شرکت نمونه‌پارس",
        staff="01",
        contact={"person": "علی رضایی", "mobile": "۰۹۱۲ ۱۲۳ ۴۵۶۷", "email": "ali@nemoone.ir"},
        services=["1"],
        requests=["پیش‌فاکتور"],
        at=at(10),
    )
    reg(cfg, company="صنایع فولاد کاوه", staff="07", contact={"person": "مهندس کاظمی", "phone": "021-8877 6655"}, at=at(11))
    reg(cfg, company="شرکت پخش البرز", staff="01", contact={"email": "info@alborz.example"}, at=at(12))
    reg(cfg, company="Kish Trading Co", staff="02", contact={"person": "Sara Moradi"}, at=at(13))
    reg(cfg, company="شرکت داروسازی سها", staff="01", contact={"person": "دکتر سهرابی"}, services=["2"], at=at(14))
    workflow.log_event(cfg, "00001", kind="call", note="تماس اول؛ پیش‌فاکتور ارسال شد", by="01", at=at(11))
    workflow.convert(cfg, "00001", service="1", by="01", note="قرارداد ایزو ۹۰۰۱")
    workflow.sign_contract(cfg, "1001", by="01")
    workflow.add_invoice(cfg, "1001", by="01", amount="120000000", tax_id=None, note="پیش‌پرداخت")
    workflow.record_service(cfg, "1001", note="ممیزی مرحله اول", by="01")
    workflow.log_event(cfg, "00003", kind="call", note="مشتری بودجه ندارد", by="01", at=at(13))
    workflow.decline(cfg, "00003", by="01", note="فعلاً نه")
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T09:30:00+03:30")
    return cfg


async def _settled(pilot: Pilot) -> None:
    for _ in range(3):
        await pilot.pause(0.06)
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _typing(*keys: str) -> Any:
    async def run(pilot: Pilot) -> None:
        await _settled(pilot)
        await pilot.press(*keys)
        await _settled(pilot)
        # a blinking cursor is on or off depending on when the picture is taken: hold it on, so a
        # busy machine cannot change the snapshot
        from textual.widgets import Input

        for screen in pilot.app.screen_stack:
            for field in screen.query(Input):
                field.cursor_blink = False
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES)
def test_search_screen_persian_results(office: Config, snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(ArchivistApp(office), terminal_size=size, run_before=_typing(*"شرکت"))


@pytest.mark.parametrize("size", SIZES)
def test_record_screen_case_with_timeline(office: Config, snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(ArchivistApp(office), terminal_size=size, run_before=_typing(*"1001", "enter"))


@pytest.mark.parametrize("size", SIZES)
def test_my_day_screen(office: Config, snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(ArchivistApp(office), terminal_size=size, run_before=_typing("f3"))


def test_search_screen_reshaped_in_light_theme(office: Config, snap_compare: Any) -> None:
    """`display.bidi: reshape` (for terminals without bidi): joined letters in visual order per cell.

    A browser or SVG viewer applies bidi itself, so this snapshot looks reversed there: the very
    reason reshape is only for terminals that do no bidi (README, "Persian text in the TUI").
    """
    app = ArchivistApp(replace(office, display=DisplayConfig(bidi="reshape")), theme="textual-light")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_typing(*"شرکت"))
