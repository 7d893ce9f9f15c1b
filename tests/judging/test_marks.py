"""Marks reach the database exactly once, append-only and chained; judges see codes only."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from compete.blueprints.judging import services
from compete.demo import load_demo
from compete.extensions import db
from compete.models import Entry, Event, MarkEvent, User

from ..factories import csrf_from

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)
PASSWORD = "Demo-pass-2026"


@pytest.fixture
def demo(app):
    """The demo: E01 in progress, judge1..judge5 on the panel, 60 marking codes."""
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        return {"event_id": event.id}


def _user(name):
    return db.session.scalar(select(User).where(User.username == name))


def _mark(code, criterion, value, *, base=None, reason=None, client_id=None):
    return services.MarkInput(
        client_id=client_id or str(uuid.uuid4()),
        code=code,
        criterion_id=criterion.id,
        value=Decimal(value),
        base=base,
        entered_at=NOW,
        reason=reason,
        device="test",
    )


def _first(app, demo, username="judge1"):
    event = db.session.get(Event, demo["event_id"])
    user = _user(username)
    assignment = services.assignment_for(user, event)
    code = sorted(assignment.codes)[0]
    return event, user, assignment, code, assignment.criteria[0]


def test_a_replayed_client_id_is_stored_once(app, demo):
    with app.app_context():
        event, user, _, code, criterion = _first(app, demo)
        mark = _mark(code, criterion, "5")
        first = services.record_mark(user, event, mark, now=NOW)
        again = services.record_mark(user, event, mark, now=NOW)
        db.session.commit()
        assert (first.status, again.status) == ("stored", "duplicate")
        assert first.mark.id == again.mark.id
        assert db.session.scalar(select(func.count(MarkEvent.id))) == 1


def test_a_stale_edit_is_refused_and_a_correction_needs_a_reason(app, demo):
    with app.app_context():
        event, user, _, code, criterion = _first(app, demo)
        first = services.record_mark(user, event, _mark(code, criterion, "5"), now=NOW)
        with pytest.raises(services.StaleMark):
            services.record_mark(user, event, _mark(code, criterion, "6"), now=NOW)
        with pytest.raises(Exception, match="reason"):
            services.record_mark(
                user, event, _mark(code, criterion, "6", base=first.mark.id), now=NOW
            )
        fixed = services.record_mark(
            user, event, _mark(code, criterion, "6", base=first.mark.id, reason="看错了"), now=NOW
        )
        db.session.commit()
        assert fixed.mark.kind.value == "correction"
        assert fixed.mark.supersedes_id == first.mark.id
        # Never edited in place: both rows are kept.
        values = db.session.scalars(select(MarkEvent.value).order_by(MarkEvent.seq)).all()
        assert values == [Decimal("5.00"), Decimal("6.00")]


@pytest.mark.parametrize("value", ["-1", "10.5", "0.3", "99"])
def test_out_of_range_or_off_step_marks_are_refused(app, demo, value):
    with app.app_context():
        event, user, _, code, criterion = _first(app, demo)  # A1: max 10, step 0.5
        with pytest.raises(Exception, match="A1"):
            services.record_mark(user, event, _mark(code, criterion, value), now=NOW)
        assert db.session.scalar(select(func.count(MarkEvent.id))) == 0


def test_a_locked_event_takes_no_marks(app, demo):
    with app.app_context():
        event, user, _, code, criterion = _first(app, demo)
        event.state = "scoring_locked"
        with pytest.raises(Exception, match="closed"):
            services.record_mark(user, event, _mark(code, criterion, "5"), now=NOW)


def test_a_judge_never_marks_own_units_contestant_nor_an_unknown_code(app, demo):
    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        user = _user("judge5")
        assignment = services.assignment_for(user, event)
        judge_unit = assignment.member.judge.unit_id
        if judge_unit is not None:
            own = db.session.scalars(
                select(Entry.id).where(Entry.event_id == event.id, Entry.unit_id == judge_unit)
            ).all()
            assert own and not set(own) & set(assignment.codes.values())
        with pytest.raises(Exception, match="not assigned"):
            services.record_mark(user, event, _mark("R999", assignment.criteria[0], "5"), now=NOW)


def test_tampering_with_a_stored_mark_breaks_the_chain_at_that_link(app, demo, runner):
    with app.app_context():
        event, user, assignment, code, _ = _first(app, demo)
        for criterion in assignment.criteria[:3]:
            services.record_mark(user, event, _mark(code, criterion, "5"), now=NOW)
        db.session.commit()
        assert services.verify_marks(event) is None
        db.session.execute(update(MarkEvent).where(MarkEvent.seq == 2).values(value=9))
        db.session.commit()
        event = db.session.get(Event, demo["event_id"])
        assert services.verify_marks(event) == 2
    result = runner.invoke(args=["compete", "verify-scores", str(demo["event_id"])])
    assert result.exit_code == 1 and "link 2" in result.output


def test_tablet_batch_applies_each_mark_once_and_answers_each(app, client, auth, demo):
    assert auth.login("judge1", PASSWORD).status_code == 302
    page = client.get(f"/tablet/events/{demo['event_id']}")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    with app.app_context():
        _event, _user_row, assignment, code, criterion = _first(app, demo)
        other = assignment.criteria[1]
    good = {
        "client_id": str(uuid.uuid4()),
        "code": code,
        "criterion_id": criterion.id,
        "value": "7.5",
        "base": None,
        "entered_at": NOW.isoformat(),
    }
    bad = {
        "client_id": str(uuid.uuid4()),
        "code": code,
        "criterion_id": other.id,
        "value": "1000",
        "base": None,
    }
    body = json.dumps({"marks": [good, bad, good]})
    url = f"/tablet/events/{demo['event_id']}/marks"
    response = client.post(
        url, data=body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200
    statuses = [r["status"] for r in response.get_json()["results"]]
    assert statuses == ["stored", "refused", "duplicate"]
    again = client.post(
        url,
        data=json.dumps({"marks": [good]}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert again.get_json()["results"][0]["status"] == "duplicate"
    with app.app_context():
        assert db.session.scalar(select(func.count(MarkEvent.id))) == 1


def test_tablet_pages_never_show_names_units_or_entry_numbers(app, client, auth, demo):
    assert auth.login("judge2", PASSWORD).status_code == 302
    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        entries = db.session.scalars(select(Entry).where(Entry.event_id == event.id)).all()
        secrets_ = {m.person.name for e in entries for m in e.members}
        secrets_ |= {e.unit.name for e in entries} | {e.entry_number for e in entries}
        secrets_ |= {e.station_number for e in entries if e.station_number}
        assignment = services.assignment_for(_user("judge2"), event)
        code = sorted(assignment.codes)[0]
    pages = [
        client.get(f"/tablet/events/{demo['event_id']}"),
        client.get(f"/tablet/events/{demo['event_id']}/sheet/{code}"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        leaked = sorted(s for s in secrets_ if s and len(s) > 1 and s in html)
        assert leaked == []


def test_a_judge_not_on_the_panel_is_refused(app, client, auth, demo):
    assert auth.login("chief", PASSWORD).status_code == 302  # chief marks too
    assert client.get(f"/tablet/events/{demo['event_id']}").status_code == 200
    auth.logout()
    assert auth.login("recorder", PASSWORD).status_code == 302
    assert client.get(f"/tablet/events/{demo['event_id']}").status_code == 403


def test_console_flags_disagreement_and_lock_waits_for_complete_marks(app, client, auth, demo):
    from compete.blueprints.competitions.lifecycle import evaluate_guards

    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        codes = None
        # A2 is a judgement criterion with tolerance 3: marks 2 and 9 disagree.
        for username, value in (("judge1", "2"), ("judge2", "9")):
            user = _user(username)
            assignment = services.assignment_for(user, event)
            common = sorted(set(assignment.codes) & set(codes or assignment.codes))
            codes = common
            a2 = next(c for c in assignment.criteria if c.code == "A2")
            services.record_mark(user, event, _mark(common[0], a2, value), now=NOW)
        db.session.commit()
        progress = services.panel_progress(event)
        flagged = [key for key, cell in progress.cells.items() if cell.flagged]
        assert flagged == [(codes[0], a2.id)]
        assert evaluate_guards(event, ["all_sheets_locked"], NOW) == {"all_sheets_locked": False}
    assert auth.login("chief", PASSWORD).status_code == 302
    page = client.get(f"/events/{demo['event_id']}/console")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "⚑" in html and 'class="num cell flag"' in html
    assert 'disabled aria-disabled="true"' in html  # the lock button waits


# ---------------------------------------------------------------- batches from a tablet


def _post_marks(client, event_id, marks, token):
    return client.post(
        f"/tablet/events/{event_id}/marks",
        data=json.dumps({"marks": marks}),
        content_type="application/json",
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def _signed_in_judge(app, client, auth, demo, username="judge1"):
    assert auth.login(username, PASSWORD).status_code == 302
    token = csrf_from(client.get(f"/tablet/events/{demo['event_id']}").get_data(as_text=True))
    with app.app_context():
        _event, _user_row, assignment, _code, _criterion = _first(app, demo, username)
        cells = [(code, c.id) for code in sorted(assignment.codes) for c in assignment.criteria]
    return token, cells


def _item(cell, value="5", **extra):
    return {
        "client_id": str(uuid.uuid4()),
        "code": cell[0],
        "criterion_id": cell[1],
        "value": value,
        "base": None,
        **extra,
    }


def test_a_tablet_in_another_time_zone_keeps_the_chain_intact(app, client, auth, demo, runner):
    token, cells = _signed_in_judge(app, client, auth, demo)
    marks = [_item(cell, entered_at="2026-12-27T17:05:00.250+08:00") for cell in cells[:3]]
    response = _post_marks(client, demo["event_id"], marks, token)
    assert [r["status"] for r in response.get_json()["results"]] == ["stored"] * 3
    with app.app_context():
        assert services.verify_marks(db.session.get(Event, demo["event_id"])) is None
        entered = db.session.scalars(select(MarkEvent.entered_at)).all()
        assert {e.isoformat() for e in entered} == {"2026-12-27T09:05:00.250000+00:00"}
    result = runner.invoke(args=["compete", "verify-scores", str(demo["event_id"])])
    assert result.exit_code == 0, result.output


def test_a_second_edit_of_a_cell_in_the_same_batch_is_a_conflict(app, client, auth, demo):
    token, cells = _signed_in_judge(app, client, auth, demo)
    first, second = _item(cells[0], "5"), _item(cells[0], "6")
    results = _post_marks(client, demo["event_id"], [first, second], token).get_json()["results"]
    assert [r["status"] for r in results] == ["stored", "conflict"]
    assert results[1]["value"] == "5.00"  # the mark in force, to show the judge
    with app.app_context():
        assert db.session.scalars(select(MarkEvent.value)).all() == [Decimal("5.00")]


def test_a_locked_event_answers_replays_as_duplicates_and_takes_nothing_new(
    app, client, auth, demo
):
    token, cells = _signed_in_judge(app, client, auth, demo)
    stored = _item(cells[0])
    assert _post_marks(client, demo["event_id"], [stored], token).status_code == 200
    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        event.state = "scoring_locked"
        db.session.commit()
        head = event.mark_head
    results = _post_marks(client, demo["event_id"], [stored, _item(cells[1])], token)
    assert [r["status"] for r in results.get_json()["results"]] == ["duplicate", "refused"]
    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        assert (event.mark_seq, event.mark_head) == (1, head)


def test_a_batch_costs_the_same_queries_whatever_its_size(app, client, auth, demo, monkeypatch):
    from sqlalchemy import event as sa_event

    from compete.blueprints.results import services as results_services

    calls = []
    monkeypatch.setattr(
        results_services, "schedule_recompute", lambda event, *, actor=None: calls.append(event.id)
    )
    token, cells = _signed_in_judge(app, client, auth, demo)
    counted = []
    with app.app_context():
        engine = db.engine

    statements = []

    def count(_conn, _cursor, statement, *_args):
        counted[-1] += 1
        statements.append(statement)

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        sizes = []
        for size, chunk in ((2, cells[:2]), (20, cells[2:22])):
            counted.append(0)
            response = _post_marks(client, demo["event_id"], [_item(c) for c in chunk], token)
            assert [r["status"] for r in response.get_json()["results"]] == ["stored"] * size
            sizes.append(counted[-1])
        plain = list(statements)
        counted.append(0)
        _post_marks(client, demo["event_id"], [_item(cells[0])], token)  # a stale edit: nothing new
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert sizes[0] == sizes[1], sizes
    # Session with user and roles; seat with event and criteria; codes; lock; cells; insert;
    # head. Neither the user nor the event is loaded as an ORM object (the plain path).
    assert sizes[0] <= 7, sizes
    assert not [s for s in plain if "password_hash" in s or "events.name" in s]
    # Results are recomputed (debounced elsewhere) after each batch that stored something.
    assert calls == [demo["event_id"], demo["event_id"]]


@pytest.mark.parametrize(
    ("status", "done", "age_minutes", "asks"),
    [
        ("queued", 0, 0, False),  # it will read this batch: nothing more to ask
        ("running", 0, 0, False),  # still waiting for the burst to settle
        ("running", 1, 0, True),  # already reading: it may miss this batch
        ("queued", 0, 11, True),  # dead: its process went away
        ("done", 2, 0, True),
    ],
)
def test_a_batch_asks_for_a_recompute_unless_one_still_waits_to_read(
    app, client, auth, demo, monkeypatch, status, done, age_minutes, asks
):
    import uuid
    from datetime import timedelta

    from compete.blueprints.results import services as results_services
    from compete.models import Job
    from compete.models.base import utcnow
    from compete.models.jobs import RECOMPUTE_JOB

    calls = []
    monkeypatch.setattr(
        results_services, "schedule_recompute", lambda event, *, actor=None: calls.append(event.id)
    )
    token, cells = _signed_in_judge(app, client, auth, demo)
    with app.app_context():
        since = utcnow() - timedelta(minutes=age_minutes)
        db.session.add(
            Job(
                id=uuid.uuid4().hex,
                kind=RECOMPUTE_JOB,
                params={},
                event_id=demo["event_id"],
                status=status,
                done=done,
                created_at=since,
                started_at=since if status != "queued" else None,
            )
        )
        db.session.commit()
    sent = _item(cells[0])
    response = _post_marks(client, demo["event_id"], [sent], token)
    assert [r["status"] for r in response.get_json()["results"]] == ["stored"]
    assert calls == ([demo["event_id"]] if asks else [])
    # A replay stores nothing, so it never asks.
    response = _post_marks(client, demo["event_id"], [sent], token)
    assert [r["status"] for r in response.get_json()["results"]] == ["duplicate"]
    assert len(calls) == (1 if asks else 0)


def test_a_lost_race_on_the_same_client_id_answers_duplicate(app, client, auth, demo, monkeypatch):
    token, cells = _signed_in_judge(app, client, auth, demo)
    mark = _item(cells[0])
    assert _post_marks(client, demo["event_id"], [mark], token).status_code == 200
    real = services._known_marks
    calls = {"n": 0}

    def blind_once(user, event, client_ids, cells_):
        calls["n"] += 1
        earlier, latest = real(user, event, client_ids, cells_)
        return ({}, {}) if calls["n"] == 1 else (earlier, latest)  # as if it arrived meanwhile

    monkeypatch.setattr(services, "_known_marks", blind_once)
    other = _item(cells[1])
    results = _post_marks(client, demo["event_id"], [mark, other], token).get_json()["results"]
    assert [r["status"] for r in results] == ["duplicate", "stored"]
    with app.app_context():
        assert db.session.scalar(select(func.count(MarkEvent.id))) == 2
        assert services.verify_marks(db.session.get(Event, demo["event_id"])) is None


# ---------------------------------------------------------------- what the plain path leaves


def _session_row(app):
    from compete.models import LoginSession

    with app.app_context():
        return db.session.scalar(
            select(LoginSession)
            .where(LoginSession.revoked_at.is_(None))
            .order_by(LoginSession.id.desc())
        )


def _age_session(app, minutes):
    from datetime import timedelta

    from compete.models import LoginSession

    with app.app_context():
        row = db.session.scalar(
            select(LoginSession)
            .where(LoginSession.revoked_at.is_(None))
            .order_by(LoginSession.id.desc())
        )
        row.last_seen_at = row.last_seen_at - timedelta(minutes=minutes)
        db.session.commit()
        return row.last_seen_at


def test_a_session_due_a_touch_is_touched_while_marking(app, client, auth, demo):
    token, cells = _signed_in_judge(app, client, auth, demo)
    before = _age_session(app, 5)
    response = _post_marks(client, demo["event_id"], [_item(cells[0])], token)
    assert [r["status"] for r in response.get_json()["results"]] == ["stored"]
    assert _session_row(app).last_seen_at > before


def test_an_idle_session_ends_and_its_marks_are_not_taken(app, client, auth, demo):
    token, cells = _signed_in_judge(app, client, auth, demo)
    _age_session(app, 60 * 24)
    response = _post_marks(client, demo["event_id"], [_item(cells[0])], token)
    assert response.status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MarkEvent)) == 0
    assert _session_row(app) is None  # revoked


def test_a_seated_judge_without_the_marking_role_is_refused(app, client, auth, demo):
    from compete.models import RoleAssignment

    token, cells = _signed_in_judge(app, client, auth, demo)
    with app.app_context():
        user = _user("judge1")
        for assignment in db.session.scalars(
            select(RoleAssignment).where(RoleAssignment.user_id == user.id)
        ):
            db.session.delete(assignment)
        db.session.commit()
    response = _post_marks(client, demo["event_id"], [_item(cells[0])], token)
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MarkEvent)) == 0


def test_an_unknown_event_or_an_unreadable_batch_is_answered_not_stored(app, client, auth, demo):
    token, cells = _signed_in_judge(app, client, auth, demo)
    assert _post_marks(client, demo["event_id"] + 999, [_item(cells[0])], token).status_code == 404
    response = client.post(
        f"/tablet/events/{demo['event_id']}/marks",
        data="not json",
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MarkEvent)) == 0
