"""Awards, titles and promotions pages for organisers; a person's history across competitions."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from ... import audit
from ...domain.errors import DomainError
from ...domain.grades import GRADE_LABELS, Grade
from ...errors import translate_error
from ...extensions import db
from ...forms import add_error, commit_or_flash
from ...models import AwardGrant, Person, PromotionGrant, TitleGrant
from ...models.base import utcnow
from ...permissions import Permission, can, permission_required, require, signed_in
from ...scope import load_in_event
from . import history, lists, promotions, services, titles

bp = Blueprint("awards", __name__)


@bp.record_once
def _join_lifecycle(_state) -> None:
    """When the app is built: awards are issued only once every external decision is in."""
    from ..competitions import lifecycle

    lifecycle.GUARDS["external_decisions_in"] = services.external_decisions_in


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HISTORY_GRADES = list(Grade)
DECISIONS = ("decline", "revoke")


class ApprovalForm(FlaskForm):
    approval_ref = StringField(
        _l("Approval reference (document number)"), validators=[Length(max=100)]
    )
    granted_on = DateField(_l("Approval date"), validators=[Optional()])


class RecordTitleForm(FlaskForm):
    title = SelectField(_l("Title"), choices=[])
    granted_on = DateField(_l("Granted on"), validators=[Optional()])
    source = StringField(
        _l("Source (approval document, certificate)"), validators=[Length(max=200)]
    )
    approval_ref = StringField(_l("Approval reference"), validators=[Length(max=100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title.choices = [(key, _(titles.title_label(key))) for key in titles.known_titles()]


class RecordPromotionForm(FlaskForm):
    occupation = StringField(_l("Occupation"), validators=[Length(max=100)])
    from_grade = SelectField(_l("Grade before"), choices=[])
    to_grade = SelectField(_l("Grade reached"), choices=[])
    granted_on = DateField(_l("Promoted on"), validators=[Optional()])
    source = StringField(
        _l("Source (approval document, certificate)"), validators=[Length(max=200)]
    )
    approval_ref = StringField(_l("Approval reference"), validators=[Length(max=100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        grades = [(str(int(g)), GRADE_LABELS[g]) for g in HISTORY_GRADES]
        self.from_grade.choices = [("", "—"), *grades]
        self.to_grade.choices = grades


def _int_or_none(value) -> int | None:
    return int(value) if value not in (None, "") else None


def _labels():
    return {
        "award_label": services.award_label,
        "title_label": titles.title_label,
        "status_labels": titles.STATUS_LABELS,
        "boundary_labels": services.BOUNDARY_LABELS,
    }


def _xlsx(data: bytes, name: str):
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


# ---------------------------------------------------------------- event page


@bp.route("/events/<int:event_id>/awards")
@permission_required(Permission.AWARDS_MANAGE)
def event_awards(event_id: int):
    """The award list with its band lines, flagged ties, titles and promotions."""
    event = g.event
    page = services.awards_page(event)
    return render_template(
        "awards/event.html",
        event=event,
        tab="awards",
        page=page,
        full_ids=can(Permission.PERSONAL_DATA_VIEW),
        approval_form=ApprovalForm(),
        may_allocate=event.state == "final",
        may_decide=event.state in ("final", "awards_issued"),
        **_labels(),
    )


def _back(event_id: int, anchor: str | None = None):
    return redirect(url_for(".event_awards", event_id=event_id, _anchor=anchor))


@bp.route("/events/<int:event_id>/awards/allocate", methods=["POST"])
@permission_required(Permission.AWARDS_MANAGE)
def allocate(event_id: int):
    commit_or_flash(
        services.allocate_awards,
        current_user,
        g.event,
        now=utcnow(),
        success=_("Awards allocated from the event's rules; titles and promotions proposed."),
    )
    return _back(event_id)


@bp.route("/events/<int:event_id>/awards/<int:grant_id>/decision", methods=["POST"])
@permission_required(Permission.AWARDS_MANAGE)
def decide_tie(event_id: int, grant_id: int):
    grant = load_in_event(AwardGrant, grant_id)
    commit_or_flash(
        services.decide_boundary,
        current_user,
        g.event,
        grant,
        award=request.form.get("award") or None,
        reason=request.form.get("reason", ""),
        now=utcnow(),
        success=_("Decision recorded."),
    )
    return _back(event_id, "awards")


def _approve(action, anchor: str):
    event = g.event
    form = ApprovalForm()
    ids = [int(v) for v in request.form.getlist("grant_id") if v.isdigit()]
    if form.validate_on_submit():
        commit_or_flash(
            action,
            current_user,
            event,
            ids,
            approval_ref=form.approval_ref.data or "",
            granted_on=form.granted_on.data,
            now=utcnow(),
            success=_("Approval recorded."),
        )
    else:
        flash(_("Give the approval reference and a date as YYYY-MM-DD."), "error")
    return _back(event.id, anchor)


@bp.route("/events/<int:event_id>/titles/approve", methods=["POST"])
@permission_required(Permission.AWARDS_MANAGE)
def approve_titles(event_id: int):
    return _approve(services.approve_titles, "titles")


@bp.route("/events/<int:event_id>/promotions/approve", methods=["POST"])
@permission_required(Permission.AWARDS_MANAGE)
def approve_promotions(event_id: int):
    return _approve(services.approve_promotions, "promotions")


def _decide(model, decline, revoke, event_id: int, grant_id: int, action: str, tab: str):
    """Decline or revoke one title or promotion grant of the event, with the form's reason."""
    if action not in DECISIONS:
        abort(404)
    grant = load_in_event(model, grant_id)
    commit_or_flash(
        decline if action == "decline" else revoke,
        current_user,
        g.event,
        grant,
        reason=request.form.get("reason", ""),
        now=utcnow(),
        success=_("Decision recorded."),
    )
    return _back(event_id, tab)


@bp.route("/events/<int:event_id>/titles/<int:grant_id>/<action>", methods=["POST"])
@permission_required(Permission.AWARDS_MANAGE)
def title_decision(event_id: int, grant_id: int, action: str):
    return _decide(
        TitleGrant,
        services.decline_title,
        services.revoke_title,
        event_id,
        grant_id,
        action,
        "titles",
    )


@bp.route(
    "/events/<int:event_id>/promotions/<int:grant_id>/<action>",
    methods=["POST"],
)
@permission_required(Permission.AWARDS_MANAGE)
def promotion_decision(event_id: int, grant_id: int, action: str):
    return _decide(
        PromotionGrant,
        services.decline_promotion,
        services.revoke_promotion,
        event_id,
        grant_id,
        action,
        "promotions",
    )


# ---------------------------------------------------------------- lists for approval


def _export(kind: str, events, *, scope_name: str, event_id=None, competition_id=None):
    if kind not in lists.KINDS:
        abort(404)
    full = can(Permission.PERSONAL_DATA_VIEW)
    data = lists.workbook(kind, events, full_ids=full)
    audit.record(
        current_user,
        "awards.list_exported",
        after={"kind": kind, "full_ids": full, "events": [e.id for e in events]},
        competition_id=competition_id,
        event_id=event_id,
    )
    db.session.commit()
    return _xlsx(data, f"{kind}-{scope_name}.xlsx")


@bp.route("/events/<int:event_id>/awards/<kind>.xlsx")
@permission_required(Permission.AWARDS_MANAGE)
def event_list(event_id: int, kind: str):
    event = g.event
    return _export(
        kind,
        [event],
        scope_name=event.code,
        event_id=event.id,
        competition_id=event.competition_id,
    )


@bp.route("/competitions/<int:competition_id>/awards/<kind>.xlsx")
@permission_required(Permission.AWARDS_MANAGE)
def competition_list(competition_id: int, kind: str):
    competition = g.competition
    return _export(
        kind,
        list(competition.events),
        scope_name=f"c{competition.id}",
        competition_id=competition.id,
    )


@bp.route("/competitions/<int:competition_id>/awards")
@permission_required(Permission.AWARDS_MANAGE)
def competition_awards(competition_id: int):
    competition = g.competition
    return render_template(
        "awards/competition.html",
        competition=competition,
        rows=services.competition_overview(competition),
        pool=lists.pool_rows(list(competition.events)),
        full_ids=can(Permission.PERSONAL_DATA_VIEW),
        **_labels(),
    )


@bp.route("/competitions/<int:competition_id>/talent-pool.xlsx")
@permission_required(Permission.AWARDS_MANAGE)
def talent_pool(competition_id: int):
    """Outstanding contestants for the province's talent and trainer pools."""
    competition = g.competition
    full = can(Permission.PERSONAL_DATA_VIEW)
    data = lists.talent_pool_workbook(list(competition.events), full_ids=full)
    audit.record(
        current_user,
        "awards.talent_pool_exported",
        after={"full_ids": full},
        competition_id=competition.id,
    )
    db.session.commit()
    return _xlsx(data, f"talent-pool-c{competition.id}.xlsx")


# ---------------------------------------------------------------- a person's history


def _person(person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None:
        abort(404)
    require(history.may_view(current_user, person))
    return person


def _history_page(person: Person, *, title_form=None, promotion_form=None, status=200):
    record = history.person_history(person, viewer=current_user)
    may_record = history.may_record(current_user, person)
    return render_template(
        "awards/history.html",
        record=record,
        full_ids=history.may_see_full_id(current_user, person),
        may_record=may_record,
        title_form=title_form or RecordTitleForm(prefix="title"),
        promotion_form=promotion_form or RecordPromotionForm(prefix="promotion"),
        grade_text=promotions.grade_text,
        **_labels(),
    ), status


@bp.route("/people/<int:person_id>/history")
@signed_in
def person_history(person_id: int):
    """Competitions, ranks, awards, titles and promotions; earlier history recorded by hand.

    Open to personal-data access without a scope, and to organisers of any competition the
    person entered (checked here: a person belongs to no single competition)."""
    return _history_page(_person(person_id))


@bp.route("/people/<int:person_id>/history/titles", methods=["POST"])
@signed_in
def record_title(person_id: int):
    person = _person(person_id)
    require(history.may_record(current_user, person))
    form = RecordTitleForm(prefix="title")
    if form.validate_on_submit():
        try:
            titles.record_title(
                current_user,
                person,
                title=form.title.data,
                granted_on=form.granted_on.data,
                source=form.source.data or "",
                approval_ref=form.approval_ref.data or "",
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            add_error(form, exc, default="title")
        else:
            db.session.commit()
            flash(_("Earlier title recorded."), "success")
            return redirect(url_for(".person_history", person_id=person.id))
    return _history_page(person, title_form=form, status=422)


@bp.route("/people/<int:person_id>/history/promotions", methods=["POST"])
@signed_in
def record_promotion(person_id: int):
    person = _person(person_id)
    require(history.may_record(current_user, person))
    form = RecordPromotionForm(prefix="promotion")
    if form.validate_on_submit():
        try:
            promotions.record_promotion(
                current_user,
                person,
                occupation=form.occupation.data or "",
                from_grade=_int_or_none(form.from_grade.data),
                to_grade=_int_or_none(form.to_grade.data),
                granted_on=form.granted_on.data,
                source=form.source.data or "",
                approval_ref=form.approval_ref.data or "",
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            add_error(form, exc, default="occupation")
        else:
            db.session.commit()
            flash(_("Earlier promotion recorded."), "success")
            return redirect(url_for(".person_history", person_id=person.id))
    return _history_page(person, promotion_form=form, status=422)


@bp.route(
    "/people/<int:person_id>/history/<kind>/<int:grant_id>/revoke",
    methods=["POST"],
)
@signed_in
def revoke_recorded(person_id: int, kind: str, grant_id: int):
    """Revoke a title or promotion recorded by hand (one from an event is revoked on the
    event's awards page)."""
    if kind not in ("titles", "promotions"):
        abort(404)
    person = _person(person_id)
    require(history.may_record(current_user, person))
    model = TitleGrant if kind == "titles" else PromotionGrant
    grant = db.session.get(model, grant_id)
    if grant is None or grant.person_id != person.id or grant.event_id is not None:
        abort(404)
    service = titles.revoke_title if kind == "titles" else promotions.revoke_promotion
    try:
        service(current_user, grant, reason=request.form.get("reason", ""), now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
    else:
        db.session.commit()
        flash(_("Revoked."), "success")
    return redirect(url_for(".person_history", person_id=person.id))
