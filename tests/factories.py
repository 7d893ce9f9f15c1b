"""Factories: ``make_<thing>(**overrides)`` with sensible defaults; the caller commits."""

from __future__ import annotations

import itertools
import re

from compete.extensions import db
from compete.models import Role, RoleAssignment, Unit, User

DEMO_PASSWORD = "Correct-Horse-42"
_seq = itertools.count(1)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def make_user(role: Role | str | None = None, *, username: str | None = None, **scope) -> User:
    n = next(_seq)
    user = User(username=username or f"user{n}", display_name=f"用户{n}")
    user.set_password(scope.pop("password", DEMO_PASSWORD))
    db.session.add(user)
    db.session.flush()
    if role is not None:
        db.session.add(RoleAssignment(user_id=user.id, role=Role(role), **scope))
        db.session.flush()
        db.session.refresh(user)
    return user


def make_unit(**overrides) -> Unit:
    n = next(_seq)
    unit = Unit(**{"name": f"测试单位{n}", "region": "广州市", **overrides})
    db.session.add(unit)
    db.session.flush()
    return unit


def make_competition(**overrides):
    from compete.blueprints.competitions.services import create_competition

    n = next(_seq)
    fields = {"name": f"测试竞赛{n}", "tier": "provincial_2", "year": 2026, "region": "广东省"}
    fields.update(overrides)
    return create_competition(None, **fields)


def make_event(competition=None, **overrides):
    from compete.blueprints.competitions.presets import default_preset
    from compete.blueprints.competitions.services import create_event

    competition = competition or make_competition()
    n = next(_seq)
    fields = {
        "code": f"E{n:02d}",
        "name": f"赛项{n}",
        "occupation": "电工",
        "standard_grade": 3,
        "group": "employee",
    }
    fields.update(overrides)
    version = fields.pop("preset_version", None) or default_preset().latest
    return create_event(None, competition, preset_version=version, **fields)
