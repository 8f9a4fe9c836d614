"""Daily-use rules from the office's first weeks (issue 16): contracts and invoices on cases only,
a call moves the follow-up, export formats, `--note=--`, names nobody could find."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from archivist import store
from archivist.config import Config
from archivist.record import LOG_NAME

from .conftest import tree_digest

COMPANY = "شرکت کاوش‌گستر"


def register(cli, company: str = COMPANY, *extra: str) -> str:  # type: ignore[no-untyped-def]
    code, out, err = cli("register", "--company", company, "--staff", "07", *extra)
    assert code == 0, err
    return out.strip()


# -- 2. contracts and invoices belong to cases --------------------------------------------------------

@pytest.mark.parametrize("stage", ["open", "declined", "crm-done"])
@pytest.mark.parametrize("action", ["invoice", "contract"])
def test_contract_and_invoice_refused_on_an_applicant(cli, cfg: Config, stage: str, action: str) -> None:
    lead = register(cli)
    if stage in ("declined", "crm-done"):
        assert cli("decline", lead)[0] == 0
    if stage == "crm-done":
        assert cli("crm", lead)[0] == 0
    before = tree_digest(cfg.root)
    registry = (cfg.root / "registry.yaml").read_bytes()
    code, out, err = cli(action, lead)
    assert code == 1 and out == ""
    assert "applicant" in err and "case" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert tree_digest(cfg.root) == before  # nothing written: no log change, no number taken
    assert (cfg.root / "registry.yaml").read_bytes() == registry


def test_trace_stamp_never_calls_an_applicant_code_a_case(cli, cfg: Config) -> None:
    """An invoice that reached an applicant's log by hand (or before the rule) is stamped with
    the applicant code, never as 'case 00001'."""
    lead = register(cli)
    folder = store.locate(cfg, lead)
    data = yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))
    data["invoices"] = [{"number": "140500011", "tax_id": None, "date": "2026-11-20T10:00:00+03:30", "amount": 5, "note": ""}]
    (folder / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code, out, err = cli("trace", "140500011", "--stamp")
    assert code == 0, err
    assert f"case {lead}" not in out and "applicant 00001" in out


def test_case_stamp_in_persian(cli, cfg: Config, persian: None) -> None:
    lead = register(cli)
    assert cli("convert", lead, "--service", "3")[0] == 0
    code, out, err = cli("invoice", "3001", "--stamp")
    assert code == 0, err
    assert "پرونده 3001 · فاکتور" in out and "case" not in out
