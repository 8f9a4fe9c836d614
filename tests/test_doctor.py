"""`doctor` finds every naming violation (SPEC §6) and `--fix` repairs exactly the safe ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from archivist import workflow
from archivist.config import Config
from archivist.record import LOG_NAME


def build_bad_tree(cfg: Config) -> dict[str, Path]:
    """One record (or file) per kind of violation; returns where each one is."""
    root = cfg.root
    where: dict[str, Path] = {}

    ok = workflow.register(cfg, company="شرکت سالم", staff="01")  # 00001: the well-behaved control

    r = workflow.register(cfg, company="Pars Co", staff="01")  # 00002: wrong pattern (underscores)
    where["wrong-pattern"] = r.folder.rename(r.folder.with_name("Pars Co_01_00002"))

    r = workflow.register(cfg, company="Mismatch Co", staff="02")  # 00003: name says 00099
    where["code-mismatch"] = r.folder.rename(r.folder.with_name("Mismatch Co - 02 - 00099"))

    r = workflow.register(cfg, company="Twin Co", staff="01")  # 00004 and a copy of it
    twin = r.folder.with_name("Twin Co copy - 01 - 00004")
    shutil.copytree(r.folder, twin)
    data = yaml.safe_load((twin / LOG_NAME).read_text(encoding="utf-8"))
    data["company"] = "Twin Co copy"
    (twin / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    where["duplicate-code"] = twin

    r = workflow.register(cfg, company="Two Logs Co", staff="01")  # 00005
    shutil.copy(r.folder / LOG_NAME, r.folder / "F-31-08-01 (1).yaml")
    where["two-logs"] = r.folder

    r = workflow.register(cfg, company="Files Co", staff="01")  # 00006: bad file names inside
    files = {
        "control-char": "scan\x07.pdf",
        "reserved-name": "CON.pdf",
        "edge-space-dot": "report.",
        "too-long": ("گزارش" * 24) + ".pdf",  # 244 bytes: near the kernel's 255
        "bidi-mark": "\u202bfactor.pdf",
    }
    for rule, name in files.items():
        (r.folder / name).write_bytes(rule.encode())
        where[rule] = r.folder / name

    r = workflow.register(cfg, company="Digits Co", staff="02")  # its codes written in Persian digits
    persian = r.lead.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    where["persian-digits"] = r.folder.rename(r.folder.with_name(f"Digits Co - ۰۲ - {persian}"))
    where["digits-fixed"] = r.folder
    where["ok"] = ok.folder
    assert (root / "applicants").is_dir()
    return where


SAFE = {"wrong-pattern", "control-char", "reserved-name", "edge-space-dot", "too-long", "bidi-mark", "persian-digits"}
UNSAFE = {"code-mismatch", "duplicate-code", "two-logs"}


def test_doctor_finds_one_of_each_kind(cfg: Config, cli) -> None:
    where = build_bad_tree(cfg)
    code, out, _ = cli("doctor", "--json")
    assert code == 1
    found = json.loads(out)["violations"]
    rules = {v["rule"] for v in found}
    assert SAFE | UNSAFE <= rules, f"missed: {(SAFE | UNSAFE) - rules}"
    for rule in SAFE | UNSAFE:
        hits = [v for v in found if v["rule"] == rule]
        assert any(v["path"] == str(where[rule]) for v in hits), (rule, hits)
        assert all(v["fixable"] == (rule in SAFE) for v in hits if v["path"] == str(where[rule])), rule
    assert not any(v["path"].startswith(str(where["ok"])) for v in found)


def test_doctor_fix_repairs_exactly_the_safe_ones(cfg: Config, cli) -> None:
    where = build_bad_tree(cfg)
    before_unsafe = {
        rule: where[rule].read_bytes() if where[rule].is_file() else sorted(p.name for p in where[rule].iterdir())
        for rule in UNSAFE
    }
    code, out, _ = cli("doctor", "--fix", "--json")
    result = json.loads(out)
    fixed_rules = {v["rule"] for v in result["fixed"]}
    assert fixed_rules == SAFE
    left = {v["rule"] for v in result["violations"]}
    assert left == UNSAFE and code == 1

    apps = cfg.root / "applicants"
    assert (apps / "Pars Co - 01 - 00002").is_dir()
    assert where["digits-fixed"].is_dir()
    files_folder = where["control-char"].parent
    files = sorted(p.name for p in files_folder.iterdir())
    assert "CON_.pdf" in files and "report" in files and "scan.pdf" in files and "factor.pdf" in files
    assert all(len(n.encode()) <= 255 for n in files)
    # every fix left a `renamed` event in the record it touched
    log = yaml.safe_load((files_folder / LOG_NAME).read_text(encoding="utf-8"))
    assert sum(e["kind"] == "renamed" for e in log["events"]) == 5
    log = yaml.safe_load((apps / "Pars Co - 01 - 00002" / LOG_NAME).read_text(encoding="utf-8"))
    assert log["events"][-1]["kind"] == "renamed" and "Pars Co_01_00002" in log["events"][-1]["note"]
    # the unsafe ones are untouched
    for rule in UNSAFE:
        p = where[rule]
        assert (p.read_bytes() if p.is_file() else sorted(x.name for x in p.iterdir())) == before_unsafe[rule]


def test_fix_never_renames_onto_an_existing_name(cfg: Config, cli) -> None:
    r = workflow.register(cfg, company="Clash Co", staff="01")
    (r.folder / "report.").write_bytes(b"mine")
    (r.folder / "report").write_bytes(b"theirs")
    cli("doctor", "--fix")
    assert (r.folder / "report.").read_bytes() == b"mine"
    assert (r.folder / "report").read_bytes() == b"theirs"


def test_clean_tree_reports_nothing(cfg: Config, cli) -> None:
    workflow.register(cfg, company="شرکت تمیز", staff="01")
    code, out, _ = cli("doctor")
    assert code == 0 and "no naming problems" in out


LONG_COMPANY = "شرکت مهندسی و بازرگانی " + "نوآوران صنعت پارس " * 5 + "سهامی خاص ایرانیان"  # 241 bytes alone


def test_register_keeps_a_long_company_folder_name_under_the_limit(cfg: Config, cli) -> None:
    rec = workflow.register(cfg, company=LONG_COMPANY, staff="01")
    name = rec.folder.name
    assert len(name.encode("utf-8")) <= 240 and name.endswith(" - 01 - 00001")
    assert LONG_COMPANY.startswith(name.split(" - 01 - ")[0])  # the company is cut, never the codes
    assert yaml.safe_load((rec.folder / LOG_NAME).read_text(encoding="utf-8"))["company"] == LONG_COMPANY
    code, out, _ = cli("doctor")
    assert code == 0 and "no naming problems" in out


def test_doctor_reports_an_overlong_record_folder_and_fixes_it(cfg: Config, cli) -> None:
    rec = workflow.register(cfg, company=LONG_COMPANY, staff="01")
    legacy = rec.folder.with_name(f"{LONG_COMPANY} - 01 - {rec.lead}")  # made by an older archivist
    assert len(legacy.name.encode("utf-8")) == 254
    rec.folder.rename(legacy)
    code, out, _ = cli("doctor", "--json")
    [v] = json.loads(out)["violations"]
    assert code == 1 and v["rule"] == "too-long" and v["path"] == str(legacy) and v["fixable"]
    assert v["fix_to"] == str(rec.folder)
    code, out, _ = cli("doctor", "--fix")
    assert code == 0 and rec.folder.is_dir() and not legacy.exists()


def test_doctor_reports_an_overlong_folder_it_cannot_rename(cfg: Config, cli) -> None:
    rec = workflow.register(cfg, company="Broken Log Co", staff="01")
    long_name = rec.folder.with_name("بایگانی قدیمی " * 9 + "- 01 - 00001")
    rec.folder.rename(long_name)
    (long_name / LOG_NAME).write_text("form: [", encoding="utf-8")
    found = json.loads(cli("doctor", "--json")[1])["violations"]
    assert ("too-long", str(long_name), False) in {(v["rule"], v["path"], v["fixable"]) for v in found}


def cases_sharing_numbers(cfg: Config) -> tuple[Any, Any]:
    """Two cases, the second's log edited by hand to carry the first's contract, invoice and tax ID."""
    from datetime import date

    from archivist.invoices import make_tax_id

    tax = make_tax_id("A11ZRA", date(2026, 11, 23), 7)
    cases = []
    for company in ("شرکت اول", "شرکت دوم"):
        lead = workflow.register(cfg, company=company, staff="01").lead
        case = workflow.convert(cfg, lead, service="1", by="01").case
        workflow.sign_contract(cfg, case, by="01")
        cases.append(workflow.add_invoice(cfg, case, by="01", tax_id=tax if not cases else None))
    first, second = cases
    # a hand edit (or a copy of a log) gives the second case the first one's numbers
    log = second.folder / LOG_NAME
    text = log.read_text(encoding="utf-8")
    text = text.replace(f"contract: {second.contract}", f"contract: {first.contract}")
    text = text.replace(
        f"number: '{second.invoices[0]['number']}'\n  tax_id: null", f"number: '{first.invoices[0]['number']}'\n  tax_id: {tax}"
    )
    log.write_text(text, encoding="utf-8")
    return first, second


def test_doctor_reports_contract_invoice_and_tax_numbers_used_twice(cfg: Config, cli) -> None:
    first, second = cases_sharing_numbers(cfg)

    code, out, _ = cli("doctor", "--json")
    assert code == 1
    found = {(v["rule"], v["path"]): v for v in json.loads(out)["violations"]}
    for rule in ("duplicate-contract", "duplicate-invoice", "duplicate-tax-id"):
        for rec in (first, second):
            v = found[(rule, str(rec.folder / LOG_NAME))]
            assert not v["fixable"] and first.case in v["message"] and second.case in v["message"]
    assert first.contract in found[("duplicate-contract", str(second.folder / LOG_NAME))]["message"]


@pytest.mark.parametrize("processes", [False, True], ids=["in-process", "worker-processes"])
def test_doctor_rereads_only_what_changed_and_full_rereads_everything(
    cfg: Config, cli, processes: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an index, a second doctor run re-reads only folders whose stats changed (or that had
    a violation) and finds what a full run finds; `--full` reads every folder again."""
    import os
    from datetime import datetime

    from archivist import doctor
    from bench.generate import generate

    if processes:  # what 100,000 folders get: the reading spread over one process per core
        monkeypatch.setattr(doctor, "PARALLEL_FROM", 5)

    generate(cfg, 60, seed=8, now=datetime.fromisoformat("2026-11-23T10:00:00+03:30"))
    assert cli("reindex")[0] == 0

    def found(*flags: str) -> list[dict[str, object]]:
        code, out, _ = cli("doctor", "--json", *flags)
        assert code in (0, 1)
        return json.loads(out)["violations"]

    assert found() == found("--full") == []
    folders = sorted(p.parent for p in cfg.root.glob("applicants/*/" + LOG_NAME))
    # real changes, as staff make them: a bad file name dropped in, a log edited by hand into
    # another record's code, a folder copied (its code now used twice)
    (folders[0] / "نامه?.pdf").write_bytes(b"pdf")
    data = yaml.safe_load((folders[1] / LOG_NAME).read_text(encoding="utf-8"))
    data["staff"] = "02" if data["staff"] != "02" else "07"
    (folders[1] / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shutil.copytree(folders[2], cfg.root / "applicants" / (folders[2].name + " copy"))
    changed = found()
    assert {v["rule"] for v in changed} == {"code-mismatch", "duplicate-code", "forbidden-char", "wrong-pattern"}
    assert changed == found("--full")
    # a log changed behind the stats' back (same size, old mtime restored): only --full sees it
    log = folders[3] / LOG_NAME
    st = log.stat()
    raw = log.read_bytes()
    log.write_bytes(b"{" + raw[1:])
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert found() == changed
    assert [v["rule"] for v in found("--full") if v["path"].startswith(str(folders[3]))] == ["invalid-log"]
