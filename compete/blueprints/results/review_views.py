"""Score review (复核) pages: the sample with its seed, each entry confirmed or corrected."""

from __future__ import annotations

import re

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ...domain import N_
from ...domain.errors import DomainError, InvalidInput, NotAllowed
from ...errors import STATUS, translate_error
from ...extensions import db
from ...forms import commit_or_flash
from ...models.base import utcnow
from ...permissions import Permission, has_permission, permission_required
from ..judging.corrections import may_correct
from . import review, services
from .views import bp

MARK_FIELD = re.compile(r"^mark-(\d+)-(\d+)$")


class StartReviewForm(FlaskForm):
    seed = StringField(validators=[Optional(), Length(max=128)])


class CheckForm(FlaskForm):
    code = HiddenField()
    note = TextAreaField(validators=[Optional(), Length(max=2000)])


def _status(exc: DomainError) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


def _page(*, errors=None, posted=None, status: int = 200):
    event = g.event
    current = review.current_review(event)
    history = [r for r in review.reviews_of(event) if current is None or r.id != current.id]
    trigger = None
    if current is not None and current.full:
        earlier = next((r for r in history if not r.full), None)
        trigger = review.progress_of(earlier) if earlier else None
    return render_template(
        "results/review.html",
        event=event,
        tab="review",
        current=current,
        progress=review.progress_of(current) if current else None,
        lines=review.entry_lines(event, current) if current else [],
        replay=review.replay_sample(current) if current else None,
        appeal_review=review.is_appeal_review(current) if current else False,
        history=[(r, review.progress_of(r)) for r in history],
        trigger=trigger,
        params=review.review_params(event),
        results_current=review.results_current(event),
        may_start=has_permission(current_user, Permission.RECHECK, event=event),
        may_confirm=has_permission(current_user, Permission.RECHECK, event=event),
        may_correct=may_correct(current_user, event),
        start_form=StartReviewForm(formdata=None),
        errors=errors or {},
        posted=posted or {},
    ), status


@bp.route("/events/<int:event_id>/review")
@permission_required(Permission.RESULTS_VIEW)
def review_page(event_id: int):
    """The review: the sample with its seed and replay, progress, error rate, and per entry the
    stored figures and the marks, with confirm and correct forms."""
    return _page()


@bp.route("/events/<int:event_id>/review/start", methods=["POST"])
@permission_required(Permission.RECHECK)
def review_start(event_id: int):
    form = StartReviewForm()
    if not form.validate_on_submit():
        flash(_("The seed is too long (128 characters at most)."), "error")
    else:
        commit_or_flash(
            review.start_review,
            current_user,
            g.event,
            now=utcnow(),
            seed=form.seed.data,
            success=_("The review sample is drawn and recorded with its seed."),
        )
    return redirect(url_for(".review_page", event_id=event_id))


@bp.route("/events/<int:event_id>/review/confirm", methods=["POST"])
@permission_required(Permission.RECHECK)
def review_confirm(event_id: int):
    event = g.event
    form = CheckForm()
    code = (form.code.data or "").strip()
    try:
        if not form.validate_on_submit():
            raise InvalidInput(N_("The note is too long (2,000 characters at most)."), field="note")
        current = review.current_review(event)
        if current is None:
            raise InvalidInput(N_("Choose an entry of the review."), field="code")
        entry = review.entry_by_code(event, code)
        review.confirm_entry(current_user, current, entry, note=form.note.data, now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        return _page(errors={code: translate_error(exc)}, status=_status(exc))
    db.session.commit()
    flash(_("%(code)s confirmed.", code=code), "success")
    return redirect(url_for(".review_page", event_id=event.id, _anchor=f"entry-{code}"))


@bp.route("/events/<int:event_id>/review/correct", methods=["POST"])
@permission_required(Permission.RESULTS_VIEW)
def review_correct(event_id: int):
    """Correct an entry's marks (supervisor or chief judge; the service checks the role): new
    mark events with the reason; the stored results are then recomputed."""
    event = g.event
    form = CheckForm()
    code = (form.code.data or "").strip()
    proposed = {
        (int(m.group(1)), int(m.group(2))): value
        for key, value in request.form.items()
        if (m := MARK_FIELD.match(key))
    }
    reason = request.form.get("reason")
    try:
        if not form.validate_on_submit():
            raise InvalidInput(N_("Choose an entry of the review."), field="code")
        current = review.current_review(event)
        if current is None:
            raise InvalidInput(N_("Choose an entry of the review."), field="code")
        entry = review.entry_by_code(event, code)
        changes = review.changes_from(event, entry, proposed)
        review.correct_entry(current_user, current, entry, changes, reason=reason, now=utcnow())
    except NotAllowed:
        db.session.rollback()
        raise  # the error handler answers 403
    except DomainError as exc:
        db.session.rollback()
        posted = {"code": code, "reason": reason or "", "marks": proposed}
        return _page(errors={code: translate_error(exc)}, posted=posted, status=_status(exc))
    db.session.commit()
    # A full recompute: every entry is scored again from the corrected chain.
    services.schedule_recompute(event, actor=current_user, full=True)
    flash(_("%(code)s corrected; the results are recomputed.", code=code), "success")
    return redirect(url_for(".review_page", event_id=event.id, _anchor=f"entry-{code}"))
