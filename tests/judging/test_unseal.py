"""Unsealing (解密): reverse order, layer by layer, an encryption judge and a supervisor, logged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from compete.blueprints.competitions.lifecycle import GUARDS
from compete.blueprints.judging import unseal
from compete.demo import load_demo
from compete.domain.errors import NotAllowed
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AuditEntry, Entry, Event, ReviewCode, Role, RoleAssignment, User
from compete.models.unsealing import Unsealing

from ..factories import csrf_from, make_user

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)

PASSWORD = "Demo-pass-2026"


@pytest.fixture
def demo(app):
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        return {"event_id": event.id}


def _under_review(app, demo):
    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        event.state = EventState.UNDER_REVIEW
        db.session.commit()


def _post(client, auth, username, event_id, layer):
    auth.logout()
    assert auth.login(username, PASSWORD).status_code == 302
    page = client.get(f"/events/{event_id}/unseal")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    return client.post(f"/events/{event_id}/unseal", data={"layer": layer, "csrf_token": token})


def _open(client, auth, event_id, layer):
    assert _post(client, auth, "encrypt", event_id, layer).status_code == 302
    assert _post(client, auth, "supervisor", event_id, layer).status_code == 302


def test_refused_before_under_review(app, client, auth, demo):
    # The demo event is still in progress.
    assert _post(client, auth, "encrypt", demo["event_id"], "review_code").status_code == 409
    with app.app_context():
        assert db.session.scalar(select(Unsealing.id)) is None


def test_layers_open_in_order_only(app, client, auth, demo):
    _under_review(app, demo)
    event_id = demo["event_id"]
    for layer in ("station", "entry_number", "person"):
        assert _post(client, auth, "encrypt", event_id, layer).status_code == 409
    # Requested but not confirmed is not open: the next layer stays refused.
    assert _post(client, auth, "encrypt", event_id, "review_code").status_code == 302
    assert _post(client, auth, "encrypt", event_id, "station").status_code == 409
    assert _post(client, auth, "encrypt", event_id, "nonsense").status_code == 422


def test_the_same_person_cannot_request_and_confirm(app, client, auth, demo):
    _under_review(app, demo)
    event_id = demo["event_id"]
    assert _post(client, auth, "encrypt", event_id, "review_code").status_code == 302
    assert _post(client, auth, "encrypt", event_id, "review_code").status_code == 403
    assert _post(client, auth, "supervisor", event_id, "review_code").status_code == 302
    # Nor does a supervisor start a layer in the encryption judge's place.
    assert _post(client, auth, "supervisor", event_id, "station").status_code == 403
    with app.app_context():
        rows = db.session.scalars(select(Unsealing).order_by(Unsealing.id)).all()
        assert [(r.layer, r.is_open) for r in rows] == [("review_code", True)]


def test_a_judge_may_not_unseal(app, client, auth, demo):
    _under_review(app, demo)
    assert auth.login("judge1", PASSWORD).status_code == 302
    assert client.get(f"/events/{demo['event_id']}/unseal").status_code == 403
    token = csrf_from(client.get(f"/tablet/events/{demo['event_id']}").get_data(as_text=True))
    response = client.post(
        f"/events/{demo['event_id']}/unseal", data={"layer": "review_code", "csrf_token": token}
    )
    assert response.status_code == 403


def test_all_four_layers_with_encryption_judge_and_supervisor(app, client, auth, demo):
    _under_review(app, demo)
    event_id = demo["event_id"]
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert not unseal.unsealed(event)
        code, entry = db.session.execute(
            select(ReviewCode.code, Entry)
            .join(Entry, Entry.id == ReviewCode.entry_id)
            .where(ReviewCode.event_id == event_id)
            .order_by(ReviewCode.code)
        ).first()
        station, number, name = entry.station_number, entry.entry_number, entry.display_name
        unit = entry.unit.name

    _open(client, auth, event_id, "review_code")
    page = client.get(f"/events/{event_id}/unseal").get_data(as_text=True)
    assert code in page and station in page
    assert name not in page  # the person layer is still sealed

    for layer in ("station", "entry_number"):
        _open(client, auth, event_id, layer)
        with app.app_context():
            assert not GUARDS["unsealed"](db.session.get(Event, event_id), None)
    _open(client, auth, event_id, "person")
    page = client.get(f"/events/{event_id}/unseal").get_data(as_text=True)
    assert number in page and name in page and unit in page

    with app.app_context():
        event = db.session.get(Event, event_id)
        assert GUARDS["unsealed"](event, None) is True
        encrypt = db.session.scalar(select(User).where(User.username == "encrypt"))
        supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
        rows = db.session.scalars(select(Unsealing).order_by(Unsealing.id)).all()
        assert [r.layer for r in rows] == list(unseal.LAYERS)
        for r in rows:
            assert (r.requested_by_id, r.confirmed_by_id) == (encrypt.id, supervisor.id)
            assert r.requested_at is not None and r.confirmed_at >= r.requested_at
        logged = db.session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.after)
            .where(AuditEntry.action.like("unseal.%"))
            .order_by(AuditEntry.id)
        ).all()
        assert [(a, actor, after["layer"]) for a, actor, after in logged] == [
            (action, who, layer)
            for layer in unseal.LAYERS
            for action, who in (
                ("unseal.requested", encrypt.id),
                ("unseal.confirmed", supervisor.id),
            )
        ]
        assert {after["role"] for _a, _actor, after in logged} == {"encryption_judge", "supervisor"}
    # Once open, a layer cannot be opened again.
    assert _post(client, auth, "encrypt", event_id, "person").status_code == 409


def test_one_person_holding_both_roles_still_needs_a_second_person(app, demo):
    _under_review(app, demo)
    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        both = make_user(Role.ENCRYPTION_JUDGE, event_id=event.id)
        db.session.add(RoleAssignment(user_id=both.id, role=Role.SUPERVISOR, event_id=event.id))
        db.session.flush()
        db.session.refresh(both)
        unseal.unseal_step(both, event, "review_code", now=NOW)
        with pytest.raises(NotAllowed):
            unseal.unseal_step(both, event, "review_code", now=NOW)
        supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
        assert unseal.unseal_step(supervisor, event, "review_code", now=NOW).is_open
