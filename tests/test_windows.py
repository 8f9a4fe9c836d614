"""Windows in the inbox and in record folders: what Explorer, Office and scanners drop on the share."""

from __future__ import annotations

import pytest

from archivist import doctor, workflow
from archivist.config import Config
from archivist.daemon.inbox import file_paths, inbox_entries, unfiled
from archivist.naming import leading_code, name_problems, safe_component
from archivist.store import free_name, layout_of


def _case_numbered(cfg: Config, prefix: str, case: str, company: str) -> str:
    """A real case with a chosen code: the registry says the code before it was the last issued."""
    (cfg.root / "registry.yaml").write_text(f'case: {{"{prefix}": {int(case) - 1}}}\napplicant: 0\n', encoding="utf-8")
    rec = workflow.register(cfg, company=company, staff="01")
    rec = workflow.convert(cfg, rec.lead, service=prefix, by="01")
    assert rec.case == case
    return case


@pytest.mark.parametrize(
    ("filename", "code"),
    [
        ("2025-11-30 scan.pdf", None),  # a scanner's Gregorian date, not case 2025
        ("1404-08-15 اسکن.pdf", None),  # a Jalali date, not case 1404
        ("۱۴۰۴-۰۸-۱۵ قرارداد.pdf", None),  # the same in Persian digits
        ("1404_08_15.pdf", None),
        ("2025 11 30 scan.pdf", None),
        ("1404-08 گزارش ماهانه.pdf", None),  # year-month
        ("1001.5.pdf", None),  # a longer number
        ("1001,250.xlsx", None),
        ("2031 contract.pdf", "2031"),
        ("00417_2025-11-30.pdf", "00417"),  # a code, then a date: the code stands alone
        ("2031-فاکتور.pdf", "2031"),
    ],
)
def test_a_code_counts_only_alone_at_the_start_and_never_as_part_of_a_date(filename: str, code: str | None) -> None:
    assert leading_code(filename) == code


def test_date_named_scans_stay_in_the_inbox_even_when_a_case_has_that_number(cfg: Config) -> None:
    _case_numbered(cfg, "2", "2025", "شرکت بیست و پنج")
    _case_numbered(cfg, "1", "1404", "شرکت چهارده‌چهار")
    inbox = layout_of(cfg).inbox
    inbox.mkdir(parents=True, exist_ok=True)
    for name in ("2025-11-30 scan.pdf", "1404-08-15 اسکن.pdf", "۱۴۰۴-۰۸-۱۵.pdf", "2025 contract.pdf"):
        (inbox / name).write_bytes(b"%PDF " + name.encode())
    result = file_paths(cfg, inbox_entries(cfg))
    assert [dst.name for _src, dst in result.filed] == ["2025 contract.pdf"]
    assert sorted(p.name for p in unfiled(cfg)) == sorted(["1404-08-15 اسکن.pdf", "2025-11-30 scan.pdf", "۱۴۰۴-۰۸-۱۵.pdf"])
    assert not (cfg.root / "customers" / "2025" / "2025-11-30 scan.pdf").exists()
    assert not (cfg.root / "customers" / "1404" / "1404-08-15 اسکن.pdf").exists()


def test_a_name_differing_only_by_case_gets_a_number_not_a_second_file_windows_cannot_tell_apart(cfg: Config) -> None:
    case = _case_numbered(cfg, "1", "1001", "Pars Co")
    folder = cfg.root / "customers" / case
    (folder / "1001 Scan.pdf").write_bytes(b"first scan")
    inbox = layout_of(cfg).inbox
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "1001 scan.pdf").write_bytes(b"second scan")
    result = file_paths(cfg, inbox_entries(cfg))
    assert [dst.name for _src, dst in result.filed] == ["1001 scan (2).pdf"]
    assert (folder / "1001 Scan.pdf").read_bytes() == b"first scan"
    assert (folder / "1001 scan (2).pdf").read_bytes() == b"second scan"
    assert free_name(folder, "1001 SCAN.PDF").name == "1001 SCAN (3).PDF"


def test_windows_and_office_noise_is_neither_filed_nor_counted_as_unfiled(cfg: Config) -> None:
    case = _case_numbered(cfg, "1", "1001", "Pars Co")
    inbox = layout_of(cfg).inbox
    inbox.mkdir(parents=True, exist_ok=True)
    noise = ["desktop.ini", "Thumbs.db", "~$1001 contract.docx", "~WRL0001.tmp", ".~lock.1001 x.odt#", "1001 upload.tmp"]
    for name in noise:
        (inbox / name).write_bytes(b"noise")
    result = file_paths(cfg, sorted(inbox.iterdir()))
    assert result.filed == [] and result.left == []
    assert unfiled(cfg) == []
    assert all((inbox / n).exists() for n in noise)  # left alone: they belong to Explorer and Office
    assert not any((cfg.root / "customers" / case / n).exists() for n in noise)


@pytest.mark.parametrize("name", ["COM0.pdf", "lpt0", "COM¹.txt", "CONIN$", "report. ", "report.pdf.", "a:b.pdf", "a|b"])
def test_names_windows_refuses_are_reported_and_repaired(name: str) -> None:
    assert name_problems(name)
    assert not name_problems(safe_component(name))


def test_doctor_reports_names_that_differ_only_by_case(cfg: Config) -> None:
    rec = workflow.register(cfg, company="Pars", staff="01")
    (rec.folder / "Quote.pdf").write_bytes(b"a")
    (rec.folder / "quote.pdf").write_bytes(b"b")
    twin = rec.folder.with_name(rec.folder.name.upper())
    twin.mkdir()
    found = [v for v in doctor.check_tree(cfg) if v.rule == "case-clash"]
    assert {v.path for v in found} == {str(rec.folder / "Quote.pdf"), str(rec.folder / "quote.pdf"), str(rec.folder), str(twin)}
    assert all("differ only by case" in v.message for v in found)


def test_doctor_reports_a_path_too_long_for_a_windows_client(cfg: Config) -> None:
    rec = workflow.register(cfg, company="شرکت نمونه پارس", staff="01")
    deep = rec.folder / ("پوشه فرعی " * 6).strip() / ("زیرپوشه " * 6).strip()
    deep.mkdir(parents=True)
    long_file = deep / (("نامه " * 22).strip() + ".pdf")
    long_file.write_bytes(b"x")
    found = [v for v in doctor.check_tree(cfg) if v.rule == "windows-path-too-long"]
    assert [v.path for v in found] == [str(long_file)]
