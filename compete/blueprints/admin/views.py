"""System administration: accounts, roles, and the audit trail."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from ...domain.errors import DomainError, InvalidInput
from ...errors import translate_error
from ...extensions import db
from ...forms import add_error, choices, commit_or_flash
from ...models import AuditEntry, Competition, Event, RoleAssignment, Unit, User
from ...permissions import Permission, permission_required
from . import services
from .forms import ROLE_LABELS, PasswordResetForm, RoleAssignForm, UserCreateForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


def _role_form(formdata=None) -> RoleAssignForm:
    form = RoleAssignForm(formdata=formdata)
    none = [("", "—")]
    form.competition_id.choices = choices(
        none
        + [
            (str(c.id), f"{c.year} {c.name}")
            for c in db.session.scalars(select(Competition).order_by(Competition.year.desc()))
        ]
    )
    form.event_id.choices = choices(
        none
        + [
            (str(e.id), f"{e.competition.name} · {e.code} {e.name}")
            for e in db.session.scalars(select(Event).order_by(Event.competition_id, Event.code))
        ]
    )
    form.unit_id.choices = choices(
        none + [(str(u.id), u.name) for u in db.session.scalars(select(Unit).order_by(Unit.name))]
    )
    return form


def _load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users")
@permission_required(Permission.ADMIN_USERS)
def users():
    q = request.args.get("q", "").strip()
    stmt = select(User).order_by(User.username)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.display_name.ilike(like)))
    return render_template(
        "admin/users.html", users=db.session.scalars(stmt).all(), q=q, role_labels=ROLE_LABELS
    )


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required(Permission.ADMIN_USERS)
def create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                current_user,
                username=form.username.data,
                display_name=form.display_name.data,
                password=form.password.data,
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except InvalidInput as exc:
            db.session.rollback()
            add_error(form, exc, default="username")
        else:
            db.session.commit()
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for(".user_detail", user_id=user.id))
    return render_template("admin/user_new.html", form=form), 422 if form.errors else 200


@bp.route("/users/<int:user_id>")
@permission_required(Permission.ADMIN_USERS)
def user_detail(user_id: int):
    user = _load_user(user_id)
    return render_template(
        "admin/user_detail.html",
        user=user,
        role_form=_role_form(),
        reset_form=PasswordResetForm(),
        role_labels=ROLE_LABELS,
    )


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@permission_required(Permission.ADMIN_USERS)
def assign_role(user_id: int):
    user = _load_user(user_id)
    form = _role_form(request.form)
    if form.validate():
        try:
            services.assign_role(
                current_user,
                user,
                role=form.role.data,
                competition_id=form.competition_id.data,
                event_id=form.event_id.data,
                unit_id=form.unit_id.data,
            )
        except DomainError as exc:
            db.session.rollback()
            flash(translate_error(exc), "error")
        else:
            db.session.commit()
            flash(_("Role assigned."), "success")
    else:
        flash(_("Please check the role form."), "error")
    return redirect(url_for(".user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/roles/<int:assignment_id>/delete", methods=["POST"])
@permission_required(Permission.ADMIN_USERS)
def remove_role(user_id: int, assignment_id: int):
    user = _load_user(user_id)
    assignment = db.session.get(RoleAssignment, assignment_id)
    if assignment is None or assignment.user_id != user.id:
        abort(404)
    commit_or_flash(services.remove_role, current_user, assignment, success=_("Role removed."))
    return redirect(url_for(".user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@permission_required(Permission.ADMIN_USERS)
def set_active(user_id: int):
    user = _load_user(user_id)
    active = request.form.get("active") == "1"
    commit_or_flash(
        services.set_active,
        current_user,
        user,
        active=active,
        success=_("Account enabled.") if active else _("Account disabled."),
    )
    return redirect(url_for(".user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@permission_required(Permission.ADMIN_USERS)
def reset_password(user_id: int):
    user = _load_user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            services.reset_password(
                current_user,
                user,
                password=form.password.data,
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except InvalidInput as exc:
            db.session.rollback()
            flash(translate_error(exc), "error")
        else:
            db.session.commit()
            flash(_("Password reset."), "success")
    else:
        flash(_("Please enter a new password."), "error")
    return redirect(url_for(".user_detail", user_id=user.id))


def _parse_day(value: str | None):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date() if value else None  # noqa: DTZ007
    except ValueError:
        return None


@bp.route("/audit")
@permission_required(Permission.ADMIN_USERS)
def audit_log():
    args = request.args
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action := args.get("action", "").strip():
        stmt = stmt.where(AuditEntry.action.ilike(f"{action}%"))
    if actor := args.get("actor", "").strip():
        stmt = stmt.join(User, User.id == AuditEntry.actor_id).where(
            func.lower(User.username) == actor.lower()
        )
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    if day_from := _parse_day(args.get("from")):
        stmt = stmt.where(AuditEntry.at >= datetime.combine(day_from, time.min, zone))
    if day_to := _parse_day(args.get("to")):
        stmt = stmt.where(
            AuditEntry.at < datetime.combine(day_to + timedelta(days=1), time.min, zone)
        )
    page = max(1, request.args.get("page", 1, type=int))
    entries = db.paginate(stmt, page=page, per_page=PAGE_SIZE, error_out=False)
    return render_template("admin/audit.html", entries=entries, args=args)
