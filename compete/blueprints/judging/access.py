"""Seated judges get to act: an account for a pool judge who has none, and the event role
that matches the panel seat (chief judge, marking judge, encryption judge, recorder,
supervisor). The initial password is shown once to the organiser, never stored in clear."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict
from ...extensions import db
from ...models import Event, PanelMember, PanelRole, Role, User
from ..admin.services import assign_role

SEAT_ROLES = {
    PanelRole.CHIEF: Role.CHIEF_JUDGE,
    PanelRole.MARKING: Role.JUDGE,
    PanelRole.ONSITE: Role.JUDGE,
    PanelRole.ENCRYPTION: Role.ENCRYPTION_JUDGE,
    PanelRole.RECORDER: Role.SCORE_RECORDER,
    PanelRole.SUPERVISOR: Role.SUPERVISOR,
}
# No 0/O or 1/l/I: read aloud or typed from paper at a venue.
_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Access:
    user: User
    role: Role
    password: str | None  # the initial password of a new account, shown once


def _free_username(judge) -> str:
    base = f"judge{judge.id}"
    name, n = base, 1
    while db.session.scalar(select(User.id).where(func.lower(User.username) == name.lower())):
        n += 1
        name = f"{base}-{n}"
    return name


def grant_seat_access(actor, event: Event, member: PanelMember) -> Access:
    """Give the member's judge an account (if they have none) and the seat's event role."""
    if member.event_id != event.id or member.removed_at is not None:
        raise Conflict(N_("This judge is not on the event's panel."))
    judge = member.judge
    password = None
    user = db.session.get(User, judge.user_id) if judge.user_id else None
    if user is None:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        user = User(username=_free_username(judge), display_name=judge.name)
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
        judge.user_id = user.id
        audit.record(
            actor,
            "judge.account_created",
            judge,
            after={"username": user.username},
            competition_id=event.competition_id,
            event_id=event.id,
        )
    role = SEAT_ROLES[member.role]
    assign_role(actor, user, role=role, event_id=event.id)
    db.session.flush()
    return Access(user=user, role=role, password=password)
