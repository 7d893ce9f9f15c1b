"""Publication of provisional results (公示, §4.8) and the official holiday calendar.

- Publishing (``under_review → publicity``) stores a ``Publication``: the window of
  ``publicity_workdays`` working days (day 1 = the publication day if it is a working day, else
  the next one), the appeal deadline (``appeal_window_min`` after the event end or after the
  publication, per ``appeal_anchor``), and the head of the mark chain the results come from.
- Going back to review withdraws it (with the reason); ``final`` finalises it.
- Working days follow the built-in PRC calendar (``domain.calendar.default_prc_calendar``) with
  the organiser's ``Holiday`` rows on top: a row marks a day off (holiday) or a working day
  (调休), whatever the default said.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import func, select

from ... import audit
from ...domain import N_
from ...domain.calendar import (
    HolidayCalendar,
    appeal_deadline,
    default_prc_calendar,
    publicity_window,
)
from ...domain.errors import Conflict, InvalidInput
from ...domain.lifecycle import EventState
from ...extensions import db
from ...models import Appeal, AppealStatus, Event, Holiday, Publication, User
from . import services

DEFAULT_ZONE = "Asia/Shanghai"
SATURDAY = 5
MAX_NAME = 50


def zone() -> ZoneInfo:
    """Beijing time (the app's configured zone)."""
    name = DEFAULT_ZONE
    if has_app_context():
        name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or DEFAULT_ZONE
    return ZoneInfo(name)


def local_day(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


# ---------------------------------------------------------------- holiday calendar


def holiday_rows() -> list[Holiday]:
    return list(db.session.scalars(select(Holiday).order_by(Holiday.day)))


def effective_calendar(years: Iterable[int]) -> HolidayCalendar:
    """The built-in calendar for ``years`` with every ``Holiday`` row laid on top."""
    base = default_prc_calendar(tuple(years))
    holidays, workdays = set(base.holidays), set(base.workdays)
    for row in holiday_rows():
        if row.is_workday:
            holidays.discard(row.day)
            workdays.add(row.day)
        else:
            workdays.discard(row.day)
            holidays.add(row.day)
    return HolidayCalendar(frozenset(holidays), frozenset(workdays))


def _calendar_around(day: date) -> HolidayCalendar:
    # A 15-working-day window can run into the next year.
    return effective_calendar((day.year, day.year + 1))


def add_holiday(actor: User, *, day: date | None, is_workday: bool, name: str) -> Holiday:
    """Add one day to the calendar: a day off, or a weekend working day (调休).

    Refused: no date, a date outside 2000–2100, a day already listed, a name over 50
    characters, a working day that is already one (Monday–Friday, not a default holiday), and a
    day off that already is one (a weekend day that is not a default 调休 day)."""
    if day is None:
        raise InvalidInput(N_("Enter a date."), field="day")
    if not 2000 <= day.year <= 2100:
        raise InvalidInput(N_("Enter a date between 2000 and 2100."), field="day")
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(N_("The name is too long (50 characters at most)."), field="name")
    if db.session.scalar(select(func.count(Holiday.id)).where(Holiday.day == day)):
        raise Conflict(N_("%(day)s is already in the calendar."), day=day.isoformat())
    default = default_prc_calendar((day.year,))
    weekend = day.weekday() >= SATURDAY
    if is_workday and not weekend and day not in default.holidays:
        raise InvalidInput(
            N_("%(day)s is a working day already (Monday to Friday)."),
            field="day",
            day=day.isoformat(),
        )
    if not is_workday and weekend and day not in default.workdays:
        raise InvalidInput(
            N_("%(day)s is a day off already (a weekend)."), field="day", day=day.isoformat()
        )
    row = Holiday(day=day, is_workday=is_workday, name=name)
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor,
        "calendar.day_added",
        row,
        after={"day": day, "is_workday": is_workday, "name": name},
    )
    return row


def remove_holiday(actor: User, row: Holiday) -> None:
    before = {"day": row.day, "is_workday": row.is_workday, "name": row.name}
    audit.record(actor, "calendar.day_removed", row, before=before)
    db.session.delete(row)
    db.session.flush()


# ---------------------------------------------------------------- publication


@dataclass(frozen=True)
class PublicationPlan:
    """What publishing now would store: the window, the appeal deadline, the chain head."""

    publicity_start: date
    publicity_end: date
    appeal_deadline: datetime
    anchor: str  # event_end, result_release
    anchored_at: datetime
    chain_head: str
    marks_seq: int


def plan_publication(event: Event, *, now: datetime) -> PublicationPlan:
    """The publication's figures if the results were published at ``now``."""
    rules = event.rules
    workdays = int(rules.get("publicity_workdays", 5))
    window_min = int(rules.get("appeal_window_min", 120))
    anchor = rules.get("appeal_anchor") or "event_end"
    published_day = local_day(now)
    start, end = publicity_window(
        published_day, workdays=workdays, calendar=_calendar_around(published_day)
    )
    if anchor == "event_end" and event.end_at is None:
        anchor = "result_release"  # no end time recorded: count from the publication
    anchored_at = event.end_at if anchor == "event_end" else now
    return PublicationPlan(
        publicity_start=start,
        publicity_end=end,
        appeal_deadline=appeal_deadline(anchored_at, window_minutes=window_min),
        anchor=anchor,
        anchored_at=anchored_at,
        chain_head=event.mark_head,
        marks_seq=event.mark_seq,
    )


def publish_results(actor: User, event: Event, *, now: datetime) -> Publication:
    """Store the publication of the event entering ``publicity`` (called by the lifecycle)."""
    if event.state is not EventState.PUBLICITY:
        raise Conflict(N_("Results are published by moving the event to publicity."))
    if services.current_publication(event) is not None:
        raise Conflict(N_("The results are already published."))
    plan = plan_publication(event, now=now)
    publication = Publication(
        event_id=event.id,
        published_at=now,
        published_by_id=getattr(actor, "id", None),
        publicity_start=plan.publicity_start,
        publicity_end=plan.publicity_end,
        appeal_deadline=plan.appeal_deadline,
        chain_head=plan.chain_head,
        marks_seq=plan.marks_seq,
    )
    db.session.add(publication)
    db.session.flush()
    services.bump_results_version(event)
    audit.record(
        actor,
        "results.published",
        publication,
        after={
            "publicity_start": plan.publicity_start,
            "publicity_end": plan.publicity_end,
            "appeal_deadline": plan.appeal_deadline,
            "appeal_anchor": plan.anchor,
            "chain_head": plan.chain_head,
            "marks_seq": plan.marks_seq,
        },
        competition_id=event.competition_id,
    )
    return publication


def withdraw_publication(
    actor: User, event: Event, *, reason: str | None, now: datetime
) -> Publication | None:
    """Withdraw the publication in force (the results went back to review, or the event was
    cancelled); None when nothing was published."""
    publication = services.current_publication(event)
    if publication is None:
        return None
    publication.withdrawn_at = now
    publication.withdrawn_reason = (reason or "").strip() or None
    db.session.flush()
    services.bump_results_version(event)
    audit.record(
        actor,
        "results.withdrawn",
        publication,
        after={"withdrawn_at": now, "chain_head": publication.chain_head},
        reason=publication.withdrawn_reason,
        competition_id=event.competition_id,
    )
    return publication


def finalise_publication(actor: User, event: Event, *, now: datetime) -> Publication:
    """Mark the publication in force final (the event entered ``final``)."""
    publication = services.current_publication(event)
    if publication is None:
        raise Conflict(N_("Nothing is published: the results cannot become final."))
    publication.finalised_at = now
    publication.finalised_by_id = getattr(actor, "id", None)
    db.session.flush()
    services.bump_results_version(event)
    audit.record(
        actor,
        "results.finalised",
        publication,
        after={"finalised_at": now, "chain_head": publication.chain_head},
        competition_id=event.competition_id,
    )
    return publication


def publications_of(event: Event) -> list[Publication]:
    """Every publication of the event, newest first (withdrawn ones included)."""
    stmt = (
        select(Publication).where(Publication.event_id == event.id).order_by(Publication.id.desc())
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------- lifecycle guards


def open_appeals(event: Event) -> int:
    return db.session.scalar(
        select(func.count(Appeal.id)).where(
            Appeal.event_id == event.id, Appeal.status == AppealStatus.OPEN
        )
    )


def publicity_over(event: Event, now: datetime) -> bool:
    """The last day of the window is past (in Beijing time)."""
    publication = services.current_publication(event)
    return publication is not None and local_day(now) > publication.publicity_end


def publicity_over_no_open_appeals(event: Event, now: datetime) -> bool:
    """Guard: today (Beijing) is after the last day of the publicity window, and no appeal is
    open."""
    return publicity_over(event, now) and open_appeals(event) == 0


def results_final(event: Event, now: datetime | None = None) -> bool:
    """Guard: the results are final."""
    return services.is_final(event)


# ---------------------------------------------------------------- lifecycle hooks


def on_publicity(actor: User, event: Event, step, now: datetime) -> None:
    """Entering publicity: the publication is stored."""
    publish_results(actor, event, now=now)


def on_leaving_publicity(actor: User, event: Event, step, now: datetime) -> None:
    """Back to review (an upheld appeal or objection) or cancelled from publicity: the
    publication is withdrawn with the step's reason."""
    if step.from_state is EventState.PUBLICITY:
        withdraw_publication(actor, event, reason=step.reason, now=now)


def on_final(actor: User, event: Event, step, now: datetime) -> None:
    """Entering final: the publication in force is finalised."""
    finalise_publication(actor, event, now=now)
