"""`doctor` finds every naming violation (SPEC §6) and `--fix` repairs exactly the safe ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
    before_unsafe = {rule: where[rule].read_bytes() if where[rule].is_file() else sorted(p.name for p in where[rule].iterdir())
                     for rule in UNSAFE}
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
