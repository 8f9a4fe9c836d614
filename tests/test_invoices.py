"""Invoices both ways: a case's invoices listed by `show`, and any invoice, tax ID or contract number
traced back to its case; the tax authority's ID checked by format and check digit."""

from __future__ import annotations

import json
from datetime import date

import pytest
import yaml

from archivist import invoices
from archivist.config import Config
from archivist.errors import ArchivistError
from archivist.record import LOG_NAME

COMPANY = "شرکت نمونه‌پارس"
NOW = "2026-11-23T10:00:00+03:30"  # Jalali 1405-09-02


@pytest.fixture
def case(cli, monkeypatch: pytest.MonkeyPatch) -> str:
    """A converted case with a signed contract: the state invoices are added in."""
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    lead = cli("register", "--company", COMPANY, "--staff", "07")[1].strip()
    case = cli("convert", lead, "--service", "1")[1].strip()
    assert cli("contract", case)[0] == 0
    return case


def to_persian_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def test_verhoeff_matches_the_published_example() -> None:
    # The worked example of Verhoeff's scheme: 236 gets check digit 3.
    assert invoices.verhoeff_digit("236") == 3


def test_tax_id_built_like_the_tax_authority_is_accepted_as_typed() -> None:
    tax = invoices.make_tax_id("A11ZRA", date(2026, 11, 23), 4711)
    assert len(tax) == 22 and tax.startswith("A11ZRA")
    typed = to_persian_digits(tax.lower())[:8] + " - " + to_persian_digits(tax.lower())[8:]
    assert invoices.check_tax_id(typed) == tax
    parts = invoices.decode_tax_id(tax)
    assert parts == {"memory_id": "A11ZRA", "date": date(2026, 11, 23), "serial": 4711, "check": int(tax[-1])}


@pytest.mark.parametrize(
    "mangle, reason",
    [
        (lambda t: t[:-1], "has 21"),  # a character dropped
        (lambda t: t + "7", "has 23"),  # one too many
        (lambda t: t[:8] + "G" + t[9:], "the date (characters 7-11) may only hold 0-9 A-F"),
        (lambda t: t[:15] + "Z" + t[16:], "the serial (characters 12-21) may only hold 0-9 A-F"),
        (lambda t: t[:2] + "#" + t[3:], "the fiscal memory ID (characters 1-6) may only hold 0-9 A-Z"),
        (lambda t: t[:-1] + str((int(t[-1]) + 1) % 10), "check digit does not match"),
        (lambda t: t[:15] + t[16] + t[15] + t[17:], "check digit does not match"),  # neighbours swapped
    ],
)
def test_malformed_tax_id_refused_with_the_reason(mangle, reason: str) -> None:
    tax = invoices.make_tax_id("A11ZRA", date(2026, 11, 23), 0x1234567)
    bad = mangle(tax)
    assert bad != tax
    with pytest.raises(ArchivistError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        invoices.check_tax_id(bad)


def test_malformed_tax_id_refused_by_invoice_command_and_nothing_written(cli, cfg: Config, case: str) -> None:
    log = cfg.root / "customers" / case / LOG_NAME
    before = log.read_bytes()
    tax = invoices.make_tax_id("A11ZRA", date(2026, 11, 23), 99)
    code, out, err = cli("invoice", case, "--tax-id", tax[:-1] + str((int(tax[-1]) + 3) % 10))
    assert code == 1
    assert "check digit" in err and "mistyped" in err
    assert log.read_bytes() == before


def test_case_with_three_invoices_traced_both_ways(cli, cfg: Config, case: str) -> None:
    taxes = [invoices.make_tax_id("A11ZRA", date(2026, 11, 20 + i), 500 + i) for i in range(3)]
    numbers = []
    for i, tax in enumerate(taxes):
        code, out, _ = cli("invoice", case, "--tax-id", tax, "--amount", f"{(i + 1) * 1000}")
        assert code == 0
        numbers.append(out.strip())
    assert numbers == ["140500001", "140500002", "140500003"]

    # case → invoices
    code, out, _ = cli("show", case)
    assert code == 0
    for number, tax in zip(numbers, taxes, strict=True):
        assert f"invoice {number} tax id {tax}" in out
    shown = json.loads(cli("show", case, "--json")[1])
    assert [inv["number"] for inv in shown["invoices"]] == numbers

    # invoice → case, typed in Persian digits; tax ID → case; contract → case
    contract = shown["contract"]
    for query, matched, value in [
        (to_persian_digits(numbers[1]), "invoice", numbers[1]),
        (taxes[2].lower(), "tax_id", taxes[2]),
        (to_persian_digits(contract), "contract", contract),
    ]:
        code, out, _ = cli("trace", query)
        assert code == 0, query
        assert case in out and COMPANY in out and str(cfg.root / "customers" / case) in out
        hits = json.loads(cli("trace", query, "--json")[1])
        assert [(h["code"], h["matched"], h["value"], h["company"]) for h in hits] == [(case, matched, value, COMPANY)]
        assert hits[0]["path"] == str(cfg.root / "customers" / case)
    assert json.loads(cli("trace", numbers[0], "--json")[1])[0]["invoice"]["tax_id"] == taxes[0]


def test_trace_finds_a_number_written_by_hand_in_persian_digits(cli, cfg: Config, case: str) -> None:
    number = cli("invoice", case)[1].strip()
    log = cfg.root / "customers" / case / LOG_NAME
    text = log.read_text(encoding="utf-8").replace(f"number: '{number}'", f"number: '{to_persian_digits(number)}'")
    assert to_persian_digits(number) in text
    log.write_text(text, encoding="utf-8")
    hits = invoices.trace(cfg, number)
    assert [h["code"] for h in hits] == [case]


def test_trace_of_an_unknown_number_says_so(cli, case: str) -> None:
    code, out, err = cli("trace", "140599999")
    assert code == 1
    assert "no invoice, tax ID or contract 140599999" in err


def test_duplicate_invoice_number_refused(cli, cfg: Config, case: str) -> None:
    assert cli("invoice", case, "--number", "۱۴۰۵۰۰۰۴۲")[1].strip() == "140500042"
    other = cli("convert", cli("register", "--company", "Acme Trading", "--staff", "01")[1].strip(), "--service", "2")[1].strip()
    for target in (case, other):
        code, _, err = cli("invoice", target, "--number", "140500042")
        assert code == 1
        assert "invoice number 140500042 is already used" in err
    assert [h["code"] for h in invoices.trace(cfg, "140500042")] == [case]
    # the serial goes on past the hand-typed number, never reusing it
    assert cli("invoice", other)[1].strip() == "140500043"


def test_stamp_text_for_the_paper_copies(cli, cfg: Config, case: str) -> None:
    code, out, _ = cli("invoice", case, "--date", "1405/09/05", "--stamp")
    assert code == 0
    number, stamp = out.strip().splitlines()
    assert stamp == f"case {case} · invoice {number} · 1405/09/05 · {COMPANY}"
    # reprinted later from the number alone
    code, out, _ = cli("trace", number, "--stamp")
    assert f"stamp: {stamp}" in out


def test_invoice_date_kept_in_the_log(cli, cfg: Config, case: str) -> None:
    cli("invoice", case, "--date", "۱۴۰۵/۰۹/۰۵", "--amount", "۱٬۲۵۰٬۰۰۰")
    log = yaml.safe_load((cfg.root / "customers" / case / LOG_NAME).read_text(encoding="utf-8"))
    inv = log["invoices"][-1]
    assert inv["amount"] == 1250000
    assert str(inv["date"]).startswith("2026-11-26")


def test_trace_works_when_the_index_is_broken(cli, cfg: Config, case: str) -> None:
    number = cli("invoice", case)[1].strip()
    cfg.index_file.parent.mkdir(parents=True, exist_ok=True)
    cfg.index_file.write_bytes(b"this is not a SQLite database")
    assert [h["code"] for h in invoices.trace(cfg, number)] == [case]


def test_trace_never_answers_from_a_stale_index(cli, cfg: Config, case: str) -> None:
    """The index may lag a hand edit; trace confirms every hit in the log itself."""
    from archivist.index import open_index

    number = cli("invoice", case)[1].strip()
    open_index(cfg).close()  # built now, before the hand edit
    log = cfg.root / "customers" / case / LOG_NAME
    log.write_text(log.read_text(encoding="utf-8").replace(number, "140500777"), encoding="utf-8")
    assert invoices.trace(cfg, number) == []
    assert [h["code"] for h in invoices.trace(cfg, "140500777")] == [case]


def test_tax_id_used_on_another_invoice_refused(cli, cfg: Config, case: str) -> None:
    tax = invoices.make_tax_id("A11ZRA", date(2026, 11, 23), 0x2A)
    first = cli("invoice", case, "--tax-id", tax)[1].strip()
    other = cli("convert", cli("register", "--company", "Acme Trading", "--staff", "01")[1].strip(), "--service", "2")[1].strip()
    logs = {c: (cfg.root / "customers" / c / LOG_NAME).read_bytes() for c in (case, other)}
    typed = to_persian_digits(tax.lower())  # as a person retypes it from the receipt
    for target in (other, case):
        code, _, err = cli("invoice", target, "--tax-id", typed)
        assert code == 1 and "Traceback" not in err
        line = err.strip()
        assert "\n" not in line
        assert f"--tax-id {tax} is already on invoice {first} of case {case} ({COMPANY})" in line
    assert {c: (cfg.root / "customers" / c / LOG_NAME).read_bytes() for c in (case, other)} == logs
    # a refused tax ID consumes no invoice number
    assert cli("invoice", other)[1].strip() == "140500002"
