"""Pairing a tablet by a one-time QR: one judge, one event, once, for a few minutes."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from compete.blueprints.judging import pairing, services
from compete.demo import load_demo
from compete.domain.errors import NotAllowed
from compete.extensions import db
from compete.models import (
    AuditEntry,
    Event,
    LoginSession,
    PanelMember,
    TabletPairing,
    User,
)
from compete.models.base import utcnow

from ..factories import csrf_from, make_competition, make_event

PASSWORD = "Demo-pass-2026"


@pytest.fixture
def demo(app):
    """The demo: E01 in progress, ``chief`` seated as chief judge, judge1..judge5 marking."""
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        judge1 = db.session.scalar(select(User).where(User.username == "judge1"))
        seat = next(m for m in services.panel_of(event) if m.judge.user_id == judge1.id)
        return {"event_id": event.id, "seat": seat.id, "judge_user": judge1.id}


def _qr_for(client, auth, demo, username="chief", seat=None):
    """Sign ``username`` in, ask for a QR for the seat; returns the answer and the code."""
    assert auth.login(username, PASSWORD).status_code == 302
    page = client.get(f"/events/{demo['event_id']}/pairing")
    if page.status_code != 200:
        return page, None
    token = csrf_from(page.get_data(as_text=True))
    response = client.post(
        f"/events/{demo['event_id']}/pairing",
        data={"csrf_token": token, "member_id": seat or demo["seat"]},
    )
    match = re.search(r"/tablet/pair/([A-Za-z0-9_-]+)</code>", response.get_data(as_text=True))
    return response, match.group(1) if match else None


def _pair(tablet, code):
    """The tablet opens the QR's address and confirms."""
    page = tablet.get(f"/tablet/pair/{code}")
    if page.status_code != 200:
        return page
    token = csrf_from(page.get_data(as_text=True))
    return tablet.post(f"/tablet/pair/{code}", data={"csrf_token": token})


def test_the_chief_judge_shows_a_qr_that_signs_one_tablet_in_as_the_judge(app, client, auth, demo):
    response, code = _qr_for(client, auth, demo)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert code and '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert response.headers["Cache-Control"] == "no-store"

    tablet = app.test_client()
    confirm = tablet.get(f"/tablet/pair/{code}")
    assert confirm.status_code == 200
    assert 'id="pair-judge">评分裁判 1<' in confirm.get_data(as_text=True)
    signed = _pair(tablet, code)
    assert signed.status_code == 302
    assert signed.headers["Location"].endswith(f"/tablet/events/{demo['event_id']}")
    assert tablet.get(f"/tablet/events/{demo['event_id']}").status_code == 200

    with app.app_context():
        row = db.session.scalar(select(TabletPairing))
        assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
        assert row.judge_user_id == demo["judge_user"] and row.used_at is not None
        session_row = db.session.scalar(
            select(LoginSession).where(LoginSession.user_id == demo["judge_user"])
        )
        assert session_row.is_tablet and session_row.revoked_at is None
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"tablet.pairing_created", "tablet.paired"} <= actions


def test_a_paired_tablet_opens_only_its_events_marking_pages(app, client, auth, demo):
    _response, code = _qr_for(client, auth, demo)
    tablet = app.test_client()
    assert _pair(tablet, code).status_code == 302
    event_id = demo["event_id"]
    with app.app_context():
        other = make_event(make_competition())
        db.session.commit()
        other_id = other.id
        user = db.session.get(User, demo["judge_user"])
        assignment = services.assignment_for(user, db.session.get(Event, event_id))
        code_, criterion = sorted(assignment.codes)[0], assignment.criteria[0]
    assert tablet.get(f"/tablet/events/{event_id}/sheet/{code_}").status_code == 200
    page = tablet.get(f"/tablet/events/{event_id}")
    token = csrf_from(page.get_data(as_text=True))
    mark = {
        "client_id": str(uuid.uuid4()),
        "code": code_,
        "criterion_id": criterion.id,
        "value": "5",
        "base": None,
    }
    stored = tablet.post(
        f"/tablet/events/{event_id}/marks",
        data=json.dumps({"marks": [mark]}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert stored.status_code == 200 and stored.get_json()["results"][0]["status"] == "stored"
    # Everything else is refused, however the judge's account is otherwise entitled.
    for path in (
        f"/tablet/events/{other_id}",
        f"/events/{event_id}/console",
        "/competitions",
        "/account/password",
    ):
        assert tablet.get(path).status_code == 403, path
    home = tablet.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith(
        f"/tablet/events/{event_id}"
    )
    # Signing out is allowed, and ends the restriction along with the session.
    token = csrf_from(tablet.get(f"/tablet/events/{event_id}").get_data(as_text=True))
    assert tablet.post("/logout", data={"csrf_token": token}).status_code == 302
    assert tablet.get(f"/tablet/events/{event_id}").status_code == 302  # to the login page


def test_a_code_works_once(app, client, auth, demo):
    _response, code = _qr_for(client, auth, demo)
    first, second = app.test_client(), app.test_client()
    page = second.get(f"/tablet/pair/{code}")  # opened on both before either confirms
    assert _pair(first, code).status_code == 302
    token = csrf_from(page.get_data(as_text=True))
    again = second.post(f"/tablet/pair/{code}", data={"csrf_token": token})
    assert again.status_code == 410
    assert 'id="pair-problem"' in again.get_data(as_text=True)
    assert second.get(f"/tablet/events/{demo['event_id']}").status_code == 302  # not signed in
    assert second.get(f"/tablet/pair/{code}").status_code == 410
    with app.app_context():
        refused = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "tablet.pairing_refused")
        )
        assert refused.after["why"] == "used"


def test_an_expired_code_signs_nobody_in(app, client, auth, demo):
    _response, code = _qr_for(client, auth, demo)
    with app.app_context():
        row = db.session.scalar(select(TabletPairing))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    tablet = app.test_client()
    assert tablet.get(f"/tablet/pair/{code}").status_code == 410
    token = csrf_from(tablet.get("/login").get_data(as_text=True))
    assert tablet.post(f"/tablet/pair/{code}", data={"csrf_token": token}).status_code == 410
    assert tablet.get(f"/tablet/events/{demo['event_id']}").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(TabletPairing.used_at)) is None
        assert (
            db.session.scalar(
                select(LoginSession).where(LoginSession.user_id == demo["judge_user"])
            )
            is None
        )


def test_an_altered_code_is_unknown(app, client, auth, demo):
    _response, code = _qr_for(client, auth, demo)
    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    tablet = app.test_client()
    assert tablet.get(f"/tablet/pair/{altered}").status_code == 404
    token = csrf_from(tablet.get("/login").get_data(as_text=True))
    assert tablet.post(f"/tablet/pair/{altered}", data={"csrf_token": token}).status_code == 404
    assert tablet.get(f"/tablet/events/{demo['event_id']}").status_code == 302
    # The real code still works: guessing does not burn it.
    assert _pair(tablet, code).status_code == 302


def test_a_new_code_for_the_judge_voids_the_unused_one(app, client, auth, demo):
    _response, first = _qr_for(client, auth, demo)
    token = csrf_from(client.get(f"/events/{demo['event_id']}/pairing").get_data(as_text=True))
    second_page = client.post(
        f"/events/{demo['event_id']}/pairing",
        data={"csrf_token": token, "member_id": demo["seat"]},
    )
    second = re.search(r"/tablet/pair/([A-Za-z0-9_-]+)</code>", second_page.get_data(as_text=True))
    tablet = app.test_client()
    assert tablet.get(f"/tablet/pair/{first}").status_code == 410
    assert _pair(tablet, second.group(1)).status_code == 302


def test_only_the_seated_chief_judge_makes_codes(app, client, auth, demo):
    response, code = _qr_for(client, auth, demo, username="judge2")
    assert response.status_code == 403 and code is None
    auth.logout()
    response, code = _qr_for(client, auth, demo, username="admin")  # not on the panel
    assert response.status_code == 403 and code is None
    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        with pytest.raises(NotAllowed):
            pairing.create_pairing(admin, event, member_id=demo["seat"], now=utcnow())
        assert db.session.scalar(select(TabletPairing.id)) is None


def test_a_seat_off_the_panel_or_without_an_account_is_refused(app, client, auth, demo):
    with app.app_context():
        seat = db.session.get(PanelMember, demo["seat"])
        seat.removed_at = utcnow()
        seat.removed_reason = "ill"
        db.session.commit()
    response, code = _qr_for(client, auth, demo)
    assert response.status_code == 422 and code is None
    with app.app_context():
        assert db.session.scalar(select(TabletPairing.id)) is None
