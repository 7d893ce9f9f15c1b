"""Marks through the API: a seated marking judge's token records a batch as the tablet does,
each client id exactly once in the mark chain; anyone else is refused, and so is a locked event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from compete.blueprints.judging import services as judging
from compete.demo import load_demo
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import Event, MarkEvent, Role, User

from ..factories import make_user
from .conftest import bearer, make_token, schema_errors

PASSWORD = "Demo-pass-2026"


@dataclass(frozen=True)
class Marking:
    event_id: int
    other_event_id: int  # the demo's 焊工 event: no panel
    codes: list[str]  # marking codes judge1 may mark
    criteria: dict[str, int]  # criterion code -> id
    tokens: dict[str, str]


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture
def marking(app) -> Marking:
    with app.app_context():
        load_demo(password=PASSWORD)
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        other = db.session.scalar(select(Event).where(Event.code == "E02"))
        assignment = judging.assignment_for(_user("judge1"), event)
        unseated = make_user(Role.JUDGE, event_id=event.id)  # the role, but no panel seat
        tokens = {
            name: make_token(_user(name))
            for name in ("judge1", "judge2", "admin", "organiser", "recorder")
        }
        tokens["unseated"] = make_token(unseated)
        db.session.commit()
        return Marking(
            event_id=event.id,
            other_event_id=other.id,
            codes=sorted(assignment.codes),
            criteria={c.code: c.id for c in assignment.criteria},
            tokens=tokens,
        )


def _mark(marking: Marking, code_index: int, criterion: str, value, **extra) -> dict:
    return {
        "client_id": extra.pop("client_id", None) or str(uuid.uuid4()),
        "code": marking.codes[code_index],
        "criterion_id": marking.criteria[criterion],
        "value": value,
        "entered_at": "2026-12-27T09:00:00+08:00",
        **extra,
    }


def _post(client, marking: Marking, who: str, body, event_id: int | None = None):
    return client.post(
        f"/api/v1/events/{event_id or marking.event_id}/marks",
        json=body,
        headers=bearer(marking.tokens[who]),
    )


def _chain(app, marking: Marking) -> tuple[int, list[MarkEvent]]:
    with app.app_context():
        event = db.session.get(Event, marking.event_id)
        rows = db.session.scalars(
            select(MarkEvent).where(MarkEvent.event_id == event.id).order_by(MarkEvent.seq)
        ).all()
        assert judging.verify_marks(event) is None  # the chain is intact
        db.session.expunge_all()
        return event.mark_seq, rows


def test_marks_land_in_the_chain_exactly_once(app, client, marking):
    batch = {"marks": [_mark(marking, 0, "A1", "7.5"), _mark(marking, 1, "A2", 12)]}
    first = _post(client, marking, "judge1", batch)
    assert first.status_code == 200
    answers = first.get_json()
    assert schema_errors(answers, "MarkAnswers") == []
    assert [a["status"] for a in answers["results"]] == ["stored", "stored"]
    assert [a["value"] for a in answers["results"]] == ["7.50", "12.00"]
    assert [a["client_id"] for a in answers["results"]] == [m["client_id"] for m in batch["marks"]]
    seq, rows = _chain(app, marking)
    assert seq == 2
    assert [(r.client_id, f"{r.value:.2f}") for r in rows] == [
        (batch["marks"][0]["client_id"], "7.50"),
        (batch["marks"][1]["client_id"], "12.00"),
    ]
    assert {r.id for r in rows} == {a["mark_id"] for a in answers["results"]}

    replay = _post(client, marking, "judge1", batch).get_json()
    assert [a["status"] for a in replay["results"]] == ["duplicate", "duplicate"]
    assert [a["mark_id"] for a in replay["results"]] == [a["mark_id"] for a in answers["results"]]
    assert _chain(app, marking)[0] == 2  # nothing added


def test_each_item_is_answered_on_its_own(app, client, marking):
    twin = _mark(marking, 1, "A2", "8")
    batch = {
        "marks": [
            _mark(marking, 0, "A1", "7"),
            "not a mark",
            {**_mark(marking, 0, "A2", "5"), "criterion_id": "abc"},
            _mark(marking, 1, "A1", "999"),  # above the maximum
            {**_mark(marking, 2, "A1", "5"), "code": "NOPE"},  # not assigned
            _mark(marking, 0, "A1", "6"),  # changes the first without base and reason
            twin,
            twin,  # the same client id twice in one batch
        ]
    }
    response = _post(client, marking, "judge1", batch)
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert schema_errors(response.get_json(), "MarkAnswers") == []
    statuses = [r["status"] for r in results]
    assert statuses[:5] == ["stored", "refused", "refused", "refused", "refused"]
    assert statuses[5] == "conflict"  # a newer mark is stored for that cell
    assert results[5]["value"] == "7.00"
    assert statuses[6:] == ["stored", "duplicate"]
    assert results[6]["mark_id"] == results[7]["mark_id"]
    assert results[1]["client_id"] == ""
    assert all(r["message"] for r in results[1:6])
    assert _chain(app, marking)[0] == statuses.count("stored")


def test_a_correction_needs_base_and_reason(app, client, marking):
    first = _post(client, marking, "judge1", {"marks": [_mark(marking, 0, "A1", "7")]})
    mark_id = first.get_json()["results"][0]["mark_id"]
    no_reason = _mark(marking, 0, "A1", "8", base=mark_id)
    assert (
        _post(client, marking, "judge1", {"marks": [no_reason]}).get_json()["results"][0]["status"]
        == "refused"
    )
    fixed = _mark(marking, 0, "A1", "8", base=mark_id, reason="看错了")
    answer = _post(client, marking, "judge1", {"marks": [fixed]}).get_json()["results"][0]
    assert answer["status"] == "stored"
    _seq, rows = _chain(app, marking)
    assert rows[-1].supersedes_id == mark_id
    assert rows[-1].reason == "看错了"


@pytest.mark.parametrize("who", ["admin", "organiser", "recorder", "unseated"])
def test_only_a_seated_marking_judge_may_write(app, client, marking, who):
    response = _post(client, marking, who, {"marks": [_mark(marking, 0, "A1", "7")]})
    assert response.status_code == 403
    assert schema_errors(response.get_json(), "Error") == []
    assert _chain(app, marking)[0] == 0


def test_a_judge_of_another_panel_is_refused(app, client, marking):
    response = _post(
        client,
        marking,
        "judge1",
        {"marks": [_mark(marking, 0, "A1", "7")]},
        event_id=marking.other_event_id,
    )
    assert response.status_code == 403


def test_a_locked_event_refuses_new_marks_and_still_answers_replays(app, client, marking):
    stored = _mark(marking, 0, "A1", "7")
    assert _post(client, marking, "judge1", {"marks": [stored]}).status_code == 200
    with app.app_context():
        db.session.get(Event, marking.event_id).state = EventState.SCORING_LOCKED
        db.session.commit()
    response = _post(client, marking, "judge1", {"marks": [_mark(marking, 1, "A1", "8"), stored]})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["refused", "duplicate"]
    assert results[0]["message"]
    assert _chain(app, marking)[0] == 1


@pytest.mark.parametrize(
    "body",
    [None, [], {}, {"marks": []}, {"marks": "7"}, {"marks": [{"client_id": "x"}] * 201}],
)
def test_a_malformed_batch_gets_422(app, client, marking, body):
    if body is None:
        response = client.post(
            f"/api/v1/events/{marking.event_id}/marks",
            data="not json",
            headers={**bearer(marking.tokens["judge1"]), "Content-Type": "application/json"},
        )
    else:
        response = _post(client, marking, "judge1", body)
    assert response.status_code == 422
    assert response.get_json()["field"] == "marks"
    assert schema_errors(response.get_json(), "Error") == []


def test_a_malformed_batch_from_a_non_judge_is_still_403(client, marking):
    assert _post(client, marking, "admin", {"marks": []}).status_code == 403


def test_no_token_no_marks(app, client, marking):
    response = client.post(
        f"/api/v1/events/{marking.event_id}/marks", json={"marks": [_mark(marking, 0, "A1", "7")]}
    )
    assert response.status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MarkEvent)) == 0


def test_a_signed_in_browser_cannot_post_marks_without_a_token(app, client, auth, marking):
    """The API takes no CSRF token, so a session cookie must not drive it."""
    assert auth.login("judge1", PASSWORD).status_code == 302
    response = client.post(
        f"/api/v1/events/{marking.event_id}/marks", json={"marks": [_mark(marking, 0, "A1", "7")]}
    )
    assert response.status_code == 401
    assert _chain(app, marking)[0] == 0


def test_no_csrf_token_is_needed_with_a_bearer_token(client, marking):
    """The same judge with their token and no CSRF token: recorded."""
    response = _post(client, marking, "judge1", {"marks": [_mark(marking, 0, "A1", "7")]})
    assert response.get_json()["results"][0]["status"] == "stored"


def test_a_read_only_token_cannot_submit_marks(app, client, marking):
    with app.app_context():
        read_only = make_token(_user("judge1"), name="display", can_write=False)
        db.session.commit()
    response = client.post(
        f"/api/v1/events/{marking.event_id}/marks",
        json={"marks": [_mark(marking, 0, "A1", "7.5")]},
        headers=bearer(read_only),
    )
    assert response.status_code == 403
    assert response.get_json()["error"] == "read_only"
    assert _chain(app, marking)[0] == 0  # nothing stored
    # Reading still works with it.
    assert client.get("/api/v1/me", headers=bearer(read_only)).status_code == 200
