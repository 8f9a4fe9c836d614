"""`list`, `due` and the F-31-08-02 export at any size: rows stream in their order from an index
(no sort of the whole table before the first row), with the same lines, JSON and cells as before.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archivist.config import Config
from archivist.dates import shown
from archivist.index import open_index
from archivist.index.export import COLUMNS, iter_cells
from archivist.index.hook import close_all
from bench.generate import generate

NOW = "2026-11-23T10:00:00+03:30"


@pytest.fixture
def archive(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    generate(cfg, 120, seed=23, now=datetime.fromisoformat(NOW))
    yield cfg
    close_all()


TITLES = {"overdue": "overdue follow-ups", "today": "due today", "stuck": "stuck in a stage"}


def review_lines(lists: dict[str, list[dict]], calendar: str, zone: str) -> str:
    """`due`'s text as Python formats the entries of `due()`: what SQLite's lines must equal."""
    out = []
    for key, title in TITLES.items():
        out.append(f"{title} ({len(lists[key])})\n")
        for h in lists[key]:
            when = shown(h["next_followup"], calendar, zone)
            extra = f"{h['status']} for {h['days']} days (limit {h['limit']})" if key == "stuck" else when
            out.append(f"  {h['lead']}  {h['case'] or '    '}  {h['staff']}  {extra:<28} {h['company']}\n")
    return "".join(out)


def _plans(db, run, must: str = "ORDER BY") -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(SQL, its query plan) of every SELECT whose text holds `must` that `run()` makes SQLite execute."""
    seen: list[str] = []
    db.set_trace_callback(seen.append)
    try:
        run()
    finally:
        db.set_trace_callback(None)
    return [
        (sql, " | ".join(str(r[3]) for r in db.execute("EXPLAIN QUERY PLAN " + sql)))
        for sql in seen
        if sql.lstrip().upper().startswith("SELECT") and must in sql.upper()
    ]


def test_list_due_and_export_read_rows_in_order_from_an_index_without_sorting_them_all(archive: Config, cli) -> None:
    """At 100,000 records SQLite sorted every row in memory before `list` printed its first line
    (2.5 s, 90 MB); each report's order is now an index the rows are read along."""
    assert cli("reindex")[0] == 0
    with open_index(archive) as idx:
        runs = {
            "list": lambda: list(idx.iter_brief()),
            "list --json": lambda: list(idx.iter_records()),
            "list --staff": lambda: list(idx.iter_brief(staff="02")),
            "due": lambda: idx.review_text(),
            "due --json": lambda: [list(rows) for rows in idx.iter_due().values()],
            "export": lambda: list(idx.iter_export_cells()),
        }
        for name, run in runs.items():
            plans = _plans(idx.db, run)
            assert plans, name
            for sql, plan in plans:
                assert "TEMP B-TREE" not in plan, (name, sql, plan)


def test_list_and_due_print_the_same_lines_as_the_whole_records_give(archive: Config, cli) -> None:
    """The lean text rows are the rows of `records()`/`due()` formatted as `list` and `due` always
    printed them (same order, same columns, same dates)."""
    assert cli("reindex")[0] == 0
    with open_index(archive) as idx:
        everything, mine, lists = idx.records(), idx.records(staff="07"), idx.due()
    assert lists["overdue"] and lists["stuck"]

    def listed(rows: list[dict]) -> str:
        return "".join(f"{r['lead']}  {r['case'] or '    '}  {r['staff']}  {r['status']:<11} {r['company']}\n" for r in rows)

    assert cli("list")[1] == listed(everything)
    assert cli("list", "--staff", "07")[1] == listed(mine)
    assert cli("due")[1] == review_lines(lists, archive.calendar, archive.timezone)


def test_a_company_with_control_characters_is_listed_with_them_made_visible(archive: Config, cli) -> None:
    code = cli("register", "--company", "شرکت \x1b[31mقرمز\x07", "--staff", "01", "--yes")[1].strip()
    line = next(x for x in cli("list")[1].splitlines() if x.startswith(code))
    assert line.endswith("شرکت \\x1b[31mقرمز\\x07") and "\x1b" not in cli("list")[1]


def test_xlsx_holds_exactly_the_csv_cells_with_text_kept_as_typed(archive: Config, cli, tmp_path: Path) -> None:
    """The workbook (written without openpyxl now) opens in openpyxl with every cell the CSV has:
    XML special characters, leading spaces, a control character (shown as \\x..), formula-like
    text stored as text with the quote prefix, Persian header rows in bold, right to left."""
    odd = cli("register", "--company", "<b>R&D</b>  \x01co ", "--staff", "02", "--person", "=1+2", "--yes")[1].strip()
    xlsx, as_csv = tmp_path / "m.xlsx", tmp_path / "m.csv"
    assert cli("export", "-o", str(xlsx))[0] == 0 and cli("export", "-o", str(as_csv))[0] == 0
    assert zipfile.ZipFile(xlsx).testzip() is None
    wb = openpyxl.load_workbook(xlsx)
    ws = wb.active
    assert ws.title == "F-31-08-02" and ws.sheet_view.rightToLeft
    assert all(c.font.b for c in ws[1]) and not ws[3][0].font.b
    got = [["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)]
    rows = list(csv.reader(io.StringIO(as_csv.read_bytes().decode("utf-8-sig"))))
    unquote = [[(c[1:] if c[:1] == "'" and c[1:2] in "=+-@\t\r" else c).replace("\x01", "\\x01") for c in row] for row in rows]
    assert got == unquote and len(got) == 2 + 121
    mine = next(row for row in ws.iter_rows(min_row=3) if row[0].value == odd)
    assert mine[2].value == "<b>R&D</b> \\x01co" and not mine[2].quotePrefix
    assert mine[3].value == "=1+2" and mine[3].data_type == "s" and mine[3].quotePrefix


def test_the_cells_are_what_the_records_say(archive: Config, cli) -> None:
    """iter_cells (tuples read straight from the index) gives what the dict rows always gave."""
    assert cli("reindex")[0] == 0
    keys = [c[0] for c in COLUMNS]
    with open_index(archive) as idx:
        dict_rows = idx.export_rows()
        cells = list(iter_cells(idx.db, archive))
    assert [dict(zip(keys, c, strict=True)) for c in cells] == dict_rows
    listed = json.loads(cli("list", "--json")[1])
    assert [(r[0], r[1]) for r in cells] == [(x["lead"], x["case"] or "") for x in listed]


def test_the_export_file_is_byte_for_byte_the_table_the_records_give(archive: Config, cli, tmp_path: Path) -> None:
    """The CSV the command writes (cells read by position, staff and contact fields without a dict
    per row, formula-like text quoted inline) is byte-identical to the plain path: csv.writer over
    `table` of the dict rows; the contact and folder cells are split_contact's and the templates'."""
    from archivist.index.build import templates_of
    from archivist.index.export import table, with_headers
    from archivist.index.search_text import expected_name, split_contact
    from archivist.store import AREAS

    def folder_name(area: int, name: str | None, *codes: str | None) -> str:  # the folder the templates give
        return f"{AREAS[area]}/{name or expected_name(templates_of(archive), *codes)}"

    cli("register", "--company", "=cmd|' /C calc'!A0", "--staff", "02", "--person", "+98 912", "--yes")
    cli("register", "--company", "-Minus co", "--staff", "01", "--phone", "021 5555 1234", "--yes")
    out = tmp_path / "m.csv"
    assert cli("export", "--headers", "fa,en", "-o", str(out))[0] == 0
    with open_index(archive) as idx:
        dict_rows = idx.export_rows()
        raw = idx.db.execute('SELECT lead, contact, area, name, "case", staff, company FROM records').fetchall()
    text = io.StringIO()
    text.write("\ufeff")
    csv.writer(text, lineterminator="\r\n").writerows(table(with_headers(archive, "fa,en"), dict_rows))
    assert out.read_bytes() == text.getvalue().encode("utf-8")
    by_code = {(r["lead"], r["case"]): r for r in dict_rows}
    assert len(by_code) == len(raw) == 122
    for lead, contact, area, name, case, staff, company in raw:
        c, row = split_contact(contact), by_code[(lead or "", case or "")]
        phones = " / ".join(x for x in (c.get("mobile"), c.get("phone")) if x)
        assert (row["person"], row["phones"], row["email"]) == (c.get("person", ""), phones, c.get("email", ""))
        assert row["folder"] == folder_name(area, name, lead, case, staff, company)
    assert any(line.startswith("'=cmd") or ",'=cmd" in line for line in out.read_text("utf-8-sig").splitlines())


def _repaired_step_by_step(name: str) -> str:
    """safe_component as it was before its shortcut for names that need no repair."""
    import unicodedata

    from archivist import naming

    name = unicodedata.normalize("NFC", naming.persian_letters(name)).translate(naming._SAFE_TABLE)
    name = re.sub(r" {2,}", " ", name.strip(" ."))
    stem, dot, rest = name.partition(".")
    if stem.strip().upper() in naming.WINDOWS_RESERVED:
        name = f"{stem}_{dot}{rest}"
    return naming._truncate_utf8(name, naming.MAX_NAME_BYTES) or "_"


PIECES = list('ab .يكکی\u200c\u200e\x01\x7f<>:"|?*/\\é\u0301e') + ["CON", "nul", "COM1", "آ", "ا\u0653", "ش" * 130]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join) | st.text(max_size=300))
def test_folder_names_repaired_with_the_shortcut_are_what_every_step_gives(name: str) -> None:
    """`list --json` and the export rebuild 100,000 folder names; most need no repair, and the
    shortcut that returns those unchanged must agree with the full repair on every name."""
    from archivist.naming import safe_component

    assert safe_component(name) == _repaired_step_by_step(name)


def test_the_morning_digest_from_the_first_lines_is_the_digest_from_the_whole_lists(archive: Config, cli) -> None:
    """The daemon's review tick held every staff member's whole `due` lists at once (its peak
    memory at 100,000 records); it now reads the counts and each section's first MAX_LINES."""
    from archivist.dates import now
    from archivist.reminders import MAX_LINES, digest_text

    assert cli("reindex")[0] == 0
    at = now(archive.timezone)
    with open_index(archive) as idx:
        for staff in archive.staff:
            whole = idx.due(staff=staff, now=at)
            counts, heads = idx.due_head(staff=staff, now=at, limit=MAX_LINES)
            assert counts == {key: len(rows) for key, rows in whole.items()}
            assert heads == {key: rows[:MAX_LINES] for key, rows in whole.items()}
            assert digest_text(archive, staff, at, heads, counts) == digest_text(archive, staff, at, whole)
        assert any(len(rows) > MAX_LINES for rows in idx.due(now=at).values())  # the "… and N more" line is exercised
        assert idx.iter_due()  # the index is still usable: the head's iterators were closed
        assert idx.records()


def test_due_sections_and_their_counts_are_read_from_the_index_alone(archive: Config, cli) -> None:
    """`due` at 100,000 records read 126,000 rows each through a look-up in the table (the index
    gave only the order), and its three counts before the first line did the same (0.4 s): every
    column they read is in records_next / records_stage now, so SQLite reads the index alone."""
    assert cli("reindex")[0] == 0
    with open_index(archive) as idx:
        runs = {
            "due": lambda: idx.review_text(),
            "due --staff": lambda: idx.review_text(staff="02"),
            "due --json": lambda: [list(rows) for rows in idx.review_json().values()],
            "digest": lambda: idx.due_head(staff="07"),
        }
        for name, run in runs.items():
            plans = _plans(idx.db, run, "FROM RECORDS")
            assert len(plans) >= 3, name
            for sql, plan in plans:
                assert "USING COVERING INDEX" in plan and "TEMP B-TREE" not in plan, (name, sql, plan)


ODD = ["شرکت \x1b[31mقرمز\x07", 'Quote "and" back\\slash', "C1 \x9b2J csi", "ي ك عربی", "tab\there"]


@pytest.mark.parametrize("place", [("Asia/Tehran", "jalali"), ("Europe/Berlin", "gregorian")])
def test_due_json_and_text_are_exactly_those_of_the_whole_records(
    archive: Config,
    cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    place: tuple[str, str],
) -> None:
    """`due --json` is written straight from the rows (no dict per entry, dates through one
    Clock) and `due` formats each (stage, days) once: both are byte for byte what json.dumps and
    the line format give for `due()` — control characters, quotes, C1 codes and tabs in company
    names, NULL case codes, in a zone with DST changes inside the lists and the Gregorian calendar."""
    from archivist.cli import main as cli_main
    from archivist.cli import neutralize
    from archivist.config import load_config
    from archivist.terminal import json_safe

    odd = set()
    for company in ODD:
        code, out, _err = cli("register", "--company", company, "--staff", "02", "--yes")
        assert code == 0
        odd.add(out.strip())
    zone, calendar = place
    other = tmp_path / f"{calendar}.yaml"
    text = Path(archive.path).read_text("utf-8").replace("Asia/Tehran", zone).replace("calendar: jalali", f"calendar: {calendar}")
    other.write_text(text.replace("root: ./archive", f"root: {archive.root}"), "utf-8")
    cfg = load_config(other)
    monkeypatch.setenv("ARCHIVIST_NOW", "2027-01-10T10:00:00+03:30")  # the odd ones overdue and stuck too

    def run(*args: str) -> str:
        capsys.readouterr()
        assert cli_main(["--config", str(other), *args]) == 0
        return capsys.readouterr().out

    with open_index(cfg) as idx:
        lists, mine = idx.due(), idx.due(staff="02")
    assert odd <= {h["lead"] for h in lists["stuck"]} and odd <= {h["lead"] for h in lists["overdue"]}
    assert any("\x1b" in h["company"] for h in lists["stuck"]) and any("\x9b" in h["company"] for h in lists["stuck"])
    dates = [h["next_followup"] for h in lists["overdue"]] + [h["stage_since"] for h in lists["stuck"]]
    assert len({d[19:] for d in dates}) == (2 if zone == "Europe/Berlin" else 1)  # both sides of a DST change
    assert any(h["next_followup"] is None for h in lists["stuck"]) and any(h["case"] for h in lists["stuck"])

    def dumped(value: object) -> str:
        return json_safe(json.dumps(value, ensure_ascii=False, indent=2, default=str)) + "\n"

    assert run("due", "--json") == dumped(lists)
    assert run("due", "--staff", "02", "--json") == dumped(mine)
    assert run("due", "--staff", "02") == neutralize(review_lines(mine, calendar, zone))


def test_paths_in_list_due_and_search_answers_are_the_folders_as_they_are_after_the_template_changes(
    archive: Config, cli, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A changed folder template in config.yaml renames no folder; `list --json`, `due --json`,
    search hits and the code look-up (`show`) formatted the template again for every record whose
    folder matched the old one, and named folders that do not exist. They give r.folder now."""
    from archivist.index.lookup import indexed_folders

    assert cli("reindex")[0] == 0
    text = config_file.read_text(encoding="utf-8") + 'naming:\n  applicant_folder: "{lead} {company} {staff}"\n'
    config_file.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ARCHIVIST_NOW", "2027-01-10T10:00:00+03:30")
    listed = json.loads(cli("list", "--json")[1])
    due = json.loads(cli("due", "--json")[1])
    found = json.loads(cli("search", listed[0]["company"], "--json")[1])
    paths = [h["path"] for h in listed + found] + [h["path"] for rows in due.values() for h in rows]
    assert len(paths) > 120 and all(Path(p).is_dir() for p in paths), [p for p in paths if not Path(p).is_dir()][:3]
    from archivist.config import load_config

    lead = next(h["lead"] for h in listed if h["lead"] and not h["case"])
    assert [p.is_dir() for p in indexed_folders(load_config(config_file), lead) or []] == [True]


@given(
    company=st.one_of(
        st.none(), st.text(st.sampled_from(["a", "ب", "«", "\x7f", "\x85", "\x9b", "\x00", "\x1b", '"', "\\", "\n", "\u2028"]))
    ),
    folder=st.text(st.sampled_from(["a", "ب", "\x9f", "\x7f", '"', "\\", "\t", " ", "-"]), min_size=1),
    area=st.integers(0, 3),
    stale=st.booleans(),
)
def test_the_stored_parts_of_a_due_json_entry_are_what_json_dumps_writes(
    company: str | None, folder: str, area: int, stale: bool
) -> None:
    """The index stores each record's part of its `due --json` entry already encoded (the
    company, the folder) and made terminal-safe (DEL and C1 escaped): around a date, the root and
    `stale`, they are byte for byte json.dumps(indent=2) of the entry nested in the mapping."""
    from archivist.index import review
    from archivist.store import AREAS
    from archivist.terminal import json_safe

    root = '/srv/ar"chive\x9b'
    entry = {
        "lead": "12345",
        "case": None,
        "company": company,
        "staff": "03",
        "status": "following",
        "next_followup": None,
        "path": f"{root}/{AREAS[area]}/{folder}",
        "stale": stale,
    }
    dumped = json_safe(json.dumps({"overdue": [entry]}, ensure_ascii=False, indent=2))
    made = (
        review.json_head("12345", None, company, "03", "following")
        + "null"
        + review.JSON_KEY
        + 'path": "'
        + json_safe(review.json_text(root)[1:-1])
        + review.json_path(area, folder)
        + review.JSON_KEY
        + f'stale": {"true" if stale else "false"}\n'
        + review.JSON_INDENT
        + "}"
    )
    assert dumped == '{\n  "overdue": [\n' + review.JSON_INDENT + made + "\n  ]\n}"


def test_due_dates_are_made_by_sqlite_not_line_by_line_in_python(archive: Config, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 100,000 records Python's step per line (a date through Clock.shown, an f-string, the
    control-character pass) was most of `due`'s 0.6 s. The lines are put together inside SQLite
    now, dates included: no date of the 120-record review goes through Python, and the text is
    still exactly Python's formatting of `due()`."""
    from archivist.dates import Clock

    shown_calls = []
    real = Clock.shown
    monkeypatch.setattr(Clock, "shown", lambda self, ts: shown_calls.append(ts) or real(self, ts))
    with open_index(archive) as idx:
        lists = idx.due()
    shown_calls.clear()
    out = cli("due")[1]
    assert len(lists["overdue"]) + len(lists["today"]) > 20 and shown_calls == []
    assert out == review_lines(lists, archive.calendar, archive.timezone)

    iso_calls: list[int] = []
    real_iso = Clock.iso
    monkeypatch.setattr(Clock, "iso", lambda self, ts: iso_calls.append(ts) or real_iso(self, ts))
    out = cli("due", "--json")[1]
    assert json.loads(out) == lists and len(lists["stuck"]) > 20
    entries = [h for rows in lists.values() for h in rows]
    shown_dates = {
        datetime.fromisoformat(h[k]).timestamp() for h in entries for k in ("next_followup", "stage_since") if h.get(k)
    }
    assert len(shown_dates) > 40 and not shown_dates & set(iso_calls)  # only each run of days' offset text


@pytest.mark.parametrize("zone", ["Asia/Tehran", "Europe/Berlin"])
def test_due_lines_where_the_sqlite_arithmetic_stops_are_still_pythons(
    cli, config_file: Path, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    """Where `due`'s arithmetic inside SQLite does not reach, the section is formatted in Python
    with the zone database, and the lines stay the same: a follow-up on the day Berlin's clocks
    go forward, one older than ten years (Tehran still had summer time then). And a record that
    entered its stage exactly its limit ago, to the second, is not stuck yet; one second earlier,
    it is (the stuck section is read a day of stuck-ness at a time: that edge is its own case)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from archivist.config import load_config
    from archivist.dates import Clock

    config_file.write_text(config_file.read_text("utf-8").replace("Asia/Tehran", zone), "utf-8")
    start = datetime(2027, 1, 10, 10, 0, tzinfo=ZoneInfo(zone))

    def register(at: datetime) -> str:
        monkeypatch.setenv("ARCHIVIST_NOW", at.isoformat())
        code, out, err = cli("register", "--company", f"Edge {at.second} {len(out_codes)}", "--staff", "02", "--yes")
        assert code == 0, err
        out_codes.append(out.strip())
        return out.strip()

    out_codes: list[str] = []
    earlier, exact, spring, ancient = register(start - timedelta(seconds=1)), register(start), register(start), register(start)
    monkeypatch.setenv("ARCHIVIST_NOW", start.isoformat())
    for code, when in ((spring, "2026-03-29T03:30:00+02:00"), (ancient, "2015-06-01T10:00:00+04:30")):
        assert cli("log", code, "--kind", "note", "--note", "edge", "--next", when)[0] == 0
    monkeypatch.setenv("ARCHIVIST_NOW", (start + timedelta(days=1)).isoformat())  # stage `new`: a limit of 1 day

    shown_calls = []
    real = Clock.shown
    monkeypatch.setattr(Clock, "shown", lambda self, ts: shown_calls.append(ts) or real(self, ts))
    cfg = load_config(config_file)
    with open_index(cfg) as idx:
        lists = idx.due()
    stuck = {h["lead"]: h["days"] for h in lists["stuck"]}
    assert stuck.get(earlier) == 1 and exact not in stuck
    assert {spring, ancient} <= {h["lead"] for h in lists["overdue"]}
    shown_calls.clear()
    assert cli("due")[1] == review_lines(lists, cfg.calendar, cfg.timezone)
    assert shown_calls  # the overdue section went the zone database's way
    iso_calls: list[int] = []
    real_iso = Clock.iso
    monkeypatch.setattr(Clock, "iso", lambda self, ts: iso_calls.append(ts) or real_iso(self, ts))
    expected = json.dumps(lists, ensure_ascii=False, indent=2) + "\n"
    assert cli("due", "--json")[1] == expected and iso_calls == []  # the index's own dates, in this zone
    # an index built in another zone: `due --json` makes its dates, by the zone database where SQLite's stop
    text = config_file.read_text("utf-8")
    config_file.write_text(text.replace(zone, "UTC"), "utf-8")
    assert cli("reindex")[0] == 0
    config_file.write_text(text, "utf-8")
    assert cli("due", "--json")[1] == expected
    assert len(iso_calls) > len(lists["overdue"])  # the window with those two went the zone database's way


def test_due_json_uses_the_indexs_dates_only_in_the_zone_and_rules_they_were_written_in(
    archive: Config, cli, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index keeps `due --json`'s dates and root as text, for the zone and root it was built
    for (schema 17). A command run with another zone in its config still writes the index's zone
    (so every row agrees), and a report in another zone, through another root, or under other
    rules of the same zone (a tzdata update) makes its own: each output is json.dumps of `due()`
    in the report's zone and root."""
    from archivist.cli import main as cli_main
    from archivist.config import load_config
    from archivist.dates import Clock
    from archivist.index import schema

    berlin = tmp_path / "berlin.yaml"
    text = Path(archive.path).read_text("utf-8").replace("Asia/Tehran", "Europe/Berlin")
    berlin.write_text(text.replace("root: ./archive", f"root: {archive.root}"), "utf-8")
    in_berlin = load_config(berlin)
    with open_index(archive) as idx:
        lead = idx.due()["overdue"][0]["lead"]
    capsys.readouterr()
    assert (
        cli_main(["--config", str(berlin), "log", lead, "--kind", "call", "--note", "x", "--next", "2027-01-02T09:15:00+01:00"])
        == 0
    )

    def dumped(cfg: Config) -> str:
        with open_index(cfg) as idx:
            return json.dumps(idx.due(), ensure_ascii=False, indent=2) + "\n"

    def report(cfg: Config) -> str:
        capsys.readouterr()
        assert cli_main(["--config", str(cfg.path), "due", "--json"]) == 0
        return capsys.readouterr().out

    tehran = report(archive)
    assert tehran == dumped(archive) and '"2027-01-02T11:45:00+03:30"' in tehran  # the log Berlin's config wrote
    assert report(in_berlin) == dumped(in_berlin) and '"2027-01-02T09:15:00+01:00"' in report(in_berlin)
    with open_index(archive) as idx:  # the stored text is what the report reads in its own zone...
        idx.db.execute(
            "UPDATE records SET next_json = '\"2000-01-01T00:00:00+03:30\"' || substr(next_json, 28) WHERE lead = ?", (lead,)
        )
        assert "2000-01-01T00:00:00" in report(archive)
        # ...and never under other rules
        stamp = schema.json_for(idx.db)
        idx.db.execute("UPDATE meta SET value = ? WHERE key = ?", (stamp.replace(" ", " 0", 1), schema.JSON_FOR))
    assert report(archive) == tehran
    with open_index(archive) as idx:  # its own rules again (the record's stored date still wrong)
        idx.db.execute("UPDATE meta SET value = ? WHERE key = ?", (stamp, schema.JSON_FOR))
    moved = Path(archive.root).rename(tmp_path / "moved")  # the archive moved, its index with it
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(Path(archive.path).read_text("utf-8").replace("root: ./archive", f"root: {moved}"), "utf-8")
    there = report(load_config(elsewhere))
    assert there == dumped(load_config(elsewhere)) and f'"path": "{moved}/' in there
    # `reindex` writes every row for the config it runs with: the stored parts serve again
    assert cli_main(["--config", str(elsewhere), "reindex"]) == 0
    iso_calls: list[int] = []
    real_iso = Clock.iso
    monkeypatch.setattr(Clock, "iso", lambda self, ts: iso_calls.append(ts) or real_iso(self, ts))
    assert report(load_config(elsewhere)) == there and iso_calls == []


def test_due_json_comes_a_window_at_a_time_with_no_entry_lost_or_twice(
    archive: Config, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`due --json` is 48 MB at 100,000 records: its dated sections are read a window of
    follow-ups at a time, each ending CHUNK_ENTRIES rows further on, so the whole never sits in
    memory (a window sized from the last one's count took in 33 MB at once after a sparse
    stretch). With windows of three rows, the chunks still join into exactly json.dumps of
    `due()`, and so do `due`'s lines."""
    from archivist.index import due

    monkeypatch.setattr(due, "CHUNK_ENTRIES", 3)
    with open_index(archive) as idx:
        lists, mine = idx.due(), idx.due(staff="02")
        chunks = {key: list(parts) for key, parts in idx.review_json().items()}
    counts = [part.count(b'"lead"') for part in chunks["overdue"]]
    assert len(lists["overdue"]) > 20 and sum(counts) == len(lists["overdue"]) and max(counts) <= 3
    assert cli("due")[1] == review_lines(lists, archive.calendar, archive.timezone)
    assert cli("due", "--json")[1] == json.dumps(lists, ensure_ascii=False, indent=2) + "\n"
    assert cli("due", "--json", "--staff", "02")[1] == json.dumps(mine, ensure_ascii=False, indent=2) + "\n"


def test_reports_scan_with_a_small_page_cache_and_give_the_connection_its_own_back(archive: Config, cli) -> None:
    """A report reads its index range once, so the 32 MB page cache kept 25 MB of pages `due`
    never read again (67 MB peak at 100,000 records, against 60). Each report scans with a 2 MB
    cache; the long-lived connection of the TUI, the web app and the daemon gets its own back."""
    assert cli("reindex")[0] == 0
    with open_index(archive) as idx:
        before = idx.db.execute("PRAGMA cache_size").fetchone()[0]
        seen: list[int] = []

        def during() -> None:
            seen.append(idx.db.execute("PRAGMA cache_size").fetchone()[0])

        idx.review_text()
        sections = idx.review_json()
        for rows in sections.values():
            for _ in rows:
                during()
                break
            rows.close()  # type: ignore[attr-defined]
        for report in (idx.iter_export_cells(), idx.iter_brief()):
            next(report)
            during()
            report.close()  # type: ignore[attr-defined]
        after = idx.db.execute("PRAGMA cache_size").fetchone()[0]
    assert before == after == -32000 and seen and set(seen) == {-2000}
