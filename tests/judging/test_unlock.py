"""Reopening locked scoring: the chief judge, a supervisor's consent and a reason (§3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from compete.blueprints.judging import unlock
from compete.demo import load_demo
from compete.domain.errors import Conflict, NotAllowed
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AuditEntry, Event, EventTransition, UnlockConsent, User
from compete.models.base import utcnow

from ..factories import csrf_from

PASSWORD = "Demo-pass-2026"
LOCKED_AT = utcnow() - timedelta(hours=1)  # consents given through the pages come later


@pytest.fixture
def locked(app):
    """The demo's E01 with scoring locked by the chief judge at LOCKED_AT."""
    with app.app_context():
        load_demo(password=PASSWORD)
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        chief = _user("chief")
        db.session.add(
            EventTransition(
                event=event,
                from_state=EventState.IN_PROGRESS,
                to_state=EventState.SCORING_LOCKED,
                actor_id=chief.id,
                at=LOCKED_AT,
            )
        )
        event.state = EventState.SCORING_LOCKED
        db.session.commit()
        return event.id


def _user(name):
    return db.session.scalar(select(User).where(User.username == name))


def _consent(client, auth, event_id, reason, username="supervisor"):
    assert auth.login(username, PASSWORD).status_code == 302
    page = client.get(f"/events/{event_id}/unlock")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        f"/events/{event_id}/unlock/consent", data={"csrf_token": token, "reason": reason}
    )


def test_a_supervisor_consents_with_a_reason_and_the_guard_holds(app, client, auth, locked):
    with app.app_context():
        assert unlock.supervisor_consent(db.session.get(Event, locked)) is False
    response = _consent(client, auth, locked, "复核发现A2评分漏录，需重新开放")
    assert response.status_code == 302
    with app.app_context():
        event = db.session.get(Event, locked)
        assert unlock.supervisor_consent(event, LOCKED_AT) is True
        consent = db.session.scalar(select(UnlockConsent))
        assert consent.supervisor_id == _user("supervisor").id and consent.used_at is None
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "scoring.unlock_consented")
        )
        assert entry.reason == "复核发现A2评分漏录，需重新开放"
    page = client.get(f"/events/{locked}/unlock").get_data(as_text=True)
    assert 'data-state="given"' in page and "复核发现A2评分漏录" in page


def test_consent_without_a_reason_is_refused(app, client, auth, locked):
    assert _consent(client, auth, locked, "   ").status_code == 422
    with app.app_context():
        assert db.session.scalar(select(UnlockConsent.id)) is None


def test_only_a_supervisor_of_the_event_consents(app, client, auth, locked):
    assert _consent(client, auth, locked, "想改分", username="chief").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(UnlockConsent.id)) is None
        event = db.session.get(Event, locked)
        with pytest.raises(NotAllowed):
            unlock.give_consent(_user("admin"), event, reason="x", now=LOCKED_AT)


def test_no_consent_unless_locked_and_one_open_consent_at_a_time(app, locked):
    with app.app_context():
        event = db.session.get(Event, locked)
        supervisor = _user("supervisor")
        unlock.give_consent(supervisor, event, reason="first", now=LOCKED_AT)
        with pytest.raises(Conflict):
            unlock.give_consent(supervisor, event, reason="second", now=LOCKED_AT)
        event.state = EventState.IN_PROGRESS
        with pytest.raises(Conflict):
            unlock.give_consent(supervisor, event, reason="third", now=LOCKED_AT)
        assert unlock.supervisor_consent(event) is False  # only counts while locked


def test_the_unlock_uses_the_consent_once(app, locked):
    with app.app_context():
        event = db.session.get(Event, locked)
        unlock.give_consent(_user("supervisor"), event, reason="漏录", now=LOCKED_AT)
        # The chief judge's unlock sets the state and spends the consent in one transaction.
        event.state = EventState.IN_PROGRESS
        used = unlock.use_consent(event, _user("chief"), LOCKED_AT + timedelta(minutes=5))
        db.session.commit()
        assert used.used_at is not None
        assert (
            db.session.scalar(
                select(AuditEntry.actor_id).where(
                    AuditEntry.action == "scoring.unlock_consent_used"
                )
            )
            == _user("chief").id
        )
        # Locked again later: the spent consent does not reopen it a second time.
        event.state = EventState.SCORING_LOCKED
        assert unlock.supervisor_consent(event) is False
        with pytest.raises(Conflict):
            unlock.use_consent(event, _user("chief"), LOCKED_AT + timedelta(hours=1))


def test_a_consent_from_before_the_latest_lock_does_not_count(app, locked):
    with app.app_context():
        event = db.session.get(Event, locked)
        db.session.add(
            UnlockConsent(
                event_id=event.id,
                supervisor_id=_user("supervisor").id,
                reason="old",
                given_at=LOCKED_AT - timedelta(hours=2),
            )
        )
        db.session.commit()
        assert unlock.supervisor_consent(event) is False


def test_the_supervisor_may_withdraw_an_unused_consent(app, client, auth, locked):
    assert _consent(client, auth, locked, "误操作").status_code == 302
    token = csrf_from(client.get(f"/events/{locked}/unlock").get_data(as_text=True))
    response = client.post(f"/events/{locked}/unlock/consent/withdraw", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert unlock.supervisor_consent(db.session.get(Event, locked)) is False
        assert db.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "scoring.unlock_consent_withdrawn")
        )


def test_the_chief_judge_sees_the_consent_status_on_the_console(app, client, auth, locked):
    assert auth.login("chief", PASSWORD).status_code == 302
    console = client.get(f"/events/{locked}/console").get_data(as_text=True)
    assert 'id="consent-state"' in console and 'data-state="waiting"' in console
    assert f'href="/events/{locked}/unlock"' in console
    auth.logout()
    assert _consent(client, auth, locked, "漏录").status_code == 302
    auth.logout()
    assert auth.login("chief", PASSWORD).status_code == 302
    console = client.get(f"/events/{locked}/console").get_data(as_text=True)
    assert 'data-state="given"' in console
    assert client.get(f"/events/{locked}/unlock").status_code == 200


def test_the_lifecycle_unlock_needs_the_consent_and_spends_it(app, locked):
    """scoring_locked → in_progress by the chief judge: refused without a supervisor's
    consent, allowed with it, and the consent is then used up."""
    from compete.blueprints.competitions.lifecycle import transition_event

    with app.app_context():
        event = db.session.get(Event, locked)
        chief = _user("chief")
        with pytest.raises(Conflict):
            transition_event(chief, event, EventState.IN_PROGRESS, reason="漏录一项", now=utcnow())
        unlock.give_consent(_user("supervisor"), event, reason="同意补录", now=utcnow())
        transition_event(chief, event, EventState.IN_PROGRESS, reason="漏录一项", now=utcnow())
        db.session.commit()
        assert event.state is EventState.IN_PROGRESS
        consent = db.session.scalar(select(UnlockConsent))
        assert consent.used_at is not None
