"""Accounts and roles, managed by a system administrator; every change is audited."""

from __future__ import annotations

from sqlalchemy import func, select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput
from ...domain.passwords import check_password
from ...extensions import db
from ...models import Competition, Event, Role, RoleAssignment, Unit, User


def create_user(actor, *, username: str, display_name: str, password: str, min_length: int) -> User:
    username = username.strip()
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise InvalidInput(
            N_("A username uses letters, digits, '.', '-' and '_' only."), field="username"
        )
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise InvalidInput(N_("The username %(name)s is taken."), field="username", name=username)
    check_password(password, username=username, min_length=min_length)
    user = User(username=username, display_name=display_name.strip() or username)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.created", user, after={"username": username})
    return user


def assign_role(
    actor,
    user: User,
    *,
    role: Role,
    competition_id: int | None = None,
    event_id: int | None = None,
    unit_id: int | None = None,
) -> RoleAssignment:
    """Give ``user`` ``role`` in the scope the role needs (competition, event or unit)."""
    role = Role(role)
    scope = role.scope
    if scope == "competition":
        event_id = unit_id = None
        if competition_id is not None and db.session.get(Competition, competition_id) is None:
            raise InvalidInput(N_("Choose a competition."), field="competition_id")
    elif scope == "event":
        competition_id = unit_id = None
        if event_id is None or db.session.get(Event, event_id) is None:
            raise InvalidInput(N_("This role needs an event."), field="event_id")
    elif scope == "unit":
        competition_id = event_id = None
        if unit_id is None or db.session.get(Unit, unit_id) is None:
            raise InvalidInput(N_("This role needs a unit."), field="unit_id")
    else:
        competition_id = event_id = unit_id = None
    for a in user.assignments:
        if (a.role, a.competition_id, a.event_id, a.unit_id) == (
            role,
            competition_id,
            event_id,
            unit_id,
        ):
            raise Conflict(N_("The user already has this role here."))
    assignment = RoleAssignment(
        user=user,
        role=role,
        competition_id=competition_id,
        event_id=event_id,
        unit_id=unit_id,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(assignment)
    db.session.flush()
    audit.record(
        actor,
        "role.assigned",
        user,
        after={
            "role": role,
            "competition_id": competition_id,
            "event_id": event_id,
            "unit_id": unit_id,
        },
        competition_id=competition_id,
        event_id=event_id,
    )
    return assignment


def remove_role(actor, assignment: RoleAssignment) -> None:
    if assignment.role is Role.ADMIN and assignment.user_id == getattr(actor, "id", None):
        raise Conflict(N_("You cannot remove your own administrator role."))
    before = {
        "role": assignment.role,
        "competition_id": assignment.competition_id,
        "event_id": assignment.event_id,
        "unit_id": assignment.unit_id,
    }
    user = assignment.user
    db.session.delete(assignment)
    db.session.flush()
    audit.record(actor, "role.removed", user, before=before)


def set_active(actor, user: User, *, active: bool) -> None:
    if not active and user.id == getattr(actor, "id", None):
        raise Conflict(N_("You cannot deactivate your own account."))
    user.is_active_account = active
    if active:
        user.locked_until = None
        user.failed_logins = 0
    audit.record(actor, "user.activated" if active else "user.deactivated", user)


def reset_password(actor, user: User, *, password: str, min_length: int) -> None:
    check_password(password, username=user.username, min_length=min_length)
    user.set_password(password)
    user.locked_until = None
    user.failed_logins = 0
    audit.record(actor, "user.password_reset", user)
