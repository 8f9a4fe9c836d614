"""80×24 and 120×40, Persian and English (issue 16 item 9): every column header, stage name and key
label whole on the screen as rendered, and the company name takes the width that is left.

Everything is read from the real rendered screen (the SVG Textual exports, line by line), not
from widget state: a header the table cuts to «پرون» shows as «پرون».
"""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from rich.cells import cell_len
from textual.widgets import Select

from archivist import workflow
from archivist.config import Config
from archivist.i18n import _, language, stage_label
from archivist.stages import STAGES
from archivist.tui.app import ArchivistApp
from archivist.tui.screens.my_day import MyDayScreen
from archivist.tui.screens.record import RecordScreen
from archivist.tui.widgets.results import ResultsTable
from bench.generate import generate

from .test_tui import pilot_test, settle

LONG_NAMES = [
    "شرکت مهندسی و بازرگانی پیشگامان صنعت البرز سهامی خاص",
    "گروه صنعتی تولیدی نوآوران فن‌آوری کیمیا پارس",
]
SIZES = [(80, 24), (120, 40)]


@pytest.fixture(params=["fa", "en"])
def lang(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fa":
        monkeypatch.delenv("ARCHIVIST_LANGUAGE", raising=False)  # ui.language: fa, the default
    else:
        monkeypatch.setenv("ARCHIVIST_LANGUAGE", "en")
    return str(request.param)


@pytest.fixture
def crowded(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    """A generated archive holding every stage, plus two long Persian company names."""
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    generate(cfg, 120, seed=1, now=datetime.fromisoformat("2026-11-23T10:00:00+03:30"))
    for name in LONG_NAMES:
        workflow.register(cfg, company=name, staff="01", by="01", contact={"person": "علی رضایی"})
    return cfg


def screen_lines(app: ArchivistApp) -> list[str]:
    """The screen as rendered, one string per terminal line: each exported text run put back at its
    column (the SVG leaves blank runs out), LRM marks dropped as the eye drops them."""
    svg = app.export_screenshot()
    char_width = float(re.search(r"char_width\D*([\d.]+)", svg).group(1)) if "char_width" in svg else 12.2
    lines: dict[int, dict[int, str]] = {}
    for attrs, body in re.findall(r"<text([^>]*)>(.*?)</text>", svg, re.S):
        line = re.search(r"line-(\d+)", attrs)
        x = re.search(r'\bx="([\d.]+)"', attrs)
        if line and x:
            lines.setdefault(int(line.group(1)), {})[round(float(x.group(1)) / char_width)] = html.unescape(body)
    out = []
    for n in sorted(lines):
        text = ""
        for col, run in sorted(lines[n].items()):
            text += " " * (col - cell_len(text)) + run.replace("\xa0", " ").replace("\u200e", "")
        out.append(text.rstrip())
    return out


def line_with(lines: list[str], *words: str) -> str:
    """The first rendered line holding every one of `words` as a whole word."""
    for line in lines:
        if all(re.search(rf"(?<!\S){re.escape(w)}(?!\S)", line) for w in words):
            return line
    raise AssertionError(f"no line shows {words} whole:\n" + "\n".join(lines))


def headers(lang: str, wide: bool, my_day: bool = False) -> list[str]:
    with language(lang):
        words = [_("code"), _("company"), _("staff"), _("stage"), _("follow-up")]
        if wide:
            words += [_("case"), _("contact")]
        if my_day:
            words.append(_("list"))
        return words


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pilot_test
async def test_search_and_my_day_show_every_header_whole_and_give_the_company_the_rest(
    crowded: Config, lang: str, size: tuple[int, int]
) -> None:
    wide = size[0] >= 110
    app = ArchivistApp(crowded)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        line_with(screen_lines(app), *headers(lang, wide))  # the empty search: your open records
        table = app.screen.query_one(ResultsTable)
        widths = {str(c.key.value): c.width for c in table.columns.values()}
        assert sum(widths.values()) + 2 * len(widths) == table.size.width  # nothing left over: the company has it
        assert widths["company"] >= (30 if not wide else 34), widths
        await pilot.press(*"پیشگامان صنعت")
        await settle(pilot, app)
        rendered = "\n".join(screen_lines(app))
        assert LONG_NAMES[0][:30] in rendered, rendered  # 30 letters of the name at 80 columns, more wider
        await pilot.press("f3")
        await settle(pilot, app)
        assert isinstance(app.screen, MyDayScreen)
        lines = screen_lines(app)
        line_with(lines, *headers(lang, wide, my_day=True))
        with language(lang):
            line_with(lines, "f2", "f3", "f4", "esc")  # the footer keeps the way around


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pilot_test
async def test_every_stage_name_is_shown_whole(crowded: Config, lang: str, size: tuple[int, int]) -> None:
    app = ArchivistApp(crowded)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        for stage in STAGES:
            app.screen.query_one("#stage", Select).value = stage
            await settle(pilot, app)
            with language(lang):
                label = stage_label(stage)
            hits = app.screen.query_one(ResultsTable).hits
            assert hits, stage
            rendered = "\n".join(screen_lines(app))
            assert rendered.count(label) >= min(len(hits), 5), (stage, label, rendered)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pilot_test
async def test_record_and_its_dialogs_keep_headers_and_keys_whole(crowded: Config, lang: str, size: tuple[int, int]) -> None:
    app = ArchivistApp(crowded)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        app.screen.query_one("#stage", Select).value = "following"
        await settle(pilot, app)
        await pilot.press("down", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, RecordScreen)
        lines = screen_lines(app)
        with language(lang):
            line_with(lines, _("when"), _("by"), _("event"), _("note"))
            line_with(lines, "esc", "m", "f2", "f3", "f4")  # navigation stays in the footer at 80 columns
            save, cancel = _("save"), _("cancel")
        await pilot.press("v")  # the convert dialog: its keys and the code range it will take, whole
        await settle(pilot, app)
        lines = screen_lines(app)
        assert any(re.search(r"\b[1-4]xxx\b", line) for line in lines), "\n".join(lines)
        line_with(lines, "ctrl+s", save, "Esc", cancel)
        await pilot.press("escape")
        await settle(pilot, app)
        await pilot.press("l")
        await settle(pilot, app)
        line_with(screen_lines(app), "ctrl+s", save, "Esc", cancel)
