"""Invoice rules: the tax authority's unique invoice ID (tax_id), tracing numbers to cases, and the
short stamp text written on the back of an invoice's paper copies.

The tax-ID rules themselves (form, check digit) live in the leaf `taxid`, re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .allocation import number_in_case_logs
from .config import Config
from .dates import as_datetime, fmt
from .errors import ArchivistError, InvalidLogError
from .i18n import _, action_label, how
from .naming import ascii_digits, digit_variants
from .record import Record, load_record, log_bytes
from .store import iter_record_folders, layout_of
from .taxid import (  # re-exported: `invoices.check_tax_id` and friends keep working
    TAX_ID_LENGTH as TAX_ID_LENGTH,
)
from .taxid import check_tax_id as check_tax_id
from .taxid import decode_tax_id as decode_tax_id
from .taxid import make_tax_id as make_tax_id
from .taxid import normalize_tax_id as normalize_tax_id
from .taxid import verhoeff_digit as verhoeff_digit


def tax_id_in_use(cfg: Config, tax_id: str) -> tuple[Record, dict[str, Any]] | None:
    """The record and invoice that already carry this tax ID (stored form), if any."""
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


def _hit(record: Record, m: dict[str, Any]) -> dict[str, Any]:
    inv = m["invoice"]
    return {
        "matched": m["matched"],
        "value": m["value"],
        "code": record.code,
        "lead": record.lead,
        "case": record.case,
        "company": record.company,
        "status": record.status,
        "contract": record.contract,
        "invoice": _json_invoice(inv) if inv else None,
        "path": str(record.folder),
    }


def _json_invoice(inv: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in inv.items()}


def trace(cfg: Config, number: str, search: Callable[[str], list[dict[str, Any]] | None] | None = None) -> list[dict[str, Any]]:
    """The case(s) holding an invoice number, tax ID or contract number, typed in any digit script.

    `search` is the index's answer to a query (`index.cached_search`), passed in by the caller so
    that invoices never reaches up into the index; without it the logs are scanned.
    The index answers first; every hit is confirmed against the log itself, because the index's
    search is fuzzy and may lag a hand edit. With no index, or no confirmed hit, the logs are
    scanned (a byte search first, YAML only for the few logs that contain the number).
    """
    plain = _plain(number)
    if not plain:
        raise ArchivistError(_("give an invoice number, tax ID or contract number to trace"))
    found: dict[str, dict[str, Any]] = {}

    def consider(folder: Path) -> None:
        try:
            rec = load_record(folder)
        except (InvalidLogError, OSError):
            return
        for m in matches_in(rec, number):
            found.setdefault(f"{rec.lead}/{m['matched']}/{m['value']}", _hit(rec, m))

    for hit in (search(plain) if search else None) or []:
        if hit.get("path"):
            consider(Path(hit["path"]))
    if not found:
        needles = digit_variants(plain) + [normalize_tax_id(number).encode()]
        for _area, folder in iter_record_folders(layout_of(cfg)):
            raw = log_bytes(folder)
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
        raise ArchivistError(
            _("{code} has no invoice yet; add one ({how})").format(
                code=record.code, how=how(_("`archivist invoice {code}`").format(code=record.code), action_label("invoice"))
            )
        )
    inv = invoices[-1]
    if number is not None:
        for candidate in invoices:
            if _plain(candidate.get("number")) == _plain(number):
                inv = candidate
                break
        else:
            raise ArchivistError(
                _("{code} has no invoice {number}; the record lists its invoices").format(code=record.code, number=number)
            )
    when = as_datetime(inv.get("date"), cfg.timezone)
    day = fmt(when, "jalali", cfg.timezone, time=False).replace("-", "/") if when else "—"

    # a stamp names a case; an applicant code is never called one (SPEC §5: invoices belong to cases)
    if record.case:
        who = _("case {code}").format(code=record.case)
    else:
        who = _("applicant {code}").format(code=record.lead)
    return _("{who} · invoice {number} · {day} · {company}").format(
        who=who, number=inv["number"], day=day, company=record.company
    )
