"""Admission ticket downloads (准考证, PDF) for unit contacts and organisers."""

from __future__ import annotations

from io import BytesIO

from flask import abort, current_app, g, request, send_file
from flask_login import current_user

from ...extensions import db
from ...models import Entry, Unit
from ...permissions import Permission, permission_required
from ...scope import load_in_event
from . import tickets
from .views import bp

PDF = "application/pdf"


def _public_base() -> str:
    """Where the QR codes point: ``PUBLIC_BASE_URL`` if set, else this request's host."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def _send(pdf: bytes, filename: str):
    response = send_file(BytesIO(pdf), mimetype=PDF, as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "no-store"  # names and masked IDs: keep out of caches
    return response


@bp.route("/units/<int:unit_id>/events/<int:event_id>/tickets.pdf")
@permission_required(Permission.REGISTRATION_SUBMIT)
def unit_tickets(unit_id: int, event_id: int):
    """The admission tickets of the unit's approved entries in the event."""
    unit, event = g.unit, g.event
    entries = tickets.approved_entries(event, unit_id=unit.id)
    pdf, _count = tickets.print_tickets(
        current_user, event, entries, base_url=_public_base(), unit=unit
    )
    db.session.commit()
    return _send(pdf, f"tickets-{event.code}.pdf")


@bp.route("/events/<int:event_id>/tickets.pdf")
@permission_required(Permission.REGISTRATION_REVIEW)
def event_tickets(event_id: int):
    """Every approved entry's admission ticket, or one unit's with ``?unit_id=``."""
    event = g.event
    unit = None
    if "unit_id" in request.args:
        unit = db.session.get(Unit, request.args.get("unit_id", type=int) or 0)
        if unit is None:
            abort(404)
    entries = tickets.approved_entries(event, unit_id=unit.id if unit else None)
    pdf, _count = tickets.print_tickets(
        current_user, event, entries, base_url=_public_base(), unit=unit
    )
    db.session.commit()
    return _send(pdf, f"tickets-{event.code}.pdf")


@bp.route("/units/<int:unit_id>/events/<int:event_id>/entries/<int:entry_id>/ticket.pdf")
@permission_required(Permission.REGISTRATION_SUBMIT)
def entry_ticket(unit_id: int, event_id: int, entry_id: int):
    """One entry's admission ticket; 404 for an entry of another unit or event."""
    unit, event = g.unit, g.event
    entry = load_in_event(Entry, entry_id)
    if entry.unit_id != unit.id:
        abort(404)
    pdf, _count = tickets.print_tickets(
        current_user, event, [entry], base_url=_public_base(), unit=unit
    )
    db.session.commit()
    return _send(pdf, f"ticket-{event.code}-{entry.admission_no}.pdf")
