"""Venue mode: the central server's competition is loaded on a venue laptop with the same ids,
the day's marks are taken there, and the event comes back to the centre, which verifies the
mark chain and refuses a tampered or diverging archive."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from compete.archive import (
    digest,
    export_competition,
    export_event,
    import_competition,
    import_event,
)
from compete.blueprints.judging import services as judging
from compete.demo import load_demo
from compete.domain.errors import Conflict, InvalidInput
from compete.extensions import db
from compete.models import Event, MarkEvent, User

from .conftest import build_app

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)
PASSWORD = "Demo-pass-2026"


def _user(name):
    return db.session.scalar(select(User).where(User.username == name))


def _e01():
    return db.session.scalar(select(Event).where(Event.code == "E01"))


def _mark(judge: str, code: str, criterion, value: str, *, base=None, reason=None):
    return judging.record_mark(
        _user(judge),
        _e01(),
        judging.MarkInput(
            client_id=str(uuid.uuid4()),
            code=code,
            criterion_id=criterion.id,
            value=Decimal(value),
            base=base,
            entered_at=NOW,
            reason=reason,
            device="venue tablet",
        ),
        now=NOW,
    )


@pytest.fixture
def venue(tmp_path):
    app = build_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'venue.db'}")
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def day(app, venue):
    """The centre's demo copied to the venue, where judge1 marks one contestant fully."""
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()
        copy = json.loads(
            json.dumps(export_competition(_e01().competition_id, with_passwords=True))
        )
    with venue.app_context():
        import_competition(copy, keep_ids=True)
        db.session.commit()
        assert _user("judge1").check_password(PASSWORD)  # judges sign in at the venue
        assignment = judging.assignment_for(_user("judge1"), _e01())
        code = sorted(assignment.codes)[0]
        first = _mark("judge1", code, assignment.criteria[0], "4")
        _mark(
            "judge1",
            code,
            assignment.criteria[0],
            "5",
            base=first.mark.id,
            reason="看错了",
        )
        for criterion in assignment.criteria[1:]:
            _mark("judge1", code, criterion, "6")
        db.session.commit()
        archive = json.loads(json.dumps(export_event(_e01().id)))
        head = _e01().mark_head
    return archive, head


def test_the_day_comes_back_to_the_centre_with_its_chain(app, day):
    archive, head = day
    with app.app_context():
        counts = import_event(archive)
        db.session.commit()
        event = _e01()
        assert counts["marks"] == len(archive["tables"]["mark_events"]) == 8
        assert counts["results_differ"] == 0
        assert event.mark_head == head
        assert judging.verify_marks(event) is None
        correction = db.session.scalar(select(MarkEvent).where(MarkEvent.reason == "看错了"))
        assert correction.supersedes_id is not None
        # Importing the same day again adds nothing.
        again = import_event(archive)
        assert again["marks"] == 0


def test_a_changed_mark_is_refused_and_nothing_is_imported(app, day):
    archive, _head = day
    archive["tables"]["mark_events"][3]["value"] = "9.00"
    archive["digest"] = digest(archive)
    with app.app_context():
        with pytest.raises(InvalidInput):
            import_event(archive)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(MarkEvent)) == 0


def test_a_damaged_file_is_refused(app, day):
    archive, _head = day
    archive["tables"]["check_ins"] = [{"id": 1}]
    with app.app_context(), pytest.raises(InvalidInput):
        import_event(archive)


def test_marks_taken_at_the_centre_meanwhile_stop_the_import(app, day):
    archive, _head = day
    with app.app_context():
        assignment = judging.assignment_for(_user("judge2"), _e01())
        _mark("judge2", sorted(assignment.codes)[0], assignment.criteria[0], "3")
        db.session.commit()
        with pytest.raises(Conflict):
            import_event(archive)


def test_a_venue_copy_needs_an_empty_database(app, venue):
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()
        copy = export_competition(_e01().competition_id)
        with pytest.raises(Conflict):
            import_competition(copy, keep_ids=True)


def test_a_wrong_supersedes_link_is_found_by_verify(venue, day):
    with venue.app_context():
        event = _e01()
        rows = db.session.scalars(
            select(MarkEvent).where(MarkEvent.event_id == event.id).order_by(MarkEvent.seq)
        ).all()
        rows[1].supersedes_id = rows[2].id  # the correction now points at another cell
        db.session.flush()
        assert judging.verify_marks(event) == rows[1].seq


def test_cli_round_trip(app, venue, tmp_path, day):
    archive, _head = day
    path = tmp_path / "day.json"
    path.write_text(json.dumps(archive, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["compete", "import-event", str(path)])
    assert result.exit_code == 0, result.output
    assert "marks=8" in result.output and "agree" in result.output
