"""Pure naming rules: templates both ways, normalization, the inbox's leading code."""

from __future__ import annotations

import pytest

from archivist.naming import FolderTemplate, fold, fold_compact, leading_code, name_problems, normalize_phone, safe_component

APPLICANT = FolderTemplate("{company} - {staff} - {lead}")


@pytest.mark.parametrize(
    "name",
    [
        "شرکت نمونه پارس - 07 - 00417",
        "شرکت نمونه پارس – 07 – 00417",
        "شرکت نمونه پارس—07—00417",
        "شرکت نمونه پارس  -  ۰۷  -  ۰۰۴۱۷",
        "شرکت نمونه پارس - ٠٧ - ٠٠٤١٧",
    ],
)
def test_applicant_name_parses_any_dash_spacing_and_digits(name: str) -> None:
    assert APPLICANT.parse(name) == {"company": "شرکت نمونه پارس", "staff": "07", "lead": "00417"}


def test_format_writes_the_templates_own_form_with_a_safe_company() -> None:
    assert APPLICANT.format(company="Pars/Steel: Co.", staff="07", lead="00417") == "Pars-Steel- Co - 07 - 00417"
    assert APPLICANT.parse("Company 07 00417") is None


def test_fold_equates_persian_spelling_variants() -> None:
    assert fold("شركت نمونه‌پارس") == fold("شرکت نمونه پارس")
    assert fold_compact("نمونه‌پارس") == fold_compact("نمونه پارس") == fold_compact("نمونهپارس")
    assert fold("مُهَنْدِسی") == fold("مهندسی")
    assert fold("پـــارس") == fold("پارس")
    assert fold("ABC ۱۲۳") == "abc 123"


@pytest.mark.parametrize("typed", ["09121234567", "+98 912 123 4567", "00989121234567", "۰۹۱۲-۱۲۳-۴۵۶۷", "9121234567"])
def test_phone_forms_normalize_to_one(typed: str) -> None:
    assert normalize_phone(typed) == "09121234567"


@pytest.mark.parametrize(
    ("filename", "code"),
    [
        ("2031 contract.pdf", "2031"),
        ("00417_quote.pdf", "00417"),
        ("۲۰۳۱-فاکتور.pdf", "2031"),
        ("٠٠٤١٧.pdf", "00417"),
        ("203101 scan.pdf", None),
        ("contract 2031.pdf", None),
        ("203.pdf", None),
    ],
)
def test_leading_code_of_inbox_files(filename: str, code: str | None) -> None:
    assert leading_code(filename) == code


def test_safe_component_fixes_every_rule() -> None:
    for bad in ["a\x07b", "CON.txt", "x.", " x", "\u202bx", "a<b>c", "ي" * 200]:
        assert name_problems(bad)
        assert not name_problems(safe_component(bad)), bad
