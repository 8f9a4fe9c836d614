"""The master list F-31-08-02 as XLSX and CSV: one row per record, Jalali dates, safe cells."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from archivist.config import Config
from archivist.index.export import HEADERS, neutralize
from archivist.index.hook import close_all
from bench.generate import generate

NOW = "2026-11-23T10:00:00+03:30"


@pytest.fixture
def archive(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    generate(cfg, 40, seed=5, now=datetime.fromisoformat(NOW))
    yield cfg
    close_all()


def _codes(cli) -> list[tuple[str, str]]:
    listed = json.loads(cli("list", "--json")[1])
    return [(r["lead"], r["case"] or "") for r in listed]


def test_xlsx_opens_with_one_row_per_record_and_the_right_codes(archive: Config, cli, tmp_path: Path) -> None:
    formula = cli(
        "register", "--company", '=HYPERLINK("http://x")', "--staff", "01", "--person", "@admin", "--mobile", "+98 912 555 0000"
    )[1].strip()
    out = tmp_path / "F-31-08-02.xlsx"
    code, text, _ = cli("export", "--format", "xlsx", "-o", str(out))
    assert code == 0 and "41 records" in text
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS["fa"] and list(rows[1]) == HEADERS["en"]
    body = rows[2:]
    assert len(body) == 41
    got = [(r[0], r[1] or "") for r in body]
    assert got == _codes(cli)
    mine = next(r for r in body if r[0] == formula)
    # text cells with the quote-prefix style: the value as typed, no apostrophe, never a formula
    assert mine[2] == '=HYPERLINK("http://x")' and mine[3] == "@admin" and mine[4] == "+98 912 555 0000"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)  # no cell is a formula
    cells = next(row for row in ws.iter_rows(min_row=3) if row[0].value == formula)
    assert all(c.data_type == "s" and c.quotePrefix for c in cells[2:5])
    assert not cells[0].quotePrefix  # ordinary cells keep the default style


def test_csv_has_both_header_rows_jalali_dates_and_neutralized_cells(archive: Config, cli, tmp_path: Path) -> None:
    lead = cli("register", "--company", "-شرکت منفی", "--staff", "07", "--email", "sales@manfi.ir")[1].strip()
    out = tmp_path / "list.csv"
    assert cli("export", "--format", "csv", "-o", str(out))[0] == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheet programs read the Persian right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == HEADERS["fa"] and rows[1] == HEADERS["en"] and len(rows) == 2 + 41
    row = next(r for r in rows if r[0] == lead)
    assert row[2] == "'-شرکت منفی"
    assert row[8].startswith("1405-09-02")  # opened 2026-11-23 → Jalali 1405-09-02
    assert row[7] == "new" and row[5] == "sales@manfi.ir"
    assert row[14].startswith("applicants/")


def test_export_header_languages_follow_config(archive: Config, cli, config_file: Path, tmp_path: Path) -> None:
    config_file.write_text(config_file.read_text(encoding="utf-8") + "display:\n  header_languages: [en]\n", encoding="utf-8")
    out = tmp_path / "en.csv"
    assert cli("export", "--format", "csv", "-o", str(out))[0] == 0
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == HEADERS["en"] and rows[1][0] != HEADERS["fa"][0] and len(rows) == 1 + 40


def test_export_in_gregorian_when_configured(archive: Config, cli, config_file: Path, tmp_path: Path) -> None:
    text = config_file.read_text(encoding="utf-8").replace("calendar: jalali", "calendar: gregorian")
    config_file.write_text(text, encoding="utf-8")
    lead = cli("register", "--company", "شرکت میلادی", "--staff", "02")[1].strip()
    out = tmp_path / "g.csv"
    assert cli("export", "--format", "csv", "-o", str(out))[0] == 0
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert next(r for r in rows if r[0] == lead)[8].startswith("2026-11-23")


@pytest.mark.parametrize(
    "value,expected",
    [
        ("=1+1", "'=1+1"),
        ("+98 912", "'+98 912"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("شرکت", "شرکت"),
        ("1405-0001", "1405-0001"),
        ("", ""),
        (12, 12),
    ],
)
def test_neutralize_formula_like_cells(value: object, expected: object) -> None:
    assert neutralize(value) == expected


def test_export_to_a_missing_folder_or_onto_a_folder_is_one_line_error(archive: Config, cli, tmp_path: Path) -> None:
    for target, words in ((tmp_path / "nowhere" / "x.csv", "does not exist"), (tmp_path, "is a folder")):
        code, out, err = cli("export", "--format", "csv", "-o", str(target))
        assert code == 1 and words in err and "Traceback" not in err
        assert err.count("\n") == 1 and not out
    assert not (tmp_path / "nowhere").exists()


def test_export_replaces_the_file_atomically_and_leaves_no_temp(archive: Config, cli, tmp_path: Path) -> None:
    out = tmp_path / "lists" / "F-31-08-02.xlsx"
    out.parent.mkdir()
    out.write_bytes(b"last month's list")
    inode = out.stat().st_ino
    assert cli("export", "-o", str(out))[0] == 0
    assert out.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert openpyxl.load_workbook(out).active.max_row == 2 + 40
    assert sorted(p.name for p in out.parent.iterdir()) == ["F-31-08-02.xlsx"]
    assert cli("export", "--format", "csv", "-o", str(out.with_suffix(".csv")))[0] == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["F-31-08-02.csv", "F-31-08-02.xlsx"]
