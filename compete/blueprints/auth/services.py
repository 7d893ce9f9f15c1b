"""Signing in and changing passwords."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput
from ...domain.passwords import check_password
from ...extensions import db
from ...models import User


class LoginRefused(InvalidInput):
    message = N_("The username or password is wrong.")


class AccountLocked(Conflict):
    message = N_(
        "Too many wrong passwords for this account. Try again after %(minutes)s minutes, or ask"
        " an administrator to unlock it."
    )


def find_user(username: str) -> User | None:
    return db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )


def authenticate(
    username: str, password: str, *, now: datetime, max_failures: int, lockout: timedelta
) -> User:
    """Return the user if the password is right; count failures and lock after too many.

    The same message answers an unknown user and a wrong password, so names cannot be probed.
    A refusal leaves the failure count changed in the session: the caller commits it.
    """
    user = find_user(username)
    if user is None or not user.is_active:
        raise LoginRefused()
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise AccountLocked(minutes=minutes)
    if not user.check_password(password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
            audit.record(None, "account.locked", user)
            raise AccountLocked(minutes=int(lockout.total_seconds() // 60))
        raise LoginRefused()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def change_password(user: User, *, current: str, new: str, min_length: int) -> None:
    """Change ``user``'s password after checking the current one and the password rules."""
    if not user.check_password(current):
        raise InvalidInput(N_("The current password is wrong."), field="current_password")
    check_password(new, username=user.username, min_length=min_length)
    user.set_password(new)
    audit.record(user, "account.password_changed", user)
