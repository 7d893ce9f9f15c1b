"""Admission tickets (准考证) as a PDF: A4, one ticket per half page, two to a page.

A ticket shows what the contestant and the check-in desk need: the competition and event, the
admission number, the drawn numbers once drawn, the names, the unit, the ID number masked, time
and venue, the photo and a QR code. The QR code carries only the public result URL with the
entry's opaque token (``<public base>/r/<token>``); the ID number appears masked, the phone never.

Rendering uses Flask's ``render_template`` (the user's language), so call these functions inside
a request or app context. WeasyPrint loads the stylesheet from the static folder on disk and
nothing from the network.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask import render_template
from flask_babel import format_date, format_datetime, gettext, to_user_timezone
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict
from ...domain.idnumber import mask_id_number
from ...extensions import db
from ...models import Entry, EntryMember, EntryStatus, Event, Person, Unit
from ...pdf import html_to_pdf
from ...qr import qr_svg

NOTHING_TO_PRINT = N_("There is no approved registration with an admission ticket to print.")

# Minutes before the start by which contestants check in, unless the event's rules say
# otherwise (``checkin_lead_min``).
CHECKIN_LEAD_MINUTES = 30
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


@dataclass(frozen=True)
class TicketPerson:
    name: str
    masked_id: str
    is_lead: bool


@dataclass(frozen=True)
class Ticket:
    """What one printed ticket shows, already masked: the template adds only labels."""

    competition: str
    organiser: str
    host: str
    event_code: str
    event_name: str
    occupation: str
    admission_no: str
    entry_number: str | None
    station_number: str | None
    session_no: int | None
    people: tuple[TicketPerson, ...]
    unit: str
    when: str  # the time of the event, in the user's time zone; "" when not yet set
    venue: str
    photo: str | None  # a data: URI
    qr: Markup  # inline SVG
    checkin_lead_min: int


def public_result_url(base: str, token: str) -> str:
    """The public result page of an entry: ``<base>/r/<token>`` (the page may come later)."""
    return f"{base.rstrip('/')}/r/{token}"


def printable(entries: Sequence[Entry]) -> list[Entry]:
    """The entries that get a ticket: approved, with an admission number and a QR token."""
    return [
        e for e in entries if e.status is EntryStatus.APPROVED and e.qr_token and e.admission_no
    ]


def approved_entries(event: Event, *, unit_id: int | None = None) -> list[Entry]:
    """Approved entries of ``event`` (of one unit if given), by unit name and admission number,
    with their people and photos loaded in a few queries."""
    stmt = (
        select(Entry)
        .join(Unit, Unit.id == Entry.unit_id)
        .where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)
        .options(
            joinedload(Entry.unit),
            selectinload(Entry.members).joinedload(EntryMember.person).undefer(Person.photo),
        )
        .order_by(Unit.name, Entry.admission_no, Entry.id)
    )
    if unit_id is not None:
        stmt = stmt.where(Entry.unit_id == unit_id)
    return list(db.session.scalars(stmt).unique())


def _photo_uri(person: Person | None) -> str | None:
    if person is None or not person.photo or person.photo_type not in PHOTO_TYPES:
        return None
    return f"data:{person.photo_type};base64,{base64.b64encode(person.photo).decode('ascii')}"


def _ticket(entry: Entry, base_url: str) -> Ticket:
    event = entry.event
    competition = event.competition
    head, tail = (event.rules.get("id_mask") or (4, 4))[:2]
    people = tuple(
        TicketPerson(
            name=m.person.name,
            masked_id=mask_id_number(m.person.id_number, int(head), int(tail)),
            is_lead=m.is_lead,
        )
        for m in sorted(entry.members, key=lambda m: (not m.is_lead, m.position))
    )
    url = public_result_url(base_url, entry.qr_token or "")
    return Ticket(
        competition=competition.name,
        organiser=competition.organiser,
        host=competition.host,
        event_code=event.code,
        event_name=event.name,
        occupation=event.occupation,
        admission_no=entry.admission_no or "",
        entry_number=entry.entry_number,
        station_number=entry.station_number,
        session_no=entry.session_no,
        people=people,
        unit=entry.unit.name,
        when=schedule(
            event.start_at or competition.start_date, event.end_at or competition.end_date
        ),
        venue=event.venue or competition.venue,
        photo=_photo_uri(entry.lead.person if entry.lead else None),
        qr=Markup(qr_svg(url)),  # noqa: S704 (built by qr_svg from a checked URL, no user text)
        checkin_lead_min=int(event.rules.get("checkin_lead_min") or CHECKIN_LEAD_MINUTES),
    )


def schedule(start: datetime | date | None, end: datetime | date | None) -> str:
    """Start and end as printed: one day with times, a span of days, or "" when unset."""
    if start is None:
        return ""
    if isinstance(start, datetime):
        text = format_datetime(start, "yyyy-MM-dd HH:mm")
        if isinstance(end, datetime):
            same_day = to_user_timezone(start).date() == to_user_timezone(end).date()
            text += "–" + format_datetime(end, "HH:mm" if same_day else "yyyy-MM-dd HH:mm")
        return text
    text = format_date(start, "yyyy-MM-dd")
    end_day = end.date() if isinstance(end, datetime) else end
    if end_day and end_day != start:
        text += " – " + format_date(end_day, "yyyy-MM-dd")
    return text


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal, safe inside a <style> element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return f'"{escaped}"'


def page_counter_css() -> Markup:
    """The CSS ``content`` value of the footer, "Page N of M" in the user's language."""
    page, pages = "\x00page\x00", "\x00pages\x00"
    text = gettext("Page %(page)s of %(pages)s", page=page, pages=pages)
    parts = []
    for i, piece in enumerate(text.split("\x00")):
        if i % 2:
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(_css_string(piece))
    return Markup(" ".join(parts))  # noqa: S704 (escaped by _css_string)


def ticket_html(entries: Sequence[Entry], *, base_url: str) -> str:
    """The HTML of the tickets of the printable ``entries``; Conflict if there is none.

    ``base_url`` is the public address the QR codes point to (``PUBLIC_BASE_URL``).
    """
    tickets = [_ticket(e, base_url) for e in printable(entries)]
    if not tickets:
        raise Conflict(NOTHING_TO_PRINT)
    return render_template(
        "registration/ticket_pdf.html", tickets=tickets, page_counter=page_counter_css()
    )


def ticket_pdf(entries: Sequence[Entry], *, base_url: str) -> bytes:
    """A PDF of the admission tickets of the printable ``entries``, two per A4 page.

    ``base_url`` is the public address for the QR codes; WeasyPrint's own base is the static
    folder on disk, never the app's URL (a sync worker would wait on itself).
    """
    return html_to_pdf(ticket_html(entries, base_url=base_url))


def print_tickets(
    actor, event: Event, entries: Sequence[Entry], *, base_url: str, unit: Unit | None = None
) -> tuple[bytes, int]:
    """The tickets PDF and how many it holds; the download is audited (the caller commits)."""
    chosen = printable(entries)
    pdf = ticket_pdf(chosen, base_url=base_url)
    after = {"count": len(chosen)}
    if unit is not None:
        after["unit_id"] = unit.id
    if len(chosen) == 1:
        after["entry_id"] = chosen[0].id
    audit.record(
        actor,
        "tickets.printed",
        event,
        after=after,
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return pdf, len(chosen)
