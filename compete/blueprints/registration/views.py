"""Registration pages: quotas, unit contacts' entries, review, import, draws, check-in."""

from __future__ import annotations

from io import BytesIO

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.validators import ValidationError

from ... import audit
from ...domain.errors import DomainError
from ...domain.grades import Grade
from ...domain.lifecycle import EventState
from ...errors import translate_error, wants_json
from ...extensions import db
from ...forms import add_error, choices, commit_or_flash
from ...models import Draw, Entry, EntryStatus, Event, Unit
from ...models.base import utcnow
from ...permissions import Permission, can, permission_required, signed_in
from ...scope import load_in_event
from . import exports, services
from .forms import (
    BulkApproveForm,
    CheckInForm,
    DecisionForm,
    DrawForm,
    EntryForm,
    ImportForm,
    QuotaForm,
    StationDrawForm,
    UnitForm,
    WithdrawForm,
)
from .importer import build_template

bp = Blueprint("registration", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today():
    return utcnow().date()


def _problem_rows(problems):
    return [
        {"row": p.row, "column": p.column, "value": p.value, "message": _(p.message, **p.params)}
        for p in problems
    ]


# ---------------------------------------------------------------- organiser: units and quotas


@bp.route("/events/<int:event_id>/units")
@permission_required(Permission.UNIT_MANAGE)
def event_units(event_id: int):
    event = g.event
    form = QuotaForm()
    form.unit_id.choices = choices(
        (u.id, u.name) for u in db.session.scalars(select(Unit).order_by(Unit.name))
    )
    form.quota.data = services.default_quota(event)
    return render_template(
        "registration/units.html",
        event=event,
        tab="units",
        rows=services.event_units(event),
        quota_form=form,
        unit_form=UnitForm(formdata=None),
    )


@bp.route("/events/<int:event_id>/units", methods=["POST"])
@permission_required(Permission.UNIT_MANAGE)
def set_quota(event_id: int):
    event = g.event
    form = QuotaForm()
    form.unit_id.choices = choices(
        (u.id, u.name) for u in db.session.scalars(select(Unit).order_by(Unit.name))
    )
    unit = db.session.get(Unit, form.unit_id.data or 0)
    if form.validate_on_submit() and unit is not None:
        commit_or_flash(
            services.set_quota,
            current_user,
            event,
            unit,
            quota=form.quota.data,
            team_leader=form.team_leader.data or "",
            team_leader_phone=form.team_leader_phone.data or "",
            success=_("Quota saved."),
        )
    else:
        flash(_("Choose a unit and a quota from 0 to 1000."), "error")
    return redirect(url_for(".event_units", event_id=event.id))


@bp.route("/events/<int:event_id>/units/new", methods=["POST"])
@permission_required(Permission.UNIT_MANAGE)
def create_unit(event_id: int):
    event = g.event
    form = UnitForm()
    if form.validate_on_submit():
        try:
            unit = services.create_unit(
                current_user,
                name=form.name.data,
                kind=form.kind.data,
                region=form.region.data or "",
            )
            services.set_quota(current_user, event, unit, quota=services.default_quota(event))
        except DomainError as exc:
            db.session.rollback()
            flash(translate_error(exc), "error")
        else:
            db.session.commit()
            flash(_("Unit %(name)s added with the default quota.", name=unit.name), "success")
    else:
        flash(_("A unit needs a name."), "error")
    return redirect(url_for(".event_units", event_id=event.id))


# ---------------------------------------------------------------- organiser: review


@bp.route("/events/<int:event_id>/entries")
@permission_required(Permission.REGISTRATION_REVIEW)
def review(event_id: int):
    event = g.event
    status = request.args.get("status") or None
    if status and status not in {s.value for s in EntryStatus}:
        status = None
    return render_template(
        "registration/review.html",
        event=event,
        tab="entries",
        status=status,
        entries=services.event_entries(event, status=status),
        counts=services.status_counts(event),
        decision_form=DecisionForm(formdata=None),
        bulk_form=BulkApproveForm(),
        import_form=ImportForm(formdata=None),
        full_ids=can(Permission.PERSONAL_DATA_VIEW),
    )


@bp.route("/events/<int:event_id>/entries/<int:entry_id>/decide", methods=["POST"])
@permission_required(Permission.REGISTRATION_REVIEW)
def decide(event_id: int, entry_id: int):
    event = g.event
    entry = load_in_event(Entry, entry_id)
    form = DecisionForm()
    if form.validate_on_submit():
        commit_or_flash(
            services.decide_entry,
            current_user,
            entry,
            decision=form.decision.data,
            reason=form.reason.data or "",
            now=utcnow(),
            success=_("Decision recorded."),
        )
    return redirect(url_for(".review", event_id=event.id, status=request.args.get("status")))


@bp.route("/events/<int:event_id>/entries/approve", methods=["POST"])
@permission_required(Permission.REGISTRATION_REVIEW)
def bulk_approve(event_id: int):
    event = g.event
    form = BulkApproveForm()
    ids = [int(v) for v in request.form.getlist("entry_id") if v.isdigit()]
    if form.validate_on_submit() and ids:
        try:
            n = services.bulk_approve(current_user, event, ids, now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            flash(translate_error(exc), "error")
        else:
            db.session.commit()
            flash(_("%(n)s registrations approved.", n=n), "success")
    else:
        flash(_("Tick the registrations to approve."), "error")
    return redirect(url_for(".review", event_id=event.id))


@bp.route("/events/<int:event_id>/entries/import", methods=["POST"])
@permission_required(Permission.REGISTRATION_REVIEW)
def organiser_import(event_id: int):
    return _import(g.event, unit=None, back=url_for(".review", event_id=g.event.id))


@bp.route("/events/<int:event_id>/entries.xlsx")
@permission_required(Permission.REGISTRATION_REVIEW)
def export_entries(event_id: int):
    event = g.event
    full = can(Permission.PERSONAL_DATA_VIEW)
    data = exports.registration_workbook(event, services.event_entries(event), full_ids=full)
    audit.record(
        current_user, "entries.exported", event, after={"full_ids": full}, event_id=event.id
    )
    db.session.commit()
    return send_file(
        BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"entries-{event.code}.xlsx"
    )


# ---------------------------------------------------------------- unit contacts


@bp.route("/units/<int:unit_id>")
@permission_required(Permission.REGISTRATION_SUBMIT)
def unit_home(unit_id: int):
    unit = g.unit
    events = db.session.scalars(
        select(Event)
        .where(
            Event.state.in_(
                [
                    EventState.REGISTRATION_OPEN,
                    EventState.REGISTRATION_CLOSED,
                    EventState.DRAWN,
                    EventState.IN_PROGRESS,
                ]
            )
        )
        .order_by(Event.id)
    ).all()
    rows = [(e, services.quota_for(e, unit), services.active_entry_count(e, unit)) for e in events]
    entries = db.session.scalars(
        select(Entry).where(Entry.unit_id == unit.id).order_by(Entry.event_id, Entry.id)
    ).all()
    return render_template("registration/unit_home.html", unit=unit, rows=rows, entries=entries)


def _entry_form(event: Event, entry: Entry | None = None) -> EntryForm:
    form = EntryForm()
    if request.method == "GET":
        while len(form.members) < event.team_size:
            form.members.append_entry()
        for sub in form.members:
            sub.form.group.data = event.group.value
        if entry is not None:
            for sub, member in zip(form.members, entry.members, strict=False):
                person = member.person
                sub.form.name.data = person.name
                sub.form.id_type.data = person.id_type.value
                sub.form.id_number.data = person.id_number
                sub.form.phone.data = person.phone
                sub.form.employer.data = member.employer
                sub.form.grade_certificate_no.data = member.grade_certificate_no
                if member.current_grade is not None:
                    sub.form.current_grade.data = Grade(member.current_grade).name
            form.coaches.data = "、".join(c["name"] for c in entry.coaches or [])
            form.note.data = entry.note
    return form


def _members(form: EntryForm):
    members, ok = [], True
    for sub in form.members:
        try:
            members.append(sub.form.member_input(today=_today()))
        except ValidationError:
            ok = False
    return members if ok else None


def _photos(form: EntryForm) -> list[bytes | None] | None:
    """Each member's uploaded photo, cleaned; None (and errors on the form) if one is bad."""
    photos, ok = [], True
    for sub in form.members:
        upload = sub.form.photo.data
        data = upload.read() if upload and getattr(upload, "filename", "") else b""
        if not data:
            photos.append(None)
            continue
        try:
            photos.append(services.clean_photo(data))
        except DomainError as exc:
            sub.form.photo.errors = [*sub.form.photo.errors, translate_error(exc)]
            ok = False
    return photos if ok else None


def _show_problems(form: EntryForm, exc: DomainError) -> None:
    problems = getattr(exc, "problems", None)
    if not problems:
        add_error(form, exc)
        return
    for _field, message, params in problems:
        form.form_errors.append(_(message, **params))


def _entry_page(unit: Unit, event: Event, entry: Entry | None):
    """The registration form: a new entry, or a returned one to fix and send again."""
    form = _entry_form(event, entry)
    if (
        form.validate_on_submit()
        and (members := _members(form)) is not None
        and (photos := _photos(form)) is not None
    ):
        data = {
            "members": members,
            "coaches": form.coach_names(),
            "note": form.note.data or "",
            "photos": photos,
        }
        try:
            if entry is None:
                services.register_entry(current_user, event, unit, **data)
            else:
                services.resubmit_entry(current_user, entry, **data)
        except DomainError as exc:
            db.session.rollback()
            _show_problems(form, exc)
        else:
            db.session.commit()
            flash(
                _("Registration submitted for review.")
                if entry is None
                else _("Registration sent again for review."),
                "success",
            )
            return redirect(url_for(".unit_home", unit_id=unit.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "registration/entry_form.html",
        unit=unit,
        event=event,
        form=form,
        entry=entry,
        quota=services.quota_for(event, unit),
        used=services.active_entry_count(event, unit),
    ), status


@bp.route("/units/<int:unit_id>/events/<int:event_id>/entries/new", methods=["GET", "POST"])
@permission_required(Permission.REGISTRATION_SUBMIT)
def new_entry(unit_id: int, event_id: int):
    return _entry_page(g.unit, g.event, None)


def _unit_entry(unit: Unit, event: Event, entry_id: int) -> Entry:
    entry = load_in_event(Entry, entry_id)
    if entry.unit_id != unit.id:
        abort(404)
    return entry


@bp.route(
    "/units/<int:unit_id>/events/<int:event_id>/entries/<int:entry_id>/edit",
    methods=["GET", "POST"],
)
@permission_required(Permission.REGISTRATION_SUBMIT)
def edit_entry(unit_id: int, event_id: int, entry_id: int):
    return _entry_page(g.unit, g.event, _unit_entry(g.unit, g.event, entry_id))


@bp.route(
    "/units/<int:unit_id>/events/<int:event_id>/entries/<int:entry_id>/withdraw", methods=["POST"]
)
@permission_required(Permission.REGISTRATION_SUBMIT)
def withdraw(unit_id: int, event_id: int, entry_id: int):
    unit, event = g.unit, g.event
    entry = _unit_entry(unit, event, entry_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        commit_or_flash(
            services.withdraw_entry,
            current_user,
            entry,
            reason=form.reason.data,
            success=_("Registration withdrawn."),
        )
    else:
        flash(_("Please give a reason."), "error")
    return redirect(url_for(".unit_home", unit_id=unit.id))


@bp.route("/units/<int:unit_id>/events/<int:event_id>/import", methods=["POST"])
@permission_required(Permission.REGISTRATION_SUBMIT)
def unit_import(unit_id: int, event_id: int):
    return _import(g.event, unit=g.unit, back=url_for(".unit_home", unit_id=g.unit.id))


def _import(event: Event, *, unit: Unit | None, back: str):
    form = ImportForm()
    if not form.validate_on_submit():
        flash(_("Choose an Excel or CSV file."), "error")
        return redirect(back)
    upload = form.file.data
    try:
        outcome = services.import_entries(
            current_user,
            event,
            unit=unit,
            data=upload.read(),
            filename=upload.filename or "",
            today=_today(),
        )
    except services.ImportRejected as exc:
        db.session.rollback()
        rows = _problem_rows(exc.problems)
        if wants_json():
            return jsonify(error="ImportRejected", message=translate_error(exc), problems=rows), 422
        return render_template(
            "registration/import_report.html",
            event=event,
            unit=unit,
            message=translate_error(exc),
            problems=rows,
            back=back,
        ), 422
    except DomainError as exc:
        db.session.rollback()
        flash(translate_error(exc), "error")
        return redirect(back)
    db.session.commit()
    flash(_("%(n)s registrations imported and submitted for review.", n=outcome.entries), "success")
    for warning in outcome.warnings[:20]:
        flash(_("Row %(row)s: ", row=warning.row) + _(warning.message, **warning.params), "warning")
    return redirect(back)


@bp.route("/registration-template.xlsx")
@signed_in
def registration_template():
    team_size = max(1, min(3, request.args.get("team_size", 1, type=int) or 1))
    return send_file(
        BytesIO(build_template(team_size=team_size)),
        mimetype=XLSX,
        as_attachment=True,
        download_name="registration-template.xlsx",
    )


# ---------------------------------------------------------------- draws


@bp.route("/events/<int:event_id>/draws")
@permission_required(Permission.EVENT_VIEW)
def draws(event_id: int):
    event = g.event
    history = db.session.scalars(
        select(Draw).where(Draw.event_id == event.id).order_by(Draw.id.desc())
    ).all()
    entries = {str(e.id): e for e in services.event_entries(event)}
    return render_template(
        "registration/draws.html",
        event=event,
        tab="draws",
        history=history,
        entries=entries,
        form=DrawForm(formdata=None),
        station_form=StationDrawForm(formdata=None),
        code_form=DrawForm(formdata=None, prefix="codes", data={"prefix": "R"}),
        draw_labels={
            "entry_number": _("Entry numbers"),
            "station": _("Stations"),
            "review_code": _("Marking codes"),
            "panel": _("Judging panel"),
        },
        replayed=request.args.get("replayed"),
    )


@bp.route("/events/<int:event_id>/draws/entry-numbers", methods=["POST"])
@permission_required(Permission.DRAW_RUN)
def draw_entry_numbers(event_id: int):
    event = g.event
    form = DrawForm()
    if form.validate_on_submit():
        commit_or_flash(
            services.draw_entry_numbers,
            current_user,
            event,
            seed=form.seed.data or None,
            reason=form.reason.data or None,
            prefix=(form.prefix.data or "").strip(),
            success=_("Entry numbers drawn and recorded."),
        )
    return redirect(url_for(".draws", event_id=event.id))


@bp.route("/events/<int:event_id>/draws/stations", methods=["POST"])
@permission_required(Permission.DRAW_RUN)
def draw_stations(event_id: int):
    event = g.event
    form = StationDrawForm()
    if form.validate_on_submit():
        try:
            services.draw_station_numbers(
                current_user,
                event,
                sessions=form.session_list(),
                seed=form.seed.data or None,
                reason=form.reason.data or None,
            )
        except ValidationError as exc:
            flash(str(exc), "error")
        except DomainError as exc:
            db.session.rollback()
            flash(translate_error(exc), "error")
        else:
            db.session.commit()
            flash(_("Stations drawn and recorded."), "success")
    return redirect(url_for(".draws", event_id=event.id))


@bp.route("/events/<int:event_id>/draws/review-codes", methods=["POST"])
@permission_required(Permission.DRAW_RUN)
def draw_review_codes(event_id: int):
    """The third draw: a marking code (评审号) for each approved entry's submitted work."""
    from ..judging.services import assign_review_codes

    event = g.event
    form = DrawForm(prefix="codes")  # field names apart from the first draw's on one page
    if form.validate_on_submit():
        commit_or_flash(
            assign_review_codes,
            current_user,
            event,
            seed=form.seed.data or None,
            reason=form.reason.data or None,
            prefix=(form.prefix.data or "").strip() or "R",
            success=_("Marking codes drawn and recorded."),
        )
    return redirect(url_for(".draws", event_id=event.id))


@bp.route("/events/<int:event_id>/draws/<int:draw_id>/replay", methods=["POST"])
@permission_required(Permission.DRAW_REPLAY)
def replay(event_id: int, draw_id: int):
    event = g.event
    draw = load_in_event(Draw, draw_id)
    identical = services.replay_draw(current_user, draw)
    db.session.commit()
    flash(
        _("Replayed from the seed: the result is identical.")
        if identical
        else _("Replayed from the seed: the result is DIFFERENT from the recorded one."),
        "success" if identical else "error",
    )
    return redirect(url_for(".draws", event_id=event.id, replayed=draw.id))


@bp.route("/events/<int:event_id>/draws/<int:draw_id>/print")
@permission_required(Permission.DRAW_RUN)
def draw_print(event_id: int, draw_id: int):
    event = g.event
    draw = load_in_event(Draw, draw_id)
    entries = {str(e.id): e for e in services.event_entries(event)}
    return render_template("registration/draw_print.html", event=event, draw=draw, entries=entries)


# ---------------------------------------------------------------- check-in


@bp.route("/events/<int:event_id>/entries/<int:entry_id>/photo/<int:position>.jpg")
@permission_required(Permission.CHECKIN)
def member_photo(event_id: int, entry_id: int, position: int):
    """A contestant's photo for identity checks; never cached, never public."""
    entry = load_in_event(Entry, entry_id)
    member = next((m for m in entry.members if m.position == position), None)
    if member is None or not member.person.photo:
        abort(404)
    response = current_app.response_class(member.person.photo, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/events/<int:event_id>/checkin")
@permission_required(Permission.CHECKIN)
def checkin(event_id: int):
    event = g.event
    return render_template(
        "registration/checkin.html",
        event=event,
        form=CheckInForm(),
        absent=services.absentees(event),
    )


@bp.route("/events/<int:event_id>/checkin", methods=["POST"])
@permission_required(Permission.CHECKIN)
def checkin_submit(event_id: int):
    """Look up a scanned or typed code; with ``confirm=1`` record the check-in."""
    event = g.event
    form = CheckInForm()
    if not form.validate_on_submit():
        return _checkin_answer(
            event, form, error=_("Scan the ticket or type its number."), status=422
        )
    entry = services.find_entry_for_checkin(event, code=form.code.data)
    if entry is None:
        return _checkin_answer(
            event,
            form,
            error=_("No approved registration of this event has this ticket."),
            status=404,
        )
    if request.form.get("confirm") != "1":
        return _checkin_answer(event, form, entry=entry)
    try:
        result = services.check_in(
            current_user,
            event,
            entry,
            method=request.form.get("method", "manual")[:10],
            now=utcnow(),
        )
    except DomainError as exc:
        db.session.rollback()
        return _checkin_answer(event, form, entry=entry, error=translate_error(exc), status=409)
    db.session.commit()
    return _checkin_answer(event, form, entry=entry, result=result)


def _checkin_answer(event, form, *, entry=None, result=None, error=None, status=200):
    existing = entry.check_in if entry is not None and result is None else None
    done = result.check_in if result else existing
    if wants_json():
        body = {"error": error} if error else {}
        if entry is not None:
            lead = entry.lead.person if entry.lead else None
            body.update(
                {
                    "entry": {
                        "names": entry.display_name,
                        "unit": entry.unit.name,
                        "entry_number": entry.entry_number,
                        "station": entry.station_number,
                        "session": entry.session_no,
                        "admission_no": entry.admission_no,
                        "has_photo": bool(lead and lead.photo_type),
                        "photo_url": url_for(
                            ".member_photo", event_id=event.id, entry_id=entry.id, position=1
                        )
                        if lead and lead.photo_type
                        else None,
                    },
                    "checked_in": done is not None,
                    "first_time": bool(result and result.created),
                    "checked_in_at": format_datetime(done.at, "yyyy-MM-dd HH:mm:ss")
                    if done
                    else None,
                    "checked_in_by": (done.by.display_name if done and done.by else None),
                }
            )
        return jsonify(body), status
    return render_template(
        "registration/checkin.html",
        event=event,
        form=form,
        entry=entry,
        result=result,
        existing=existing,
        error=error,
        absent=services.absentees(event),
    ), status
