"""F-31-08-02 as a file: one row per record, for the quality unit's audits (SPEC §7).

Dates are shown in the configured calendar (Jalali by default); the header is one row per
language in `display.header_languages`. A cell that starts with = + - @ (or a tab or carriage
return) is never run as a formula: in CSV it gets a leading apostrophe (CSV has no cell types);
in XLSX it is stored as a text cell with the "quote prefix" style, so the cell shows exactly the
value (`+98 912…`) and the spreadsheet still treats it as text when someone edits it.

`write` replaces the output file atomically (temp file in the same folder, then rename), so an
interrupted export never leaves half a master list where the last good one was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from .. import store
from ..config import Config
from ..dates import fmt
from ..errors import ArchivistError
from ..i18n import _
from .search_text import split_contact

# (key, Persian header, English header)
COLUMNS = (
    ("lead", "کد متقاضی", "Applicant code"),
    ("case", "کد پرونده", "Case code"),
    ("company", "نام شرکت", "Company"),
    ("person", "نام رابط", "Contact person"),
    ("phones", "تلفن", "Phone"),
    ("email", "ایمیل", "Email"),
    ("staff", "کارشناس", "Staff"),
    ("status", "مرحله", "Stage"),
    ("opened", "تاریخ ثبت", "Opened"),
    ("last_event", "آخرین رویداد", "Last event"),
    ("next_followup", "پیگیری بعدی", "Next follow-up"),
    ("contract", "شماره قرارداد", "Contract"),
    ("invoices", "فاکتورها", "Invoices"),
    ("tax_ids", "شناسه مالیاتی", "Tax IDs"),
    ("folder", "پوشه", "Folder"),
)
HEADERS = {"fa": [c[1] for c in COLUMNS], "en": [c[2] for c in COLUMNS]}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def neutralize(value: Any) -> Any:
    """A CSV cell value that no spreadsheet will evaluate as a formula."""
    if formula_like(value):
        return "'" + value
    return value


def _date(cfg: Config, ts: int | None) -> str:
    """dates.fmt of a timestamp, with the calendar conversion done once per day (it is slow)."""
    if ts is None:
        return ""
    local = datetime.fromtimestamp(ts, _zone(cfg.timezone))
    return _day(cfg.calendar, cfg.timezone, local.date()) + local.strftime(" %H:%M")


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=8192)
def _day(calendar: str, tz: str, day: date) -> str:
    return fmt(datetime(day.year, day.month, day.day, tzinfo=_zone(tz)), calendar, tz, time=False)


def rows(db: sqlite3.Connection, cfg: Config) -> list[dict[str, Any]]:
    """Every record in applicant-code order, as text cells keyed like COLUMNS."""
    return list(iter_rows(db, cfg))


def count(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT count(*) FROM records").fetchone()[0])


def iter_rows(db: sqlite3.Connection, cfg: Config) -> Iterator[dict[str, Any]]:
    """`rows`, one at a time as SQLite hands them over: an export of 100,000 records never holds
    them all (what `search.detail` would say, without the fields the master list does not show)."""
    from .search import CODE_ORDER, rel_path

    for row in db.execute(f"SELECT * FROM records r ORDER BY {CODE_ORDER}"):
        c = split_contact(row["contact"])
        invoices = json.loads(row["invoices"]) if row["invoices"] else []  # [[number, tax_id, date, amount]]
        last = row["last_kind"] or ""
        staff = row["staff"] or ""
        yield {
            "lead": row["lead"] or "",
            "case": row["case"] or "",
            "company": row["company"] or "",
            "person": c.get("person", ""),
            "phones": " / ".join(x for x in (c.get("mobile"), c.get("phone")) if x),
            "email": c.get("email", ""),
            "staff": f"{staff} {cfg.staff.get(staff, '')}".strip(),
            "status": (row["status"] or "") + (" (stale)" if row["stale"] else ""),
            "opened": _date(cfg, row["opened_ts"]),
            "last_event": f"{_date(cfg, row['last_ts'])} {last}".strip(),
            "next_followup": _date(cfg, row["next_ts"]),
            "contract": row["contract"] or "",
            "invoices": ", ".join(str(inv[0]) for inv in invoices),
            "tax_ids": ", ".join(str(inv[1]) for inv in invoices if inv[1]),
            "folder": rel_path(cfg, row),
        }


def header_rows(cfg: Config) -> list[list[str]]:
    langs = [lang for lang in cfg.display.header_languages if lang in HEADERS] or ["en"]
    return [HEADERS[lang] for lang in langs]


def table(cfg: Config, records: Iterable[dict[str, Any]]) -> list[list[Any]]:
    """Header rows plus one row per record, formula-like cells neutralized (for CSV)."""
    return header_rows(cfg) + [[neutralize(v) for v in row] for row in _rows(records)]


def _rows(records: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
    keys = [c[0] for c in COLUMNS]
    return ([r[k] for k in keys] for r in records)


def to_csv(cfg: Config, records: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM so spreadsheet programs read the Persian correctly."""
    buf = io.BytesIO()
    write_csv(cfg, records, buf)
    return buf.getvalue()


def write_csv(cfg: Config, records: Iterable[dict[str, Any]], out: BinaryIO, counted: Callable[[int], None] | None = None) -> int:
    """CSV into `out` row by row (what `to_csv` returns, without holding it); the rows written."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    text.write("\ufeff")
    w = csv.writer(text, lineterminator="\r\n")
    w.writerows(header_rows(cfg))
    n = 0
    for row in _rows(records):
        w.writerow([neutralize(v) for v in row])
        n += 1
        if counted and n % PROGRESS_EVERY == 0:
            counted(n)
    text.flush()
    text.detach()  # `out` stays open: the caller owns it
    return n


def write_xlsx(
    cfg: Config, records: Iterable[dict[str, Any]], out: BinaryIO | str | Path, counted: Callable[[int], None] | None = None
) -> int:
    """The XLSX workbook into `out`, through openpyxl's write-only mode (rows go to a temp file
    as they come, so memory stays flat at any size); the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("F-31-08-02")
    if cfg.display.header_languages and cfg.display.header_languages[0] == "fa":
        ws.sheet_view.rightToLeft = True
    bold = Font(bold=True)
    for head in header_rows(cfg):
        cells = []
        for v in head:
            cell = WriteOnlyCell(ws, value=v)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
    n = 0
    for row in _rows(records):
        row = [_xlsx_text(v) for v in row]
        ws.append([_text_cell(ws, v) if formula_like(v) else v for v in row])
        n += 1
        if counted and n % PROGRESS_EVERY == 0:
            counted(n)
    wb.save(out)
    return n


_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_text(value: Any) -> Any:
    """XML 1.0 cannot hold C0 control characters: one in a company name made the whole export
    fail. They are written as visible `\\x1b` escapes (the log keeps the real text)."""
    if isinstance(value, str) and _XLSX_ILLEGAL.search(value):
        return _XLSX_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def _text_cell(ws: Any, value: str) -> Any:
    """A cell holding `value` as text: openpyxl would make `=…` a formula, so the type is forced."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


FORMATS = ("xlsx", "csv")


def target(path: str | None, output: str | None, format_: str | None) -> tuple[Path, str]:
    """Where the export goes and in which format: the file's extension decides (`x.csv` is CSV),
    `--format` only where the name has none of ours; a name and a format that disagree, or two
    different names, are an error rather than a file LibreOffice refuses to open."""
    if path and output and Path(path) != Path(output):
        raise ArchivistError(_("two output files given ({path} and -o {output}); give one").format(path=path, output=output))
    name = path or output
    if not name:
        fmt_ = format_ or "xlsx"
        return Path(f"F-31-08-02.{fmt_}"), fmt_
    out = Path(name)
    ext = out.suffix.lower().lstrip(".")
    if ext in FORMATS:
        if format_ and format_ != ext:
            raise ArchivistError(f"{out.name} is named .{ext} but --format is {format_}; name it .{format_} or drop --format")
        return out, ext
    if format_:
        return out, format_
    raise ArchivistError(
        _("cannot tell the format of {name}: name it .xlsx or .csv, or add --format xlsx|csv").format(name=out.name)
    )


def with_headers(cfg: Config, headers: str) -> Config:
    """`cfg` with the header rows asked for on the command line (`fa`, `en` or `fa,en`)."""
    from dataclasses import replace

    langs = tuple(x.strip().lower() for x in headers.replace("،", ",").split(",") if x.strip())
    unknown = [x for x in langs if x not in HEADERS]
    if not langs or unknown:
        raise ArchivistError(f"--headers {headers}: use fa, en or fa,en")
    return replace(cfg, display=replace(cfg.display, header_languages=langs))


def check_output(path: Path) -> None:
    """Refuse an output path that cannot become the export file, before any work is done."""
    parent = path.parent
    if path.is_dir():
        raise ArchivistError(f"{path} is a folder; give a file name, e.g. -o {path / ('F-31-08-02' + (path.suffix or '.xlsx'))}")
    if not parent.is_dir():
        raise ArchivistError(
            _("cannot write {path}: the folder {parent} does not exist; create it or choose another -o").format(
                path=path, parent=parent
            )
        )
    if not os.access(parent, os.W_OK):
        raise ArchivistError(
            _("cannot write {path}: the folder {parent} is not writable; choose another -o").format(path=path, parent=parent)
        )


PROGRESS_EVERY = 2000


def write(
    cfg: Config, records: Iterable[dict[str, Any]], path: Path, fmt_: str, counted: Callable[[int], None] | None = None
) -> int:
    """Write the master list as `fmt_` (xlsx | csv) to `path` as the rows come, replacing the
    file atomically at the end; the number of records written. `counted(n)` hears of progress."""
    check_output(path)
    try:
        with store.atomic_writer(path) as f:
            if fmt_ == "csv":
                return write_csv(cfg, records, f, counted)
            return write_xlsx(cfg, records, f, counted)
    except OSError as e:
        raise ArchivistError(f"cannot write {path}: {e.strerror or e}; choose another -o") from e
