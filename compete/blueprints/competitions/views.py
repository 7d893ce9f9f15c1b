"""Organiser pages: competitions, events, marking schemes, rules, selection, lifecycle."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...domain.errors import Conflict, DomainError, InvalidInput, NotAllowed
from ...domain.grades import GRADE_LABELS, Grade
from ...domain.lifecycle import EventState
from ...domain.rules import SPEC
from ...domain.tiers import GROUP_LABELS, TIER_LABELS
from ...errors import translate_error
from ...extensions import db
from ...forms import add_error, choices, commit_or_flash
from ...models import (
    Competition,
    Event,
    RulePreset,
    SchemeCriterion,
    SchemeModule,
    SelectionLink,
)
from ...models.base import utcnow
from ...permissions import Permission, has_permission, permission_required, signed_in
from ...presets import parameter_sources
from . import lifecycle, params, presets, schemes, services
from .forms import (
    AGGREGATION_LABELS,
    GRADE_CHOICES,
    KIND_LABELS,
    CompetitionForm,
    CriterionForm,
    EventForm,
    ModuleForm,
    PresetCopyForm,
    SchemeImportForm,
    SelectionLinkForm,
    TransitionForm,
)
from .scheme_excel import SchemeImportError, build_workbook, parse_workbook

bp = Blueprint("competitions", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _to_utc(value: datetime | None) -> datetime | None:
    """A local date-time typed in a form, as an aware UTC time."""
    return value.replace(tzinfo=_zone()) if value else None


def _to_local(value: datetime | None) -> datetime | None:
    return value.astimezone(_zone()).replace(tzinfo=None) if value else None


def grade_label(value: int) -> str:
    return GRADE_LABELS.get(Grade(value), str(value))


@bp.app_context_processor
def _labels():
    return {
        "grade_label": grade_label,
        "kind_labels": KIND_LABELS,
        "aggregation_labels": AGGREGATION_LABELS,
        "tier_labels": TIER_LABELS,
        "group_labels": GROUP_LABELS,
        "state_labels": lifecycle.STATE_LABELS,
        "forward_states": lifecycle.FORWARD_ORDER,
    }


# ---------------------------------------------------------------- competitions


@bp.route("/competitions")
@signed_in
def competition_list():
    stmt = select(Competition).order_by(Competition.year.desc(), Competition.id.desc())
    visible = [
        c
        for c in db.session.scalars(stmt)
        if has_permission(current_user, Permission.COMPETITION_VIEW, competition=c)
    ]
    return render_template(
        "competitions/list.html",
        competitions=visible,
        may_create=has_permission(current_user, Permission.COMPETITION_CREATE),
    )


@bp.route("/competitions/new", methods=["GET", "POST"])
@permission_required(Permission.COMPETITION_CREATE)
def create_competition():
    form = CompetitionForm()
    if request.method == "GET":
        form.year.data = utcnow().year
    if form.validate_on_submit():
        try:
            competition = services.create_competition(current_user, **form.service_kwargs())
        except InvalidInput as exc:
            db.session.rollback()
            add_error(form, exc)
        else:
            db.session.commit()
            flash(_("Competition created. Now add its events."), "success")
            return redirect(url_for(".overview", competition_id=competition.id))
    return render_template(
        "competitions/competition_form.html", form=form, competition=None
    ), 422 if form.errors or form.form_errors else 200


@bp.route("/competitions/<int:competition_id>")
@permission_required(Permission.COMPETITION_VIEW)
def overview(competition_id: int):
    competition = g.competition
    now = utcnow()
    rows = [
        (event, lifecycle.next_steps(current_user, event, now=now), services.event_counts(event))
        for event in competition.events
    ]
    return render_template(
        "competitions/overview.html",
        competition=competition,
        rows=rows,
        guard_labels=lifecycle.GUARD_LABELS,
        action_labels=lifecycle.ACTION_LABELS,
        summary=services.competition_summary(competition),
    )


@bp.route("/competitions/<int:competition_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.COMPETITION_MANAGE)
def edit_competition(competition_id: int):
    competition = g.competition
    form = CompetitionForm(obj=competition)
    if form.validate_on_submit():
        try:
            services.update_competition(current_user, competition, **form.service_kwargs())
        except InvalidInput as exc:
            db.session.rollback()
            add_error(form, exc)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".overview", competition_id=competition.id))
    return render_template(
        "competitions/competition_form.html", form=form, competition=competition
    ), 422 if form.errors else 200


# ---------------------------------------------------------------- events


def _builtin_presets():
    """The shipped presets, inserted (and committed) on first use so their ids stay valid."""
    shipped = presets.ensure_builtin_presets()
    db.session.commit()
    return shipped


def _preset_choices():
    return choices((p.id, p.name) for p in _builtin_presets())


def _event_form(event: Event | None = None, formdata=None) -> EventForm:
    form = EventForm(formdata=formdata, obj=event)
    form.standard_grade.choices = choices(GRADE_CHOICES)
    form.preset_id.choices = _preset_choices()
    if event is not None and formdata is None:
        form.preset_id.data = event.preset_version.preset_id
        form.group.data = event.group.value
        for name in ("registration_deadline", "start_at", "end_at"):
            getattr(form, name).data = _to_local(getattr(event, name))
    return form


def _event_kwargs(form: EventForm) -> dict:
    return {
        "name": form.name.data.strip(),
        "occupation": form.occupation.data.strip(),
        "occupation_code": (form.occupation_code.data or "").strip(),
        "standard_grade": form.standard_grade.data,
        "group": form.group.data,
        "team_size": form.team_size.data,
        "max_coaches": form.max_coaches.data,
        "registration_deadline": _to_utc(form.registration_deadline.data),
        "start_at": _to_utc(form.start_at.data),
        "end_at": _to_utc(form.end_at.data),
        "venue": (form.venue.data or "").strip(),
    }


@bp.route("/competitions/<int:competition_id>/events/new", methods=["GET", "POST"])
@permission_required(Permission.EVENT_MANAGE)
def create_event(competition_id: int):
    competition = g.competition
    form = _event_form(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.code.data = f"E{len(competition.events) + 1:02d}"
    if form.validate_on_submit():
        preset = db.session.get(RulePreset, form.preset_id.data or 0) or presets.default_preset()
        try:
            event = services.create_event(
                current_user,
                competition,
                code=form.code.data,
                preset_version=preset.latest,
                **_event_kwargs(form),
            )
        except InvalidInput as exc:
            db.session.rollback()
            add_error(form, exc)
        else:
            db.session.commit()
            flash(_("Event created. Next: its marking scheme."), "success")
            return redirect(url_for(".event_scheme", event_id=event.id))
    return render_template(
        "competitions/event_form.html", form=form, event=None, competition=competition
    ), 422 if form.errors else 200


@bp.route("/events/<int:event_id>")
@permission_required(Permission.EVENT_VIEW)
def event_detail(event_id: int):
    event = g.event
    return render_template(
        "competitions/event_basics.html",
        event=event,
        tab="basics",
        steps=lifecycle.next_steps(current_user, event, now=utcnow()),
        guard_labels=lifecycle.GUARD_LABELS,
        action_labels=lifecycle.ACTION_LABELS,
        transition_form=TransitionForm(),
    )


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EVENT_MANAGE)
def edit_event(event_id: int):
    event = g.event
    form = _event_form(event, formdata=request.form if request.method == "POST" else None)
    if form.validate_on_submit():
        try:
            services.update_event(current_user, event, **_event_kwargs(form))
            if form.preset_id.data and form.preset_id.data != event.preset_version.preset_id:
                preset = db.session.get(RulePreset, form.preset_id.data)
                if preset is None:
                    abort(404)
                services.set_rules(current_user, event, preset_version=preset.latest, overrides={})
        except DomainError as exc:
            db.session.rollback()
            add_error(form, exc)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".event_detail", event_id=event.id))
    return render_template(
        "competitions/event_form.html", form=form, event=event, competition=event.competition
    ), 422 if form.errors or form.form_errors else 200


@bp.route("/events/<int:event_id>/transition", methods=["POST"])
@permission_required(Permission.EVENT_TRANSITION)
def transition(event_id: int):
    event = g.event
    form = TransitionForm()
    if not form.validate_on_submit() or form.target.data not in {s.value for s in EventState}:
        flash(_("Choose the step to take."), "error")
        return redirect(url_for(".event_detail", event_id=event.id))
    try:
        lifecycle.transition_event(
            current_user, event, form.target.data, reason=form.reason.data, now=utcnow()
        )
    except NotAllowed:
        db.session.rollback()
        raise  # the error handler answers 403
    except DomainError as exc:
        db.session.rollback()
        flash(_explain(exc), "error")
    else:
        db.session.commit()
        flash(
            _(
                "The event is now: %(state)s.",
                state=_(lifecycle.STATE_LABELS[EventState(form.target.data)]),
            ),
            "success",
        )
    return redirect(
        _local_path(request.form.get("next")) or url_for(".event_detail", event_id=event.id)
    )


def _local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _explain(exc: DomainError) -> str:
    """A refused transition in words: which conditions still fail."""
    keys = [k.strip() for k in str(exc.params.get("guards", "")).split(",") if k.strip()]
    if keys:
        missing = "；".join(_(lifecycle.GUARD_LABELS.get(k, k)) for k in keys)
        return _("This step is not possible yet. Still needed: %(missing)s.", missing=missing)
    return translate_error(exc)


@bp.route("/events/<int:event_id>/history")
@permission_required(Permission.EVENT_VIEW)
def event_history(event_id: int):
    return render_template("competitions/event_history.html", event=g.event, tab="history")


# ---------------------------------------------------------------- marking scheme


def _scheme_page(
    event, *, module_form=None, criterion_form=None, import_form=None, problems=None, status=200
):
    criterion_form = criterion_form or CriterionForm(formdata=None)
    return render_template(
        "competitions/event_scheme.html",
        event=event,
        tab="scheme",
        scheme=event.scheme,
        module_form=module_form or ModuleForm(formdata=None),
        criterion_form=criterion_form,
        import_form=import_form or SchemeImportForm(formdata=None),
        problems=problems,
        editable=event.state in schemes.EDITABLE_STATES
        and has_permission(current_user, Permission.SCHEME_MANAGE, event=event),
    ), status


@bp.route("/events/<int:event_id>/scheme")
@permission_required(Permission.EVENT_VIEW)
def event_scheme(event_id: int):
    return _scheme_page(g.event)


@bp.route("/events/<int:event_id>/scheme/modules", methods=["POST"])
@permission_required(Permission.SCHEME_MANAGE)
def add_module(event_id: int):
    event = g.event
    form = ModuleForm()
    if form.validate_on_submit():
        try:
            schemes.add_module(current_user, event, code=form.code.data, name=form.name.data)
        except DomainError as exc:
            db.session.rollback()
            add_error(form, exc, default="code")
            if isinstance(exc, Conflict):
                return _scheme_page(event, module_form=form, status=409)
        else:
            db.session.commit()
            return redirect(url_for(".event_scheme", event_id=event.id))
    return _scheme_page(event, module_form=form, status=422)


@bp.route("/events/<int:event_id>/scheme/modules/<int:module_id>/delete", methods=["POST"])
@permission_required(Permission.SCHEME_MANAGE)
def delete_module(event_id: int, module_id: int):
    event = g.event
    module = db.session.get(SchemeModule, module_id)
    if module is None or module.scheme.event_id != event.id:
        abort(404)
    commit_or_flash(schemes.delete_module, current_user, event, module)
    return redirect(url_for(".event_scheme", event_id=event.id))


@bp.route("/events/<int:event_id>/scheme/modules/<int:module_id>/criteria", methods=["POST"])
@permission_required(Permission.SCHEME_MANAGE)
def add_criterion(event_id: int, module_id: int):
    event = g.event
    module = db.session.get(SchemeModule, module_id)
    if module is None or module.scheme.event_id != event.id:
        abort(404)
    form = CriterionForm()
    if form.validate_on_submit():
        try:
            schemes.add_criterion(
                current_user,
                event,
                module,
                code=form.code.data,
                description=form.description.data or "",
                kind=form.kind.data,
                max_mark=form.max_mark.data,
                step=form.step.data,
                judges=form.judges.data,
                aggregation=form.aggregation.data or None,
                tolerance=form.tolerance.data,
                double_entry=form.double_entry.data,
            )
        except DomainError as exc:
            db.session.rollback()
            add_error(form, exc, default="code", aliases={"criterion": "code", "max": "max_mark"})
            if isinstance(exc, Conflict):
                form.module_id = module.id
                return _scheme_page(event, criterion_form=form, status=409)
        else:
            db.session.commit()
            return redirect(url_for(".event_scheme", event_id=event.id) + f"#m{module.id}")
    form.module_id = module.id
    return _scheme_page(event, criterion_form=form, status=422)


@bp.route("/events/<int:event_id>/scheme/criteria/<int:criterion_id>/delete", methods=["POST"])
@permission_required(Permission.SCHEME_MANAGE)
def delete_criterion(event_id: int, criterion_id: int):
    event = g.event
    criterion = db.session.get(SchemeCriterion, criterion_id)
    if criterion is None or criterion.module.scheme.event_id != event.id:
        abort(404)
    commit_or_flash(schemes.delete_criterion, current_user, event, criterion)
    return redirect(url_for(".event_scheme", event_id=event.id))


@bp.route("/events/<int:event_id>/scheme/import", methods=["POST"])
@permission_required(Permission.SCHEME_MANAGE)
def import_scheme(event_id: int):
    event = g.event
    form = SchemeImportForm()
    if not form.validate_on_submit():
        return _scheme_page(event, import_form=form, status=422)
    try:
        schemes.check_scheme_editable(event)
        parsed = parse_workbook(form.file.data.read())
        schemes.replace_scheme(current_user, event, parsed)
    except SchemeImportError as exc:
        db.session.rollback()
        return _scheme_page(event, import_form=form, problems=exc.problems, status=422)
    except DomainError as exc:
        db.session.rollback()
        add_error(form, exc, default="file")
        status = 409 if isinstance(exc, Conflict) else 422
        return _scheme_page(event, import_form=form, status=status)
    db.session.commit()
    flash(_("The marking scheme was imported."), "success")
    return redirect(url_for(".event_scheme", event_id=event.id))


def _xlsx(data: bytes, name: str):
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/events/<int:event_id>/scheme.xlsx")
@permission_required(Permission.EVENT_VIEW)
def export_scheme(event_id: int):
    event = g.event
    scheme = event.scheme
    spec = scheme.spec() if scheme and scheme.modules else None
    descriptions = {
        c.code: c.description for m in (scheme.modules if scheme else []) for c in m.criteria
    }
    double = {
        c.code for m in (scheme.modules if scheme else []) for c in m.criteria if c.double_entry
    }
    data = build_workbook(spec, descriptions=descriptions, double_entry=double)
    return _xlsx(data, f"scheme-{event.code}.xlsx")


@bp.route("/scheme-template.xlsx")
@signed_in
def scheme_template():
    return _xlsx(build_workbook(None), "scheme-template.xlsx")


# ---------------------------------------------------------------- rules


@bp.route("/events/<int:event_id>/rules")
@permission_required(Permission.EVENT_VIEW)
def event_rules(event_id: int):
    event = g.event
    return render_template(
        "competitions/event_rules.html",
        event=event,
        tab="rules",
        groups=params.grouped(event.rules, parameter_sources()),
        overridden=set(event.overrides or {}),
    )


def _params_from_form(form_data, current: dict) -> tuple[dict, dict[str, str]]:
    """Parameters typed in the rules form; returns (values, {param: error message})."""
    values, errors = {}, {}
    for name in params.PARAMS:
        if name not in form_data:
            continue
        try:
            values[name] = params.parse(name, form_data.get(name, ""))
        except params.ParamParseError:
            errors[name] = _("This value cannot be read.")
    return values, errors


@bp.route("/events/<int:event_id>/rules/edit", methods=["GET", "POST"])
@permission_required(Permission.EVENT_MANAGE)
def edit_rules(event_id: int):
    event = g.event
    errors: dict[str, str] = {}
    status = 422
    values = dict(event.rules)
    if request.method == "POST":
        typed, errors = _params_from_form(request.form, event.rules)
        values.update(typed)
        if not errors:
            overrides = {k: v for k, v in typed.items() if event.preset_version.params.get(k) != v}
            try:
                services.set_rules(
                    current_user, event, preset_version=event.preset_version, overrides=overrides
                )
            except InvalidInput as exc:
                db.session.rollback()
                errors[exc.field or ""] = translate_error(exc)
            except DomainError as exc:
                db.session.rollback()
                errors[""] = translate_error(exc)
                status = 409 if isinstance(exc, Conflict) else 422
            else:
                db.session.commit()
                flash(_("The event's rules were saved."), "success")
                return redirect(url_for(".event_rules", event_id=event.id))
    return render_template(
        "competitions/rules_form.html",
        event=event,
        tab="rules",
        preset=None,
        groups=params.grouped(values, parameter_sources()),
        spec=SPEC,
        errors=errors,
        action=url_for(".edit_rules", event_id=event.id),
    ), status if errors else 200


# ---------------------------------------------------------------- selection


def _link_form(event: Event, formdata=None) -> SelectionLinkForm:
    form = SelectionLinkForm(formdata=formdata)
    level = event.competition.tier.level
    targets = [
        e
        for e in db.session.scalars(
            select(Event).join(Competition).order_by(Competition.year.desc(), Event.code)
        )
        if e.competition.tier.level > level and e.group is event.group
    ]
    form.target_event_id.choices = choices(
        (e.id, f"{e.competition.year} {e.competition.name} · {e.code} {e.name}") for e in targets
    )
    return form


def _selection_page(event: Event, form: SelectionLinkForm, status: int = 200):
    links = db.session.scalars(
        select(SelectionLink).where(SelectionLink.source_event_id == event.id)
    ).all()
    feeders = db.session.scalars(
        select(SelectionLink).where(SelectionLink.target_event_id == event.id)
    ).all()
    return render_template(
        "competitions/event_selection.html",
        event=event,
        tab="selection",
        form=form,
        links=links,
        feeders=feeders,
    ), status


@bp.route("/events/<int:event_id>/selection")
@permission_required(Permission.EVENT_VIEW)
def event_selection(event_id: int):
    return _selection_page(g.event, _link_form(g.event))


@bp.route("/events/<int:event_id>/selection", methods=["POST"])
@permission_required(Permission.EVENT_MANAGE)
def link_selection(event_id: int):
    event = g.event
    form = _link_form(event, formdata=request.form)
    if form.validate_on_submit():
        target = db.session.get(Event, form.target_event_id.data)
        if target is None:
            abort(404)
        try:
            services.link_selection(current_user, event, target, quota=form.quota.data)
        except InvalidInput as exc:
            db.session.rollback()
            add_error(form, exc, default="target_event_id")
        else:
            db.session.commit()
            flash(_("Selection link saved."), "success")
            return redirect(url_for(".event_selection", event_id=event.id))
    return _selection_page(event, form, 422)


@bp.route("/events/<int:event_id>/selection/<int:link_id>/delete", methods=["POST"])
@permission_required(Permission.EVENT_MANAGE)
def delete_selection(event_id: int, link_id: int):
    event = g.event
    link = db.session.get(SelectionLink, link_id)
    if link is None or link.source_event_id != event.id:
        abort(404)
    services.unlink_selection(current_user, link)
    db.session.commit()
    flash(_("Selection link removed."), "success")
    return redirect(url_for(".event_selection", event_id=event.id))


# ---------------------------------------------------------------- presets


@bp.route("/presets")
@signed_in
def preset_list():
    return render_template(
        "competitions/presets.html",
        presets=_builtin_presets(),
        may_manage=has_permission(current_user, Permission.PRESET_MANAGE),
    )


def _load_preset(preset_id: int) -> RulePreset:
    preset = db.session.get(RulePreset, preset_id)
    if preset is None:
        abort(404)
    return preset


@bp.route("/presets/<int:preset_id>")
@signed_in
def preset_detail(preset_id: int):
    preset = _load_preset(preset_id)
    version_no = request.args.get("version", type=int)
    version = next((v for v in preset.versions if v.version == version_no), preset.latest)
    return render_template(
        "competitions/preset_detail.html",
        preset=preset,
        version=version,
        groups=params.grouped(version.params, parameter_sources()),
        copy_form=PresetCopyForm(),
        may_manage=has_permission(current_user, Permission.PRESET_MANAGE),
    )


@bp.route("/presets/<int:preset_id>/copy", methods=["POST"])
@permission_required(Permission.PRESET_MANAGE)
def copy_preset(preset_id: int):
    source = _load_preset(preset_id)
    form = PresetCopyForm()
    if form.validate_on_submit():
        try:
            preset = presets.copy_preset(
                current_user, source, key=form.key.data, name=form.name.data
            )
        except InvalidInput as exc:
            db.session.rollback()
            flash(translate_error(exc), "error")
        else:
            db.session.commit()
            flash(_("Copy created; edit its rules below."), "success")
            return redirect(url_for(".edit_preset", preset_id=preset.id))
    else:
        flash(_("A copy needs a key and a name."), "error")
    return redirect(url_for(".preset_detail", preset_id=source.id))


@bp.route("/presets/<int:preset_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.PRESET_MANAGE)
def edit_preset(preset_id: int):
    preset = _load_preset(preset_id)
    if preset.is_builtin:
        flash(_("Shipped presets are not edited; make a copy and edit that."), "info")
        return redirect(url_for(".preset_detail", preset_id=preset.id))
    errors: dict[str, str] = {}
    values = dict(preset.latest.params)
    if request.method == "POST":
        typed, errors = _params_from_form(request.form, values)
        values.update(typed)
        if not errors:
            try:
                presets.add_version(
                    current_user, preset, params=values, note=request.form.get("note", "")[:500]
                )
            except InvalidInput as exc:
                db.session.rollback()
                errors[exc.field or ""] = translate_error(exc)
            else:
                db.session.commit()
                flash(
                    _(
                        "Saved as version %(n)s. Events keep the version they use.",
                        n=preset.latest.version,
                    ),
                    "success",
                )
                return redirect(url_for(".preset_detail", preset_id=preset.id))
    return render_template(
        "competitions/rules_form.html",
        event=None,
        preset=preset,
        groups=params.grouped(values, parameter_sources()),
        spec=SPEC,
        errors=errors,
        action=url_for(".edit_preset", preset_id=preset.id),
    ), 422 if errors else 200
