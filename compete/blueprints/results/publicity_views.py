"""Publication (公示), appeals and arbitration pages; the results stages join the lifecycle."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from ...domain.errors import DomainError
from ...domain.lifecycle import EventState
from ...errors import STATUS
from ...extensions import db
from ...forms import add_error, choices
from ...models import Appeal, Entry
from ...models.base import utcnow
from ...permissions import Permission, permission_required, signed_in
from ...scope import load_in_event
from ..competitions import lifecycle
from ..judging.unseal import unsealed
from . import appeals, publicity, review, services
from .views import bp

# ---------------------------------------------------------------- lifecycle wiring


@bp.record_once
def _join_lifecycle(_state) -> None:
    """When the app is built: the results guards and the hooks run on entering a state."""
    lifecycle.GUARDS.update(
        {
            "totals_submitted": review.totals_submitted,
            "recheck_done": review.recheck_done,
            "ranks_computed": review.ranks_computed,
            "publicity_over_no_open_appeals": publicity.publicity_over_no_open_appeals,
            "results_final": publicity.results_final,
        }
    )
    lifecycle.on_enter(EventState.SCORING_LOCKED, review.store_totals)
    lifecycle.on_enter(EventState.PUBLICITY, publicity.on_publicity)
    lifecycle.on_enter(EventState.UNDER_REVIEW, publicity.on_leaving_publicity)
    lifecycle.on_enter(EventState.CANCELLED, publicity.on_leaving_publicity)
    lifecycle.on_enter(EventState.FINAL, publicity.on_final)


def _status(exc: DomainError) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(exc, kind))


# ---------------------------------------------------------------- publication panel

PANEL_TARGETS = (EventState.PUBLICITY, EventState.FINAL, EventState.UNDER_REVIEW)


@bp.route("/events/<int:event_id>/publicity")
@permission_required(Permission.RESULTS_VIEW)
def publicity_page(event_id: int):
    """The publication in force (window, appeal deadline, chain head), what publishing now
    would store, the publish / final buttons with their conditions, and earlier publications."""
    event = g.event
    now = utcnow()
    current = services.current_publication(event)
    plan = None
    if event.state is EventState.UNDER_REVIEW:
        plan = publicity.plan_publication(event, now=now)
    steps = [
        s for s in lifecycle.next_steps(current_user, event, now=now) if s.target in PANEL_TARGETS
    ]
    guards = [
        (key, bool(lifecycle.GUARDS[key](event, now)) if key in lifecycle.GUARDS else False)
        for key in ("totals_submitted", "recheck_done", "unsealed", "ranks_computed")
    ]
    return render_template(
        "results/publicity.html",
        event=event,
        tab="publicity",
        current=current,
        plan=plan,
        steps=steps,
        guards=guards,
        publications=publicity.publications_of(event),
        open_appeals=publicity.open_appeals(event),
        publicity_over=publicity.publicity_over(event, now),
        today=publicity.local_day(now),
        guard_labels=lifecycle.GUARD_LABELS,
        action_labels=lifecycle.ACTION_LABELS,
        next_url=url_for(".publicity_page", event_id=event.id),
    )


# ---------------------------------------------------------------- appeals: the panel


class DecisionForm(FlaskForm):
    outcome = RadioField(choices=choices([("upheld", "upheld"), ("dismissed", "dismissed")]))
    decision = TextAreaField(validators=[DataRequired(), Length(max=5000)])


def _inbox(*, form=None, form_for: int | None = None, status: int = 200):
    event = g.event
    return render_template(
        "results/appeals.html",
        event=event,
        tab="appeals",
        items=appeals.inbox(event),
        window=appeals.appeal_window(event),
        now=utcnow(),
        sealed=not unsealed(event),
        form=form,
        form_for=form_for,
    ), status


@bp.route("/events/<int:event_id>/appeals")
@permission_required(Permission.APPEAL_DECIDE)
def appeals_inbox(event_id: int):
    """The supervisor's inbox: each appeal with its deadline, the entry's scores and marks,
    the decision form, and what followed a decision."""
    return _inbox()


@bp.route("/events/<int:event_id>/appeals/<int:appeal_id>/decide", methods=["POST"])
@permission_required(Permission.APPEAL_DECIDE)
def appeal_decide(event_id: int, appeal_id: int):
    appeal = load_in_event(Appeal, appeal_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            appeals.decide_appeal(
                current_user,
                appeal,
                upheld=form.outcome.data == "upheld",
                decision=form.decision.data,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            add_error(form, exc, default="decision")
            return _inbox(form=form, form_for=appeal.id, status=_status(exc))
        db.session.commit()
        if appeal.status.value == "upheld" and g.event.state is EventState.UNDER_REVIEW:
            flash(
                _("Appeal upheld. The results are back under review for the correction."),
                "success",
            )
            return redirect(url_for(".review_page", event_id=event_id))
        if appeal.status.value == "upheld":
            flash(_("Appeal upheld. The decision is final."), "success")
        else:
            flash(_("Appeal dismissed. The decision is final."), "success")
        return redirect(url_for(".appeals_inbox", event_id=event_id, _anchor=f"appeal-{appeal.id}"))
    return _inbox(form=form, form_for=appeal.id, status=422)


# ---------------------------------------------------------------- appeals: filing


class AppealForm(FlaskForm):
    entry_id = SelectField(coerce=int, validate_choice=False)
    text = TextAreaField(validators=[DataRequired(), Length(max=5000)])


def _entry_label(entry: Entry) -> str:
    number = entry.entry_number or entry.admission_no or ""
    return f"{entry.display_name} · {entry.unit.name}" + (f" · {number}" if number else "")


@bp.route("/events/<int:event_id>/appeals/new", methods=["GET", "POST"])
@signed_in
def appeal_new(event_id: int):
    """File a written appeal: the contestant for their own entry, a unit contact for an entry
    of their unit. Late appeals are refused with the deadline; nothing is stored."""
    event = g.event
    now = utcnow()
    entries = appeals.entries_open_to(current_user, event)
    form = AppealForm()
    form.entry_id.choices = choices((e.id, _entry_label(e)) for e in entries)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            entry = db.session.get(Entry, form.entry_id.data)
            if entry is None or entry.event_id != event.id:
                abort(404)
            try:
                appeal = appeals.file_appeal(current_user, entry, text=form.text.data, now=now)
            except DomainError as exc:
                db.session.rollback()
                if _status(exc) == 403:
                    raise
                add_error(form, exc, default="text")
                status = _status(exc)
            else:
                db.session.commit()
                flash(_("Your appeal is filed with the supervision panel."), "success")
                return redirect(url_for(".appeal_filed", event_id=event.id, appeal_id=appeal.id))
        else:
            status = 422
    window = appeals.appeal_window(event)
    return render_template(
        "results/appeal_new.html",
        event=event,
        form=form,
        entries=entries,
        window=window,
        open_now=window.in_time(now),
        mine=appeals.appeals_for_entries(entries),
    ), status


@bp.route("/events/<int:event_id>/appeals/<int:appeal_id>")
@signed_in
def appeal_filed(event_id: int, appeal_id: int):
    """One appeal as its filer (or the filer's unit) sees it: text, status, decision."""
    appeal = load_in_event(Appeal, appeal_id)
    entry = db.session.get(Entry, appeal.entry_id)
    if not appeals.may_appeal_for(current_user, entry):
        abort(404)
    return render_template(
        "results/appeal_list.html",
        title=_("Appeal"),
        rows=[],
        appeal_list=[appeal],
        history={appeal.id: appeals.appeal_history(appeal)},
        back=url_for(".appeal_new", event_id=g.event.id),
        now=utcnow(),
    )


def _overview(entries: list[Entry], *, title: str):
    now = utcnow()
    filed = appeals.appeals_for_entries(entries)
    return render_template(
        "results/appeal_list.html",
        title=title,
        rows=appeals.appealable(entries, now=now),
        appeal_list=filed,
        history={a.id: appeals.appeal_history(a) for a in filed},
        back=None,
        now=now,
    )


@bp.route("/account/appeals")
@permission_required(Permission.APPEAL_FILE)
def my_appeals():
    """A contestant's entries with their appeal deadlines, and the appeals filed for them."""
    return _overview(appeals.entries_for_contestant(current_user), title=_("My appeals"))


@bp.route("/units/<int:unit_id>/appeals")
@permission_required(Permission.APPEAL_FILE)
def unit_appeals(unit_id: int):
    """A unit contact's entries with their appeal deadlines, and the unit's appeals."""
    return _overview(
        appeals.entries_for_unit(g.unit), title=_("Appeals of %(unit)s", unit=g.unit.name)
    )
