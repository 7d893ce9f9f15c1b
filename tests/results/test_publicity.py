"""Publication (公示, §4.8): five working days counted on the official calendar (holidays and
调休), the appeal deadline from the event end or the publication, the chain head, refusals
before the review is done, the organiser's holiday calendar, and final only after the window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from compete.blueprints.competitions import lifecycle
from compete.blueprints.results import appeals, publicity, review
from compete.domain.calendar import default_prc_calendar, publicity_window
from compete.domain.errors import Conflict
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    Appeal,
    AuditEntry,
    Entry,
    Event,
    Holiday,
    Publication,
    Role,
    User,
)

from ..factories import make_user
from ..scenario import ranked_event
from .test_review import page_token, sign_in

# 2026-09-30 10:00 in Beijing, a Wednesday before the National Day holiday (10-01 … 10-07);
# Saturday 10-10 is a working day (调休).
EVE = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


def ready_to_publish(n: int = 12, **overrides) -> dict:
    """A ranked, unsealed event under review whose sample review is complete. Commit after."""
    scenario = ranked_event(n, state=EventState.UNDER_REVIEW)
    event = db.session.get(Event, scenario.event_id)
    if overrides:
        event.overrides = {**(event.overrides or {}), **overrides}
    supervisor = make_user(Role.SUPERVISOR, event_id=event.id)
    organiser = make_user(Role.ORGANISER, competition_id=scenario.competition_id)
    current = review.start_review(supervisor, event, now=EVE - timedelta(days=1), seed="s")
    for entry_id in list(current.entry_ids):
        entry = db.session.get(Entry, entry_id)
        review.confirm_entry(supervisor, current, entry, now=EVE - timedelta(days=1))
    assert review.recheck_done(event)
    return {
        "event_id": event.id,
        "competition_id": scenario.competition_id,
        "entry_ids": scenario.entry_ids,
        "unit_ids": scenario.unit_ids,
        "person_ids": scenario.person_ids,
        "supervisor": supervisor.username,
        "supervisor_id": supervisor.id,
        "organiser": organiser.username,
        "organiser_id": organiser.id,
    }


def publish(data, now):
    event = db.session.get(Event, data["event_id"])
    organiser = db.session.get(User, data["organiser_id"])
    lifecycle.transition_event(organiser, event, EventState.PUBLICITY, reason=None, now=now)
    return event


@pytest.fixture
def ready(app):
    with app.app_context():
        data = ready_to_publish()
        db.session.commit()
        return data


# ---------------------------------------------------------------- the window


def test_five_working_days_skip_national_day_and_count_the_weekend_working_day(app, ready):
    with app.app_context():
        event = db.session.get(Event, ready["event_id"])
        event.end_at = EVE - timedelta(hours=20)  # 09-29 14:00 in Beijing
        event = publish(ready, EVE)
        db.session.commit()
        pub = db.session.scalar(select(Publication))
        # Day 1 = 09-30 (Wed); 10-01 … 10-07 off; 10-08, 10-09, 10-10 (Sat, 调休), 10-12.
        assert (pub.publicity_start, pub.publicity_end) == (date(2026, 9, 30), date(2026, 10, 12))
        # Anchored to the event end (the default): 120 minutes after it.
        assert pub.appeal_deadline == event.end_at + timedelta(minutes=120)
        assert (pub.chain_head, pub.marks_seq) == (event.mark_head, event.mark_seq)
        assert pub.published_at == EVE and pub.withdrawn_at is None
        assert event.state is EventState.PUBLICITY
        logged = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "results.published")
        )
        assert logged.after["publicity_end"] == "2026-10-12"


def test_published_on_a_holiday_the_window_starts_on_the_next_working_day(app):
    with app.app_context():
        data = ready_to_publish(appeal_anchor="result_release")
        saturday_off = datetime(2026, 10, 3, 4, 0, tzinfo=UTC)  # a National Day holiday
        publish(data, saturday_off)
        pub = db.session.scalar(select(Publication))
        assert (pub.publicity_start, pub.publicity_end) == (date(2026, 10, 8), date(2026, 10, 13))
        assert pub.appeal_deadline == saturday_off + timedelta(minutes=120)


def test_the_window_is_counted_on_the_beijing_date(app, ready):
    with app.app_context():
        late_evening = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)  # 10-01 01:00 in Beijing
        publish(ready, late_evening)
        pub = db.session.scalar(select(Publication))
        assert pub.publicity_start == date(2026, 10, 8)


def test_organiser_calendar_changes_move_the_window(app, client, auth, ready):
    with app.app_context():
        global_organiser = make_user(Role.ORGANISER)
        db.session.commit()
        username = global_organiser.username
    sign_in(auth, username)
    token = page_token(client, "/holidays")
    # An extra day off on Monday 10-12, and Saturday 10-10 not worked after all.
    for day, kind in (("2026-10-12", "holiday"), ("2026-10-10", "holiday")):
        response = client.post(
            "/holidays", data={"csrf_token": token, "day": day, "kind": kind, "name": "测试"}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    html = client.get("/holidays").get_data(as_text=True)
    assert 'data-day="2026-10-12" data-kind="holiday"' in html
    with app.app_context():
        plan = publicity.plan_publication(db.session.get(Event, ready["event_id"]), now=EVE)
        # 09-30, 10-08, 10-09, 10-13, 10-14.
        assert (plan.publicity_start, plan.publicity_end) == (date(2026, 9, 30), date(2026, 10, 14))
        row = db.session.scalar(select(Holiday).where(Holiday.day == date(2026, 10, 10)))
        row_id = row.id
    response = client.post(f"/holidays/{row_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        plan = publicity.plan_publication(db.session.get(Event, ready["event_id"]), now=EVE)
        assert plan.publicity_end == date(2026, 10, 13)
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action.like("calendar.%"))
            )
            == 3
        )


def test_the_calendar_page_refuses_days_that_change_nothing(app, client, auth):
    with app.app_context():
        username = make_user(Role.ORGANISER).username
        db.session.add(Holiday(day=date(2026, 11, 2), is_workday=False, name="x"))
        db.session.commit()
    sign_in(auth, username)
    token = page_token(client, "/holidays")
    cases = {
        ("2026-11-04", "workday"): 422,  # a Wednesday is a working day already
        ("2026-11-07", "holiday"): 422,  # a Saturday is a day off already
        ("2026-11-02", "holiday"): 409,  # already listed
        ("", "holiday"): 422,
        ("2026-13-40", "holiday"): 422,
    }
    for (day, kind), status in cases.items():
        response = client.post("/holidays", data={"csrf_token": token, "day": day, "kind": kind})
        assert response.status_code == status, (day, kind)
    with app.app_context():
        assert db.session.scalar(select(func.count(Holiday.id))) == 1


def test_a_competition_organiser_cannot_edit_the_calendar(app, client, auth, ready):
    sign_in(auth, ready["organiser"])
    assert client.get("/holidays").status_code == 403


def test_the_default_calendar_is_the_state_council_one():
    calendar = default_prc_calendar((2026,))
    assert publicity_window(date(2026, 9, 30), calendar=calendar) == (
        date(2026, 9, 30),
        date(2026, 10, 12),
    )


# ---------------------------------------------------------------- publishing through the app


def test_publishing_before_the_review_is_done_is_refused_with_the_reason(app, client, auth):
    with app.app_context():
        scenario = ranked_event(12, state=EventState.UNDER_REVIEW)
        organiser = make_user(Role.ORGANISER, competition_id=scenario.competition_id)
        db.session.commit()
        event_id, username = scenario.event_id, organiser.username
    sign_in(auth, username)
    client.set_cookie("lang", "en")
    page = client.get(f"/events/{event_id}/publicity").get_data(as_text=True)
    assert 'data-guard="recheck_done" data-ok="no"' in page
    assert 'data-guard="unsealed" data-ok="yes"' in page
    assert "disabled" in page.split('value="publicity"')[1].split("</form>")[0]
    token = page_token(client, f"/events/{event_id}/publicity")
    response = client.post(
        f"/events/{event_id}/transition",
        data={"csrf_token": token, "target": "publicity"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "the score review is complete" in html
    with app.app_context():
        assert db.session.get(Event, event_id).state is EventState.UNDER_REVIEW
        assert db.session.scalar(select(func.count(Publication.id))) == 0


def test_results_cannot_be_published_before_the_scores_are_locked(app, client, auth):
    with app.app_context():
        scenario = ranked_event(5, state=EventState.IN_PROGRESS)
        organiser = make_user(Role.ORGANISER, competition_id=scenario.competition_id)
        db.session.commit()
        event_id, username = scenario.event_id, organiser.username
    sign_in(auth, username)
    token = page_token(client, f"/events/{event_id}/publicity")
    response = client.post(
        f"/events/{event_id}/transition",
        data={"csrf_token": token, "target": "publicity"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Event, event_id).state is EventState.IN_PROGRESS
        assert db.session.scalar(select(func.count(Publication.id))) == 0
        event = db.session.get(Event, event_id)
        user = db.session.scalar(select(User).where(User.username == username))
        with pytest.raises(Conflict, match="in_progress to publicity"):
            lifecycle.transition_event(user, event, EventState.PUBLICITY, reason=None, now=EVE)


def test_the_publish_button_stores_the_publication(app, client, auth, ready):
    sign_in(auth, ready["organiser"])
    page = client.get(f"/events/{ready['event_id']}/publicity").get_data(as_text=True)
    assert 'id="publication-plan"' in page
    form = page.split('value="publicity"')[1].split("</form>")[0]
    assert "disabled" not in form
    token = page_token(client, f"/events/{ready['event_id']}/publicity")
    response = client.post(
        f"/events/{ready['event_id']}/transition",
        data={
            "csrf_token": token,
            "target": "publicity",
            "next": f"/events/{ready['event_id']}/publicity",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/events/{ready['event_id']}/publicity")
    with app.app_context():
        event = db.session.get(Event, ready["event_id"])
        pub = db.session.scalar(select(Publication))
        today = publicity.local_day(pub.published_at)
        calendar = publicity.effective_calendar((today.year, today.year + 1))
        assert (pub.publicity_start, pub.publicity_end) == publicity_window(
            today, calendar=calendar
        )
        assert pub.published_by_id == ready["organiser_id"]
        assert event.results_version >= 2
        head = pub.chain_head
    html = client.get(f"/events/{ready['event_id']}/publicity").get_data(as_text=True)
    assert f'id="chain-head">{head}<' in html
    assert 'data-state="publicity"' in html


# ---------------------------------------------------------------- final


def test_final_only_after_the_last_day_in_beijing_and_with_no_open_appeal(app, ready):
    with app.app_context():
        event = publish(ready, EVE)  # window 09-30 … 10-12
        organiser = db.session.get(User, ready["organiser_id"])
        last_evening = datetime(2026, 10, 12, 15, 0, tzinfo=UTC)  # 10-12 23:00 in Beijing
        after = datetime(2026, 10, 12, 16, 30, tzinfo=UTC)  # 10-13 00:30 in Beijing
        with pytest.raises(Conflict, match="publicity_over_no_open_appeals"):
            lifecycle.transition_event(
                organiser, event, EventState.FINAL, reason=None, now=last_evening
            )
        appeal = Appeal(
            event_id=event.id, entry_id=ready["entry_ids"][0], text="异议", filed_at=EVE
        )
        db.session.add(appeal)
        db.session.flush()
        with pytest.raises(Conflict, match="publicity_over_no_open_appeals"):
            lifecycle.transition_event(organiser, event, EventState.FINAL, reason=None, now=after)
        supervisor = db.session.get(User, ready["supervisor_id"])
        appeals.decide_appeal(supervisor, appeal, upheld=False, decision="驳回", now=after)
        lifecycle.transition_event(organiser, event, EventState.FINAL, reason=None, now=after)
        pub = db.session.scalar(select(Publication))
        assert (pub.finalised_at, pub.finalised_by_id) == (after, organiser.id)
        assert lifecycle.GUARDS["results_final"](event, after)
