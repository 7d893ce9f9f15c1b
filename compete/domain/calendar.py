"""Working days, the publicity period (公示) and the appeal deadline (§4.8).

A working day is a Monday–Friday that is not a public holiday, or a weekend day the State
Council declared a working day (调休). The 2025 and 2026 dates shipped here are **editable
defaults** an organiser checks against the official notice and edits; the rules take any
calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from . import N_
from .errors import InvalidInput

SATURDAY = 5
DEFAULT_PUBLICITY_WORKDAYS = 5
DEFAULT_APPEAL_WINDOW_MINUTES = 120


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays and the weekend days declared working days (调休)."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        clash = self.holidays & self.workdays
        if clash:
            raise InvalidInput(
                N_("%(day)s cannot be both a holiday and a working day."),
                field="workdays",
                day=min(clash).isoformat(),
            )

    def is_working_day(self, day: date) -> bool:
        """调休 working day → True; holiday → False; otherwise Monday–Friday."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < SATURDAY

    def merged(self, other: HolidayCalendar) -> HolidayCalendar:
        """Both calendars' dates together (for calendars of adjacent years)."""
        return HolidayCalendar(self.holidays | other.holidays, self.workdays | other.workdays)


def next_working_day(day: date, *, calendar: HolidayCalendar, inclusive: bool = True) -> date:
    """The first working day on or after ``day`` (strictly after when not ``inclusive``)."""
    current = day if inclusive else day + timedelta(days=1)
    while not calendar.is_working_day(current):
        current += timedelta(days=1)
    return current


def add_working_days(day: date, count: int, *, calendar: HolidayCalendar) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself not counted)."""
    current = day
    for _ in range(count):
        current = next_working_day(current, calendar=calendar, inclusive=False)
    return current


def publicity_window(
    published_at: date | datetime,
    *,
    workdays: int = DEFAULT_PUBLICITY_WORKDAYS,
    calendar: HolidayCalendar,
) -> tuple[date, date]:
    """The 公示 period's first and last day: ``workdays`` working days (5 by default).

    Day 1 is the publication day if it is a working day, else the next working day (§4.8).
    A datetime is read in its own time zone (pass Beijing time).
    """
    if workdays < 1:
        raise InvalidInput(
            N_("The publicity period needs at least one working day."), field="workdays"
        )
    day = published_at.date() if isinstance(published_at, datetime) else published_at
    first = next_working_day(day, calendar=calendar)
    return first, add_working_days(first, workdays - 1, calendar=calendar)


def appeal_deadline(
    anchor_time: datetime, *, window_minutes: int = DEFAULT_APPEAL_WINDOW_MINUTES
) -> datetime:
    """The last moment to appeal: the anchor (event end, or result release) + the window.

    "比赛结束后2小时内" (SZ16): 120 minutes by default. An appeal at the deadline is in time.
    """
    if anchor_time.tzinfo is None:
        raise InvalidInput(N_("The appeal anchor time needs a time zone."), field="anchor_time")
    if window_minutes < 0:
        raise InvalidInput(N_("The appeal window cannot be negative."), field="window_minutes")
    return anchor_time + timedelta(minutes=window_minutes)


def appeal_in_time(filed_at: datetime, deadline: datetime) -> bool:
    """An appeal filed at or before the deadline is in time; later is refused."""
    if filed_at.tzinfo is None:
        raise InvalidInput(N_("The filing time needs a time zone."), field="filed_at")
    return filed_at <= deadline


def _days(first: date, last: date) -> Iterable[date]:
    return (first + timedelta(days=offset) for offset in range((last - first).days + 1))


def default_prc_calendar(years: Iterable[int] = (2025, 2026)) -> HolidayCalendar:
    """DEFAULTS, for the organiser to check and edit: PRC public holidays and 调休 days.

    From the State Council General Office notices on the 2025 and 2026 holiday arrangements
    (国务院办公厅关于…部分节假日安排的通知). Holidays are given as whole ranges (weekend days
    inside a range are harmless). Unknown years contribute nothing: Monday–Friday only.
    """
    d = date
    data = {
        2025: (
            [
                (d(2025, 1, 1), d(2025, 1, 1)),  # 元旦
                (d(2025, 1, 28), d(2025, 2, 4)),  # 春节
                (d(2025, 4, 4), d(2025, 4, 6)),  # 清明节
                (d(2025, 5, 1), d(2025, 5, 5)),  # 劳动节
                (d(2025, 5, 31), d(2025, 6, 2)),  # 端午节
                (d(2025, 10, 1), d(2025, 10, 8)),  # 国庆节、中秋节
            ],
            [d(2025, 1, 26), d(2025, 2, 8), d(2025, 4, 27), d(2025, 9, 28), d(2025, 10, 11)],
        ),
        2026: (
            [
                (d(2026, 1, 1), d(2026, 1, 3)),  # 元旦
                (d(2026, 2, 15), d(2026, 2, 23)),  # 春节
                (d(2026, 4, 4), d(2026, 4, 6)),  # 清明节
                (d(2026, 5, 1), d(2026, 5, 5)),  # 劳动节
                (d(2026, 6, 19), d(2026, 6, 21)),  # 端午节
                (d(2026, 9, 25), d(2026, 9, 27)),  # 中秋节
                (d(2026, 10, 1), d(2026, 10, 7)),  # 国庆节
            ],
            [
                d(2026, 1, 4),
                d(2026, 2, 14),
                d(2026, 2, 28),
                d(2026, 5, 9),
                d(2026, 9, 20),
                d(2026, 10, 10),
            ],
        ),
    }
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year in years:
        ranges, extra = data.get(year, ([], []))
        for first, last in ranges:
            holidays.update(_days(first, last))
        workdays.update(extra)
    return HolidayCalendar(frozenset(holidays), frozenset(workdays))
