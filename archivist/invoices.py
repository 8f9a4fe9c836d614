"""Invoice rules: the tax authority's unique invoice ID (tax_id), tracing numbers to cases, and the
short stamp text written on the back of an invoice's paper copies.

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
from pathlib import Path
from typing import Any

from .config import Config
from .dates import as_datetime, fmt
from .errors import ArchivistError, InvalidLogError
from .naming import ascii_digits, digit_variants
from .record import LOG_NAME, Record, load_record
from .store import iter_record_folders, layout_of

TAX_ID_LENGTH = 22
_EPOCH = date(1970, 1, 1)

# Verhoeff's dihedral-group tables (multiplication, position permutation, inverse).
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
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
        raise ValueError(f"memory ID {memory_id!r} must be 6 letters/digits")
    day = when.date() if isinstance(when, datetime) else when
    days = (day - _EPOCH).days
    if not 0 <= days <= 0xFFFFF or not 0 <= serial <= 0xFFFFFFFFFF:
        raise ValueError("date or serial out of range for a tax ID")
    return f"{memory_id}{days:05X}{serial:010X}{verhoeff_digit(_numeric(memory_id, days, serial))}"


def normalize_tax_id(text: str) -> str:
    """As staff type it (any digit script, spaces, dashes, lower case) → the stored form."""
    return re.sub(r"[\s\-_\u200c]", "", ascii_digits(str(text))).upper()


def check_tax_id(tax_id: str) -> str:
    """The tax ID as stored (upper-case ASCII), or an ArchivistError naming what is wrong with it."""
    value = normalize_tax_id(tax_id)
    shown = f"--tax-id {tax_id!r}"
    if len(value) != TAX_ID_LENGTH:
        raise ArchivistError(
            f"{shown}: a tax-authority invoice ID has {TAX_ID_LENGTH} characters, this one has {len(value)}; "
            "copy it again from the invoice or the سامانه مؤدیان receipt"
        )
    digits, hexdigits = "0123456789", "0123456789ABCDEF"
    parts = (("the fiscal memory ID (characters 1-6)", value[:6], digits + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0-9 A-Z"),
             ("the date (characters 7-11)", value[6:11], hexdigits, "0-9 A-F"),
             ("the serial (characters 12-21)", value[11:21], hexdigits, "0-9 A-F"),
             ("the check digit (character 22)", value[21], digits, "0-9"))
    for label, text, allowed, alphabet in parts:
        bad = [ch for ch in text if ch not in allowed]
        if bad:
            raise ArchivistError(f"{shown}: {label} may only hold {alphabet}, found {''.join(dict.fromkeys(bad))!r}")
    days, serial = int(value[6:11], 16), int(value[11:21], 16)
    expected = verhoeff_digit(_numeric(value[:6], days, serial))
    if int(value[21]) != expected:
        raise ArchivistError(
            f"{shown}: the check digit does not match (the other characters give {expected}, the ID ends in "
            f"{value[21]}); a character was probably mistyped"
        )
    return value


def decode_tax_id(tax_id: str) -> dict[str, Any]:
    """The parts of a valid tax ID: memory ID, invoice date (Gregorian) and the seller's serial."""
    value = check_tax_id(tax_id)
    return {"memory_id": value[:6], "date": _EPOCH + timedelta(days=int(value[6:11], 16)),
            "serial": int(value[11:21], 16), "check": int(value[21])}


def tax_id_in_use(cfg: Config, tax_id: str) -> tuple[Record, dict[str, Any]] | None:
    """The record and invoice that already carry this tax ID (stored form), if any."""
    from .codes import number_in_case_logs

    rec = number_in_case_logs(layout_of(cfg), "tax-id", tax_id)
    if rec is None:
        return None
    inv = next(inv for inv in rec.invoices if inv.get("tax_id") and normalize_tax_id(str(inv["tax_id"])) == tax_id)
    return rec, inv


# -- tracing a number to its case ----------------------------------------------------------------

def _plain(value: Any) -> str:
    return re.sub(r"\s+", "", ascii_digits(str(value))) if value is not None else ""


def matches_in(record: Record, number: str) -> list[dict[str, Any]]:
    """Every invoice number, tax ID or contract number of `record` equal to `number` (typed any way)."""
    want, want_tax = _plain(number), normalize_tax_id(number)
    out: list[dict[str, Any]] = []
    if record.contract and _plain(record.contract) == want:
        out.append({"matched": "contract", "value": record.contract, "invoice": None})
    for inv in record.invoices:
        if _plain(inv.get("number")) == want:
            out.append({"matched": "invoice", "value": str(inv["number"]), "invoice": inv})
        elif inv.get("tax_id") and normalize_tax_id(inv["tax_id"]) == want_tax:
            out.append({"matched": "tax_id", "value": str(inv["tax_id"]), "invoice": inv})
    return out


def index_search(cfg: Config, query: str, limit: int = 50) -> list[dict[str, Any]] | None:
    """The index's hits for `query`, or None when there is no usable index (it is only a cache)."""
    if not cfg.index_file.exists():
        return None  # never build an index just to answer one question; the disk scan is exact
    try:
        from .index import open_index

        idx = open_index(cfg, build_if_missing=False)
    except Exception:  # noqa: BLE001 - a broken or missing index must never stop a lookup
        return None
    try:
        return list(idx.search(query, limit=limit))
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            idx.close()
        except Exception:  # noqa: BLE001
            pass


def _hit(record: Record, m: dict[str, Any]) -> dict[str, Any]:
    inv = m["invoice"]
    return {
        "matched": m["matched"], "value": m["value"], "code": record.code, "lead": record.lead, "case": record.case,
        "company": record.company, "status": record.status, "contract": record.contract,
        "invoice": _json_invoice(inv) if inv else None, "path": str(record.folder),
    }


def _json_invoice(inv: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in inv.items()}


def trace(cfg: Config, number: str) -> list[dict[str, Any]]:
    """The case(s) holding an invoice number, tax ID or contract number, typed in any digit script.

    The index answers first; every hit is confirmed against the log itself, because the index's
    search is fuzzy and may lag a hand edit. With no index, or no confirmed hit, the logs are
    scanned (a byte search first, YAML only for the few logs that contain the number).
    """
    plain = _plain(number)
    if not plain:
        raise ArchivistError("give an invoice number, tax ID or contract number to trace")
    found: dict[str, dict[str, Any]] = {}

    def consider(folder: Path) -> None:
        try:
            rec = load_record(folder)
        except (InvalidLogError, OSError):
            return
        for m in matches_in(rec, number):
            found.setdefault(f"{rec.lead}/{m['matched']}/{m['value']}", _hit(rec, m))

    for hit in index_search(cfg, plain) or []:
        if hit.get("path"):
            consider(Path(hit["path"]))
    if not found:
        needles = digit_variants(plain) + [normalize_tax_id(number).encode()]
        for _area, folder in iter_record_folders(layout_of(cfg)):
            try:
                raw = (folder / LOG_NAME).read_bytes()
            except OSError:
                continue
            upper = raw.upper()
            if any(n in raw or n in upper for n in needles):
                consider(folder)
    return sorted(found.values(), key=lambda h: (h["code"], h["matched"]))


# -- the stamp on the paper copies ------------------------------------------------------------

def stamp_text(cfg: Config, record: Record, number: str | None = None) -> str:
    """What staff write on the back of the white, yellow and green copies of an invoice.

    One line: case code, invoice number and the invoice's Jalali date, then the company last so
    that the right-to-left name does not reorder the numbers in a left-to-right terminal. The
    date is Jalali whatever the display calendar, because it is copied onto Iranian paper forms.
    """
    invoices = record.invoices
    if not invoices:
        raise ArchivistError(f"{record.code} has no invoice yet; add one with `archivist invoice {record.code}`")
    inv = invoices[-1]
    if number is not None:
        for candidate in invoices:
            if _plain(candidate.get("number")) == _plain(number):
                inv = candidate
                break
        else:
            raise ArchivistError(f"{record.code} has no invoice {number}; `archivist show {record.code}` lists them")
    when = as_datetime(inv.get("date"), cfg.timezone)
    day = fmt(when, "jalali", cfg.timezone, time=False).replace("-", "/") if when else "—"
    from .i18n import _

    # a stamp names a case; an applicant code is never called one (SPEC §5: invoices belong to cases)
    if record.case:
        who = _("case {code}").format(code=record.case)
    else:
        who = _("applicant {code}").format(code=record.lead)
    return _("{who} · invoice {number} · {day} · {company}").format(
        who=who, number=inv["number"], day=day, company=record.company)
