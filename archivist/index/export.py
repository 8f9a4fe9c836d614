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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

from .. import store
from ..config import Config
from ..dates import HOUR_MINUTE, Clock
from ..errors import ArchivistError
from ..i18n import _
from .localtime import Span, local_seconds, offset_spans
from .search_text import SEP

# (key, Persian header, English header)
COLUMNS = (
    ("lead", "کد متقاضی", "Applicant code"),  # untranslated: the English header row of F-31-08-02 (display.header_languages: en)
    ("case", "کد پرونده", "Case code"),  # untranslated: the English header row of F-31-08-02 (display.header_languages: en)
    ("company", "نام شرکت", "Company"),
    ("person", "نام رابط", "Contact person"),  # untranslated: the English header row of F-31-08-02 (display.header_languages: en)
    ("phones", "تلفن", "Phone"),
    ("email", "ایمیل", "Email"),
    ("staff", "کارشناس", "Staff"),
    ("status", "مرحله", "Stage"),
    ("opened", "تاریخ ثبت", "Opened"),
    (
        "last_event",
        "آخرین رویداد",
        "Last event",
    ),  # untranslated: the English header row of F-31-08-02 (display.header_languages: en)
    (
        "next_followup",
        "پیگیری بعدی",
        "Next follow-up",
    ),  # untranslated: the English header row of F-31-08-02 (display.header_languages: en)
    ("contract", "شماره قرارداد", "Contract"),
    ("invoices", "فاکتورها", "Invoices"),
    ("tax_ids", "شناسه مالیاتی", "Tax IDs"),  # untranslated: the English header row of F-31-08-02 (display.header_languages: en)
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


SPAN_DAYS = 20000  # the zone's offsets are worked out for at most the last 55 years of the dates


def _local_spans(db: sqlite3.Connection, clock: Clock) -> list[Span]:
    """localtime.offset_spans over the days the records' dates fall on (the oldest beyond
    SPAN_DAYS and dates before 1970-01-02 are left out: the zone database decides those)."""
    ends = [
        v
        for v in db.execute(
            "SELECT min(opened_ts), max(opened_ts), min(last_ts), max(last_ts), min(next_ts), max(next_ts) FROM records"
        ).fetchone()
        if v is not None
    ]
    if not ends:
        return []
    last = max(ends) // 86400
    first = max(min(ends) // 86400, last - SPAN_DAYS)
    return offset_spans(clock, first * 86400, last * 86400)


def _local(column: str, spans: list[Span]) -> str:
    """SQL: the column's local day (days since 1970-01-01 local) and minute of that day, where one
    of `spans` holds it (integer arithmetic in SQLite); NULL, NULL elsewhere (and for NULL)."""
    local = local_seconds(column, spans)
    return f"{local} / 86400, {local} % 86400 / 60"  # untranslated: SQL


def rows(db: sqlite3.Connection, cfg: Config) -> list[dict[str, Any]]:
    """Every record in applicant-code order, as text cells keyed like COLUMNS (the web's master
    list); the file writers take `iter_cells` as it streams."""
    keys = [c[0] for c in COLUMNS]
    return [dict(zip(keys, cells, strict=True)) for cells in iter_cells(db, cfg)]


def count(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT count(*) FROM records").fetchone()[0])


def iter_cells(db: sqlite3.Connection, cfg: Config) -> Iterator[list[str]]:
    """Every record as a list of cells in COLUMNS order (what the writers take), in the code order
    the index streams them in: only the columns the list shows are read, as plain tuples.

    Per row only what cannot be left to SQLite is done in Python (100,000 rows: every step here
    costs a tenth of a second): SQLite hands over text cells ready (`coalesce`, the stage with its
    "(stale)") and each date as its local day and minute (integer arithmetic over the spans of days
    the zone's offset holds, see `_local_spans`), which two look-ups turn into "day HH:MM"; a date outside
    those spans (a day the clocks change) is left to the zone database as before."""
    from ..record import CONTACT_KEYS
    from ..store import AREAS
    from .search import CODE_ORDER

    calendar, tz = cfg.calendar, cfg.timezone
    clock = Clock(calendar, tz)  # the dates the spans leave out, and each day's text once
    spans = _local_spans(db, clock)
    cur = db.execute(
        "SELECT coalesce(r.lead, ''), coalesce(r.\"case\", ''), coalesce(r.company, ''), r.contact, coalesce(r.staff, ''), "
        "coalesce(r.status, '') || CASE WHEN r.stale THEN ' (stale)' ELSE '' END, "
        f"r.opened_ts, {_local('r.opened_ts', spans)}, r.last_ts, {_local('r.last_ts', spans)}, "
        f"coalesce(r.last_kind, ''), r.next_ts, {_local('r.next_ts', spans)}, coalesce(r.contract, ''), r.invoices, "
        f"r.area, r.folder FROM records r ORDER BY {CODE_ORDER}"
    )
    cur.row_factory = None
    names, days, hm = cfg.staff, clock.day_text, HOUR_MINUTE

    def slow(ts: int | None) -> str:
        return "" if ts is None else clock.shown(ts)

    areas = [f"{a}/" for a in AREAS]
    staff_cells: dict[str, str] = {}  # staff code → "01 name": a handful of staff, 100,000 rows
    # split_contact's fields by position (its dict per row was a tenth of the export)
    person_at, mobile_at, phone_at, email_at = (CONTACT_KEYS.index(k) for k in ("person", "mobile", "phone", "email"))
    pad = [""] * len(CONTACT_KEYS)

    for (
        lead,
        case,
        company,
        contact,
        staff,
        status,
        opened,
        od,
        om,
        last,
        ld,
        lm,
        last_kind,
        next_ts,
        nd,
        nm,
        contract,
        inv,
        area,
        folder,
    ) in cur:
        c = (contact.split(SEP) + pad) if contact else pad
        mobile, phone = c[mobile_at], c[phone_at]
        staff_cell = staff_cells.get(staff)
        if staff_cell is None:
            staff_cell = staff_cells[staff] = f"{staff} {names.get(staff, '')}".strip()
        if inv:
            invoices = json.loads(inv)  # [[number, tax_id, date ISO, amount]]
            numbers = ", ".join(str(i[0]) for i in invoices)
            tax_ids = ", ".join(str(i[1]) for i in invoices if i[1])
        else:
            numbers = tax_ids = ""
        yield [
            lead,
            case,
            company,
            c[person_at],
            f"{mobile} / {phone}" if mobile and phone else mobile or phone,
            c[email_at],
            staff_cell,
            status,
            days(od) + hm[om] if od is not None else slow(opened),
            f"{days(ld) + hm[lm] if ld is not None else slow(last)} {last_kind}".strip(),
            days(nd) + hm[nm] if nd is not None else slow(next_ts),
            contract,
            numbers,
            tax_ids,
            areas[area] + folder,  # the folder as it is (search.folder_name's, without a template per row)
        ]


def header_rows(cfg: Config) -> list[list[str]]:
    langs = [lang for lang in cfg.display.header_languages if lang in HEADERS] or ["en"]
    return [HEADERS[lang] for lang in langs]


def table(cfg: Config, records: Iterable[Mapping[str, Any] | Sequence[Any]]) -> list[list[Any]]:
    """Header rows plus one row per record, formula-like cells neutralized (for CSV)."""
    return header_rows(cfg) + [[neutralize(v) for v in row] for row in _rows(records)]


def _rows(records: Iterable[Mapping[str, Any] | Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """Each record as its cells in COLUMNS order (a record given as cells passes through)."""
    keys = [c[0] for c in COLUMNS]
    return (r if type(r) is list or not isinstance(r, Mapping) else [r[k] for k in keys] for r in records)


def to_csv(cfg: Config, records: Iterable[Mapping[str, Any] | Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM so spreadsheet programs read the Persian correctly."""
    buf = io.BytesIO()
    write_csv(cfg, records, buf)
    return buf.getvalue()


def write_csv(
    cfg: Config, records: Iterable[Mapping[str, Any] | Sequence[Any]], out: BinaryIO, counted: Callable[[int], None] | None = None
) -> int:
    """CSV into `out` row by row (what `to_csv` returns, without holding it); the rows written.

    The bytes are csv.writer's over `table`: a row of plain text cells none of which needs quoting
    (no comma, quote or line break: nearly every row) is its cells joined by commas, formula-like
    cells given their apostrophe; any other row goes through csv.writer itself. Written to `out`
    in blocks of BLOCK_ROWS rows."""
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\r\n")
    w.writerows(header_rows(cfg))
    lines = ["\ufeff" + text.getvalue()]
    n = 0
    first = _FORMULA_FIRST
    for row in _rows(records):
        try:
            line = ",".join(row)
        except TypeError:  # a cell that is not text (a caller's number or None): csv.writer's str()
            line = ""
        if not line or line.count(",") != len(row) - 1 or '"' in line or "\n" in line or "\r" in line:
            text.seek(0)
            text.truncate()
            w.writerow([(("'" + v) if v[:1] in first else v) if type(v) is str else neutralize(v) for v in row])
            line = text.getvalue()
        else:
            # no cell holds a comma, so a cell starts at the line's start or right after one
            if line[:1] in first or ",=" in line or ",+" in line or ",-" in line or ",@" in line or ",\t" in line:
                line = ",".join([("'" + v) if v[:1] in first else v for v in row])
            line += "\r\n"
        lines.append(line)
        n += 1
        if n % BLOCK_ROWS == 0:
            out.write("".join(lines).encode("utf-8"))
            lines.clear()
            if counted and n % PROGRESS_EVERY == 0:
                counted(n)
    out.write("".join(lines).encode("utf-8"))
    return n


_FORMULA_FIRST = frozenset(_FORMULA_START)


def write_xlsx(
    cfg: Config,
    records: Iterable[Mapping[str, Any] | Sequence[Any]],
    out: BinaryIO | str | Path,
    counted: Callable[[int], None] | None = None,
) -> int:
    """The XLSX workbook into `out`, its sheet's XML streamed into the zip row by row (memory stays
    flat at any size); the rows written. Written here rather than through openpyxl, whose
    write-only mode spent 25 s of CPU on 100,000 rows: strings are inline (`inlineStr`), header
    cells bold, formula-like text cells carry the quote-prefix style, empty cells are left out.

    The sheet goes to the zip in blocks of BLOCK_ROWS rows through a second thread: zlib
    compresses (and crc32 sums) without holding the GIL, so deflating a block runs on the other
    core while the next block's rows are made."""
    import zipfile  # here: `search` and `due` load this module too, and zipfile costs them 10 ms

    rtl = bool(cfg.display.header_languages) and cfg.display.header_languages[0] == "fa"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, xml in _XLSX_PARTS.items():
            z.writestr(name, xml)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw, _Deflater(raw) as sheet:
            parts = [_SHEET_HEAD.format(view=' rightToLeft="1"' if rtl else "")]
            line = 0
            for head in header_rows(cfg):
                line += 1
                parts.append(_xlsx_row(line, head, _BOLD))
            n = 0
            first, cell_at = _FORMULA_FIRST, [f'<c r="{col}' for col in _COLUMNS]
            for row in _rows(records):
                line += 1
                try:
                    values = "".join(row)
                except TypeError:  # not all text (a caller's numbers): the general form
                    values = "&"
                if "&" in values or "<" in values or ">" in values:
                    parts.append(_xlsx_row(line, row, 0))
                else:  # _xlsx_row of plain text that needs no XML escape, written out in one go
                    tail = f'{line}" t="inlineStr"><is><t xml:space="preserve">'  # untranslated: XML
                    quoted = f'{line}"{_QUOTED_ATTR} t="inlineStr"><is><t xml:space="preserve">'  # untranslated: XML
                    cells = [
                        f"{at}{quoted if v[:1] in first else tail}{v}</t></is></c>"
                        for at, v in zip(cell_at, row, strict=False)
                        if v
                    ]
                    parts.append(f'<row r="{line}">{"".join(cells)}</row>')
                n += 1
                if n % BLOCK_ROWS == 0:
                    sheet.write("".join(parts))
                    parts.clear()
                    if counted and n % PROGRESS_EVERY == 0:
                        counted(n)
            parts.append("</sheetData></worksheet>")
            sheet.write("".join(parts))
    return n


class _Deflater:
    """Writes text blocks (UTF-8, control characters made visible) to a zip member from a second
    thread, at most a few blocks behind; an error there is raised in the writing thread."""

    def __init__(self, raw: IO[bytes]) -> None:
        import queue
        import threading

        self.raw = raw
        self.blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=3)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="xlsx-deflate", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.blocks.get()) is not None:
            if self.error is None:
                try:
                    self.raw.write(block)
                except BaseException as e:  # noqa: BLE001 - handed to the writing thread
                    self.error = e

    def write(self, text: str) -> None:
        if self.error is not None:
            raise self.error
        data = text.encode("utf-8")
        if len(data.translate(None, _XLSX_ILLEGAL_BYTES)) != len(data):
            # XML 1.0 cannot hold C0 control characters: one in a company name made the whole
            # export fail. They are written as visible `\\x1b` escapes (the log keeps the real text)
            data = _XLSX_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text).encode("utf-8")
        self.blocks.put(data)

    def __enter__(self) -> _Deflater:
        return self

    def __exit__(self, *exc: object) -> None:
        self.blocks.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XLSX_ILLEGAL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])  # the same, as UTF-8 bytes
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_BOLD, _QUOTED = 1, 2  # cellXfs in styles.xml below
_QUOTED_ATTR = f' s="{_QUOTED}"'


def _column(i: int) -> str:
    """Spreadsheet column letters of the 0-based column i (0 → A, 26 → AA)."""
    name = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        name = chr(65 + rem) + name
    return name


_COLUMNS = [_column(i) for i in range(64)]


def _xlsx_row(line: int, values: Sequence[Any], style: int) -> str:
    cells = []
    for col, v in zip(_COLUMNS, values, strict=False):
        if v is None or v == "":
            continue
        ref = f"{col}{line}"
        if isinstance(v, bool):
            cells.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            continue
        if isinstance(v, int | float):
            cells.append(f'<c r="{ref}"><v>{v!r}</v></c>')
            continue
        v = str(v)
        s = style or (_QUOTED if v[:1] in _FORMULA_FIRST else 0)
        attr = f' s="{s}"' if s else ""
        cells.append(f'<c r="{ref}"{attr} t="inlineStr"><is><t xml:space="preserve">{v.translate(_XML_ESCAPES)}</t></is></c>')
    return f'<row r="{line}">{"".join(cells)}</row>'


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_HEAD = (
    _XML_DECL + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
    '<sheetViews><sheetView{view} workbookViewId="0"/></sheetViews><sheetData>'
)
_XLSX_PARTS = {
    "[Content_Types].xml": _XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
    "</Types>",
    "_rels/.rels": _XML_DECL + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": _XML_DECL + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
    '<sheets><sheet name="F-31-08-02" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": _XML_DECL + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
    "xl/styles.xml": _XML_DECL + f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>",
}


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
            raise ArchivistError(
                _("{name} is named .{ext} but --format is {format}; name it .{format} or drop --format").format(
                    name=out.name, ext=ext, format=format_
                )
            )
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
        raise ArchivistError(_("--headers {headers}: use fa, en or fa,en").format(headers=headers))
    return replace(cfg, display=replace(cfg.display, header_languages=langs))


def check_output(path: Path) -> None:
    """Refuse an output path that cannot become the export file, before any work is done."""
    parent = path.parent
    if path.is_dir():
        raise ArchivistError(
            _("{path} is a folder; give a file name, e.g. -o {example}").format(
                path=path, example=path / ("F-31-08-02" + (path.suffix or ".xlsx"))
            )
        )
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
# rows per block handed to the file (or the zip's thread): 2,000 rows of XLSX made blocks of ~6 MB
# whose every allocation was fresh pages from the kernel (120,000 page faults, ~1 s of system
# time at 99,999 records); at 500 they are reused. PROGRESS_EVERY is a multiple of it.
BLOCK_ROWS = 500


def write(
    cfg: Config,
    records: Iterable[Mapping[str, Any] | Sequence[Any]],
    path: Path,
    fmt_: str,
    counted: Callable[[int], None] | None = None,
) -> int:
    """Write the master list as `fmt_` (xlsx | csv) to `path` as the rows come, replacing the
    file atomically at the end; the number of records written. `counted(n)` hears of progress."""
    check_output(path)
    try:
        with store.atomic_writer(path, private=False) as f:  # the user's file: their umask decides
            if fmt_ == "csv":
                return write_csv(cfg, records, f, counted)
            return write_xlsx(cfg, records, f, counted)
    except OSError as e:
        raise ArchivistError(_("cannot write {path}: {error}; choose another -o").format(path=path, error=e.strerror or e)) from e
