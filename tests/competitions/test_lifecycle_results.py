"""The lifecycle after scoring: the results guards answer from the data, and entering a state
stores, withdraws or finalises the publication in the same step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from compete.blueprints.competitions import lifecycle
from compete.domain.errors import Conflict, InvalidInput
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AuditEntry, Event, Publication, Role, User

from ..factories import make_user
from ..results.test_review import build_marked_event, page_token, sign_in
from ..scenario import NOW, ranked_event

LATER = NOW + timedelta(days=1)
RESULTS_GUARDS = (
    "totals_submitted",
    "recheck_done",
    "ranks_computed",
    "publicity_over_no_open_appeals",
    "results_final",
)


def _organiser(scenario) -> User:
    return make_user(Role.ORGANISER, competition_id=scenario.competition_id)


def test_the_results_guards_are_wired(app):
    for key in RESULTS_GUARDS:
        assert key in lifecycle.GUARDS
    assert EventState.PUBLICITY in lifecycle.ON_ENTER


def test_going_back_to_review_withdraws_the_publication_with_the_reason(app):
    with app.app_context():
        scenario = ranked_event(6, state=EventState.PUBLICITY)
        event = db.session.get(Event, scenario.event_id)
        organiser = _organiser(scenario)
        version = event.results_version
        with pytest.raises(InvalidInput):
            lifecycle.transition_event(
                organiser, event, EventState.UNDER_REVIEW, reason=" ", now=LATER
            )
        assert db.session.get(Publication, scenario.publication_id).withdrawn_at is None
        lifecycle.transition_event(
            organiser, event, EventState.UNDER_REVIEW, reason="异议成立", now=LATER
        )
        publication = db.session.get(Publication, scenario.publication_id)
        assert (publication.withdrawn_at, publication.withdrawn_reason) == (LATER, "异议成立")
        assert event.results_version > version
        assert lifecycle.GUARDS["ranks_computed"](event, LATER)
        assert not lifecycle.GUARDS["recheck_done"](event, LATER)  # no review yet


def test_cancelling_during_publicity_withdraws_the_publication(app):
    with app.app_context():
        scenario = ranked_event(4, state=EventState.PUBLICITY)
        event = db.session.get(Event, scenario.event_id)
        lifecycle.transition_event(
            _organiser(scenario), event, EventState.CANCELLED, reason="赛项取消", now=LATER
        )
        assert db.session.get(Publication, scenario.publication_id).withdrawn_at == LATER


def test_results_final_holds_only_in_final(app):
    with app.app_context():
        scenario = ranked_event(4, state=EventState.PUBLICITY)
        event = db.session.get(Event, scenario.event_id)
        assert not lifecycle.GUARDS["results_final"](event, LATER)
        event.state = EventState.FINAL
        assert lifecycle.GUARDS["results_final"](event, LATER)
        with pytest.raises(Conflict) as refused:  # external decisions are someone else's guard
            lifecycle.transition_event(
                _organiser(scenario), event, EventState.AWARDS_ISSUED, reason=None, now=LATER
            )
        assert "results_final" not in str(refused.value)


def test_ranks_are_not_computed_once_the_chain_has_grown(app):
    with app.app_context():
        scenario = ranked_event(4, state=EventState.UNDER_REVIEW)
        event = db.session.get(Event, scenario.event_id)
        assert lifecycle.GUARDS["ranks_computed"](event, LATER)
        event.mark_seq += 1
        assert not lifecycle.GUARDS["ranks_computed"](event, LATER)
        assert not lifecycle.GUARDS["totals_submitted"](event, LATER)


def test_locking_without_computable_results_leaves_the_totals_unsubmitted(app):
    with app.app_context():
        # Theory weight 0.30 and no theory score: the engine refuses, nothing is stored.
        data = build_marked_event(
            3, overrides={"theory_weight": "0.30"}, state=EventState.SCORING_LOCKED
        )
        event = db.session.get(Event, data.event_id)
        assert event.state is EventState.SCORING_LOCKED
        assert not lifecycle.GUARDS["totals_submitted"](event, NOW)
        chief = db.session.get(User, data.user_ids["chief"])
        steps = lifecycle.next_steps(chief, event, now=NOW)
        submit = next(s for s in steps if s.target is EventState.UNDER_REVIEW)
        assert submit.missing == ("totals_submitted",)


def test_final_finalises_and_logs(app):
    with app.app_context():
        scenario = ranked_event(4, state=EventState.PUBLICITY)
        event = db.session.get(Event, scenario.event_id)
        organiser = _organiser(scenario)
        after_window = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
        lifecycle.transition_event(
            organiser, event, EventState.FINAL, reason=None, now=after_window
        )
        publication = db.session.get(Publication, scenario.publication_id)
        assert publication.finalised_at == after_window
        assert db.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "results.finalised")
        )


def test_the_event_tabs_link_the_results_pages(app, client, auth):
    with app.app_context():
        scenario = ranked_event(3, state=EventState.UNDER_REVIEW)
        supervisor = make_user(Role.SUPERVISOR, event_id=scenario.event_id).username
        db.session.commit()
        event_id = scenario.event_id
    sign_in(auth, supervisor)
    html = client.get(f"/events/{event_id}").get_data(as_text=True)
    for path in ("review", "publicity", "appeals"):
        assert f'href="/events/{event_id}/{path}"' in html
    assert page_token(client, f"/events/{event_id}/review")
