"""Server-side login sessions: a row per signed-in browser, revoked for good at logout.

The cookie holds a random session token; the row holds its hash. A copied cookie replayed after
logout finds a revoked row and is not signed in. Sessions end after an idle period (longer for
tablets marking all day) and at an absolute limit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ...errors import error_response, wants_json
from ...extensions import db, login_manager
from ...models import LoginSession, RoleAssignment, User
from ...models.base import utcnow

SESSION_KEY = "sid"
API_PREFIX = "/api/"
TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, user_agent: str | None, is_tablet: bool = False) -> str:
    """Open a login session for ``user``; returns the token for the cookie (caller commits)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        LoginSession(
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"],
            user_agent=(user_agent or "")[:200],
            is_tablet=is_tablet,
        )
    )
    db.session.flush()
    return token


def end_session(token: str | None) -> None:
    """Revoke the session behind ``token`` (caller commits)."""
    if not token:
        return
    row = db.session.scalar(select(LoginSession).where(LoginSession.token_hash == _hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_all(user: User, *, keep_token: str | None = None) -> int:
    """Revoke every open session of ``user`` but ``keep_token`` (after a password change)."""
    keep = _hash(keep_token) if keep_token else None
    count = 0
    for row in db.session.scalars(
        select(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
        )
    ):
        if row.token_hash != keep:
            row.revoked_at = utcnow()
            count += 1
    return count


# Built once: the session, its user and the user's roles in one read, on every request.
_SESSION_USER = (
    select(LoginSession, User)
    .join(User, User.id == LoginSession.user_id)
    .options(joinedload(User.assignments))
    .where(LoginSession.token_hash == bindparam("token_hash"))
)


def _standing(row, now: datetime) -> str | None:
    """Why the session ``row`` is no longer in force ("revoked", "expired": ended at the
    absolute limit or after the idle period), "touch" when it is but its last-seen time is due
    to move on, or None."""
    if row.revoked_at is not None:
        return "revoked"
    idle = current_app.config[
        "SESSION_IDLE_TIMEOUT_TABLET" if row.is_tablet else "SESSION_IDLE_TIMEOUT"
    ]
    if now >= row.expires_at or now - row.last_seen_at > idle:
        return "expired"
    if now - row.last_seen_at > TOUCH_EVERY and request.method != "HEAD":
        return "touch"
    return None


def _session_token() -> str | None:
    if request.path.startswith(API_PREFIX):
        # The API is CSRF-exempt, so a browser's cookie must not sign it in: API requests
        # authenticate by bearer token only (compete.blueprints.api.bearer).
        return None
    return session.get(SESSION_KEY)


def _load_user(user_id: str) -> User | None:
    token = _session_token()
    if not token:
        return None
    found = db.session.execute(_SESSION_USER, {"token_hash": _hash(token)}).unique().first()
    now = utcnow()
    if found is None:
        return None
    row, user = found
    if str(row.user_id) != user_id:
        return None
    standing = _standing(row, now)
    if standing == "revoked":
        return None
    if standing == "expired":
        row.revoked_at = now
        db.session.commit()
        return None
    if not user.is_active:
        return None
    if standing == "touch":
        row.last_seen_at = now
        db.session.commit()
    return user


@dataclass(frozen=True)
class Assigned:
    """One role assignment as ``compete.permissions.has_permission`` reads it."""

    id: int
    role: object
    competition_id: int | None
    event_id: int | None
    unit_id: int | None


@dataclass(frozen=True)
class Identity:
    """The signed-in user as a busy route needs it: the id and the role assignments, read
    without loading ORM objects. ``has_permission`` takes it as it takes a ``User``."""

    id: int
    assignments: tuple[Assigned, ...]
    is_authenticated: bool = True


_A = RoleAssignment.__table__
_SESSION_IDENTITY = (
    select(
        LoginSession.user_id,
        LoginSession.revoked_at,
        LoginSession.is_tablet,
        LoginSession.expires_at,
        LoginSession.last_seen_at,
        User.is_active_account,
        _A.c.id,
        _A.c.role,
        _A.c.competition_id,
        _A.c.event_id,
        _A.c.unit_id,
    )
    .join(User, User.id == LoginSession.user_id)
    .outerjoin(_A, _A.c.user_id == User.id)
    .where(LoginSession.token_hash == bindparam("token_hash"))
)


def plain_identity() -> Identity | None:
    """The signed-in user of this request in one read, when nothing about the session needs
    more than reading: in force, not due a last-seen update, the account active, the browser
    the one that signed in. None otherwise, and the caller takes the usual way (Flask-Login's
    ``current_user``), which deals with each of those cases."""
    token = _session_token()
    user_id = session.get("_user_id")
    if not token or user_id is None:
        return None
    if session.get("_id") != login_manager._session_identifier_generator():
        return None  # another address or browser: Flask-Login's session protection decides
    rows = db.session.connection().execute(_SESSION_IDENTITY, {"token_hash": _hash(token)}).all()
    if not rows:
        return None
    first = rows[0]
    if (
        str(first.user_id) != user_id
        or not first.is_active_account
        or _standing(first, utcnow()) is not None
    ):
        return None
    return Identity(
        first.user_id,
        tuple(Assigned(*row[6:]) for row in rows if row.id is not None),
    )


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)

    @login_manager.unauthorized_handler
    def _unauthorized():
        if wants_json():
            return error_response(401, str(_l("Please sign in first.")), error="unauthorized")
        flash(str(login_manager.login_message), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
