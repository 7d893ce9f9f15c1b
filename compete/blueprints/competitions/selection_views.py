"""Selection chains: the nomination list for a linked upstream event.

Reading the list (and its Excel export) needs ``RESULTS_VIEW`` on the lower event, so the
supervision panel can follow it; nominating (pre-registration, declines) needs ``EVENT_MANAGE``
there. The upper event's organiser decides on the entries it receives (see ``selection``).
"""

from __future__ import annotations

from io import BytesIO

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ...domain.errors import Conflict, DomainError, InvalidInput, NotAllowed
from ...errors import translate_error
from ...extensions import db
from ...models import Entry
from ...models.base import utcnow
from ...permissions import Permission, can, permission_required
from ...scope import load_in_event
from . import selection
from .views import XLSX, bp


@bp.app_template_global()
def nomination_source(entry: Entry) -> dict | None:
    """Template helper: the lower-tier result an upper entry was nominated with, or None."""
    return selection.source_result(entry)


def _status(exc: DomainError) -> int:
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, NotAllowed):
        return 403
    return 409 if isinstance(exc, Conflict) else 400


def _page(*, error: str | None = None, error_link: int | None = None, status: int = 200):
    event = g.event
    listings = [selection.nomination_list(link) for link in selection.links_from(event)]
    return render_template(
        "competitions/nominations.html",
        event=event,
        tab="selection",
        listings=listings,
        error=error,
        error_link=error_link,
        form=request.form if error else {},
        Status=selection.NomineeStatus,
    ), status


def _link(link_id: int):
    link = selection.link_of(g.event, link_id)
    if link is None:
        abort(404)
    return link


@bp.route("/events/<int:event_id>/nominations")
@permission_required(Permission.RESULTS_VIEW)
def nominations(event_id: int):
    return _page()


@bp.route("/events/<int:event_id>/nominations/<int:link_id>/export")
@permission_required(Permission.RESULTS_VIEW)
def export_nominations(event_id: int, link_id: int):
    link = _link(link_id)
    listing = selection.nomination_list(link)
    if not listing.final:
        flash(_("The nomination list is ready once the results are final."), "error")
        return redirect(url_for(".nominations", event_id=event_id))
    data = selection.nomination_workbook(listing, full_ids=can(Permission.PERSONAL_DATA_VIEW))
    name = f"nominations-{g.event.code}-{link.target_event.code}.xlsx"
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/events/<int:event_id>/nominations/<int:link_id>/preregister", methods=["POST"])
@permission_required(Permission.EVENT_MANAGE)
def preregister_nominees(event_id: int, link_id: int):
    link = _link(link_id)
    chosen = [int(v) for v in request.form.getlist("chosen") if v.isdigit()]
    try:
        created = selection.preregister(
            current_user,
            link,
            now=utcnow(),
            chosen=chosen,
            reason=request.form.get("reason", ""),
        )
    except DomainError as exc:
        db.session.rollback()
        return _page(error=translate_error(exc), error_link=link.id, status=_status(exc))
    db.session.commit()
    if created:
        flash(
            ngettext(
                "%(num)s nominee pre-registered.", "%(num)s nominees pre-registered.", len(created)
            ),
            "success",
        )
    else:
        flash(_("Every nominee is already pre-registered."), "info")
    return redirect(url_for(".nominations", event_id=event_id))


@bp.route(
    "/events/<int:event_id>/nominations/<int:link_id>/entries/<int:entry_id>/decline",
    methods=["POST"],
)
@permission_required(Permission.EVENT_MANAGE)
def decline_nominee(event_id: int, link_id: int, entry_id: int):
    link = _link(link_id)
    entry = load_in_event(Entry, entry_id)
    try:
        selection.decline(
            current_user,
            link,
            entry,
            kind=request.form.get("kind", ""),
            reason=request.form.get("reason", ""),
            now=utcnow(),
        )
    except DomainError as exc:
        db.session.rollback()
        return _page(error=translate_error(exc), error_link=link.id, status=_status(exc))
    db.session.commit()
    flash(_("Recorded; the next in rank order moves up."), "success")
    return redirect(url_for(".nominations", event_id=event_id))
