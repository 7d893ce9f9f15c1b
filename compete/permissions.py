"""One Permission enum, roles granted permissions as data, and the one decorator views use.

Every view carries ``@permission_required(...)``, ``@signed_in`` or ``@public``; the route matrix
test walks ``app.url_map`` and fails on a view without one. Templates ask through the ``can``
global, so a hidden button and a 403 never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from flask import abort, g, has_request_context
from flask_login import current_user

from .extensions import login_manager
from .models.accounts import Role


class Permission(StrEnum):
    ADMIN_USERS = "admin.users"
    AUDIT_VIEW = "audit.view"
    PERSONAL_DATA_VIEW = "personal_data.view"  # full ID numbers and phones
    PRESET_MANAGE = "preset.manage"
    COMPETITION_CREATE = "competition.create"
    COMPETITION_VIEW = "competition.view"
    COMPETITION_MANAGE = "competition.manage"
    EVENT_VIEW = "event.view"
    EVENT_MANAGE = "event.manage"
    EVENT_TRANSITION = "event.transition"
    SCHEME_MANAGE = "scheme.manage"
    UNIT_MANAGE = "unit.manage"
    REGISTRATION_SUBMIT = "registration.submit"
    REGISTRATION_REVIEW = "registration.review"
    DRAW_RUN = "draw.run"
    DRAW_REPLAY = "draw.replay"
    CHECKIN = "checkin"
    PANEL_MANAGE = "panel.manage"
    MARKS_ENTER = "marks.enter"
    PANEL_CONSOLE = "panel.console"
    SCORES_LOCK = "scores.lock"
    DECRYPT = "decrypt"
    RECHECK = "recheck"
    RESULTS_VIEW = "results.view"
    RESULTS_RECORD = "results.record"  # theory scores and completion times
    RESULTS_PUBLISH = "results.publish"
    APPEAL_FILE = "appeal.file"
    APPEAL_DECIDE = "appeal.decide"
    AWARDS_MANAGE = "awards.manage"
    CERTIFICATES_ISSUE = "certificates.issue"


P = Permission

ROLE_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ORGANISER: frozenset(
        {
            P.AUDIT_VIEW,
            P.PERSONAL_DATA_VIEW,
            P.PRESET_MANAGE,
            P.COMPETITION_CREATE,
            P.COMPETITION_VIEW,
            P.COMPETITION_MANAGE,
            P.EVENT_VIEW,
            P.EVENT_MANAGE,
            P.EVENT_TRANSITION,
            P.SCHEME_MANAGE,
            P.UNIT_MANAGE,
            P.REGISTRATION_REVIEW,
            P.DRAW_RUN,
            P.CHECKIN,
            P.PANEL_MANAGE,
            P.RESULTS_VIEW,
            P.RESULTS_RECORD,
            P.RESULTS_PUBLISH,
            P.AWARDS_MANAGE,
            P.CERTIFICATES_ISSUE,
        }
    ),
    Role.CHIEF_JUDGE: frozenset(
        {
            P.EVENT_VIEW,
            P.EVENT_TRANSITION,
            P.MARKS_ENTER,
            P.PANEL_CONSOLE,
            P.SCORES_LOCK,
            P.RESULTS_VIEW,
        }
    ),
    Role.JUDGE: frozenset({P.MARKS_ENTER}),
    Role.ENCRYPTION_JUDGE: frozenset({P.EVENT_VIEW, P.EVENT_TRANSITION, P.DRAW_RUN, P.DECRYPT}),
    Role.SCORE_RECORDER: frozenset({P.EVENT_VIEW, P.CHECKIN, P.RESULTS_RECORD}),
    Role.SUPERVISOR: frozenset(
        {
            P.EVENT_VIEW,
            P.EVENT_TRANSITION,
            P.AUDIT_VIEW,
            P.DRAW_REPLAY,
            P.DECRYPT,
            P.RECHECK,
            P.RESULTS_VIEW,
            P.APPEAL_DECIDE,
        }
    ),
    Role.UNIT_CONTACT: frozenset({P.REGISTRATION_SUBMIT, P.APPEAL_FILE}),
    Role.CONTESTANT: frozenset({P.APPEAL_FILE}),
}


def _in_scope(assignment, *, competition, event, unit) -> bool:
    scope = assignment.role.scope
    if scope == "system":
        return True
    if scope == "competition":
        if assignment.competition_id is None:
            # An organisation-wide organiser acts where no competition is named (creating one,
            # editing presets); competitions they run come with their own assignment.
            return competition is None and event is None
        return competition is not None and assignment.competition_id == competition.id
    if scope == "event":
        return event is not None and assignment.event_id == event.id
    if scope == "unit":
        return unit is not None and assignment.unit_id == unit.id
    # person scope: the view checks that the record is the contestant's own
    return competition is None and event is None and unit is None


def _assignments_in_force(user):
    """The user's role assignments, narrowed to one when an API token is scoped to it."""
    token = g.get("api_token") if has_request_context() else None
    if token is not None and token.assignment_id is not None and token.user_id == user.id:
        return [a for a in user.assignments if a.id == token.assignment_id]
    return user.assignments


def has_permission(
    user, permission: Permission, *, competition=None, event=None, unit=None
) -> bool:
    """Whether ``user`` holds ``permission`` for the given target (the narrowest one wins)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if competition is None and event is not None:
        competition = event.competition
    for assignment in _assignments_in_force(user):
        if permission in ROLE_GRANTS[assignment.role] and _in_scope(
            assignment, competition=competition, event=event, unit=unit
        ):
            return True
    return False


def current_scope() -> dict[str, Any]:
    """The competition, event and unit the current URL names (set by ``compete.scope``)."""
    return {
        "competition": g.get("competition"),
        "event": g.get("event"),
        "unit": g.get("unit"),
    }


def can(permission: Permission | str, **target) -> bool:
    """Template and view helper: may the current user do this here?"""
    scope = current_scope()
    scope.update(target)
    return has_permission(current_user, Permission(permission), **scope)


def require(condition: bool) -> None:
    """403 unless ``condition`` holds (for object-level checks after loading)."""
    if not condition:
        abort(403)


def permission_required(permission: Permission) -> Callable:
    """Allow the view only to users holding ``permission`` in the URL's scope."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_permission(current_user, permission, **current_scope()):
                abort(403)
            return view(*args, **kwargs)

        wrapper.access = ("permission", permission)
        return wrapper

    return decorate


def signed_in(view):
    """Any signed-in user; the view narrows what it shows to the user's own scopes."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    wrapper.access = ("signed_in", None)
    return wrapper


def panel_only(view):
    """Mark a view that also needs a seat on the event's judging panel (checked in the view).

    The route matrix then expects 403 for users who hold the permission but sit on no panel.
    """
    view.panel_only = True
    return view


def public(view):
    """Open to everyone, signed in or not (public results, QR pages, health check)."""
    view.access = ("public", None)
    return view
