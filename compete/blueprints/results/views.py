"""Results pages: the organiser's live provisional ranking (marking codes only)."""

from __future__ import annotations

import json

from flask import Blueprint, g, render_template

from ...domain.errors import DomainError
from ...errors import translate_error
from ...extensions import db
from ...models.base import utcnow
from ...permissions import Permission, permission_required
from . import services

bp = Blueprint("results", __name__)


@bp.route("/events/<int:event_id>/results/provisional")
@permission_required(Permission.RESULTS_VIEW)
def provisional(event_id: int):
    """Rank, marking code and scores, recomputed when the mark chain has grown; no names or
    units, because entries stay anonymous until the codes are unsealed."""
    event = g.event
    try:
        ranking = services.provisional_ranking(event, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        return render_template(
            "results/provisional.html", event=event, ranking=None, error=translate_error(exc)
        ), 409
    db.session.commit()
    modules = [module.code for module in event.scheme.modules] if event.scheme else []
    notes = {row.entry_id: json.loads(row.tie_note) for row in ranking.rows if row.tie_note}
    return render_template(
        "results/provisional.html",
        event=event,
        ranking=ranking,
        modules=modules,
        notes=notes,
        error=None,
    )
