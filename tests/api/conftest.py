"""API fixtures: two competitions, people holding roles in the first, and their tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from compete.blueprints.api import services
from compete.blueprints.api.openapi import build_document
from compete.blueprints.competitions import schemes
from compete.extensions import db
from compete.models import Role
from compete.models.base import utcnow

from ..factories import make_competition, make_event, make_user


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def schema_errors(body, name: str) -> list[str]:
    """Where ``body`` breaks the document's schema ``name`` (empty when it conforms)."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    document = build_document()
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(body)]


def make_token(user, name: str = "script", **kwargs) -> str:
    """A fresh token for ``user`` (90 days unless told); returns the plain token."""
    kwargs.setdefault("expires_at", utcnow() + timedelta(days=90))
    kwargs.setdefault("can_write", True)
    _token, plain = services.create_api_token(None, user, name=name, **kwargs)
    return plain


@dataclass
class World:
    competition_a: int
    event_a: int
    competition_b: int
    event_b: int
    users: dict[str, str]  # role key -> username
    tokens: dict[str, str]  # role key -> plain token


@pytest.fixture
def world(app) -> World:
    """Competition A (event A with a two-module scheme) and competition B (event B)."""
    with app.app_context():
        comp_a = make_competition(name="竞赛甲", year=2026)
        event_a = make_event(comp_a, code="E01", name="电工")
        module = schemes.add_module(None, event_a, code="M1", name="实操")
        schemes.add_criterion(
            None,
            event_a,
            module,
            code="M1.1",
            description="接线正确",
            kind="measurement",
            max_mark=Decimal("10"),
            step=Decimal("0.5"),
            judges=1,
            aggregation="sum",
            tolerance=None,
        )
        schemes.add_criterion(
            None,
            event_a,
            module,
            code="M1.2",
            description="工艺",
            kind="judgement",
            max_mark=Decimal("7.5"),
            step=Decimal("0.25"),
            judges=3,
            aggregation="mean",
            tolerance=Decimal("1.5"),
        )
        comp_b = make_competition(name="竞赛乙", year=2025)
        event_b = make_event(comp_b, code="E01", name="焊工")
        users = {
            "admin": make_user(Role.ADMIN),
            "organiser_a": make_user(Role.ORGANISER, competition_id=comp_a.id),
            "organiser_b": make_user(Role.ORGANISER, competition_id=comp_b.id),
            "chief_judge_a": make_user(Role.CHIEF_JUDGE, event_id=event_a.id),
            "judge_a": make_user(Role.JUDGE, event_id=event_a.id),
            "nobody": make_user(),
        }
        tokens = {key: make_token(user) for key, user in users.items()}
        db.session.commit()
        return World(
            competition_a=comp_a.id,
            event_a=event_a.id,
            competition_b=comp_b.id,
            event_b=event_b.id,
            users={key: user.username for key, user in users.items()},
            tokens=tokens,
        )
