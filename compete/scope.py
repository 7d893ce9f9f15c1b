"""Per-request scope: the competition, event and unit a URL names, loaded once (404 if absent).

Any route with ``competition_id``, ``event_id`` or ``unit_id`` in its path gets ``g.competition``,
``g.event`` or ``g.unit``; ``permission_required`` checks against them, and ``load_in_event``
answers 404 for a record of another event, so ids cannot be walked across scopes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, abort, current_app, g
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import Competition, Event, Unit

# Built once: the event with its competition in one read (most pages and every check need both).
_EVENT = (
    select(Event).options(joinedload(Event.competition)).where(Event.id == bindparam("event_id"))
)


def _load_scope(endpoint, values) -> None:
    if not values:
        return
    if getattr(current_app.view_functions.get(endpoint), "scope_on_demand", False):
        return  # loaded by the view's ``fast_path`` when it falls back to the usual way
    if "event_id" in values:
        event = db.session.execute(_EVENT, {"event_id": values["event_id"]}).scalar_one_or_none()
        if event is None:
            abort(404)
        g.event = event
        g.competition = event.competition
        if "competition_id" in values and values["competition_id"] != event.competition_id:
            abort(404)
    elif "competition_id" in values:
        competition = db.session.get(Competition, values["competition_id"])
        if competition is None:
            abort(404)
        g.competition = competition
    if "unit_id" in values:
        unit = db.session.get(Unit, values["unit_id"])
        if unit is None:
            abort(404)
        g.unit = unit


def fast_path(attempt: Callable[..., object | None]) -> Callable:
    """Let ``attempt(**view_args)`` answer a busy route first, before the URL's scope and the
    signed-in user are loaded as ORM objects; when it returns None (anything out of the plain
    case), the scope is loaded and the view runs the usual way, with its permission checks."""

    def decorate(view):
        @wraps(view)
        def wrapper(**kwargs):
            answer = attempt(**kwargs)
            if answer is not None:
                return answer
            _load_scope(None, kwargs)
            return view(**kwargs)

        wrapper.scope_on_demand = True
        return wrapper

    return decorate


def load_in_event(model, object_id: int):
    """The ``model`` row ``object_id`` if it belongs to the URL's event, else 404."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.event_id != g.event.id:
        abort(404)
    return obj


def load_in_competition(model, object_id: int):
    """The ``model`` row ``object_id`` if it belongs to the URL's competition, else 404."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.competition_id != g.competition.id:
        abort(404)
    return obj


def register_scope(app: Flask) -> None:
    app.url_value_preprocessor(_load_scope)
