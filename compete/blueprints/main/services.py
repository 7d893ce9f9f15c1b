"""What a signed-in user's home page lists: the places their roles reach."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ...extensions import db
from ...models import Competition, Event, Job, Role, Unit, User
from ...permissions import Permission, has_permission


@dataclass
class Desk:
    is_admin: bool = False
    may_create: bool = False
    competitions: list[Competition] = field(default_factory=list)
    events: list[tuple[Role, Event]] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)


def desk_for(user: User) -> Desk:
    desk = Desk(is_admin=user.is_admin)
    competition_ids, unit_ids = set(), set()
    event_roles: list[tuple[Role, int]] = []
    for a in user.assignments:
        if a.role is Role.ORGANISER:
            if a.competition_id is None:
                desk.may_create = True
            else:
                competition_ids.add(a.competition_id)
        elif a.event_id is not None:
            event_roles.append((a.role, a.event_id))
        elif a.unit_id is not None:
            unit_ids.add(a.unit_id)
    if desk.is_admin:
        desk.may_create = True
        desk.competitions = list(
            db.session.scalars(
                select(Competition).order_by(Competition.year.desc(), Competition.id)
            )
        )
    elif competition_ids:
        desk.competitions = list(
            db.session.scalars(
                select(Competition)
                .where(Competition.id.in_(competition_ids))
                .order_by(Competition.year.desc(), Competition.id)
            )
        )
    events = (
        {
            e.id: e
            for e in db.session.scalars(
                select(Event).where(Event.id.in_([eid for _, eid in event_roles]))
            )
        }
        if event_roles
        else {}
    )
    desk.events = [(role, events[eid]) for role, eid in event_roles if eid in events]
    if unit_ids:
        desk.units = list(db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids))))
    return desk


def visible_job(user: User, job_id: str) -> Job | None:
    """The job if ``user`` started it, or may view results of its event; None otherwise."""
    record = db.session.get(Job, job_id) if len(job_id) <= 36 else None
    if record is None:
        return None
    if record.created_by_id == user.id or user.is_admin:
        return record
    if record.event_id is not None:
        event = db.session.get(Event, record.event_id)
        if event is not None and has_permission(user, Permission.RESULTS_VIEW, event=event):
            return record
    return None


def safe_next(args) -> str | None:
    """A same-site path from ``?next=`` to link back to, or None."""
    target = args.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else None
