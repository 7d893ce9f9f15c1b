"""A person's record across competitions: entries, ranks, awards, titles and promotions.

A person belongs to no single competition, so who may see the record is decided here: anyone
holding personal-data access without a scope (administrators, organisation-wide organisers),
or an organiser (awards access) of a competition the person entered. Results of events the
viewer does not manage are shown only once published.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ...extensions import db
from ...models import (
    AwardGrant,
    Competition,
    Entry,
    EntryMember,
    EntryScore,
    Event,
    Person,
    PromotionGrant,
    TitleGrant,
)
from ...permissions import Permission, has_permission
from ..results.services import is_published


def competitions_of(person: Person) -> list[Competition]:
    """The competitions the person entered (any event, any status)."""
    stmt = (
        select(Competition)
        .join(Event, Event.competition_id == Competition.id)
        .join(EntryMember, EntryMember.event_id == Event.id)
        .where(EntryMember.person_id == person.id)
        .distinct()
    )
    return list(db.session.scalars(stmt))


def may_view(user, person: Person) -> bool:
    if has_permission(user, Permission.PERSONAL_DATA_VIEW):
        return True
    return any(
        has_permission(user, Permission.AWARDS_MANAGE, competition=c)
        for c in competitions_of(person)
    )


def may_record(user, person: Person) -> bool:
    """Record earlier titles or promotions by hand: awards access without a scope, or in a
    competition the person entered."""
    if has_permission(user, Permission.AWARDS_MANAGE):
        return True
    return any(
        has_permission(user, Permission.AWARDS_MANAGE, competition=c)
        for c in competitions_of(person)
    )


def may_see_full_id(user, person: Person) -> bool:
    if has_permission(user, Permission.PERSONAL_DATA_VIEW):
        return True
    return any(
        has_permission(user, Permission.PERSONAL_DATA_VIEW, competition=c)
        for c in competitions_of(person)
    )


@dataclass(frozen=True)
class HistoryLine:
    """One event the person entered, with what the viewer may see of its outcome."""

    event: Event
    entry: Entry
    member: EntryMember
    score: EntryScore | None
    grant: AwardGrant | None
    visible: bool  # results published, or the viewer manages the event


@dataclass(frozen=True)
class PersonHistory:
    person: Person
    lines: list[HistoryLine]
    titles: list[TitleGrant]
    promotions: list[PromotionGrant]
    events: dict[int, Event]  # the events titles and promotions came from


def person_history(person: Person, *, viewer=None) -> PersonHistory:
    members = db.session.scalars(
        select(EntryMember).where(EntryMember.person_id == person.id)
    ).all()
    lines = []
    for member in members:
        entry = member.entry
        event = entry.event
        score = db.session.scalar(
            select(EntryScore).where(
                EntryScore.event_id == event.id, EntryScore.entry_id == entry.id
            )
        )
        grant = db.session.scalar(
            select(AwardGrant).where(AwardGrant.entry_id == entry.id, AwardGrant.is_current)
        )
        visible = is_published(event) or (
            viewer is not None and has_permission(viewer, Permission.RESULTS_VIEW, event=event)
        )
        lines.append(HistoryLine(event, entry, member, score, grant, visible))
    lines.sort(
        key=lambda line: (
            -line.event.competition.year,
            line.event.competition_id,
            line.event.code,
        )
    )
    titles = db.session.scalars(
        select(TitleGrant).where(TitleGrant.person_id == person.id).order_by(TitleGrant.id)
    ).all()
    promotions = db.session.scalars(
        select(PromotionGrant)
        .where(PromotionGrant.person_id == person.id)
        .order_by(PromotionGrant.id)
    ).all()
    event_ids = {row.event_id for row in (*titles, *promotions) if row.event_id is not None}
    events = {event_id: db.session.get(Event, event_id) for event_id in event_ids}
    return PersonHistory(person, lines, list(titles), list(promotions), events)
