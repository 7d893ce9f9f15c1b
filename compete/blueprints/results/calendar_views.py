"""The official holiday calendar (organisation-wide): the days the publicity period skips."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from ...domain.calendar import default_prc_calendar
from ...domain.errors import DomainError
from ...errors import STATUS
from ...extensions import db
from ...forms import add_error, choices, commit_or_flash
from ...models import Holiday
from ...models.base import utcnow
from ...permissions import Permission, permission_required
from . import publicity
from .views import bp


class HolidayForm(FlaskForm):
    day = DateField(validators=[Optional()])
    kind = SelectField(choices=choices([("holiday", "holiday"), ("workday", "workday")]))
    name = StringField(validators=[Optional(), Length(max=50)])


def _page(form: HolidayForm, status: int = 200):
    today = publicity.local_day(utcnow())
    years = (today.year, today.year + 1)
    defaults = default_prc_calendar(years)
    effective = publicity.effective_calendar(years)
    return render_template(
        "results/holidays.html",
        form=form,
        rows=publicity.holiday_rows(),
        years=years,
        default_holidays=sorted(defaults.holidays),
        default_workdays=sorted(defaults.workdays),
        effective=effective,
        today=today,
    ), status


@bp.route("/holidays")
@permission_required(Permission.PRESET_MANAGE)
def holidays():
    """The built-in PRC holidays and 调休 working days, and the organiser's changes on top."""
    return _page(HolidayForm(formdata=None))


@bp.route("/holidays", methods=["POST"])
@permission_required(Permission.PRESET_MANAGE)
def holiday_add():
    form = HolidayForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        publicity.add_holiday(
            current_user,
            day=form.day.data,
            is_workday=form.kind.data == "workday",
            name=form.name.data or "",
        )
    except DomainError as exc:
        db.session.rollback()
        add_error(form, exc, default="day")
        return _page(form, next(code for kind, code in STATUS.items() if isinstance(exc, kind)))
    db.session.commit()
    flash(_("%(day)s added to the calendar.", day=form.day.data.isoformat()), "success")
    return redirect(url_for(".holidays"))


@bp.route("/holidays/<int:holiday_id>/delete", methods=["POST"])
@permission_required(Permission.PRESET_MANAGE)
def holiday_delete(holiday_id: int):
    row = db.session.get(Holiday, holiday_id)
    if row is None:
        abort(404)
    day: date = row.day
    commit_or_flash(
        publicity.remove_holiday,
        current_user,
        row,
        success=_("%(day)s removed from the calendar.", day=day.isoformat()),
    )
    return redirect(url_for(".holidays"))
