"""Registrations (报名) through the API, with the same access as the registration pages.

Reviewers (``REGISTRATION_REVIEW`` on the event) read every entry of an event; a unit contact
(``REGISTRATION_SUBMIT``, a unit-scoped role) reads their own unit's entries under the unit's
URL, as on their pages: a unit role is in scope only where the URL names the unit, so the
event-wide list is not theirs. ID numbers and phones are masked; ``?full=1`` gives them whole to
holders of ``PERSONAL_DATA_VIEW`` and is written to the audit log.
"""

from __future__ import annotations

from flask import abort, g
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ...extensions import db
from ...models import Entry, EntryMember, EntryStatus, Event, Unit
from ...permissions import Permission, can, permission_required
from . import services
from .serializers import registration_json
from .views import bp, choice_arg, flag_arg, page_args, page_of

STATUSES = tuple(s.value for s in EntryStatus)


def _registrations(event: Event, *, unit: Unit | None):
    page, per_page = page_args()
    status = choice_arg("status", STATUSES)
    full = flag_arg("full")
    if full and not can(Permission.PERSONAL_DATA_VIEW):
        abort(403)
    where = [Entry.event_id == event.id]
    if unit is not None:
        where.append(Entry.unit_id == unit.id)
    if status is not None:
        where.append(Entry.status == EntryStatus(status))
    total = db.session.scalar(select(func.count()).select_from(Entry).where(*where))
    entries = list(
        db.session.scalars(
            select(Entry)
            .where(*where)
            .options(
                joinedload(Entry.unit),
                selectinload(Entry.members).joinedload(EntryMember.person),
            )
            .order_by(Entry.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).unique()
    )
    if full:
        services.record_full_read(
            current_user,
            event,
            entry_ids=[e.id for e in entries],
            unit=unit,
            token=g.get("api_token"),
        )
        db.session.commit()
    return page_of(
        [registration_json(e, full=full) for e in entries],
        page=page,
        per_page=per_page,
        total=total,
    )


@bp.route("/events/<id:event_id>/registrations")
@permission_required(Permission.REGISTRATION_REVIEW)
def event_registrations(event_id: int):
    return _registrations(g.event, unit=None)


@bp.route("/units/<id:unit_id>/events/<id:event_id>/registrations")
@permission_required(Permission.REGISTRATION_SUBMIT)
def unit_registrations(unit_id: int, event_id: int):
    return _registrations(g.event, unit=g.unit)
