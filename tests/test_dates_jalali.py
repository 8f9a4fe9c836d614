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
