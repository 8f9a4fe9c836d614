"""The Jalali dates shown everywhere are computed without jdatetime (start-up time): the same days."""

from __future__ import annotations

from datetime import date, timedelta

import jdatetime

from archivist.dates import fmt, jalali, year_of


def test_every_day_of_four_centuries_converts_as_jdatetime_does() -> None:
    day, end = date(1800, 1, 1), date(2200, 12, 31)
    while day <= end:
        j = jdatetime.date.fromgregorian(date=day)
        assert jalali(day) == (j.year, j.month, j.day), day
        day += timedelta(days=1)


def test_shown_dates_and_number_years_are_jalali() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    at = datetime(2026, 3, 20, 23, 30, tzinfo=ZoneInfo("UTC"))  # 03:00 on 1 Farvardin 1405 in Tehran
    assert fmt(at) == "1405-01-01 03:00"
    assert year_of(at.astimezone(ZoneInfo("Asia/Tehran"))) == 1405
    assert year_of(datetime(2026, 3, 20, 12, 0, tzinfo=ZoneInfo("Asia/Tehran"))) == 1404


ZONES = ("Asia/Tehran", "Europe/Berlin", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu", "America/New_York", "UTC")


def _changes(zone: str, start: int, end: int) -> list[int]:
    """The first second of each offset change of `zone` between two instants (day steps, then bisection)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    z = ZoneInfo(zone)

    def off(ts: int) -> object:
        return datetime.fromtimestamp(ts, z).utcoffset()

    out = []
    for day in range(start, end, 86400):
        lo, hi = day, day + 86400
        if off(lo) == off(hi):
            continue
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if off(mid) == off(lo) else (lo, mid)
        out.append(hi)
    return out


def test_the_report_clock_shows_every_second_as_a_datetime_would_across_dst_changes() -> None:
    """`due` shows 126,000 dates through dates.Clock (the zone's offset once per day) instead of a
    datetime per row: the same text as fmt() and isoformat(), including the seconds around DST
    changes, the day boundaries and half- and quarter-hour zones."""
    import random
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from archivist.dates import Clock

    rng = random.Random(17)
    start, end = int(datetime(1979, 1, 1).timestamp()), int(datetime(2031, 1, 1).timestamp())
    for zone in ZONES:
        z = ZoneInfo(zone)
        changes = _changes(zone, start, end)
        assert changes or zone in ("UTC", "Asia/Kathmandu"), zone
        moments = [c + d for c in changes for d in (-86401, -86400, -3601, -61, -1, 0, 1, 59, 60, 1799, 3600, 86399)]
        moments += [rng.randrange(start, end) for _ in range(1000)] + [0, -1, 86399, 86400]
        for calendar in ("jalali", "gregorian"):
            clock = Clock(calendar, zone)
            for ts in moments:
                at = datetime.fromtimestamp(ts, z)
                assert clock.shown(ts) == fmt(at, calendar, zone), (zone, calendar, ts)
                assert clock.iso(ts) == at.isoformat(), (zone, ts)


def test_no_zone_changes_its_offset_twice_within_a_clock_block() -> None:
    """Clock takes a day whose first and last second have the same offset to have it throughout:
    true while no zone in the database changes its offset twice within one block (the closest
    two changes of any zone are ~4 days apart, Africa/Freetown)."""
    import importlib
    import zoneinfo

    from archivist.dates import Clock

    pure = importlib.import_module("zoneinfo._zoneinfo")  # the pure-Python twin of the C module
    # a private attribute: if a Python release moves it, this fails loudly instead of passing empty
    assert hasattr(pure.ZoneInfo("Asia/Tehran"), "_trans_utc"), "zoneinfo moved its transitions: update this test"
    assert len(pure.ZoneInfo("Asia/Tehran")._trans_utc) > 50  # Tehran's DST years are all there
    for name in zoneinfo.available_timezones():
        changes = pure.ZoneInfo(name)._trans_utc
        assert all(b - a > Clock.BLOCK for a, b in zip(changes, changes[1:], strict=False)), name
