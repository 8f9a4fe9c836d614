"""The audit trail (ISO 9001 7.5.3): every change is an event with who and when, `history` prints
the timeline, and no action ever removes or rewrites an earlier event."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from archivist import workflow
from archivist.config import Config
from archivist.record import LOG_NAME

COMPANY = "شرکت نمونه‌پارس"


def events_of(cfg: Config, code: str) -> list[dict[str, Any]]:
    folder = workflow.show(cfg, code).folder
    return yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))["events"]


def test_no_action_removes_or_rewrites_an_event(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Walk an applicant and a case through every action; each log's old events stay a prefix."""
    steps: list[tuple[str, Any]] = []
    lead = workflow.register(cfg, company=COMPANY, staff="07", by="07").lead
    other = workflow.register(cfg, company="Acme Trading", staff="02", by="02").lead
    steps += [
        (lead, lambda: workflow.log_event(cfg, lead, kind="call", note="تماس اول", by="07")),
        (lead, lambda: workflow.log_event(cfg, lead, kind="request", note="نمونه کار", by="07")),
        (lead, lambda: workflow.set_followup(cfg, lead, when=workflow._now(cfg.timezone), by="07")),
        (lead, lambda: workflow.convert(cfg, lead, service="1", by="01")),
        (lead, lambda: workflow.sign_contract(cfg, lead, by="01")),
        (lead, lambda: workflow.add_invoice(cfg, lead, by="01", amount="1000")),
        (lead, lambda: workflow.record_service(cfg, lead, note="ممیزی مرحله ۱", by="07")),
        (lead, lambda: workflow.log_event(cfg, lead, kind="qc", note="QC ok", by="02")),
        (lead, lambda: workflow.clear(cfg, lead, by="01")),
        (lead, lambda: workflow.crm(cfg, lead, by="01")),
        (lead, lambda: workflow.archive(cfg, lead, by="01")),
        (lead, lambda: workflow.reopen(cfg, lead, by="01", note="تمدید")),
        (lead, lambda: workflow.append_event(cfg, workflow.show(cfg, lead).folder, "edited", "archivist", fields=["company"])),
        (other, lambda: workflow.decline(cfg, other, by="02")),
        (other, lambda: workflow.crm(cfg, other, by="02")),
        (other, lambda: workflow.archive(cfg, other, by="02")),
        (other, lambda: workflow.reopen(cfg, other, by="02")),
    ]
    for code, action in steps:
        before = events_of(cfg, code)
        action()
        after = events_of(cfg, code)
        assert after[: len(before)] == before
        assert len(after) == len(before) + 1
        assert after[-1]["by"] and after[-1]["at"]
    assert len(events_of(cfg, lead)) == 14


def test_history_prints_the_timeline_with_jalali_dates_and_who(cli, cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T09:12:00+03:30")  # 1405-09-02
    lead = cli("--by", "07", "register", "--company", COMPANY, "--staff", "07")[1].strip()
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-24T10:30:00+03:30")
    cli("--by", "07", "log", lead, "--kind", "call", "--note", "پیش‌فاکتور خواستند")
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-25T11:00:00+03:30")
    case = cli("--by", "01", "convert", lead, "--service", "1")[1].strip()

    code, out, _ = cli("history", "۰۰۰۰۱")  # the applicant code still finds the case, any digits
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == f"{case}  open  {COMPANY}"
    assert "1405-09-02 09:12" in lines[1] and "07 سارا" in lines[1] and "registered" in lines[1]
    assert "1405-09-03 10:30" in lines[2] and "call" in lines[2] and "پیش‌فاکتور خواستند" in lines[2]
    assert "1405-09-04 11:00" in lines[3] and "01 مریم احمدی" in lines[3] and "converted" in lines[3]
    assert f"case {case}" in lines[3] and "→ open" in lines[3]

    data = json.loads(cli("history", case, "--json")[1])
    assert data["code"] == case and data["lead"] == lead and data["company"] == COMPANY
    assert [(e["kind"], e["by"]) for e in data["events"]] == [("registered", "07"), ("call", "07"), ("converted", "01")]
    assert data["events"][0]["at"] == "2026-11-23T09:12:00+03:30"
    assert data["events"][0]["shown"] == "1405-09-02 09:12"


@pytest.mark.parametrize(
    "fields, shown",
    [
        (["company", "contact.mobile"], "fields: company, contact.mobile"),
        ({"company": {"from": "شرکت نمونه", "to": "شرکت نمونه‌پارس"}}, "fields: company: شرکت نمونه → شرکت نمونه‌پارس"),
    ],
)
def test_history_shows_the_fields_of_an_edited_event(cli, cfg: Config, fields: Any, shown: str) -> None:
    lead = workflow.register(cfg, company=COMPANY, staff="07", by="07").lead
    workflow.append_event(cfg, workflow.show(cfg, lead).folder, "edited", "archivist", "hand edit seen", fields=fields)
    code, out, _ = cli("history", lead)
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert "edited" in last and "hand edit seen" in last and shown in last
    data = json.loads(cli("history", lead, "--json")[1])
    assert data["events"][-1]["kind"] == "edited" and data["events"][-1]["extra"]["fields"] == fields


def test_history_of_an_unknown_code_says_what_to_do(cli, cfg: Config) -> None:
    code, _, err = cli("history", "09999")
    assert code == 1 and "no record has the code 09999" in err


def test_hand_edit_of_company_shows_in_history_after_the_daemon_sees_it(cli, cfg: Config, config_file) -> None:
    """End to end with the real daemon (one pass each): edit `company` by hand, read the timeline."""
    import os
    import subprocess
    import sys

    lead = workflow.register(cfg, company="شرکت نمونه پارس", staff="07", by="07").lead
    once = [sys.executable, "-m", "archivist", "--config", str(config_file), "daemon", "--once"]
    env = {**os.environ, "ARCHIVIST_STAFF": "01"}
    subprocess.run(once, check=True, capture_output=True, env=env, timeout=120)  # sees the record as it is
    log = workflow.show(cfg, lead).folder / LOG_NAME
    log.write_text(
        log.read_text(encoding="utf-8").replace("company: شرکت نمونه پارس", "company: شرکت نمونه پارس نو"), encoding="utf-8"
    )
    subprocess.run(once, check=True, capture_output=True, env=env, timeout=120)

    code, out, _ = cli("history", lead)
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert "edited" in last and "fields: company" in last and "شرکت نمونه پارس نو" in last
    data = json.loads(cli("history", lead, "--json")[1])
    assert [e["kind"] for e in data["events"]] == ["registered", "edited"]
