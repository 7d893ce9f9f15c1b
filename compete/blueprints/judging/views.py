"""Judges' tablet pages and the mark endpoint the tablets sync to."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ...domain.errors import DomainError
from ...errors import translate_error
from ...extensions import db
from ...models.base import utcnow
from ...permissions import Permission, panel_only, permission_required, public
from ..competitions import lifecycle
from ..competitions.forms import TransitionForm
from . import services

bp = Blueprint("judging", __name__)

MAX_BATCH = 200


def _links(event_id: int) -> dict:
    return {
        "marks_url": url_for(".submit_marks", event_id=event_id),
        "sw_url": url_for(".service_worker"),
    }


@bp.route("/tablet/sw.js")
@public
def service_worker():
    """The tablet service worker, served from /tablet/ so it may control the tablet pages."""
    path = Path(current_app.static_folder) / "js" / "tablet-sw.js"
    response = current_app.response_class(path.read_bytes(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/tablet/"
    return response


@bp.route("/tablet/events/<int:event_id>")
@permission_required(Permission.MARKS_ENTER)
@panel_only
def assignments(event_id: int):
    event = g.event
    assignment = services.assignment_for(current_user, event)
    marks = services.current_marks(event, judge_user_id=current_user.id)
    criteria_ids = {c.id for c in assignment.criteria}
    done_by_entry: dict[int, int] = {}
    for (_judge, entry_id, criterion_id), _mark in marks.items():
        if criterion_id in criteria_ids:
            done_by_entry[entry_id] = done_by_entry.get(entry_id, 0) + 1
    cards = [
        {
            "code": code,
            "done": done_by_entry.get(entry_id, 0),
            "total": len(assignment.criteria),
            "url": url_for(".sheet", event_id=event.id, code=code),
        }
        for code, entry_id in sorted(assignment.codes.items())
    ]
    return render_template("tablet/assignments.html", event=event, cards=cards, **_links(event.id))


@bp.route("/tablet/events/<int:event_id>/sheet/<code>")
@permission_required(Permission.MARKS_ENTER)
@panel_only
def sheet(event_id: int, code: str):
    event = g.event
    assignment = services.assignment_for(current_user, event)
    entry_id = assignment.codes.get(code)
    if entry_id is None:
        abort(404)
    marks = services.current_marks(event, judge_user_id=current_user.id, entry_id=entry_id)
    criteria = []
    for c in assignment.criteria:
        mark = marks.get((current_user.id, entry_id, c.id))
        criteria.append(
            {
                "id": c.id,
                "code": c.code,
                "description": c.description,
                "module_code": c.module.code,
                "module_name": c.module.name,
                "max_mark": f"{c.max_mark:.2f}",
                "step": f"{c.step:.2f}",
                "kind": c.kind.value,
                "current": {"mark_id": mark.id, "value": f"{mark.value:.2f}"} if mark else None,
            }
        )
    total_max = sum((c.max_mark for c in assignment.criteria), Decimal(0))
    return render_template(
        "tablet/sheet.html",
        event=event,
        code=code,
        criteria=criteria,
        back_url=url_for(".assignments", event_id=event.id),
        total_max=f"{total_max:.2f}",
        **_links(event.id),
    )


def _parse(item: dict) -> services.MarkInput:
    try:
        value = None if item.get("value") in (None, "") else Decimal(str(item["value"]))
        if value is not None and not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("value") from exc
    entered = item.get("entered_at")
    entered_at = None
    if entered:
        entered_at = datetime.fromisoformat(str(entered).replace("Z", "+00:00"))
        if entered_at.tzinfo is None:
            raise ValueError("entered_at")
    base = item.get("base")
    return services.MarkInput(
        client_id=str(item.get("client_id") or "")[:64],
        code=str(item.get("code") or ""),
        criterion_id=int(item.get("criterion_id")),
        value=value,
        base=int(base) if base not in (None, "") else None,
        entered_at=entered_at,
        reason=(str(item["reason"]) if item.get("reason") else None),
        device=str(item.get("device") or request.user_agent.string or "")[:120],
    )


@bp.route("/tablet/events/<int:event_id>/marks", methods=["POST"])
@permission_required(Permission.MARKS_ENTER)
@panel_only
def submit_marks(event_id: int):
    """Apply a batch of marks from a tablet; each item is answered on its own."""
    event = g.event
    assignment = services.assignment_for(current_user, event)
    body = request.get_json(silent=True)
    items = body.get("marks") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
        return jsonify(
            error="bad_request", message=_("Send a list of 1 to %(n)s marks.", n=MAX_BATCH)
        ), 400
    now = utcnow()
    results = []
    for item in items:
        client_id = str(item.get("client_id") or "") if isinstance(item, dict) else ""
        try:
            mark = _parse(item)
        except (ValueError, TypeError, AttributeError):
            results.append(
                {
                    "client_id": client_id,
                    "status": "refused",
                    "mark_id": None,
                    "value": None,
                    "message": _("This mark cannot be read."),
                }
            )
            continue
        # Each mark is its own transaction: stored marks stay stored whatever follows.
        try:
            outcome = services.record_mark(
                current_user, event, mark, now=now, assignment=assignment
            )
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # the same mark arrived twice at once: the first one won
            earlier = services.find_submission(current_user, mark.client_id)
            if earlier is None:
                results.append(
                    {
                        "client_id": client_id,
                        "status": "conflict",
                        "mark_id": None,
                        "value": None,
                        "message": _("Please send this mark again."),
                    }
                )
                continue
            outcome = services.MarkOutcome("duplicate", earlier)
        except DomainError as exc:
            db.session.rollback()
            stale = isinstance(exc, services.StaleMark)
            results.append(
                {
                    "client_id": client_id,
                    "status": "conflict" if stale else "refused",
                    "mark_id": None,
                    "value": exc.params.get("value") if stale else None,
                    "message": translate_error(exc),
                }
            )
            continue
        results.append(
            {
                "client_id": client_id,
                "status": outcome.status,
                "mark_id": outcome.mark.id,
                "value": f"{outcome.mark.value:.2f}",
                "message": "",
            }
        )
    return jsonify(results=results)


@bp.route("/events/<int:event_id>/console")
@permission_required(Permission.PANEL_CONSOLE)
def console(event_id: int):
    """The chief judge's grid: marking codes × criteria, who has marked, what disagrees."""
    event = g.event
    progress = services.panel_progress(event)
    return render_template(
        "judging/console.html",
        event=event,
        progress=progress,
        tab="console",
        steps=lifecycle.next_steps(current_user, event, now=utcnow()),
        guard_labels=lifecycle.GUARD_LABELS,
        action_labels=lifecycle.ACTION_LABELS,
        transition_form=TransitionForm(),
        chain_head=event.mark_head,
        chain_length=event.mark_seq,
    )
