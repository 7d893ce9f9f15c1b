"""API tokens: create (the plain token is returned once), revoke, and find a usable one.

Only the SHA-256 of a token is stored; the plain token is ``cpt_`` followed by 32 random bytes
(URL-safe), so a hash lookup is enough and a database copy holds nothing usable.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.errors import InvalidInput
from ...extensions import db
from ...models import ApiToken, User
from ...models.base import utcnow

TOKEN_PREFIX = "cpt_"  # noqa: S105 (a marker, not a secret)
NAME_MAX = 100
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def _snapshot(token: ApiToken) -> dict:
    return {
        "user_id": token.user_id,
        "name": token.name,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "assignment_id": token.assignment_id,
        "can_write": token.can_write,
    }


def create_api_token(
    actor,
    user: User,
    *,
    name: str,
    expires_at: datetime | None = None,
    now: datetime | None = None,
    assignment_id: int | None = None,
    can_write: bool = False,
) -> tuple[ApiToken, str]:
    """Add a token for ``user``; returns the row and the plain token (shown once, never kept).

    ``assignment_id`` scopes the token to one of the user's role assignments (None: all);
    ``can_write`` lets it submit marks, otherwise it only reads.
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput(N_("Please give the token a name."), field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(
            N_("The name is longer than %(max)s characters."), field="name", max=NAME_MAX
        )
    now = now or utcnow()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(N_("The expiry date has already passed."), field="expires_at")
    if assignment_id is not None and assignment_id not in {a.id for a in user.assignments}:
        raise InvalidInput(N_("Choose one of your own roles."), field="assignment_id")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(plain),
        created_at=now,
        expires_at=expires_at,
        assignment_id=assignment_id,
        can_write=bool(can_write),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.created", token, after=_snapshot(token))
    return token, plain


def revoke_api_token(actor, token: ApiToken, *, now: datetime | None = None) -> bool:
    """Revoke ``token`` for good; False when it was already revoked (nothing changes)."""
    if token.revoked_at is not None:
        return False
    before = _snapshot(token)
    token.revoked_at = now or utcnow()
    db.session.flush()
    audit.record(actor, "api_token.revoked", token, before=before, after=_snapshot(token))
    return True


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked ones included, for the record)."""
    stmt = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(db.session.scalars(stmt))


def usable_token(plain: str, *, now: datetime) -> ApiToken | None:
    """The token behind ``plain`` if it is neither revoked nor expired and its user is active."""
    if not plain.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    return token


def touch_token(token: ApiToken, *, now: datetime) -> bool:
    """Note the use of ``token``, at most once a minute; True when the row changed."""
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return False
    token.last_used_at = now
    return True


def record_full_read(
    actor, event, *, entry_ids: list[int], unit=None, token: ApiToken | None = None
) -> None:
    """Log that ``actor`` read full ID numbers and phones of these entries through the API."""
    audit.record(
        actor,
        "entries.read_full",
        event,
        after={
            "full_ids": True,
            "via": "api",
            "token_id": token.id if token is not None else None,
            "unit_id": unit.id if unit is not None else None,
            "entry_ids": entry_ids,
        },
        event_id=event.id,
    )
