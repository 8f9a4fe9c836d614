"""The TUI driven through Textual's Pilot on a real archive in tmp_path: what staff type and see,
and what lands in the F-31-08-01 files on disk."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select, Static

from archivist import workflow
from archivist.config import Config
from archivist.record import LOG_NAME, load_record
from archivist.tui.app import ArchivistApp
from archivist.tui.bidi import LRM, shape
from archivist.tui.screens.dialogs import ActionDialog
from archivist.tui.screens.my_day import MyDayScreen
from archivist.tui.screens.record import RecordScreen
from archivist.tui.screens.register import RegisterScreen
from archivist.tui.screens.search import SearchScreen
from archivist.tui.widgets.results import ResultsTable

NOW = "2026-11-23T09:00:00+03:30"


def pilot_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on a fresh event loop (no pytest asyncio plugin needed)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


@pytest.fixture
def archive(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    """Three applicants with real Persian names (ZWNJ, Arabic ك/ي typed by someone, Persian digits)."""
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    workflow.register(
        cfg,
        company="شرکت نمونه‌پارس",
        staff="01",
        by="01",
        contact={"person": "علی رضایی", "mobile": "۰۹۱۲ ۱۲۳ ۴۵۶۷", "email": "ali@nemoone.ir"},
        services=["1"],
    )
    workflow.register(cfg, company="صنايع فولاد كاوه", staff="07", by="07", contact={"mobile": "+98 935 000 1111"})
    workflow.register(cfg, company="Kish Trading", staff="02", by="02", contact={"email": "info@kish.example"})
    return cfg


async def settle(pilot: Pilot, app: ArchivistApp) -> None:
    """Let debounce timers fire and every worker (search, load, action) finish."""
    for _ in range(3):
        await pilot.pause(0.06)
        await app.workers.wait_for_complete()
    await pilot.pause()


async def open_by_typing(pilot: Pilot, app: ArchivistApp, fragment: str) -> RecordScreen:
    await settle(pilot, app)
    await pilot.press(*fragment)
    await settle(pilot, app)
    await pilot.press("enter")
    await settle(pilot, app)
    assert isinstance(app.screen, RecordScreen)
    return app.screen


async def wait_for(pilot: Pilot, condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll the UI until `condition` holds (the palette searches on its own schedule)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition()


def folder_of(cfg: Config, lead: str) -> Path:
    return next(p for p in cfg.root.rglob(LOG_NAME) if yaml.safe_load(p.read_text(encoding="utf-8"))["lead"] == lead).parent


def text_of(widget: Static) -> str:
    return str(widget.render())


@pilot_test
async def test_type_company_fragment_open_record_log_call_lands_in_yaml(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        # typed with a space where the name has a ZWNJ: search folds them together
        screen = await open_by_typing(pilot, app, "نمونه پارس")
        assert screen.record is not None and screen.record.lead == "00001"
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ActionDialog)
        # the note has the focus (issue 16: typing at once must not open the kind list); kind stays call
        await pilot.press(*"تماس اول")
        app.screen.query_one("#f-note", Input).insert_text_at_cursor("، پیش‌فاکتور خواست")  # ZWNJ, as pasted
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, RecordScreen)
        assert "log: saved" in text_of(app.screen.query_one("#message", Static))
    log = yaml.safe_load((folder_of(archive, "00001") / LOG_NAME).read_text(encoding="utf-8"))
    last = log["events"][-1]
    assert (last["kind"], last["note"], last["by"], log["status"]) == ("call", "تماس اول، پیش‌فاکتور خواست", "01", "following")


@pilot_test
async def test_convert_moves_folder_and_shows_case_code(archive: Config) -> None:
    old = folder_of(archive, "00002")
    app = ArchivistApp(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_by_typing(pilot, app, "فولاد کاوه")  # typed with Persian ک, stored with Arabic ك
        await pilot.press("v")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ActionDialog)
        dialog.query_one("#f-service", Select).value = "3"
        dialog.query_one("#f-note", Input).focus()
        await pilot.press(*"قرارداد آموزش")
        await pilot.press("enter")
        await settle(pilot, app)
        # no service was requested: the dialog asks before a code is taken for good (issue 16)
        assert app.screen is dialog and "3xxx" in text_of(dialog.query_one("#dialog-error", Static))
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.screen is screen
        head = text_of(screen.query_one("#record-head", Static))
        assert "case 3001" in head and "customers/3001" in head
        assert "converted: case 3001" in text_of(screen.query_one("#message", Static))
        # the index followed the move (workflow's on_change hook): the case code finds it
        await pilot.press("escape", "escape")  # back to search, clear the query
        await pilot.press(*"3001")
        await settle(pilot, app)
        hits = list(app.screen.query_one(ResultsTable).hits.values())
        assert [(h["case"], h["status"]) for h in hits] == [("3001", "open")]
    assert not old.exists()
    rec = load_record(archive.root / "customers" / "3001")
    assert (rec.lead, rec.case, rec.status) == ("00002", "3001", "open")


@pilot_test
async def test_archive_before_crm_refused_with_message_on_screen(archive: Config) -> None:
    before = (folder_of(archive, "00001") / LOG_NAME).read_bytes()
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_by_typing(pilot, app, "00001")
        assert "archive" not in screen.allowed  # not offered…
        assert "a" not in {k for k, b in screen.active_bindings.items() if b.binding.show}
        await pilot.press("a")  # …but the key asks the domain, which says why not
        await settle(pilot, app)
        message = text_of(screen.query_one("#message", Static))
        # the domain's words, naming the action to take, never a CLI command (issue 16)
        assert "archive is refused before CRM" in message and "record CRM first" in message
        assert "archivist crm" not in message and "--" not in message
        assert screen.query_one("#message").has_class("error")
    assert (folder_of(archive, "00001") / LOG_NAME).read_bytes() == before


@pilot_test
async def test_record_screen_follows_a_change_made_elsewhere(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_by_typing(pilot, app, "Kish")
        assert screen.record is not None and screen.record.status == "new"
        workflow.log_event(archive, "00003", kind="call", note="تماس همکار از خط فرمان", by="02")  # e.g. the CLI
        await wait_for(pilot, lambda: screen.record is not None and screen.record.status == "following")
        notes = [str(row[-1]) for row in (screen.query_one("#timeline").get_row_at(i) for i in range(2))]
        assert any("تماس همکار از خط فرمان" in n for n in notes)


@pilot_test
async def test_palette_offers_the_open_records_actions(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_by_typing(pilot, app, "00001")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"convert")
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count > 0 and "convert" in str(options.get_option_at_index(0).prompt))
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ActionDialog) and app.screen.spec.name == "convert"


@pilot_test
async def test_mouse_only_filter_and_open_a_record(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.click("#staff")  # open the staff filter, pick 07 (سارا)
        await pilot.pause()
        await pilot.click("#staff SelectOverlay", offset=(2, 3))
        await settle(pilot, app)
        table = app.screen.query_one(ResultsTable)
        assert [h["lead"] for h in table.hits.values()] == ["00002"]
        await pilot.click(ResultsTable, offset=(2, 1))  # a click on the highlighted row opens it
        await settle(pilot, app)
        assert isinstance(app.screen, RecordScreen) and app.screen.record.lead == "00002"


@pilot_test
async def test_menu_lists_exactly_the_allowed_actions(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_by_typing(pilot, app, "00002")
        await pilot.press("m")
        await pilot.pause()
        menu = app.screen.query_one(OptionList)
        ids = [menu.get_option_at_index(i).id for i in range(menu.option_count)]
        assert [i for i in ids if not i.startswith("@")] == workflow.allowed_actions(screen.record)
        assert "archive" not in ids and "convert" in ids
        await pilot.press("enter")  # the first: log
        await pilot.pause()
        assert isinstance(app.screen, ActionDialog) and app.screen.spec.name == "log"


def test_tui_command_refuses_a_missing_archive(cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    code, _out, err = cli("--root", str(tmp_path / "nowhere"), "tui")
    assert code == 1 and "no archive at" in err and "archivist init" in err


@pilot_test
async def test_offered_actions_follow_the_stage(archive: Config) -> None:
    workflow.convert(archive, "00003", service="1", by="02")
    workflow.record_service(archive, "1001", note="ممیزی مرحله ۱", by="02")
    app = ArchivistApp(archive)
    # wide enough for the footer to hold all eight action keys beside navigation (narrower, they stay
    # on the header line and in the menu, and the footer keeps F2 F3 F4: test_tui_layout)
    async with app.run_test(size=(200, 40)) as pilot:
        screen = await open_by_typing(pilot, app, "1001")
        shown = {
            b.binding.action for b in screen.active_bindings.values() if b.binding.show and b.binding.action.startswith("act(")
        }
        expected = {f"act('{a}')" for a in workflow.allowed_actions(screen.record)}
        assert shown == expected and "act('clear')" in shown and "act('archive')" not in shown
        # clear → crm → archive, each through the dialog; the folder ends in the archive
        for key in ("c", "r", "a"):
            await pilot.press(key)
            await pilot.pause()
            await pilot.press("enter")
            await settle(pilot, app)
        assert screen.record.status == "archived"
        assert "archive/customers/1001" in text_of(screen.query_one("#record-head", Static))
    assert (archive.root / "archive" / "customers" / "1001" / LOG_NAME).exists()


@pilot_test
async def test_register_with_validation_errors_then_valid(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f4")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RegisterScreen)
        await pilot.press(*"بازرگانی آریا")
        form.query_one("#company", Input).post_message(events.Key("\u200c", "\u200c"))  # shift+space: ZWNJ
        await pilot.pause()
        await pilot.press(*"تجارت")
        form.query_one("#mobile", Input).value = "۰۹۱۲-abc"
        form.query_one("#email", Input).value = "sales@aria"
        await pilot.pause()
        assert "does not look like a phone number" in text_of(form.query_one("#mobile-error", Static))
        assert "does not look like an email" in text_of(form.query_one("#email-error", Static))
        await pilot.click("#save")
        await settle(pilot, app)
        assert isinstance(app.screen, RegisterScreen)
        assert "phone number" in text_of(form.query_one("#form-error", Static))
        assert not any("آریا" in p.name for p in (archive.root / "applicants").iterdir())

        form.query_one("#mobile", Input).value = "۰۹۱۲ ۵۵۵ ۶۶۷۷"
        form.query_one("#email", Input).value = "sales@aria.ir"
        form.query_one("#staff", Select).value = "07"
        await pilot.pause()
        assert text_of(form.query_one("#mobile-error", Static)) == ""
        await pilot.click("#save")
        await settle(pilot, app)
        assert isinstance(app.screen, RecordScreen)
        assert app.screen.record is not None and app.screen.record.lead == "00004"
    rec = load_record(folder_of(archive, "00004"))
    assert (rec.company, rec.staff, rec.status, rec.contact["email"]) == ("بازرگانی آریا‌تجارت", "07", "new", "sales@aria.ir")


@pilot_test
async def test_register_shows_likely_returning_company_before_saving(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f4")
        await pilot.pause()
        form = app.screen
        await pilot.press(*"صنایع فولاد کاوه", "tab")  # Persian ی/ک; the earlier log has Arabic ي/ك
        await settle(pilot, app)
        hint = text_of(form.query_one("#similar", Static))
        assert "likely returning company" in hint and "00002" in hint
        form.query_one("#staff", Select).value = "07"
        await pilot.click("#save")
        await settle(pilot, app)
        assert isinstance(app.screen, RegisterScreen)  # first press: shown, not saved
        assert "looks like an earlier record" in text_of(form.query_one("#form-error", Static))
        assert len(list((archive.root / "applicants").iterdir())) == 3
        await pilot.click("#save")  # second press: the user looked and still wants a new record
        await settle(pilot, app)
        assert isinstance(app.screen, RecordScreen) and app.screen.record.lead == "00004"


@pilot_test
async def test_register_refuses_empty_company_and_says_so(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f4")
        await pilot.pause()
        form = app.screen
        form.query_one("#staff", Select).value = "01"
        await pilot.click("#save")
        await settle(pilot, app)
        error = text_of(form.query_one("#form-error", Static))
        assert "company is empty" in error and "--" not in error  # no CLI flag on a screen (issue 16)
        assert form.query_one("#company", Input).has_class("invalid")


@pilot_test
async def test_search_filters_by_staff_and_stage(archive: Config) -> None:
    workflow.decline(archive, "00003", by="02", note="بودجه ندارد")
    app = ArchivistApp(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        table = screen.query_one(ResultsTable)
        screen.query_one("#stage", Select).value = "declined"
        await settle(pilot, app)
        assert [h["lead"] for h in table.hits.values()] == ["00003"]
        screen.query_one("#stage", Select).value = Select.NULL
        screen.query_one("#staff", Select).value = "07"
        await settle(pilot, app)
        assert [h["lead"] for h in table.hits.values()] == ["00002"]


@pilot_test
async def test_command_palette_opens_a_record_by_phone(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"09350001111")
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count > 0 and "00002" in str(options.get_option_at_index(0).prompt))
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, RecordScreen)
        assert app.screen.record is not None and app.screen.record.lead == "00002"


@pilot_test
async def test_my_day_lists_overdue_and_office_health(archive: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    (archive.root / "inbox").mkdir(exist_ok=True)
    (archive.root / "inbox" / "نامه بدون کد.pdf").write_bytes(b"%PDF-1.4")
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-25T10:00:00+03:30")  # a day after the first calls were due
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("f3")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, MyDayScreen)
        due = {(h["lead"], h["_list"]) for h in screen.query_one("#due", ResultsTable).hits.values()}
        # ARCHIVIST_STAFF=01: only her record; a day past its first call it is overdue, and stuck in `new`
        assert due == {("00001", "overdue"), ("00001", "stuck")}
        health = text_of(screen.query_one("#health", Static))
        assert "daemon NOT running" in health and "start it with `archivist start`" in health
        # never set up: the truth and the one command (issue 16), not "plug in the drive"
        assert "no backup drive is set up yet" in health and "backup init-target" in health
        assert "plug" not in health
        assert "unfiled inbox files: 1" in health
        screen.query_one("#day-staff", Select).value = Select.NULL  # everyone
        await settle(pilot, app)
        due = {(h["lead"], h["_list"]) for h in screen.query_one("#due", ResultsTable).hits.values()}
        assert {lead for lead, kind in due if kind == "overdue"} == {"00001", "00002", "00003"}
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, RecordScreen)


@pilot_test
async def test_theme_toggles_light_and_dark(archive: Config) -> None:
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"


def test_reshape_joins_letters_and_orders_right_to_left() -> None:
    text = "شرکت نمونه‌پارس"
    shaped = shape(text, "reshape")
    assert "\u200c" not in shaped  # ZWNJ is encoded by the letter forms themselves
    assert all(0xFB50 <= ord(c) <= 0xFEFF or c == " " for c in shaped)  # presentation forms
    # visual order: the first word (شرکت) is right-most, its letters reversed and joined: ـت ـکـ ـر شـ
    assert shaped.split(" ")[-1] == "\ufe96\ufb90\ufeae\ufeb7"
    assert shape("Kish Trading 1001", "reshape") == "Kish Trading 1001"


def test_terminal_mode_keeps_table_columns_in_a_bidi_terminal() -> None:
    """A bidi terminal (VTE's implicit mode) runs the bidi algorithm over a whole screen line with a
    left-to-right base; python-bidi's get_display does the same. Unfenced, two Persian cells swap
    and the staff number "07" jumps between them; fenced with LRM, every cell stays in its column."""
    from bidi import get_display

    cells = ["00417", "شرکت نمونه‌پارس", "علی رضایی", "07", "following"]

    def screen_line(mode: str | None) -> str:
        row = "  ".join((shape(c, mode) if mode else c).ljust(16) for c in cells)
        return get_display(row, base_dir="L").replace(LRM, "")

    def order(line: str) -> list[int]:
        return [line.index(get_display(c)) for c in cells]

    assert order(screen_line(None)) != sorted(order(screen_line(None)))  # the scramble, without fences
    fenced = screen_line("terminal")
    assert order(fenced) == sorted(order(fenced))
    assert shape(cells[1], "terminal").strip(LRM) == cells[1]  # ZWNJ kept for the terminal to join


@pilot_test
async def test_scope_filter_with_an_empty_query_follows_the_folders_area(archive: Config) -> None:
    assert archive.root.name == "archive"  # the default `root: ./archive`: every path holds /archive/
    for step in (workflow.decline, workflow.crm, workflow.archive):
        step(archive, "00003", by="02")
    app = ArchivistApp(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, SearchScreen) and screen.query_one("#query", Input).value == ""
        table = screen.query_one(ResultsTable)
        screen.query_one("#scope", Select).value = "open"
        await settle(pilot, app)
        assert sorted(h["lead"] for h in table.hits.values()) == ["00001", "00002"]
        screen.query_one("#scope", Select).value = "archived"
        await settle(pilot, app)
        assert [h["lead"] for h in table.hits.values()] == ["00003"]
        screen.query_one("#staff", Select).value = "01"  # filters combine
        await settle(pilot, app)
        assert list(table.hits.values()) == []


@pilot_test
async def test_a_key_the_screen_thinks_refused_opens_the_dialog_when_the_disk_moved_on(
    archive: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archivist.tui.screens import record as record_screen

    monkeypatch.setattr(record_screen, "DISK_CHECK_S", 3600.0)  # the screen must not notice by itself
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_by_typing(pilot, app, "Kish")
        assert screen.record.status == "new" and "archive" not in screen.allowed
        workflow.decline(archive, "00003", by="02", note="بودجه ندارد")  # a colleague, from the CLI
        workflow.crm(archive, "00003", by="02")
        before = (folder_of(archive, "00003") / LOG_NAME).read_bytes()
        await pilot.press("a")
        await settle(pilot, app)
        # nothing was written behind the user's back: the archive dialog asks first, as for any allowed key
        assert isinstance(app.screen, ActionDialog) and app.screen.spec.name == "archive"
        assert (folder_of(archive, "00003") / LOG_NAME).read_bytes() == before
        assert screen.record.status == "crm-done" and "archive" in screen.allowed
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, RecordScreen)
    assert yaml.safe_load((folder_of(archive, "00003") / LOG_NAME).read_text(encoding="utf-8"))["status"] == "crm-done"


@pilot_test
async def test_tui_start_catches_up_with_a_hand_edit_when_no_daemon_runs(archive: Config) -> None:
    from archivist.index import open_index
    from archivist.record import dump_yaml

    open_index(archive).close()  # an index from an earlier session
    log = folder_of(archive, "00002") / LOG_NAME
    data = yaml.safe_load(log.read_text(encoding="utf-8"))
    data["company"] = "کاشی هامون‌سازان"
    log.write_bytes(dump_yaml(data))  # edited by hand while nothing watched
    app = ArchivistApp(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_by_typing(pilot, app, "هامون سازان")
        assert screen.record.lead == "00002"


def test_tui_without_a_terminal_says_so_instead_of_running_unseen(config_file: Path, tmp_path: Path) -> None:
    """Started from a script, a service unit or with `&` and no terminal, the TUI used to run on
    unseen (a core busy until killed); it answers in one line and exit 1."""
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "archivist", "--config", str(config_file), "tui"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "terminal" in lines[0] and "Traceback" not in r.stderr
