"""Appeals (申诉, §4.8): filed in writing by the contestant or their own unit, in time (at the
deadline counts), refused when late or for someone else's result; decided by the supervision
panel, finally; an upheld appeal sends the results back to review, where they are corrected and
published again with a new chain head."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from compete.blueprints.competitions import lifecycle
from compete.blueprints.results import appeals, review
from compete.domain.errors import Conflict
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    Appeal,
    AppealStatus,
    AuditEntry,
    Entry,
    Event,
    Person,
    Publication,
    Role,
    User,
)

from ..factories import make_user
from ..scenario import NOW, ranked_event
from .test_review import build_marked_event, open_all_layers, page_token, sign_in

DEADLINE = NOW + timedelta(hours=2)  # the scenario's publication: 2 h after NOW


@contextmanager
def signed_in_at(auth, username, moment):
    """Sign in and act at ``moment`` (the clock stands still inside)."""
    with freeze_time(moment):
        sign_in(auth, username)
        yield


@pytest.fixture
def published(app):
    """37 entries in publicity; accounts for entry 0's contestant and unit, and unit 1."""
    with app.app_context():
        scenario = ranked_event(37, state=EventState.PUBLICITY)
        person = db.session.get(Person, scenario.person_ids[0])
        users = {
            "contestant": make_user(Role.CONTESTANT, username=person.id_number),
            "unit": make_user(Role.UNIT_CONTACT, unit_id=scenario.unit_ids[0]),
            "other_unit": make_user(Role.UNIT_CONTACT, unit_id=scenario.unit_ids[1]),
            "supervisor": make_user(Role.SUPERVISOR, event_id=scenario.event_id),
        }
        db.session.commit()
        return {
            "event_id": scenario.event_id,
            "entry_ids": scenario.entry_ids,
            "unit_ids": scenario.unit_ids,
            "publication_id": scenario.publication_id,
            "users": {k: u.username for k, u in users.items()},
            "user_ids": {k: u.id for k, u in users.items()},
            "name": person.name,
        }


def _file(client, event_id, entry_id, text="C2 的计分有误，请复核。"):
    token = page_token(client, f"/events/{event_id}/appeals/new")
    return client.post(
        f"/events/{event_id}/appeals/new",
        data={"csrf_token": token, "entry_id": entry_id, "text": text},
    )


def _count():
    return db.session.scalar(select(func.count(Appeal.id)))


# ---------------------------------------------------------------- filing


def test_the_contestant_files_in_time_from_their_account(app, client, auth, published):
    event_id, entry_id = published["event_id"], published["entry_ids"][0]
    with signed_in_at(auth, published["users"]["contestant"], NOW + timedelta(hours=1)):
        home = client.get("/").get_data(as_text=True)
        assert 'id="my-appeals-link"' in home
        mine = client.get("/account/appeals").get_data(as_text=True)
        assert f'data-entry="{entry_id}" data-open="yes"' in mine
        form = client.get(f"/events/{event_id}/appeals/new").get_data(as_text=True)
        assert published["name"] in form and 'data-open="yes"' in form
        assert f'value="{published["entry_ids"][1]}"' not in form  # only their own entry
        response = _file(client, event_id, entry_id)
        assert response.status_code == 302
        filed = client.get(response.headers["Location"]).get_data(as_text=True)
        assert 'data-status="open"' in filed
    with app.app_context():
        appeal = db.session.scalar(select(Appeal))
        assert (appeal.entry_id, appeal.filed_by_id) == (
            entry_id,
            published["user_ids"]["contestant"],
        )
        assert appeal.publication_id == published["publication_id"]
        assert appeal.status is AppealStatus.OPEN
        assert appeal.filed_at == NOW + timedelta(hours=1)


def test_an_appeal_at_the_deadline_is_in_time(app, client, auth, published):
    with signed_in_at(auth, published["users"]["unit"], DEADLINE):
        response = _file(client, published["event_id"], published["entry_ids"][0])
        assert response.status_code == 302
    with app.app_context():
        assert _count() == 1
        assert db.session.scalar(select(Appeal.filed_at)) == DEADLINE


def test_a_late_appeal_is_refused_with_the_deadline_and_nothing_is_saved(
    app, client, auth, published
):
    with signed_in_at(auth, published["users"]["unit"], DEADLINE + timedelta(seconds=1)):
        client.set_cookie("lang", "en")
        response = _file(client, published["event_id"], published["entry_ids"][0])
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert "2026-12-20 20:00" in html  # 12:00 UTC, in Beijing time
        assert "refused" in html
    with app.app_context():
        assert _count() == 0


def test_an_appeal_for_another_units_or_persons_result_is_refused(app, client, auth, published):
    event_id, own, other = published["event_id"], *published["entry_ids"][:2]
    with signed_in_at(auth, published["users"]["other_unit"], NOW + timedelta(minutes=30)):
        form = client.get(f"/events/{event_id}/appeals/new").get_data(as_text=True)
        assert f'value="{other}"' in form and f'value="{own}"' not in form
        assert _file(client, event_id, own).status_code == 403
    with signed_in_at(auth, published["users"]["contestant"], NOW + timedelta(minutes=30)):
        assert _file(client, event_id, other).status_code == 403
    with app.app_context():
        assert _count() == 0


def test_an_appeal_needs_a_text(app, client, auth, published):
    with signed_in_at(auth, published["users"]["unit"], NOW + timedelta(minutes=5)):
        response = _file(client, published["event_id"], published["entry_ids"][0], text="  ")
        assert response.status_code == 422
    with app.app_context():
        assert _count() == 0


def test_the_unit_contact_reaches_the_form_from_the_unit_page(app, client, auth, published):
    unit_id, event_id = published["unit_ids"][0], published["event_id"]
    with signed_in_at(auth, published["users"]["unit"], NOW + timedelta(minutes=5)):
        home = client.get(f"/units/{unit_id}").get_data(as_text=True)
        assert f'href="/units/{unit_id}/appeals"' in home
        page = client.get(f"/units/{unit_id}/appeals").get_data(as_text=True)
        assert f'data-entry="{published["entry_ids"][0]}" data-open="yes"' in page
        assert f'href="/events/{event_id}/appeals/new"' in page
        assert client.get(f"/units/{published['unit_ids'][1]}/appeals").status_code == 403


def test_anchored_to_the_event_end_appeals_are_taken_before_publication(app):
    with app.app_context():
        scenario = ranked_event(5, state=EventState.SCORING_LOCKED)
        event = db.session.get(Event, scenario.event_id)
        event.end_at = datetime(2026, 12, 19, 9, 0, tzinfo=UTC)
        contact = make_user(Role.UNIT_CONTACT, unit_id=scenario.unit_ids[2])
        entry = db.session.get(Entry, scenario.entry_ids[2])
        deadline = event.end_at + timedelta(minutes=120)
        assert appeals.appeal_window(event).deadline == deadline
        appeal = appeals.file_appeal(contact, entry, text="设备故障", now=deadline)
        assert appeal.publication_id is None
        appeal.status = AppealStatus.DISMISSED
        with pytest.raises(appeals.AppealTooLate):
            appeals.file_appeal(
                contact, entry, text="再次申诉", now=deadline + timedelta(minutes=1)
            )
        assert _count() == 1


# ---------------------------------------------------------------- deciding


def test_a_dismissal_is_final_and_shown_with_its_history(app, client, auth, published):
    with app.app_context():
        contact = db.session.get(User, published["user_ids"]["unit"])
        entry = db.session.get(Entry, published["entry_ids"][0])
        appeal = appeals.file_appeal(contact, entry, text="请复核", now=NOW)
        db.session.commit()
        appeal_id = appeal.id
    event_id = published["event_id"]
    with signed_in_at(auth, published["users"]["supervisor"], NOW + timedelta(hours=3)):
        inbox = client.get(f"/events/{event_id}/appeals").get_data(as_text=True)
        assert f'id="appeal-{appeal_id}" data-status="open"' in inbox
        assert "95.00" in inbox  # the entry's final score (codes are unsealed in publicity)
        token = page_token(client, f"/events/{event_id}/appeals")
        url = f"/events/{event_id}/appeals/{appeal_id}/decide"
        assert (
            client.post(url, data={"csrf_token": token, "outcome": "dismissed"}).status_code == 422
        )
        data = {"csrf_token": token, "outcome": "dismissed", "decision": "计分无误，驳回。"}
        assert client.post(url, data=data).status_code == 302
        again = dict(data, outcome="upheld", decision="改判")
        refused = client.post(url, data=again)
        assert refused.status_code == 409
        assert 'role="alert"' in refused.get_data(as_text=True).split(f'id="appeal-{appeal_id}"')[1]
        inbox = client.get(f"/events/{event_id}/appeals").get_data(as_text=True)
        assert f'id="appeal-{appeal_id}" data-status="dismissed"' in inbox
        assert 'data-kind="dismissed"' in inbox and "计分无误，驳回。" in inbox
    with app.app_context():
        assert db.session.get(Event, event_id).state is EventState.PUBLICITY
        appeal = db.session.get(Appeal, appeal_id)
        assert (appeal.status, appeal.decided_by_id) == (
            AppealStatus.DISMISSED,
            published["user_ids"]["supervisor"],
        )


def test_only_the_supervision_panel_sees_the_inbox(app, client, auth, published):
    with signed_in_at(auth, published["users"]["unit"], NOW):
        assert client.get(f"/events/{published['event_id']}/appeals").status_code == 403


def test_upheld_appeal_goes_back_to_review_is_corrected_and_republished(app, client, auth):
    t0 = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)
    with app.app_context():
        marked = build_marked_event(
            12,
            overrides={
                "review_top_n": 2,
                "review_sample_pct": "0",
                "appeal_anchor": "result_release",
            },
        )
        event = db.session.get(Event, marked.event_id)
        supervisor = db.session.get(User, marked.user_ids["supervisor"])
        sample = review.start_review(supervisor, event, now=t0, seed="s")
        for entry_id in list(sample.entry_ids):
            review.confirm_entry(supervisor, sample, db.session.get(Entry, entry_id), now=t0)
        open_all_layers(marked, now=t0)
        organiser = db.session.get(User, marked.user_ids["organiser"])
        lifecycle.transition_event(organiser, event, EventState.PUBLICITY, reason=None, now=t0)
        first = db.session.scalar(select(Publication))
        first_id, first_head, first_seq = first.id, first.chain_head, first.marks_seq
        appellant = db.session.get(Person, marked.person_ids[3])
        contestant = make_user(Role.CONTESTANT, username=appellant.id_number).username
        db.session.commit()
        event_id, entry_id, code = marked.event_id, marked.entry_ids[3], marked.codes[3]
        judge_id, c2 = marked.user_ids["judge"], marked.criteria["C2"]

    with signed_in_at(auth, contestant, t0 + timedelta(minutes=30)):
        assert _file(client, event_id, entry_id, text="C2 实得 36 分").status_code == 302
    with app.app_context():
        appeal_id = db.session.scalar(select(Appeal.id))

    with signed_in_at(auth, marked.users["supervisor"], t0 + timedelta(hours=1)):
        token = page_token(client, f"/events/{event_id}/appeals")
        response = client.post(
            f"/events/{event_id}/appeals/{appeal_id}/decide",
            data={"csrf_token": token, "outcome": "upheld", "decision": "C2 记录有误，予以改正。"},
        )
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/events/{event_id}/review")
        page = client.get(f"/events/{event_id}/review").get_data(as_text=True)
        assert 'id="appeal-review"' in page and f'id="entry-{code}"' in page
        with app.app_context():
            event = db.session.get(Event, event_id)
            assert event.state is EventState.UNDER_REVIEW
            assert db.session.get(Publication, first_id).withdrawn_at is not None
            assert not review.recheck_done(event)
        response = client.post(
            f"/events/{event_id}/review/correct",
            data={
                "csrf_token": token,
                "code": code,
                f"mark-{judge_id}-{c2}": "36",
                "reason": "申诉成立：C2 为 36",
            },
        )
        assert response.status_code == 302

    with app.app_context():
        event = db.session.get(Event, event_id)
        assert review.recheck_done(event) and review.ranks_computed(event)
        assert event.mark_seq == first_seq + 1

    with signed_in_at(auth, marked.users["organiser"], t0 + timedelta(hours=2)):
        token = page_token(client, f"/events/{event_id}/publicity")
        response = client.post(
            f"/events/{event_id}/transition", data={"csrf_token": token, "target": "publicity"}
        )
        assert response.status_code == 302
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event.state is EventState.PUBLICITY
        current = db.session.scalar(select(Publication).where(Publication.withdrawn_at.is_(None)))
        assert current.chain_head != first_head and current.chain_head == event.mark_head
        assert current.marks_seq == first_seq + 1
        new_head = current.chain_head
        score = next(r for r in review.services.stored_results(event) if r.entry_id == entry_id)
        assert score.final == Decimal("94.50")  # 93.50 with C2 35 → 36
        actions = list(
            db.session.scalars(
                select(AuditEntry.action)
                .where(
                    AuditEntry.action.in_(
                        [
                            "appeal.filed",
                            "appeal.decided",
                            "results.withdrawn",
                            "marks.corrected",
                            "results.published",
                        ]
                    )
                )
                .order_by(AuditEntry.id)
            )
        )
        assert actions == [
            "results.published",
            "appeal.filed",
            "appeal.decided",
            "results.withdrawn",
            "marks.corrected",
            "results.published",
        ]

    with signed_in_at(auth, marked.users["supervisor"], t0 + timedelta(hours=3)):
        inbox = client.get(f"/events/{event_id}/appeals").get_data(as_text=True)
        kinds = [
            part.split('"')[0]
            for part in inbox.split(f'id="appeal-{appeal_id}"')[1].split('data-kind="')[1:]
        ]
        assert kinds == ["filed", "upheld", "withdrawn", "review_corrected", "republished"]
        assert new_head in inbox


def test_a_decided_appeal_cannot_be_decided_again_in_the_service(app, published):
    with app.app_context():
        contact = db.session.get(User, published["user_ids"]["unit"])
        supervisor = db.session.get(User, published["user_ids"]["supervisor"])
        appeal = appeals.file_appeal(
            contact, db.session.get(Entry, published["entry_ids"][0]), text="x", now=NOW
        )
        appeals.decide_appeal(supervisor, appeal, upheld=False, decision="驳回", now=NOW)
        with pytest.raises(Conflict):
            appeals.decide_appeal(supervisor, appeal, upheld=True, decision="改判", now=NOW)
