"""Sign in, sign out, change password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ...domain.errors import InvalidInput
from ...errors import translate_error
from ...extensions import db, limiter
from ...forms import add_error
from ...models import Role
from ...models.base import utcnow
from ...permissions import public, signed_in
from . import services
from .forms import LoginForm, PasswordChangeForm
from .sessions import SESSION_KEY, end_session, revoke_all, start_session

bp = Blueprint("auth", __name__)

TABLET_ROLES = {Role.JUDGE, Role.CHIEF_JUDGE, Role.SCORE_RECORDER}


def _safe_next(target: str | None) -> str:
    """Only same-site paths; anything else goes home (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("main.home")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.username.data,
                form.password.data,
                now=utcnow(),
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lockout=current_app.config["LOGIN_LOCKOUT"],
            )
        except InvalidInput as exc:
            db.session.commit()  # keep the failure count
            form.form_errors.append(translate_error(exc))
        except services.AccountLocked as exc:
            db.session.commit()
            form.form_errors.append(translate_error(exc))
        else:
            session.clear()
            token = start_session(
                user,
                user_agent=request.user_agent.string,
                is_tablet=bool(user.roles() & TABLET_ROLES),
            )
            session[SESSION_KEY] = token
            session.permanent = True
            login_user(user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if form.form_errors else (422 if form.errors else 200)
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@public
def logout():
    end_session(session.get(SESSION_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user,
                current=form.current_password.data,
                new=form.new_password.data,
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
        except InvalidInput as exc:
            db.session.rollback()
            add_error(form, exc, default="new_password", aliases={"password": "new_password"})
        else:
            revoke_all(current_user, keep_token=session.get(SESSION_KEY))
            db.session.commit()
            flash(
                _("Your password has been changed. Other devices have been signed out."), "success"
            )
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200
