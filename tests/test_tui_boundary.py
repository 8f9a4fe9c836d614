"""The TUI's error boundary (issue 13): a failure in a key-bound action or in a worker is one
notification line — a user error its message only, a bug one line naming its report — and the app
goes on. Real Textual app through Pilot; the failures are real exceptions raised at the points the
documented ARCHIVIST_FAULTS hook names (archivist/faults.py), not mocks of the code under test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from archivist import faults
from archivist.config import Config
from archivist.tui.app import ArchivistApp
from archivist.tui.screens.my_day import MyDayScreen
from tests.test_tui import archive, pilot_test, settle  # noqa: F401 - the fixture is used by name

REPORT = re.compile(r"the full report is in (\S+\.txt)")


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    def set_faults(spec: str) -> None:
        monkeypatch.setenv("ARCHIVIST_FAULTS", spec)
        faults.reset()

    yield set_faults
    monkeypatch.delenv("ARCHIVIST_FAULTS", raising=False)
    faults.reset()


def _notes(app: ArchivistApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pilot_test
async def test_a_bug_in_an_action_is_one_line_naming_its_report_and_the_app_goes_on(archive: Config, inject) -> None:  # noqa: F811
    inject("tui.action=1")
    app = ArchivistApp(archive, by="01")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f3")
        await settle(pilot, app)
        notes = _notes(app)
        assert len(notes) == 1 and "\n" not in notes[0], notes
        assert notes[0].startswith("unexpected error (InjectedFault: injected failure at tui.action (ARCHIVIST_FAULTS))")
        report = Path(REPORT.search(notes[0]).group(1))  # type: ignore[union-attr]
        assert "Traceback" in report.read_text(encoding="utf-8") and "action_my_day" in report.read_text(encoding="utf-8")
        assert report.parent == archive.root / ".archivist" / "crash-reports"
        assert app.is_running and not isinstance(app.screen, MyDayScreen)
        await pilot.press("f3")  # the same key again: the app and its bindings still work
        await settle(pilot, app)
        assert isinstance(app.screen, MyDayScreen)
    assert app.return_code in (0, None)


@pilot_test
async def test_a_user_error_shows_its_message_only(archive: Config, inject) -> None:  # noqa: F811
    inject("tui.user=1")
    app = ArchivistApp(archive, by="01")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f3")
        await settle(pilot, app)
        assert _notes(app) == ["injected user error at tui.user (ARCHIVIST_FAULTS)"]
        assert not (archive.root / ".archivist" / "crash-reports").exists()
        await pilot.press("f3")
        await settle(pilot, app)
        assert isinstance(app.screen, MyDayScreen)


@pilot_test
async def test_a_bug_in_a_worker_is_reported_and_the_screen_reloads_after(archive: Config, inject) -> None:  # noqa: F811
    inject("tui.worker=1")
    app = ArchivistApp(archive, by="01")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f3")
        await settle(pilot, app)
        notes = _notes(app)
        assert len(notes) == 1 and notes[0].startswith("unexpected error (InjectedFault: injected failure at tui.worker"), notes
        assert REPORT.search(notes[0])
        assert isinstance(app.screen, MyDayScreen) and app.is_running
        await pilot.press("f3")  # reload: the worker runs again and fills the screen
        await settle(pilot, app)
        assert len(_notes(app)) == 1


@pilot_test
async def test_the_line_is_in_persian_for_a_persian_office(archive: Config, inject, persian: None) -> None:  # noqa: F811
    inject("tui.action=1")
    app = ArchivistApp(archive, by="01")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f3")
        await settle(pilot, app)
        (note,) = _notes(app)
        assert "unexpected error" not in note and "InjectedFault" in note and REPORT.search(note) is None
        assert str(archive.root / ".archivist" / "crash-reports") in note
