"""Double entry (measurement): two judges enter the same value; any difference blocks the lock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from compete.blueprints.judging import services
from compete.demo import load_demo
from compete.domain.scheme import AspectKind
from compete.extensions import db
from compete.models import Event, ReviewCode, SchemeCriterion, User

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)
PASSWORD = "Demo-pass-2026"


@pytest.fixture
def single_cell(app):
    """The demo reduced to one marking code and one measurement criterion marked by two."""
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        criterion = next(
            c
            for c in services._scheme_criteria(event)
            if c.kind is AspectKind.MEASUREMENT and c.tolerance is None
        )
        judges = [
            db.session.scalar(select(User).where(User.username == f"judge{i}")) for i in range(1, 6)
        ]
        first = services.assignment_for(judges[0], event)
        code = next(
            c
            for c in sorted(first.codes)
            if sum(c in services.assignment_for(j, event).codes for j in judges) >= 2
        )
        markers = [j for j in judges if code in services.assignment_for(j, event).codes][:2]
        db.session.execute(
            delete(SchemeCriterion).where(
                SchemeCriterion.id.in_([c.id for c in services._scheme_criteria(event)]),
                SchemeCriterion.id != criterion.id,
            )
        )
        db.session.execute(
            delete(ReviewCode).where(ReviewCode.event_id == event.id, ReviewCode.code != code)
        )
        criterion.judges = 2
        criterion.double_entry = True
        db.session.commit()
        return {
            "event_id": event.id,
            "criterion_id": criterion.id,
            "code": code,
            "markers": [j.id for j in markers],
        }


def _enter(user_id, cell, value, *, base=None, reason=None):
    event = db.session.get(Event, cell["event_id"])
    user = db.session.get(User, user_id)
    return services.record_mark(
        user,
        event,
        services.MarkInput(
            client_id=str(uuid.uuid4()),
            code=cell["code"],
            criterion_id=cell["criterion_id"],
            value=Decimal(value),
            base=base,
            entered_at=NOW,
            reason=reason,
            device="test",
        ),
        now=NOW,
    ).mark


def _cell(cell):
    event = db.session.get(Event, cell["event_id"])
    progress = services.panel_progress(event)
    return event, progress.cells[(cell["code"], cell["criterion_id"])]


def test_double_entry_needs_two_entries(app, single_cell):
    with app.app_context():
        first, _second = single_cell["markers"]
        _enter(first, single_cell, "4")
        db.session.commit()
        event, cell = _cell(single_cell)
        assert (cell.marked, cell.expected, cell.complete) == (1, 2, False)
        assert not services.sheets_complete(event)


def test_a_mismatch_flags_the_cell_and_blocks_the_lock_until_they_agree(app, single_cell):
    with app.app_context():
        first, second = single_cell["markers"]
        _enter(first, single_cell, "4")
        wrong = _enter(second, single_cell, "3.5")
        db.session.commit()
        event, cell = _cell(single_cell)
        assert cell.complete
        assert cell.mismatch and cell.flagged
        assert not services.sheets_complete(event)

        _enter(second, single_cell, "4", base=wrong.id, reason="复测")
        db.session.commit()
        event, cell = _cell(single_cell)
        assert cell.complete and not cell.mismatch and not cell.flagged
        assert services.sheets_complete(event)


def test_without_double_entry_a_measurement_difference_is_not_flagged(app, single_cell):
    with app.app_context():
        criterion = db.session.get(SchemeCriterion, single_cell["criterion_id"])
        criterion.double_entry = False
        db.session.commit()
        first, second = single_cell["markers"]
        _enter(first, single_cell, "4")
        _enter(second, single_cell, "3.5")
        db.session.commit()
        event, cell = _cell(single_cell)
        assert not cell.mismatch and not cell.flagged
        assert services.sheets_complete(event)
