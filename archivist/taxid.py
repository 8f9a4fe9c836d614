"""The tax authority's unique invoice ID (tax_id): its form, check digit and parts.

The tax ID ("شماره منحصر به فرد مالیاتی", issued through سامانه مؤدیان) is 22 characters:

    AAAAAA DDDDD SSSSSSSSSS C
    |      |     |          └ check digit: Verhoeff over a decimal rendering of the rest
    |      |     └ 10 hex digits: the seller's internal invoice serial
    |      └ 5 hex digits: the invoice date as days since 1970-01-01
    └ 6 letters/digits: the fiscal memory ID (شناسه یکتای حافظه مالیاتی)

The decimal rendering that the check digit covers is: each character of the memory ID as itself
when a digit and as its ASCII code when a letter (A → 65), then the day count in decimal padded
to 6 digits, then the serial in decimal padded to 12 digits. This is what the tax authority's
reference SDKs compute (`generateInvoiceId` in its Java/PHP/C#/JS clients); we only validate,
`make_tax_id` exists so tests and tools can build real IDs.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from .errors import ArchivistError
from .i18n import _
from .naming import ascii_digits

TAX_ID_LENGTH = 22
_EPOCH = date(1970, 1, 1)

# Verhoeff's dihedral-group tables (multiplication, position permutation, inverse).
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def verhoeff_digit(digits: str) -> int:
    """The Verhoeff check digit to append to a string of decimal digits."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return _INV[c]


def _numeric(memory_id: str, days: int, serial: int) -> str:
    head = "".join(ch if ch.isdigit() else str(ord(ch)) for ch in memory_id)
    return f"{head}{days:06d}{serial:012d}"


def make_tax_id(memory_id: str, when: date | datetime, serial: int) -> str:
    """Build a tax ID the way the tax authority's SDKs do (for tests and import tools)."""
    memory_id = memory_id.upper()
    if not re.fullmatch(r"[0-9A-Z]{6}", memory_id):
        raise ValueError(
            f"memory ID {memory_id!r} must be 6 letters/digits"
        )  # untranslated: a programming error (make_tax_id is given checked values)
    day = when.date() if isinstance(when, datetime) else when
    days = (day - _EPOCH).days
    if not 0 <= days <= 0xFFFFF or not 0 <= serial <= 0xFFFFFFFFFF:
        raise ValueError(
            "date or serial out of range for a tax ID"
        )  # untranslated: a programming error (make_tax_id is given checked values)
    return f"{memory_id}{days:05X}{serial:010X}{verhoeff_digit(_numeric(memory_id, days, serial))}"


def normalize_tax_id(text: str) -> str:
    """As staff type it (any digit script, spaces, dashes, lower case) → the stored form."""
    return re.sub(r"[\s\-_\u200c]", "", ascii_digits(str(text))).upper()


def check_tax_id(tax_id: str) -> str:
    """The tax ID as stored (upper-case ASCII), or an ArchivistError naming what is wrong with it."""
    value = normalize_tax_id(tax_id)
    shown = _("--tax-id {tax_id!r}").format(tax_id=tax_id)
    if len(value) != TAX_ID_LENGTH:
        raise ArchivistError(
            _(
                "{shown}: a tax-authority invoice ID has {length} characters, this one has {n}; "
                "copy it again from the invoice or the سامانه مؤدیان receipt"
            ).format(shown=shown, length=TAX_ID_LENGTH, n=len(value)),
            field="tax_id",
        )
    digits, hexdigits = "0123456789", "0123456789ABCDEF"
    parts = (
        (_("the fiscal memory ID (characters 1-6)"), value[:6], digits + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0-9 A-Z"),
        (_("the date (characters 7-11)"), value[6:11], hexdigits, "0-9 A-F"),
        (_("the serial (characters 12-21)"), value[11:21], hexdigits, "0-9 A-F"),
        (_("the check digit (character 22)"), value[21], digits, "0-9"),
    )
    for label, text, allowed, alphabet in parts:
        bad = [ch for ch in text if ch not in allowed]
        if bad:
            raise ArchivistError(
                _("{shown}: {part} may only hold {alphabet}, found {found}").format(
                    shown=shown, part=label, alphabet=alphabet, found=repr("".join(dict.fromkeys(bad)))
                ),
                field="tax_id",
            )
    days, serial = int(value[6:11], 16), int(value[11:21], 16)
    expected = verhoeff_digit(_numeric(value[:6], days, serial))
    if int(value[21]) != expected:
        raise ArchivistError(
            _(
                "{shown}: the check digit does not match (the other characters give {expected}, the ID ends in "
                "{last}); a character was probably mistyped"
            ).format(shown=shown, expected=expected, last=value[21]),
            field="tax_id",
        )
    return value


def decode_tax_id(tax_id: str) -> dict[str, Any]:
    """The parts of a valid tax ID: memory ID, invoice date (Gregorian) and the seller's serial."""
    value = check_tax_id(tax_id)
    return {
        "memory_id": value[:6],
        "date": _EPOCH + timedelta(days=int(value[6:11], 16)),
        "serial": int(value[11:21], 16),
        "check": int(value[21]),
    }
