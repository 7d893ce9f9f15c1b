"""The API under ``/api/v1``: bearer tokens only, JSON in and out (see openapi.py).

This module holds the blueprint, the shared query helpers and the competition and event views;
registrations.py, results.py and marks.py add their routes to the same blueprint. Ids in API
paths use the ``id`` converter (converters.py): a number from 1 to 2**31 - 1, anything else
matches no route and answers 404, so no id reaches the database out of its column's range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ...domain import N_
from ...domain.errors import InvalidInput
from ...errors import error_response
from ...extensions import db
from ...models import Competition, Event
from ...permissions import Permission, has_permission, permission_required, public, signed_in
from .openapi import build_document
from .serializers import competition_json, event_json, me_json, scheme_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000  # keeps OFFSET within what every database accepts


def _positive_int(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdigit()) or not digits:
        raise InvalidInput(N_("%(name)s must be a whole number from 1."), field=name, name=name)
    # Compare lengths first: int() of a very long digit string is slow or refused.
    if len(digits) > len(str(maximum)) or int(digits) > maximum:
        raise InvalidInput(
            N_("%(name)s must be at most %(max)s."), field=name, name=name, max=maximum
        )
    return int(digits)


def page_args() -> tuple[int, int]:
    """``?page=`` (from 1) and ``?per_page=`` (1 to 200); anything else is a 422."""
    return (
        _positive_int("page", 1, MAX_PAGE),
        _positive_int("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )


def flag_arg(name: str) -> bool:
    """``?name=1`` is True, ``?name=0`` or none is False; anything else is a 422."""
    raw = request.args.get(name)
    if raw is None or raw == "0":
        return False
    if raw == "1":
        return True
    raise InvalidInput(N_("%(name)s must be 0 or 1."), field=name, name=name)


def choice_arg(name: str, choices: Sequence[str]) -> str | None:
    """``?name=`` one of ``choices``, or None when absent; anything else is a 422."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise InvalidInput(
            N_("%(name)s must be one of: %(choices)s."),
            field=name,
            name=name,
            choices=", ".join(choices),
        )
    return raw


def page_of(items: Sequence[dict[str, Any]], *, page: int, per_page: int, total: int) -> dict:
    return {"items": list(items), "page": page, "per_page": per_page, "total": total}


@bp.before_request
def _read_only_tokens():
    """A token without write access may only read: any other method is a 403."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not current_user.is_authenticated:
        return None
    token = g.get("api_token")
    if token is not None and not token.can_write:
        return error_response(
            403, _("This token may only read; create one that may submit marks."), error="read_only"
        )
    return None


@bp.after_request
def _challenge(response):
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="compete"')
    return response


@bp.route("/openapi.json")
@public
def openapi_document():
    return build_document()


@bp.route("/me")
@signed_in
def me():
    return me_json(current_user, g.get("api_token"))


@bp.route("/competitions")
@signed_in
def competition_list():
    page, per_page = page_args()
    stmt = select(Competition).order_by(Competition.year.desc(), Competition.id.desc())
    visible = [
        c
        for c in db.session.scalars(stmt)
        if has_permission(current_user, Permission.COMPETITION_VIEW, competition=c)
    ]
    start = (page - 1) * per_page
    return page_of(
        [competition_json(c) for c in visible[start : start + per_page]],
        page=page,
        per_page=per_page,
        total=len(visible),
    )


@bp.route("/competitions/<id:competition_id>")
@permission_required(Permission.COMPETITION_VIEW)
def competition_detail(competition_id: int):
    return competition_json(g.competition)


@bp.route("/competitions/<id:competition_id>/events")
@permission_required(Permission.COMPETITION_VIEW)
def competition_events(competition_id: int):
    page, per_page = page_args()
    where = Event.competition_id == g.competition.id
    total = db.session.scalar(select(func.count()).select_from(Event).where(where))
    events = db.session.scalars(
        select(Event)
        .where(where)
        .order_by(Event.code, Event.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return page_of([event_json(e) for e in events], page=page, per_page=per_page, total=total)


@bp.route("/events/<id:event_id>")
@permission_required(Permission.EVENT_VIEW)
def event_detail(event_id: int):
    return event_json(g.event)


@bp.route("/events/<id:event_id>/scheme")
@permission_required(Permission.EVENT_VIEW)
def event_scheme(event_id: int):
    return scheme_json(g.event)
