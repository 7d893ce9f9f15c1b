"""The shared ranked-event scenario builds what later stages read."""

from __future__ import annotations

from sqlalchemy import select

from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import EntryScore, Event, Publication

from .scenario import ranked_event


def test_ranked_event_has_ranks_in_order_and_a_publication(app):
    with app.app_context():
        s = ranked_event(5, finals=[90, 85, 85, 70, 50], state=EventState.FINAL)
        db.session.commit()
        rows = {r.entry_id: r for r in db.session.scalars(select(EntryScore))}
        # Equal finals and modules share a rank ("1224"); below the pass mark 60: unranked.
        assert [rows[e].rank for e in s.entry_ids] == [1, 2, 2, 4, None]
        assert db.session.get(Event, s.event_id).state is EventState.FINAL
        assert db.session.get(Publication, s.publication_id).finalised_at is not None
