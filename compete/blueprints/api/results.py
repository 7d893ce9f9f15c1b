"""Results and certificate checks through the API.

Results: holders of ``RESULTS_VIEW`` on the event (organisers, chief judge, supervisor) read the
stored results at any time, by marking code while the codes are sealed and with names once
unsealed, as on the provisional results page. Any other token holder reads them once published,
as the public results page shows them (ranked lines, names, units, scores, awards); before
publication the event has no results for them (404, like the public page).

Certificates: the public verification data of a certificate number (masked name, event,
wording, issuer, valid or revoked), as the verification page shows it.
"""

from __future__ import annotations

from flask import abort, g
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ...extensions import db
from ...models import AwardGrant, Entry, EntryMember, Event, ReviewCode
from ...permissions import Permission, can, signed_in
from ..awards import certificates as certificate_service
from ..judging.unseal import unsealed
from ..results import services as results
from .serializers import certificate_json, result_json
from .views import bp


def _codes(event: Event) -> dict[int, str]:
    stmt = select(ReviewCode.entry_id, ReviewCode.code).where(ReviewCode.event_id == event.id)
    return dict(db.session.execute(stmt).all())


def _awards(event: Event) -> dict[int, str | None]:
    stmt = select(AwardGrant.entry_id, AwardGrant.award).where(
        AwardGrant.event_id == event.id, AwardGrant.is_current.is_(True)
    )
    return dict(db.session.execute(stmt).all())


def _entries(event: Event, entry_ids: list[int]) -> dict[int, Entry]:
    if not entry_ids:
        return {}
    stmt = (
        select(Entry)
        .where(Entry.event_id == event.id, Entry.id.in_(entry_ids))
        .options(
            joinedload(Entry.unit),
            selectinload(Entry.members).joinedload(EntryMember.person),
        )
    )
    return {entry.id: entry for entry in db.session.scalars(stmt).unique()}


@bp.route("/events/<id:event_id>/results")
@signed_in
def event_results(event_id: int):
    event = g.event
    insider = can(Permission.RESULTS_VIEW)
    published = results.is_published(event)
    if not insider and not published:
        abort(404)
    rows = results.stored_results(event)
    if not insider:
        rows = [row for row in rows if row.rank is not None]  # as the public page lists them
    sealed = not unsealed(event)
    codes = _codes(event) if insider else {}
    entries = {} if sealed else _entries(event, [row.entry_id for row in rows])
    awards = _awards(event)
    return {
        "event_id": event.id,
        "status": "final" if results.is_final(event) else "provisional",
        "published": published,
        "sealed": sealed,
        "marks_seq": rows[0].marks_seq if rows else None,
        "items": [
            result_json(
                row,
                code=codes.get(row.entry_id),
                entry=entries.get(row.entry_id),
                award=awards.get(row.entry_id),
                show_entry_id=insider,
            )
            for row in rows
        ],
    }


@bp.route("/certificates/<number>")
@signed_in
def certificate_detail(number: str):
    """A certificate by its number (spaces and dashes ignored); 422 when the check character
    does not match, 404 when no certificate has the number."""
    certificate = certificate_service.by_number(number)
    if certificate is None:
        abort(404)
    return certificate_json(certificate_service.view_of(certificate))
