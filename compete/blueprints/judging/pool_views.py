"""The judge pool page (裁判库) and an event's panel: random draw, replay, manual changes."""

from __future__ import annotations

import csv
from io import BytesIO, StringIO

from flask import abort, flash, g, jsonify, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ...domain.errors import Conflict, DomainError, InvalidInput
from ...domain.grades import GRADE_LABELS
from ...errors import translate_error, wants_json
from ...extensions import db
from ...forms import add_error, choices, optional_int
from ...models import Draw, DrawKind, Judge, JudgeConflict, PanelMember, PanelRole, Person, Unit
from ...models.base import utcnow
from ...permissions import Permission, can, permission_required, require
from ...scope import load_in_event
from ..admin.forms import ROLE_LABELS as ACCOUNT_ROLE_LABELS
from ..competitions.presets import default_preset
from . import access, pool, pool_import
from .views import bp

TITLES = pool.TITLES
CONFLICT_LABELS = {
    "relative": _l("Relative"),
    "coach": _l("Coach"),
    "teacher": _l("Teacher"),
    "colleague": _l("Colleague"),
    "other": _l("Other tie"),
}
ROLE_LABELS = {
    PanelRole.CHIEF: _l("Chief judge"),
    PanelRole.MARKING: _l("Marking judge"),
    PanelRole.ONSITE: _l("On-site judge"),
    PanelRole.ENCRYPTION: _l("Encryption judge"),
    PanelRole.RECORDER: _l("Score recorder"),
    PanelRole.SUPERVISOR: _l("Supervisor"),
}


class JudgeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=50)])
    id_number = StringField(_l("ID number"), validators=[DataRequired(), Length(max=32)])
    phone = StringField(_l("Phone"), validators=[Length(max=20)])
    unit_id = SelectField(_l("Unit"), coerce=optional_int, validate_choice=False)
    occupations = StringField(
        _l("Occupations (comma separated)"), validators=[DataRequired(), Length(max=300)]
    )
    grade = SelectField(_l("Skill grade"), coerce=optional_int, validate_choice=False)
    title = SelectField(_l("Professional title"), choices=choices((t, t or "—") for t in TITLES))
    is_assessor = BooleanField(_l("Assessor (考评员)"))
    years = IntegerField(_l("Years in the occupation"), validators=[Optional(), NumberRange(0, 60)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
        self.unit_id.choices = choices([("", "—")] + [(u.id, u.name) for u in units])
        self.grade.choices = choices(
            [("", "—")] + [(int(g), label) for g, label in GRADE_LABELS.items()]
        )


class DrawForm(FlaskForm):
    seed = StringField(_l("Seed (empty: a fresh random seed)"), validators=[Length(max=128)])
    size = IntegerField(_l("Marking judges"), validators=[Optional(), NumberRange(1, 20)])
    reason = StringField(_l("Reason (needed for a redraw)"), validators=[Length(max=1000)])


class MemberForm(FlaskForm):
    judge_id = SelectField(_l("Judge"), coerce=optional_int, validate_choice=False)
    role = SelectField(
        _l("Role"), choices=choices((r.value, label) for r, label in ROLE_LABELS.items())
    )
    module_code = StringField(_l("Module (empty: every module)"), validators=[Length(max=20)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        judges = db.session.scalars(
            select(Judge).where(Judge.is_active.is_(True)).order_by(Judge.name)
        ).all()
        self.judge_id.choices = choices([("", "—")] + [(j.id, j.name) for j in judges])


class RemoveForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class PoolImportForm(FlaskForm):
    file = FileField(_l("Excel (.xlsx) or CSV file"), validators=[FileRequired()])


class ConflictForm(FlaskForm):
    judge_id = SelectField(_l("Judge"), coerce=optional_int, validate_choice=False)
    kind = SelectField(
        _l("Tie"), choices=choices((k, label) for k, label in CONFLICT_LABELS.items())
    )
    person_id_number = StringField(
        _l("Contestant's ID number"), validators=[Optional(), Length(max=32)]
    )
    unit_id = SelectField(_l("or a unit"), coerce=optional_int, validate_choice=False)
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        judges = db.session.scalars(select(Judge).order_by(Judge.name)).all()
        self.judge_id.choices = choices([("", "—")] + [(j.id, j.name) for j in judges])
        units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
        self.unit_id.choices = choices([("", "—")] + [(u.id, u.name) for u in units])


def _min_years() -> int:
    return int(default_preset().latest.params["judge_min_years"])


def _render_pool(form=None, conflict_form=None, status=200):
    min_years = _min_years()
    full = can(Permission.PERSONAL_DATA_VIEW)
    rows = [
        (j, pool.shown_id(j, full=full), pool.judge_qualification(j, min_years=min_years))
        for j in pool.pool_judges()
    ]
    ties = pool.declared_conflicts()
    people = {
        p.id: p
        for p in db.session.scalars(
            select(Person).where(Person.id.in_({t.person_id for t in ties if t.person_id}))
        )
    }
    return render_template(
        "judging/pool.html",
        rows=rows,
        form=form or JudgeForm(formdata=None),
        import_form=PoolImportForm(formdata=None),
        conflict_form=conflict_form or ConflictForm(formdata=None),
        remove_form=RemoveForm(formdata=None),
        ties=ties,
        judges={j.id: j.name for j, _shown, _q in rows},
        units={u.id: u.name for u in db.session.scalars(select(Unit))},
        people=people,
        full_ids=full,
        conflict_labels=CONFLICT_LABELS,
        grade_labels=GRADE_LABELS,
        min_years=min_years,
    ), status


@bp.route("/judges", methods=["GET", "POST"])
@permission_required(Permission.PANEL_MANAGE)
def judge_pool():
    """The pool: who may be drawn, on what grounds; a form to vet one more judge in."""
    form = JudgeForm()
    if form.validate_on_submit():
        try:
            judge, result = pool.add_judge(
                current_user,
                name=form.name.data,
                id_number=form.id_number.data,
                phone=form.phone.data or "",
                unit_id=form.unit_id.data,
                occupations=pool.split_occupations(form.occupations.data),
                grade=form.grade.data,
                title=form.title.data or "",
                is_assessor=form.is_assessor.data,
                years=form.years.data,
                min_years=_min_years(),
                today=utcnow().date(),
            )
        except DomainError as exc:
            db.session.rollback()
            add_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(name)s added to the judge pool.", name=judge.name), "success")
            for warning in result.warnings:
                flash(_(warning), "warning")
            return redirect(url_for(".judge_pool"))
    return _render_pool(form, status=422 if form.errors or form.form_errors else 200)


@bp.route("/judges/template.xlsx")
@permission_required(Permission.PANEL_MANAGE)
def judge_pool_template():
    return send_file(
        BytesIO(pool_import.build_template()),
        mimetype=pool_import.MIME_TYPE,
        as_attachment=True,
        download_name="judge-pool-template.xlsx",
    )


@bp.route("/judges/import", methods=["POST"])
@permission_required(Permission.PANEL_MANAGE)
def import_judge_pool():
    """All or nothing: every judge of the file joins the pool, or a report says why none did."""
    form = PoolImportForm()
    if not form.validate_on_submit():
        flash(_("Choose an Excel or CSV file."), "error")
        return redirect(url_for(".judge_pool"))
    upload = form.file.data
    filename = upload.filename or ""
    try:
        outcome = pool_import.import_judges(
            current_user,
            data=upload.read(),
            filename=filename,
            min_years=_min_years(),
            today=utcnow().date(),
        )
    except pool_import.PoolImportRejected as exc:
        db.session.rollback()
        rows = pool_import.problem_rows(exc.problems, _)
        if wants_json():
            return jsonify(
                error="PoolImportRejected", message=translate_error(exc), problems=rows
            ), 422
        return render_template(
            "judging/pool_import_report.html",
            message=translate_error(exc),
            problems=rows,
            report_csv=_report_csv(rows),
            filename=filename,
        ), 422
    db.session.commit()
    flash(_("%(n)s judges imported into the pool.", n=outcome.judges), "success")
    for warning in outcome.warnings[:20]:
        flash(_("Row %(row)s: ", row=warning.row) + _(warning.message, **warning.params), "warning")
    return redirect(url_for(".judge_pool"))


def _report_csv(rows: list[dict]) -> str:
    """The report as CSV text (UTF-8 with BOM, so Excel for Chinese Windows opens it)."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Row"), _("Column"), _("Value"), _("Problem")])
    for r in rows:
        writer.writerow([r["row"] or "", r["column"] or "", r["value"] or "", r["message"]])
    return "\ufeff" + buffer.getvalue()


@bp.route("/judges/conflicts", methods=["POST"])
@permission_required(Permission.PANEL_MANAGE)
def add_judge_conflict():
    """Declare a tie (回避): the judge stands aside for a contestant or a unit in every draw."""
    form = ConflictForm()
    if not form.validate_on_submit():
        return _render_pool(conflict_form=form, status=422)
    try:
        pool.add_conflict(
            current_user,
            judge_id=form.judge_id.data,
            kind=form.kind.data,
            person_id_number=form.person_id_number.data or "",
            unit_id=form.unit_id.data,
            reason=form.reason.data,
            today=utcnow().date(),
        )
    except DomainError as exc:
        db.session.rollback()
        add_error(form, exc)
        return _render_pool(conflict_form=form, status=409 if isinstance(exc, Conflict) else 422)
    db.session.commit()
    flash(_("Tie declared: the judge stands aside in the panel draw."), "success")
    return redirect(url_for(".judge_pool") + "#ties")


@bp.route("/judges/conflicts/<int:conflict_id>/remove", methods=["POST"])
@permission_required(Permission.PANEL_MANAGE)
def remove_judge_conflict(conflict_id: int):
    tie = db.session.get(JudgeConflict, conflict_id)
    if tie is None:
        abort(404)
    form = RemoveForm()
    if not form.validate_on_submit():
        flash(_("Removing a declared tie needs a reason."), "error")
        return _render_pool(status=422)
    try:
        pool.remove_conflict(current_user, tie, reason=form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
        return _render_pool(status=422)
    db.session.commit()
    flash(_("Declared tie removed."), "success")
    return redirect(url_for(".judge_pool") + "#ties")


def _render_panel(
    draw_form=None, member_form=None, status=200, access_given=None, access_member=None
):
    event = g.event
    return render_template(
        "judging/panel.html",
        event=event,
        access_given=access_given,
        access_member=access_member,
        role_names={role.value: label for role, label in ACCOUNT_ROLE_LABELS.items()},
        members=pool.panel_of(event),
        draws=pool.panel_draws(event),
        current_draw=pool.current_panel_draw(event),
        draw_form=draw_form or DrawForm(data={"size": event.rules["panel_size"]}),
        member_form=member_form or MemberForm(),
        remove_form=RemoveForm(),
        role_labels=ROLE_LABELS,
        can_replay=can(Permission.DRAW_REPLAY) or can(Permission.PANEL_MANAGE),
    ), status


@bp.route("/events/<int:event_id>/panel")
@permission_required(Permission.PANEL_MANAGE)
def panel(event_id: int):
    """The event's panel: who sits, drawn or added by hand (with why), and the draw log."""
    return _render_panel()


@bp.route("/events/<int:event_id>/panel/draw", methods=["POST"])
@permission_required(Permission.PANEL_MANAGE)
def draw_panel(event_id: int):
    form = DrawForm()
    if not form.validate_on_submit():
        return _render_panel(draw_form=form, status=422)
    try:
        draw = pool.draw_panel_for_event(
            current_user,
            g.event,
            seed=form.seed.data,
            size=form.size.data,
            reason=form.reason.data,
        )
    except DomainError as exc:
        db.session.rollback()
        add_error(form, exc)
        return _render_panel(draw_form=form, status=422 if isinstance(exc, InvalidInput) else 409)
    db.session.commit()
    flash(_("Panel drawn with seed %(seed)s.", seed=draw.seed), "success")
    return redirect(url_for(".panel", event_id=event_id))


@bp.route("/events/<int:event_id>/panel/draws/<int:draw_id>/replay", methods=["POST"])
@permission_required(Permission.EVENT_VIEW)
def replay_panel_draw(event_id: int, draw_id: int):
    """Anyone overseeing the draw (supervisor or organiser) recomputes it from the log."""
    draw = load_in_event(Draw, draw_id)
    if draw.kind is not DrawKind.PANEL:
        return redirect(url_for(".panel", event_id=event_id))
    require(can(Permission.DRAW_REPLAY) or can(Permission.PANEL_MANAGE))
    replay = pool.replay_panel_draw(draw)
    if replay.identical:
        flash(_("Replay identical: the seed and inputs give the recorded panel."), "success")
    else:
        flash(_("Replay different: the recorded panel does not follow from its seed."), "error")
        if replay.problem:
            flash(_(replay.problem), "error")
    target = ".panel" if can(Permission.PANEL_MANAGE) else "registration.draws"
    return redirect(url_for(target, event_id=event_id))


@bp.route("/events/<int:event_id>/panel/members", methods=["POST"])
@permission_required(Permission.PANEL_MANAGE)
def add_panel_member(event_id: int):
    form = MemberForm()
    if not form.validate_on_submit():
        return _render_panel(member_form=form, status=422)
    try:
        pool.add_member_manually(
            current_user,
            g.event,
            judge_id=form.judge_id.data,
            role=PanelRole(form.role.data),
            module_code=(form.module_code.data or "").strip() or None,
            reason=form.reason.data,
        )
    except DomainError as exc:
        db.session.rollback()
        add_error(form, exc)
        return _render_panel(member_form=form, status=422)
    db.session.commit()
    flash(_("Judge added to the panel."), "success")
    return redirect(url_for(".panel", event_id=event_id))


@bp.route("/events/<int:event_id>/panel/members/<int:member_id>/remove", methods=["POST"])
@permission_required(Permission.PANEL_MANAGE)
def remove_panel_member(event_id: int, member_id: int):
    member = load_in_event(PanelMember, member_id)
    form = RemoveForm()
    if not form.validate_on_submit():
        flash(_("Removing a judge from the panel needs a reason."), "error")
        return _render_panel(status=422)
    try:
        pool.remove_panel_member(current_user, member, reason=form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
        return _render_panel(status=409)
    db.session.commit()
    flash(_("Judge removed from the panel."), "success")
    return redirect(url_for(".panel", event_id=event_id))


@bp.route("/events/<int:event_id>/panel/members/<int:member_id>/access", methods=["POST"])
@permission_required(Permission.PANEL_MANAGE)
def grant_access(event_id: int, member_id: int):
    """An account (if needed) and the seat's event role for a seated judge; a new account's
    initial password is shown on this answer only."""
    member = load_in_event(PanelMember, member_id)  # the CSRF token is checked app-wide
    try:
        granted = access.grant_seat_access(current_user, g.event, member)
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
        return _render_panel(status=409)
    db.session.commit()
    response, status = _render_panel(access_given=granted, access_member=member)
    return response, status, {"Cache-Control": "no-store"}
