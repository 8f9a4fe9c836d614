"""The procedure's tour, on disk: register → call → convert → contract → invoice → clear → crm → archive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from archivist import workflow
from archivist.config import Config
from archivist.errors import ArchivistError, TransitionError
from archivist.record import LOG_NAME

from .conftest import tree_digest

COMPANY = "شرکت نمونه‌پارس"


def read_log(folder: Path) -> dict:
    return yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))


def test_full_tour_on_disk(cli, cfg: Config) -> None:
    root = cfg.root
    assert cli("init")[0] == 0
    for area in ("applicants", "customers", "archive/applicants", "archive/customers", "inbox"):
        assert (root / area).is_dir()

    code, out, _ = cli(
        "register",
        "--company",
        COMPANY,
        "--staff",
        "07",
        "--person",
        "آقای رضایی",
        "--mobile",
        "۰۹۱۲ ۱۲۳ ۴۵۶۷",
        "--service",
        "ISO certification",
        "--request",
        "price quote",
    )
    assert code == 0
    lead = out.strip()
    assert lead == "00001"
    folder = root / "applicants" / f"{COMPANY} - 07 - {lead}"
    log = read_log(folder)
    assert log["form"] == "F-31-08-01" and log["lead"] == lead and log["case"] is None
    assert log["status"] == "new" and log["staff"] == "07" and log["company"] == COMPANY
    assert log["requests"] == ["price quote"]
    assert (log["next_followup"] - log["events"][0]["at"]).total_seconds() == 24 * 3600
    assert "شرکت نمونه" in (folder / LOG_NAME).read_text(encoding="utf-8")  # Persian stays readable

    assert cli("log", "۰۰۰۰۱", "--kind", "call", "--note", "تماس اول؛ پیش‌فاکتور ارسال شد")[0] == 0
    log = read_log(folder)
    assert log["status"] == "following"
    assert [e["kind"] for e in log["events"]] == ["registered", "call"]
    assert log["events"][1]["by"] == "01"

    code, out, _ = cli("convert", lead, "--service", "1")
    assert code == 0
    case = out.strip()
    assert case == "1001"
    assert not folder.exists()
    folder = root / "customers" / case
    log = read_log(folder)
    assert log["case"] == case and log["lead"] == lead and log["status"] == "open"
    assert log["events"][-1]["kind"] == "converted"

    code, out, _ = cli("contract", case)
    assert code == 0 and read_log(folder)["contract"] == out.strip() and read_log(folder)["status"] == "contracted"
    code, out, _ = cli("invoice", case, "--amount", "۱۲٬۰۰۰٬۰۰۰")
    assert code == 0
    inv = read_log(folder)["invoices"]
    assert inv[0]["number"] == out.strip() and inv[0]["amount"] == 12000000

    assert cli("service", case, "--note", "ممیزی مرحله ۱")[0] == 0
    assert read_log(folder)["status"] == "in-service"
    assert cli("clear", case)[0] == 0
    assert read_log(folder)["status"] == "cleared"
    assert cli("crm", case, "--note", "رضایت مشتری")[0] == 0
    assert read_log(folder)["status"] == "crm-done"
    assert cli("archive", case)[0] == 0
    assert not folder.exists()
    folder = root / "archive" / "customers" / case
    log = read_log(folder)
    assert log["status"] == "archived"
    kinds = [e["kind"] for e in log["events"]]
    assert kinds == ["registered", "call", "converted", "contract", "invoice", "service", "cleared", "crm", "archived"]
    ats = [e["at"] for e in log["events"]]
    assert ats == sorted(ats)

    # either code still finds the archived record
    code, out, _ = cli("show", lead, "--json")
    assert code == 0 and '"path"' in out and str(folder) in out


def test_archive_refused_before_crm(cli, cfg: Config) -> None:
    lead = cli("register", "--company", "Pars Test", "--staff", "01")[1].strip()
    case = cli("convert", lead, "--service", "2")[1].strip()
    assert case == "2001"
    before = tree_digest(cfg.root)
    code, out, err = cli("archive", case)
    assert code == 1
    assert "CRM" in err and "\n" not in err.strip()
    assert tree_digest(cfg.root) == before


def test_a_second_contract_is_refused_and_not_offered(cli, cfg: Config) -> None:
    lead = cli("register", "--company", "Pars Test", "--staff", "01")[1].strip()
    case = cli("convert", lead, "--service", "2")[1].strip()
    contract = cli("contract", case)[1].strip()
    assert cli("service", case, "--note", "audit")[0] == 0  # in service: a stage that allows contract
    before = tree_digest(cfg.root)
    code, _, err = cli("contract", case)
    assert code == 1 and f"already has contract {contract}" in err
    assert tree_digest(cfg.root) == before
    assert "contract" not in workflow.allowed_actions(workflow.show(cfg, case))


def test_declined_applicant_archived_only_after_crm(cfg: Config) -> None:
    rec = workflow.register(cfg, company="تولیدی کاشی یزد", staff="02")
    workflow.decline(cfg, rec.lead, by="02", note="فعلاً تمایلی ندارد")
    with pytest.raises(TransitionError, match="CRM"):
        workflow.archive(cfg, rec.lead, by="02")
    workflow.crm(cfg, rec.lead, by="02")
    done = workflow.archive(cfg, rec.lead, by="02")
    assert done.folder == cfg.root / "archive" / "applicants" / f"تولیدی کاشی یزد - 02 - {rec.lead}"
    assert read_log(done.folder)["status"] == "archived"


def test_reopen_moves_back_with_event(cfg: Config) -> None:
    rec = workflow.register(cfg, company="Alborz Steel", staff="01")
    workflow.decline(cfg, rec.lead, by="01")
    workflow.crm(cfg, rec.lead, by="01")
    workflow.archive(cfg, rec.lead, by="01")
    back = workflow.reopen(cfg, rec.lead, by="01", note="called again")
    assert back.folder is not None and back.folder.parent == cfg.root / "applicants"
    log = read_log(back.folder)
    assert log["status"] == "following" and log["events"][-1]["kind"] == "reopened"


def test_illegal_transition_is_a_clear_error(cfg: Config) -> None:
    rec = workflow.register(cfg, company="Alborz Steel", staff="01")
    with pytest.raises(TransitionError, match="allowed now"):
        workflow.clear(cfg, rec.lead, by="01")
    with pytest.raises(TransitionError):
        workflow.sign_contract(cfg, rec.lead, by="01")


def test_unknown_staff_and_service_name_the_fix(cfg: Config) -> None:
    with pytest.raises(ArchivistError, match="staff"):
        workflow.register(cfg, company="X", staff="55")
    rec = workflow.register(cfg, company="X", staff="01")
    with pytest.raises(ArchivistError, match="services"):
        workflow.convert(cfg, rec.lead, service="Gardening", by="01")


def test_acting_staff_required(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    lead = cli("register", "--company", "Y", "--staff", "01")[1].strip()
    monkeypatch.delenv("ARCHIVIST_STAFF")
    code, _, err = cli("log", lead, "--kind", "note", "--note", "x")
    assert code == 1 and "--by" in err
    assert cli("--by", "۰۲", "log", lead, "--kind", "note", "--note", "x")[0] == 0


def test_unknown_keys_preserved_on_rewrite(cfg: Config) -> None:
    rec = workflow.register(cfg, company="Keep Keys Co", staff="01")
    path = rec.folder / LOG_NAME
    text = path.read_text(encoding="utf-8").replace("services:", "priority: high\nservices:")
    path.write_text(text, encoding="utf-8")
    workflow.log_event(cfg, rec.lead, kind="note", note="hi", by="01")
    data = read_log(rec.folder)
    assert data["priority"] == "high"
    assert list(data).index("priority") < list(data).index("services")


def test_usage_error_exits_2(cli) -> None:
    assert cli("log")[0] == 2
    assert cli("frobnicate")[0] == 2


def test_followup_accepts_jalali_and_relative(cli, cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T09:00:00+03:30")
    lead = cli("register", "--company", "Z", "--staff", "01")[1].strip()
    code, out, _ = cli("followup", lead, "--at", "۱۴۰۵/۰۹/۰۵ ۱۰:۳۰")
    assert code == 0 and "1405-09-05 10:30" in out
    folder = next((cfg.root / "applicants").iterdir())
    assert read_log(folder)["next_followup"].isoformat() == "2026-11-26T10:30:00+03:30"
    cli("followup", lead, "--at", "+2d")
    assert read_log(folder)["next_followup"].isoformat() == "2026-11-25T09:00:00+03:30"


def test_python_dash_m_entry_point(config_file: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "ARCHIVIST_STAFF": "02"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "archivist",
            "--config",
            str(config_file),
            "register",
            "--company",
            "شرکت فرآیند",
            "--staff",
            "02",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0 and run.stdout.strip() == "00001"
    bad = subprocess.run(
        [sys.executable, "-m", "archivist", "--config", str(config_file), "show", "99999"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 1 and "no record has the code 99999" in bad.stderr and "Traceback" not in bad.stderr


def test_list_refuses_an_unknown_stage(cli) -> None:
    cli("register", "--company", "Listed Co", "--staff", "01")
    code, out, err = cli("list", "--status", "nonsense")
    assert code == 1 and out == ""
    assert "nonsense" in err and "new, following, declined, open" in err and "archived" in err
    code, out, _ = cli("list", "--status", "new")
    assert code == 0 and "Listed Co" in out


def test_show_gives_invoice_dates_in_jalali(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")  # 1405-09-02
    lead = cli("register", "--company", COMPANY, "--staff", "07")[1].strip()
    case = cli("convert", lead, "--service", "1")[1].strip()
    first = cli("invoice", case, "--date", "۱۴۰۵/۰۹/۰۵")[1].strip()
    second = cli("invoice", case, "--amount", "500")[1].strip()
    code, out, _ = cli("show", case)
    assert code == 0
    assert f"invoice {first} dated 1405-09-05" in out
    assert f"invoice {second} amount 500 dated 1405-09-02" in out
