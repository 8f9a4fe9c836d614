"""Time in the office's zone, stored as ISO 8601 with offset, shown in Jalali by default.

`ARCHIVIST_NOW` (ISO 8601) pins "now" for scripts and tests that replay a day.
"""

from __future__ import annotations

import functools
import os
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import ArchivistError
from .i18n import _
from .naming import ascii_digits


def now(tz_name: str = "Asia/Tehran") -> datetime:
    pinned = os.environ.get("ARCHIVIST_NOW")
    tz = ZoneInfo(tz_name)
    if pinned:
        dt = datetime.fromisoformat(ascii_digits(pinned))
        return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt.astimezone(tz)
    return datetime.now(tz).replace(microsecond=0)


def as_datetime(value: object, tz_name: str = "Asia/Tehran") -> datetime | None:
    """A log field (datetime, date or ISO string, as hand edits leave them) as an aware datetime."""
    if value is None or value == "":
        return None
    tz = ZoneInfo(tz_name)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, str):
        dt = datetime.fromisoformat(ascii_digits(value.strip()))
        return dt if dt.tzinfo else dt.replace(tzinfo=tz)
    raise ValueError(_("not a date: {value!r}").format(value=value))


_RELATIVE = re.compile(r"^\+\s*(\d+)\s*([dhm])$", re.I)
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_when(text: str, tz_name: str = "Asia/Tehran", base: datetime | None = None) -> datetime:
    """A date as staff type it: `+2d`, `+4h`, ISO, or Jalali (`1405/09/03 10:30`), any digits.

    A year below 1700 is read as Jalali; that is unambiguous for the dates this office handles.
    """
    tz = ZoneInfo(tz_name)
    s = ascii_digits(text).strip()
    base = base or now(tz_name)
    m = _RELATIVE.match(s)
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        return base + {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]
    m = _DATE.match(s)
    if m:
        y, mo, d = (int(g) for g in m.group(1, 2, 3))
        hh, mm, ss = (int(g) if g else 0 for g in m.group(4, 5, 6))
        if not m.group(4):
            hh = 9  # a bare date means the start of the working day
        try:
            if y < 1700:
                import jdatetime  # here: only a typed Jalali date needs it (it costs every command ~15 ms)

                g = jdatetime.datetime(y, mo, d, hh, mm, ss).togregorian()
                return datetime(g.year, g.month, g.day, hh, mm, ss, tzinfo=tz)
            return datetime(y, mo, d, hh, mm, ss, tzinfo=tz)
        except ValueError as e:
            raise ArchivistError(_("{text} is not a real date ({reason})").format(text=repr(text), reason=e)) from None
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise ArchivistError(
            _("cannot read the date {text}; write e.g. +1d, +4h, 1405-09-03 10:30 or 2026-11-24T10:00").format(text=repr(text))
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def fmt(value: datetime | None, calendar: str = "jalali", tz_name: str = "Asia/Tehran", time: bool = True) -> str:
    """How a date is shown to people: Jalali `1405-09-02 10:00` by default, ISO-like otherwise."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz_name))
    if calendar == "jalali":
        day = _jalali_day(local.date())  # the conversion, once per day: `due` shows 100,000 dates
        return f"{day} {local.hour:02d}:{local.minute:02d}" if time else day
    return local.strftime("%Y-%m-%d %H:%M" if time else "%Y-%m-%d")


@functools.lru_cache(maxsize=8192)
def _jalali_day(day: date) -> str:
    y, m, d = jalali(day)
    return f"{y:04d}-{m:02d}-{d:02d}"


def jalali(day: date) -> tuple[int, int, int]:
    """(year, month, day) of the Jalali calendar for a Gregorian date: the arithmetic jdatetime
    uses (FarsiWeb's jalali.c), without importing jdatetime (and platform, locale, greenlet) at
    every start; tests/test_dates_jalali.py compares both over four centuries, day by day."""
    gy = day.year - 1600
    n = 365 * gy + (gy + 3) // 4 - (gy + 99) // 100 + (gy + 399) // 400 + day.timetuple().tm_yday - 1 - 79
    cycles, n = divmod(n, 12053)
    jy = 979 + 33 * cycles + 4 * (n // 1461)
    n %= 1461
    if n >= 366:
        n -= 1
        jy += n // 365
        n %= 365
    if n < 186:
        return jy, n // 31 + 1, n % 31 + 1
    n -= 186
    return jy, 7 + n // 30, n % 30 + 1


class Clock:
    """Epoch seconds as `fmt` and `isoformat` show them, for reports of 100,000 rows: the zone's
    offset is looked up once per UTC day and each day's text made once, instead of an aware
    datetime per row. The text is exactly `fmt(datetime.fromtimestamp(ts, zone), …)` and
    `datetime.fromtimestamp(ts, zone).isoformat()`: a day whose offset is the same at its first
    and last second has one offset throughout (no zone changes its offset twice within 4 days:
    tests/test_dates_jalali.py checks the zone database), and a day with a change (DST) goes the
    slow way for each of its rows (the tests compare both over DST changes of several zones)."""

    BLOCK = 86400  # seconds (shown/iso key their look-up by ts // 86400 too)

    def __init__(self, calendar: str = "jalali", tz_name: str = "Asia/Tehran") -> None:
        self.calendar, self.tz_name, self.zone = calendar, tz_name, ZoneInfo(tz_name)
        self._blocks: dict[int, tuple[int, str] | None] = {}  # block → (offset s, ISO offset text)
        self._shown_days: dict[int, str] = {}
        self._iso_days: dict[int, str] = {}

    def _block(self, ts: int) -> tuple[int, str] | None:
        key = ts // self.BLOCK
        first = datetime.fromtimestamp(key * self.BLOCK, self.zone)
        offset = first.utcoffset()
        same = offset is not None and offset == datetime.fromtimestamp(key * self.BLOCK + self.BLOCK - 1, self.zone).utcoffset()
        seconds = offset.total_seconds() if offset is not None else 0.5
        got = (int(seconds), first.isoformat()[19:]) if same and seconds == int(seconds) else None
        self._blocks[key] = got
        return got

    def _day(self, number: int, iso: bool) -> str:
        """The text of a local day ("1405-09-09 " for shown, "2026-11-30T" for iso), made once."""
        d = _EPOCH_DAY + timedelta(days=number)
        if iso:
            text = self._iso_days[number] = d.isoformat() + "T"
        else:
            text = self._shown_days[number] = (_jalali_day(d) if self.calendar == "jalali" else d.strftime("%Y-%m-%d")) + " "
        return text

    def offset_on(self, utc_day: int) -> int | None:
        """The zone's offset in seconds all through UTC day `utc_day`, or None when it changes
        that day (the rule every fast path here keeps: localtime.offset_spans too)."""
        block = self._blocks.get(utc_day, _UNSEEN)
        if block is _UNSEEN:
            block = self._block(utc_day * self.BLOCK)
        return block[0] if isinstance(block, tuple) else None

    def day_text(self, number: int, iso: bool = False) -> str:
        """The shown date of local day `number` (days since 1970-01-01) with the space after it,
        or with `iso` its ISO date and the "T" after it."""
        return (self._iso_days if iso else self._shown_days).get(number) or self._day(number, iso)

    def shown(self, ts: int) -> str:
        """`fmt(datetime.fromtimestamp(ts, zone), calendar, tz_name)`."""
        block = self._blocks.get(ts // 86400, _UNSEEN)
        if block is _UNSEEN:
            block = self._block(ts)
        if not isinstance(block, tuple):
            return fmt(datetime.fromtimestamp(ts, self.zone), self.calendar, self.tz_name)
        local: int = ts + block[0]
        number = local // 86400
        return (self._shown_days.get(number) or self._day(number, False)) + HOUR_MINUTE[local % 86400 // 60]

    def iso(self, ts: int) -> str:
        """`datetime.fromtimestamp(ts, zone).isoformat()`."""
        block = self._blocks.get(ts // 86400, _UNSEEN)
        if block is _UNSEEN:
            block = self._block(ts)
        if not isinstance(block, tuple):
            return datetime.fromtimestamp(ts, self.zone).isoformat()
        local: int = ts + block[0]
        suffix: str = block[1]
        number, second = divmod(local, 86400)
        day = self._iso_days.get(number) or self._day(number, True)
        return day + HOUR_MINUTE[second // 60] + SECONDS[second % 60] + suffix


_UNSEEN = object()  # a day not looked up yet (None: a day with an offset change)
_TWO_DIGITS = [f"{i:02d}" for i in range(60)]  # 60 formatted numbers joined: 1,440 f-strings cost every start 1 ms
HOUR_MINUTE = [h + ":" + m for h in _TWO_DIGITS[:24] for m in _TWO_DIGITS]  # minute of the day → "HH:MM"
SECONDS = [":" + s for s in _TWO_DIGITS]  # second of the minute → ":SS"
_EPOCH_DAY = date(1970, 1, 1)


def shown(value: object, calendar: str = "jalali", tz_name: str = "Asia/Tehran", time: bool = True, none: str = "") -> str:
    """A stored date (log field, index or state value) as `fmt` shows it; `none` when there is
    none; a hand-edited value that is not a date is shown as written rather than failing."""
    try:
        value_dt = as_datetime(value, tz_name)
    except (ValueError, TypeError):
        return str(value)
    return fmt(value_dt, calendar, tz_name, time) if value_dt else none


def year_of(value: datetime, calendar: str = "jalali") -> int:
    """The year used in contract and invoice numbers."""
    if calendar == "jalali":
        return jalali(value.date())[0]
    return value.year


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


UTC = UTC
