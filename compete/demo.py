"""The demo competition loaded by ``flask compete seed-demo`` (idempotent)."""

from __future__ import annotations

from sqlalchemy import select

from .blueprints.admin.services import assign_role
from .extensions import db
from .models import Role, User

DEMO_ACCOUNTS = [
    ("admin", "系统管理员 System administrator", Role.ADMIN, {}),
]


def load_demo(*, password: str) -> tuple[bool, list[tuple[str, str]]]:
    """Create the demo accounts and competition unless they exist; returns (created, accounts)."""
    accounts = [(username, label) for username, label, _, _ in DEMO_ACCOUNTS]
    if db.session.scalar(select(User.id).where(User.username == "admin")):
        return False, accounts
    for username, label, role, scope in DEMO_ACCOUNTS:
        user = User(username=username, display_name=label.split(" ")[0])
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
        assign_role(None, user, role=role, **scope)
    return True, accounts
