"""Every route against every role: anonymous, each role in scope, and a user of another
competition. A route without a declared access rule fails here."""

from __future__ import annotations

import re

import pytest

from compete.blueprints.api.services import create_api_token
from compete.extensions import db
from compete.models import Judge, PanelMember, PanelRole, Role, RoleAssignment, User
from compete.permissions import has_permission

from .factories import csrf_from, make_competition, make_event, make_unit, make_user

ROLES = [
    "anonymous",
    "admin",
    "organiser",
    "organiser_global",
    "chief_judge",
    "judge",
    "encryption_judge",
    "score_recorder",
    "supervisor",
    "unit_contact",
    "contestant",
    "outsider",
]

SKIP_ENDPOINTS = {"static"}
PANEL = {"judge", "chief_judge"}  # the roles _world seats on event A's judging panel


def _world(app):
    """Two competitions; every role lives in competition A, the outsider in B."""
    with app.app_context():
        comp_a = make_competition(name="竞赛甲")
        event_a = make_event(comp_a)
        comp_b = make_competition(name="竞赛乙")
        event_b = make_event(comp_b)
        unit = make_unit()
        users = {
            "admin": make_user(Role.ADMIN),
            "organiser": make_user(Role.ORGANISER, competition_id=comp_a.id),
            "organiser_global": make_user(Role.ORGANISER),
            "chief_judge": make_user(Role.CHIEF_JUDGE, event_id=event_a.id),
            "judge": make_user(Role.JUDGE, event_id=event_a.id),
            "encryption_judge": make_user(Role.ENCRYPTION_JUDGE, event_id=event_a.id),
            "score_recorder": make_user(Role.SCORE_RECORDER, event_id=event_a.id),
            "supervisor": make_user(Role.SUPERVISOR, event_id=event_a.id),
            "unit_contact": make_user(Role.UNIT_CONTACT, unit_id=unit.id),
            "contestant": make_user(Role.CONTESTANT),
            "outsider": make_user(Role.ORGANISER, competition_id=comp_b.id),
        }
        tokens = {
            key: create_api_token(None, u, name="matrix", can_write=True)[1]
            for key, u in users.items()
        }
        for key, role in (("judge", PanelRole.MARKING), ("chief_judge", PanelRole.CHIEF)):
            judge = Judge(name=f"裁判{key}", user_id=users[key].id)
            db.session.add(judge)
            db.session.flush()
            db.session.add(PanelMember(event_id=event_a.id, judge_id=judge.id, role=role))
        target = make_user()
        assignment = RoleAssignment(user_id=target.id, role=Role.JUDGE, event_id=event_b.id)
        db.session.add(assignment)
        db.session.commit()
        return {
            "ids": {
                "competition_id": comp_a.id,
                "event_id": event_a.id,
                "unit_id": unit.id,
                "user_id": target.id,
                "assignment_id": assignment.id,
            },
            "users": {k: u.username for k, u in users.items()},
            "tokens": tokens,
            "other_event": event_b.id,
        }


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_who_may_use_it(app):
    missing = [
        rule.rule
        for rule, _ in _routes(app)
        if not hasattr(app.view_functions[rule.endpoint], "access")
    ]
    assert missing == []


def _url(rule, ids) -> str:
    path = rule.rule
    for name in rule.arguments:
        value = ids.get(name, 1)
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", str(value), path)
    return path


def _expected(app, rule, role_key, username, ids):
    """True when the role may use the route, by the declared rule and the grants table."""
    view = app.view_functions[rule.endpoint]
    kind, permission = view.access
    if kind == "public":
        return True
    if getattr(view, "panel_only", False) and role_key not in PANEL:
        return False
    if role_key == "anonymous":
        return False
    if kind == "signed_in":
        return True
    from compete.models import Competition, Event, Unit

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == username))
        event = db.session.get(Event, ids["event_id"]) if "event_id" in rule.arguments else None
        competition = (
            event.competition
            if event
            else db.session.get(Competition, ids["competition_id"])
            if "competition_id" in rule.arguments
            else None
        )
        unit = db.session.get(Unit, ids["unit_id"]) if "unit_id" in rule.arguments else None
        return has_permission(user, permission, competition=competition, event=event, unit=unit)


@pytest.mark.parametrize("role_key", ROLES)
def test_route_matrix(app, auth, role_key):
    world = _world(app)
    ids, users = world["ids"], world["users"]
    client = auth.client
    if role_key != "anonymous":
        assert auth.login(users[role_key]).status_code == 302
    token = csrf_from(
        client.get("/login" if role_key == "anonymous" else "/").get_data(as_text=True)
    )
    failures = []
    for rule, method in _routes(app):
        if rule.endpoint in {"auth.logout", "auth.login", "main.set_language"}:
            continue  # they change the signed-in state itself; tested in tests/auth
        url = _url(rule, ids)
        headers = {"X-CSRFToken": token}
        if url.startswith("/api/") and role_key != "anonymous":
            # The API signs in by bearer token only; the session cookie does not count there.
            headers["Authorization"] = f"Bearer {world['tokens'][role_key]}"
        if method == "GET":
            response = client.get(url, headers=headers)
        else:
            response = client.open(url, method=method, data={"csrf_token": token}, headers=headers)
        allowed = _expected(app, rule, role_key, users.get(role_key), ids)
        status = response.status_code
        to_login = status == 302 and "/login" in response.headers.get("Location", "")
        if allowed:
            ok = status not in (401, 403, 500) and not to_login
        elif role_key == "anonymous":
            ok = to_login or status == 401
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{method} {url} [{rule.endpoint}] -> {status} (allowed={allowed})")
    assert failures == []


def test_grants_spot_checks(app):
    """A few facts of the grants table a user relies on, stated independently."""
    world = _world(app)
    with app.app_context():
        from compete.models import Event
        from compete.permissions import Permission

        def user(key):
            return db.session.scalar(db.select(User).where(User.username == world["users"][key]))

        event = db.session.get(Event, world["ids"]["event_id"])
        other = db.session.get(Event, world["other_event"])
        assert not has_permission(user("judge"), Permission.ADMIN_USERS)
        assert has_permission(user("judge"), Permission.MARKS_ENTER, event=event)
        assert not has_permission(user("judge"), Permission.MARKS_ENTER, event=other)
        assert not has_permission(user("judge"), Permission.RESULTS_VIEW, event=event)
        assert not has_permission(user("judge"), Permission.DECRYPT, event=event)
        assert has_permission(user("organiser"), Permission.EVENT_MANAGE, event=event)
        assert not has_permission(user("outsider"), Permission.EVENT_MANAGE, event=event)
        assert has_permission(user("outsider"), Permission.EVENT_MANAGE, event=other)
        assert not has_permission(user("unit_contact"), Permission.REGISTRATION_REVIEW, event=event)
        assert not has_permission(user("chief_judge"), Permission.DECRYPT, event=event)
        assert has_permission(user("supervisor"), Permission.DECRYPT, event=event)
        assert not has_permission(user("organiser_global"), Permission.EVENT_MANAGE, event=event)
