from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from compete.domain.calendar import (
    HolidayCalendar,
    add_working_days,
    appeal_deadline,
    appeal_in_time,
    default_prc_calendar,
    next_working_day,
    publicity_window,
)
from compete.domain.errors import InvalidInput

PRC = default_prc_calendar()
BEIJING = timezone(timedelta(hours=8))


def test_plain_week_without_holidays():
    plain = HolidayCalendar()
    assert publicity_window(date(2025, 3, 10), calendar=plain) == (
        date(2025, 3, 10),
        date(2025, 3, 14),
    )
    # published on a Saturday: day 1 is Monday
    assert publicity_window(date(2025, 3, 15), calendar=plain) == (
        date(2025, 3, 17),
        date(2025, 3, 21),
    )


def test_2026_spring_festival_and_its_make_up_saturdays():
    assert PRC.is_working_day(date(2026, 2, 14)) is True  # Saturday 调休
    assert PRC.is_working_day(date(2026, 2, 16)) is False  # 春节
    assert PRC.is_working_day(date(2026, 2, 28)) is True
    # published Thursday 12 Feb: 12, 13, 14 (Sat, workday), then 24, 25
    assert publicity_window(date(2026, 2, 12), calendar=PRC) == (
        date(2026, 2, 12),
        date(2026, 2, 25),
    )


def test_2026_dates():
    holidays = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 4, 6), date(2026, 5, 5)]
    holidays += [date(2026, 6, 19), date(2026, 9, 25), date(2026, 10, 7)]
    assert not any(PRC.is_working_day(d) for d in holidays)
    workdays = [date(2026, 1, 4), date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
    assert all(PRC.is_working_day(d) for d in workdays)
    assert PRC.is_working_day(date(2026, 10, 8)) is True


def test_2025_dates():
    assert not PRC.is_working_day(date(2025, 1, 28))
    assert not PRC.is_working_day(date(2025, 2, 4))
    assert PRC.is_working_day(date(2025, 1, 26))
    assert PRC.is_working_day(date(2025, 2, 8))
    assert PRC.is_working_day(date(2025, 4, 27))
    assert not PRC.is_working_day(date(2025, 6, 2))
    assert not PRC.is_working_day(date(2025, 10, 8))
    assert PRC.is_working_day(date(2025, 9, 28))
    assert PRC.is_working_day(date(2025, 10, 11))
    # National Day 2025: published 30 Sep → 30 Sep, 9, 10, 11 (Sat), 13 Oct
    assert publicity_window(date(2025, 9, 30), calendar=PRC) == (
        date(2025, 9, 30),
        date(2025, 10, 13),
    )
    # published on a holiday: day 1 is the first working day after it
    assert publicity_window(datetime(2025, 10, 3, 10, tzinfo=BEIJING), calendar=PRC)[0] == date(
        2025, 10, 9
    )


def test_unlisted_years_are_plain_weeks_and_calendars_merge():
    only_2025 = default_prc_calendar([2025])
    assert only_2025.is_working_day(date(2026, 2, 16)) is True
    assert only_2025.merged(default_prc_calendar([2026])) == PRC


def test_a_day_cannot_be_holiday_and_workday():
    with pytest.raises(InvalidInput):
        HolidayCalendar(holidays={date(2026, 1, 4)}, workdays={date(2026, 1, 4)})


def test_working_day_helpers():
    assert next_working_day(date(2026, 2, 15), calendar=PRC) == date(2026, 2, 24)
    assert next_working_day(date(2026, 2, 13), calendar=PRC, inclusive=False) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2, calendar=PRC) == date(2026, 2, 24)
    with pytest.raises(InvalidInput):
        publicity_window(date(2026, 3, 2), workdays=0, calendar=PRC)
    assert publicity_window(date(2026, 3, 2), workdays=1, calendar=PRC) == (date(2026, 3, 2),) * 2


def test_appeal_deadline_is_two_hours_and_inclusive():
    end = datetime(2025, 6, 1, 16, 0, tzinfo=BEIJING)
    deadline = appeal_deadline(end)
    assert deadline == datetime(2025, 6, 1, 18, 0, tzinfo=BEIJING)
    assert appeal_in_time(deadline, deadline) is True
    assert appeal_in_time(deadline + timedelta(seconds=1), deadline) is False
    assert (
        appeal_in_time(datetime(2025, 6, 1, 10, 0, tzinfo=UTC), deadline) is True
    )  # 18:00 Beijing
    assert appeal_deadline(end, window_minutes=30) == datetime(2025, 6, 1, 16, 30, tzinfo=BEIJING)
    with pytest.raises(InvalidInput):
        appeal_deadline(datetime(2025, 6, 1, 16, 0))  # noqa: DTZ001 - naive on purpose
