"""Reading F-31-08-01: hand edits welcome, bad logs reported with file and line, never rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from archivist import workflow
from archivist.config import Config
from archivist.errors import InvalidLogError
from archivist.record import LOG_NAME, load_record

BROKEN = {
    "bad YAML": ("status: new", "status: [new", "not valid YAML"),
    "wrong type": ("services:\n- ISO certification", "services: 12", "services must be a list"),
    "missing code": ("lead: '00001'\n", "", "lead must be 5 digits"),
    "unquoted code": ("lead: '00001'", "lead: 1", "quoted"),
    "unknown stage": ("status: new", "status: finished", "status must be one of"),
}


@pytest.mark.parametrize("label", sorted(BROKEN))
def test_malformed_log_named_with_line_and_left_byte_identical(label: str, cfg: Config, cli) -> None:
    rec = workflow.register(cfg, company="شرکت خراب", staff="01", services=["1"])
    path = rec.folder / LOG_NAME
    old, new, reason = BROKEN[label]
    text = path.read_text(encoding="utf-8")
    assert old in text, label
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    before = path.read_bytes()

    with pytest.raises(InvalidLogError) as e:
        load_record(rec.folder)
    assert reason in str(e.value)
    assert str(path) in str(e.value)
    if label != "missing code":
        assert e.value.line is not None and e.value.line > 1

    for args in (("show", rec.lead), ("log", rec.lead, "--kind", "call", "--note", "x")):
        code, _, err = cli(*args)
        assert code == 1, args
        assert "F-31-08-01.yaml" in err and reason in err
    assert path.read_bytes() == before


def test_line_number_points_at_the_bad_key(cfg: Config) -> None:
    rec = workflow.register(cfg, company="Line Co", staff="01")
    path = rec.folder / LOG_NAME
    lines = path.read_text(encoding="utf-8").splitlines()
    idx = next(i for i, ln in enumerate(lines) if ln.startswith("status:"))
    lines[idx] = "status: done"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidLogError) as e:
        load_record(rec.folder)
    assert e.value.line == idx + 1


def test_persian_digits_in_codes_normalized_on_read(cfg: Config) -> None:
    rec = workflow.register(cfg, company="Digits Co", staff="01")
    path = rec.folder / LOG_NAME
    path.write_text(path.read_text(encoding="utf-8").replace("lead: '00001'", "lead: '۰۰۰۰۱'"), encoding="utf-8")
    assert load_record(rec.folder).lead == "00001"


def test_hand_written_log_with_quoted_dates_is_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / LOG_NAME).write_text(
        "form: F-31-08-01\nschema: 1\nlead: '00417'\ncase: '2031'\nstaff: '07'\ncompany: شرکت نمونه پارس\n"
        "status: open\nnext_followup: '2026-11-24T10:00:00+03:30'\ncontract: null\ninvoices: []\n"
        "events:\n  - {at: 2026-11-23T09:12:00+03:30, by: '07', kind: registered, note: ''}\n",
        encoding="utf-8",
    )
    rec = load_record(folder)
    assert rec.code == "2031" and rec.next_followup is not None and rec.next_followup.hour == 10


def test_log_never_holds_yaml_aliases(cfg: Config) -> None:
    """An invoice's date and its event's `at` are the same moment: written out twice, not `&id001`."""
    rec = workflow.register(cfg, company="شرکت بی‌نام", staff="01")
    case = workflow.convert(cfg, rec.lead, service="1", by="01").case
    workflow.sign_contract(cfg, case, by="01")
    done = workflow.add_invoice(cfg, case, by="01", amount="1000")
    text = (done.folder / LOG_NAME).read_text(encoding="utf-8")
    assert "&id" not in text and "*id" not in text
    inv_date = load_record(done.folder).invoices[-1]["date"]
    assert load_record(done.folder).events[-1]["at"] == inv_date
