"""Bearer-token sign-in for ``/api/`` paths (and only there).

Flask-Login asks ``load_user_from_request`` when no session user was found; the session loader
refuses ``/api/`` paths, so an API request is signed in by its ``Authorization`` header alone and
a browser's cookie cannot drive the CSRF-exempt API.
"""

from __future__ import annotations

from flask import g

from ...extensions import db
from ...models import User
from ...models.base import utcnow
from ..auth.sessions import API_PREFIX
from . import services


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    scheme, _, value = (header or "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


def load_user_from_request(req) -> User | None:
    if not req.path.startswith(API_PREFIX):
        return None
    plain = bearer_token(req.headers.get("Authorization"))
    if plain is None:
        return None
    now = utcnow()
    token = services.usable_token(plain, now=now)
    if token is None:
        return None
    if req.method != "HEAD" and services.touch_token(token, now=now):
        db.session.commit()
    g.api_token = token
    return token.user
