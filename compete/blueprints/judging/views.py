"""Judges' tablet pages and the mark endpoint the tablets sync to."""

from __future__ import annotations

from datetime import UTC, datetime
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

from ...domain.lifecycle import EventState
from ...errors import translate_error
from ...extensions import db
from ...models import User
from ...models.base import utcnow
from ...permissions import (
    Permission,
    has_permission,
    panel_only,
    permission_required,
    public,
)
from ...scope import fast_path
from ..auth.sessions import plain_identity
from ..competitions import lifecycle
from ..competitions.forms import TransitionForm
from . import pairing, services, unlock

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
        entered_at = entered_at.astimezone(UTC)
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


def _batch_from_request() -> tuple[list, list[services.MarkInput | None]] | None:
    """The posted items and each one read (None for an item that cannot be read), or None
    when the body is not a list of 1 to MAX_BATCH marks."""
    body = request.get_json(silent=True)
    items = body.get("marks") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
        return None
    parsed: list[services.MarkInput | None] = []
    for item in items:
        try:
            parsed.append(_parse(item))
        except (ValueError, TypeError, AttributeError):
            parsed.append(None)
    return items, parsed


def _asked_for(parsed: list[services.MarkInput | None]) -> dict[str, set]:
    """The marking codes and criteria a batch names, for reading the judge's seat."""
    marks = [m for m in parsed if m is not None]
    return {
        "codes": {m.code for m in marks},
        "criterion_ids": {m.criterion_id for m in marks},
    }


def _submit_plainly(event_id: int):
    """The tablets' plain case, answered in a few small reads with no ORM object: a session in
    force, a marking seat on the event, the permission to enter marks there, a readable batch.
    None for anything else, which ``submit_marks`` answers the usual way."""
    identity = plain_identity()
    if identity is None:
        return None
    batch = _batch_from_request()
    if batch is None:
        return None
    items, parsed = batch
    seated = services.seated_context(identity.id, event_id, **_asked_for(parsed))
    if seated is None:
        return None
    context, event = seated
    if not has_permission(identity, Permission.MARKS_ENTER, event=event):
        return None
    return _submit(identity, event, items, parsed, context)


@bp.route("/tablet/events/<int:event_id>/marks", methods=["POST"])
@fast_path(_submit_plainly)
@permission_required(Permission.MARKS_ENTER)
@panel_only
def submit_marks(event_id: int):
    """Apply a batch of marks from a tablet; each item is answered on its own.

    The batch is checked against the judge's seat once, then recorded by
    ``services.submit_batch`` (the chain locked once, the new links stored in one transaction).
    The plain case takes ``_submit_plainly``; this body answers the rest (the session to
    touch or end, no seat, no permission, an unreadable body) with the usual checks.
    """
    event = g.event
    user = current_user._get_current_object()
    batch = _batch_from_request()
    if batch is None:
        services.mark_context(user, event, codes=(), criterion_ids=())  # 403 off the panel
        return jsonify(
            error="bad_request", message=_("Send a list of 1 to %(n)s marks.", n=MAX_BATCH)
        ), 400
    items, parsed = batch
    context = services.mark_context(user, event, **_asked_for(parsed))
    return _submit(user, event, items, parsed, context)


def _submit(user, event, items: list, parsed: list, context: services.MarkContext):
    """Record the readable marks and answer every item, in order."""
    marks = [m for m in parsed if m is not None]
    outcome = services.submit_batch(user, event, marks, context=context, now=utcnow())
    results, answered = [], iter(outcome.answers)
    for item, mark in zip(items, parsed, strict=True):
        if mark is None:
            client_id = str(item.get("client_id") or "") if isinstance(item, dict) else ""
            results.append(_result(client_id, "refused", _("This mark cannot be read.")))
            continue
        results.append(_answer(next(answered)))
    if outcome.recompute:
        # Imported here: the results package imports the lifecycle, which imports judging.
        from ..results import services as results_services

        results_services.schedule_recompute(event, actor=user)
    return jsonify(results=results)


def _result(client_id: str, status: str, message: str = "", mark_id=None, value=None) -> dict:
    return {
        "client_id": client_id,
        "status": status,
        "mark_id": mark_id,
        "value": value,
        "message": message,
    }


def _answer(answer: services.MarkAnswer) -> dict:
    if answer.error is not None:
        stale = isinstance(answer.error, services.StaleMark)
        return _result(
            answer.client_id,
            answer.status,
            translate_error(answer.error),
            value=answer.error.params.get("value") if stale else None,
        )
    value = None if answer.value is None else f"{answer.value:.2f}"
    return _result(answer.client_id, answer.status, mark_id=answer.mark_id, value=value)


@bp.route("/events/<int:event_id>/console")
@permission_required(Permission.PANEL_CONSOLE)
def console(event_id: int):
    """The chief judge's grid: marking codes × criteria, who has marked, what disagrees."""
    event = g.event
    progress = services.panel_progress(event)
    consent = unlock.open_consent(event)
    return render_template(
        "judging/console.html",
        event=event,
        progress=progress,
        tab="console",
        locked=event.state is EventState.SCORING_LOCKED,
        consent=consent,
        consent_by=db.session.get(User, consent.supervisor_id) if consent else None,
        may_pair=pairing.seated_chief(current_user, event) is not None,
        steps=lifecycle.next_steps(current_user, event, now=utcnow()),
        guard_labels=lifecycle.GUARD_LABELS,
        action_labels=lifecycle.ACTION_LABELS,
        transition_form=TransitionForm(),
        chain_head=event.mark_head,
        chain_length=event.mark_seq,
    )
