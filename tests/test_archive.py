"""Competition archives: a round trip into another database keeps every row and the mark chain;
a damaged or tampered archive, or one already imported, is refused whole."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from compete.archive import digest, export_competition, import_competition
from compete.blueprints.judging import services as judging
from compete.demo import DEMO_NAME, load_demo
from compete.domain.errors import Conflict, InvalidInput
from compete.extensions import db
from compete.models import (
    AuditEntry,
    Competition,
    Entry,
    EntryMember,
    Event,
    MarkEvent,
    Person,
    ReviewCode,
    SchemeCriterion,
    User,
)

from .conftest import build_app

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)
PASSWORD = "Demo-pass-2026"


def _user(name):
    return db.session.scalar(select(User).where(User.username == name))


def _marked_demo() -> int:
    """The demo with a few marks on E01; returns the competition id."""
    load_demo(password=PASSWORD)
    db.session.commit()
    event = db.session.scalar(select(Event).where(Event.code == "E01"))
    assignment = judging.assignment_for(_user("judge1"), event)
    code = sorted(assignment.codes)[0]
    for criterion, value in zip(assignment.criteria[:3], ("5", "6.5", "7"), strict=True):
        judging.record_mark(
            _user("judge1"),
            event,
            judging.MarkInput(
                client_id=str(uuid.uuid4()),
                code=code,
                criterion_id=criterion.id,
                value=Decimal(value),
                base=None,
                entered_at=NOW,
                reason=None,
                device="test",
            ),
            now=NOW,
        )
    db.session.commit()
    return event.competition_id


def _counts():
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Competition, Event, Entry, EntryMember, Person, MarkEvent, ReviewCode)
    }


@pytest.fixture
def archive(app):
    with app.app_context():
        competition_id = _marked_demo()
        data = json.loads(json.dumps(export_competition(competition_id)))
        return data


@pytest.fixture
def other(tmp_path):
    """A second, empty database (another server)."""
    target = build_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'other.db'}")
    with target.app_context():
        db.create_all()
    yield target
    with target.app_context():
        db.session.remove()
        db.engine.dispose()


def test_round_trip_keeps_registrations_marks_and_the_chain(app, archive, other):
    with app.app_context():
        before = _counts()
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        head, seq = event.mark_head, event.mark_seq
    with other.app_context():
        new_id = import_competition(archive)
        db.session.commit()
        competition = db.session.get(Competition, new_id)
        assert competition.name == DEMO_NAME
        after = _counts()
        # The national competition the demo feeds is another competition: not in the archive.
        assert after["Entry"] == before["Entry"]
        assert after["MarkEvent"] == before["MarkEvent"] == 3
        assert after["Person"] == before["Person"]
        event = db.session.scalar(
            select(Event).where(Event.competition_id == new_id, Event.code == "E01")
        )
        assert (event.mark_head, event.mark_seq) == (head, seq)
        assert judging.verify_marks(event) is None  # the restored chain still verifies
        # Imported accounts exist but cannot sign in until an administrator sets a password.
        judge = _user("judge1")
        assert judge is not None and not judge.check_password(PASSWORD)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "competition.import")
            )
            == 1
        )


def test_importing_the_same_competition_twice_is_refused(archive, other):
    with other.app_context():
        import_competition(archive)
        db.session.commit()
        with pytest.raises(Conflict):
            import_competition(archive)


def test_a_changed_mark_breaks_the_chain_and_nothing_is_written(archive, other):
    mark = archive["tables"]["mark_events"][1]
    mark["value"] = str(Decimal(mark["value"]) + 1)
    archive["digest"] = digest(archive)  # a careful forger fixes the digest too
    with other.app_context():
        with pytest.raises(InvalidInput) as refused:
            import_competition(archive)
        assert refused.value.params["seq"] == 2
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Competition)) == 0


def test_a_removed_last_mark_is_found_against_the_event_head(archive, other):
    archive["tables"]["mark_events"].pop()
    archive["digest"] = digest(archive)
    with other.app_context(), pytest.raises(InvalidInput):
        import_competition(archive)


@pytest.mark.parametrize(
    "damage",
    [
        lambda a: a.update(format="something-else"),
        lambda a: a.update(version=99),
        lambda a: a["tables"]["entries"][0].update(note="edited"),  # digest no longer fits
    ],
)
def test_damaged_archives_are_refused(archive, other, damage):
    damage(archive)
    with other.app_context(), pytest.raises(InvalidInput):
        import_competition(archive)


def test_passwords_and_sessions_never_leave_the_server(archive):
    users = archive["tables"]["users"]
    assert users and all("password_hash" not in u for u in users)
    assert "login_sessions" not in archive["tables"]
    assert "api_tokens" not in archive["tables"]


def test_cli_export_then_import(app, runner, tmp_path, other):
    with app.app_context():
        competition_id = _marked_demo()
    path = tmp_path / "archive.json"
    result = runner.invoke(args=["compete", "export", str(competition_id), "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 marks" in result.output
    imported = other.test_cli_runner().invoke(args=["compete", "import", str(path)])
    assert imported.exit_code == 0, imported.output
    again = other.test_cli_runner().invoke(args=["compete", "import", str(path)])
    assert again.exit_code != 0 and "already" in again.output


def test_criteria_are_remapped_to_the_new_scheme(archive, other):
    with other.app_context():
        new_id = import_competition(archive)
        db.session.commit()
        event = db.session.scalar(
            select(Event).where(Event.competition_id == new_id, Event.code == "E01")
        )
        for mark in db.session.scalars(select(MarkEvent).where(MarkEvent.event_id == event.id)):
            criterion = db.session.get(SchemeCriterion, mark.criterion_id)
            assert criterion.module.scheme.event_id == event.id


def test_an_archive_with_marks_is_refused_by_a_server_holding_other_data(archive, other):
    """Its rows would be re-numbered and the chains could no longer be verified there."""
    from .factories import make_competition

    with other.app_context():
        make_competition(name="另一个竞赛")
        db.session.commit()
        with pytest.raises(Conflict):
            import_competition(archive)
