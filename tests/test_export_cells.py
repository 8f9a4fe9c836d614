"""The export's fast paths give exactly what the plain ones gave: dates worked out by SQLite over the
spans of days a zone's offset holds (the zone database on the days the clocks change), CSV lines
joined without csv.writer where no cell needs quoting, XLSX rows written without a per-cell call."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist.config import Config
from archivist.dates import fmt
from archivist.index import open_index
from archivist.index.export import COLUMNS, header_rows, iter_cells, neutralize, write_csv, write_xlsx
from archivist.index.hook import close_all
from bench.generate import generate

NOW = "2026-11-23T10:00:00+03:30"
DATES = (
    [c[0] for c in COLUMNS].index("opened"),
    [c[0] for c in COLUMNS].index("last_event"),
    [c[0] for c in COLUMNS].index("next_followup"),
)


@pytest.fixture
def archive(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    generate(cfg, 70, seed=11, now=datetime.fromisoformat(NOW))
    yield cfg
    close_all()


def _clock_changes(zone: ZoneInfo, first: int, last: int) -> list[int]:
    """Every second in [first, last) at which the zone's offset changes."""
    off = lambda t: datetime.fromtimestamp(t, zone).utcoffset()  # noqa: E731
    found = []
    for t in range(first, last, 3600):
        if off(t) != off(t + 3600):
            lo, hi = t, t + 3600
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if off(mid) == off(lo) else (lo, mid)
            found.append(hi)
    return found


@pytest.mark.parametrize(
    "tz", ["Asia/Tehran", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin", "Pacific/Apia", "Asia/Kolkata"]
)
@pytest.mark.parametrize("calendar", ["jalali", "gregorian"])
def test_dates_around_clock_changes_are_what_dates_fmt_shows(archive: Config, tz: str, calendar: str) -> None:
    """Each date cell is `dates.fmt` of its timestamp in the office's zone, also a second, a minute,
    an hour and a day either side of a clock change (Tehran's summer time until 2022, a half-hour
    change, a negative one, Samoa skipping a whole day), before 1970 and far in the past."""
    zone = ZoneInfo(tz)
    moments: list[int | None] = [None, -86400 * 400 - 17, 0, 59, 86399, 86400 * 2 + 1, -2_000_000_000, 1_800_000_000]
    for change in _clock_changes(zone, 1_293_840_000, 1_672_531_200)[:14]:  # 2011 … 2022
        moments += [change + d for d in (-86401, -3601, -61, -1, 0, 1, 59, 3599, 86399)]
    with open_index(archive) as idx:
        ids = [r[0] for r in idx.db.execute("SELECT id FROM records ORDER BY id")]
        assert 3 * len(ids) >= len(moments)
        slots = iter(moments + [None] * (3 * len(ids) - len(moments)))
        for rid in ids:
            idx.db.execute(
                "UPDATE records SET opened_ts = ?, last_ts = ?, next_ts = ?, last_kind = 'call' WHERE id = ?",
                (next(slots), next(slots), next(slots), rid),
            )
        wanted = {
            r[0]: r[1:]
            for r in idx.db.execute(
                "SELECT coalesce(lead, '') || '/' || coalesce(\"case\", ''), opened_ts, last_ts, next_ts FROM records"
            )
        }
        cells = list(iter_cells(idx.db, replace(archive, calendar=calendar, timezone=tz)))
    assert len(cells) == len(ids)

    def shown(ts: int | None) -> str:
        return "" if ts is None else fmt(datetime.fromtimestamp(ts, zone), calendar, tz)

    for row in cells:
        opened, last, next_ts = wanted[f"{row[0]}/{row[1]}"]
        assert [row[i] for i in DATES] == [shown(opened), f"{shown(last)} call".strip(), shown(next_ts)], row[:2]


_TEXT = st.lists(st.sampled_from(list(",\"\r\n\t =+-@'ab ش\u200c\x00\x01\x1b&<>;") + ["'=", "a,b", "\r\n"]), max_size=6).map(
    "".join
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_TEXT | st.none() | st.integers(-5, 5), min_size=0, max_size=16), max_size=6))
def test_csv_is_byte_for_byte_what_csv_writer_writes(cfg: Config, rows: list[list[object]]) -> None:
    """Rows joined by commas where no cell needs quoting are the bytes csv.writer gives for the
    neutralized table (commas, quotes, line breaks, formula-like starts, NUL, empty rows, numbers)."""
    expected = io.StringIO()
    expected.write("\ufeff")
    w = csv.writer(expected, lineterminator="\r\n")
    w.writerows(header_rows(cfg))
    w.writerows([[neutralize(v) for v in row] for row in rows])
    out = io.BytesIO()
    assert write_csv(cfg, rows, out) == len(rows)
    assert out.getvalue() == expected.getvalue().encode("utf-8")


_XLSX_TEXT = st.text(alphabet=st.sampled_from(list(",\"\n\t =+-@'ab ش\u200c\x01\x1b&<>;")), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_XLSX_TEXT, min_size=15, max_size=15), min_size=1, max_size=5))
def test_xlsx_cells_are_the_text_as_typed(cfg: Config, tmp_path: Path, rows: list[list[str]]) -> None:
    """Every cell opens in openpyxl as the text given (XML special characters, spaces, control
    characters made visible as \\x..), formula-like text with the quote prefix, empty cells empty."""
    out = tmp_path / "m.xlsx"
    assert write_xlsx(cfg, rows, out) == len(rows)
    ws = openpyxl.load_workbook(out).active
    first = len(header_rows(cfg)) + 1
    assert ws.max_row <= first + len(rows) - 1
    for line, row in enumerate(rows, first):
        cells = [ws.cell(row=line, column=col) for col in range(1, 16)]
        want = [v.replace("\x01", "\\x01").replace("\x1b", "\\x1b") or None for v in row]
        assert [c.value for c in cells] == want
        assert [bool(c.quotePrefix) for c in cells] == [v[:1] in "=+-@\t" and v != "" for v in row]


def test_the_folder_column_names_the_folder_as_it_is_after_the_template_changes(
    archive: Config, cli, config_file: Path, tmp_path: Path
) -> None:
    """A changed folder template in config.yaml renames no folder (doctor reports them); the
    master list still names each record's folder as it is on disk, not as the new template would
    name it (the index used to keep only "as the template gives" and formatted the template again)."""
    assert cli("reindex")[0] == 0
    assert archive.naming.applicant_folder == "{company} - {staff} - {lead}"
    text = config_file.read_text(encoding="utf-8") + 'naming:\n  applicant_folder: "{lead} {company} {staff}"\n'
    config_file.write_text(text, encoding="utf-8")
    out = tmp_path / "m.csv"
    assert cli("export", "--headers", "en", "-o", str(out))[0] == 0
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))[1:]
    assert len(rows) == 70
    folder = [c[0] for c in COLUMNS].index("folder")
    assert all((archive.root / row[folder]).is_dir() for row in rows), [r[folder] for r in rows[:3]]
