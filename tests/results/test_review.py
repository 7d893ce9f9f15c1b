"""The score review (复核, §4.7, §8a): the seeded sample of the top 10 and ⌈15% of the rest⌉,
confirmations, corrections as new links of the mark chain with a reason, recomputed results,
and the full recheck when the error rate passes 5%."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from compete.blueprints.competitions import lifecycle
from compete.blueprints.judging import services as judging
from compete.blueprints.judging.corrections import Correction, correct_marks
from compete.blueprints.judging.unseal import LAYERS, unseal_step
from compete.blueprints.results import review
from compete.domain.errors import Conflict, InvalidInput, NotAllowed
from compete.domain.lifecycle import EventState
from compete.domain.review import pick_recheck_sample
from compete.extensions import db
from compete.models import (
    AuditEntry,
    CheckOutcome,
    EntryScore,
    Event,
    Judge,
    MarkEvent,
    MarkKind,
    PanelMember,
    PanelRole,
    Person,
    ResultReview,
    ReviewCheck,
    Role,
    SchemeCriterion,
    User,
)

from ..factories import csrf_from, make_user
from ..scenario import ranked_event

START = datetime(2026, 12, 18, 1, 0, tzinfo=UTC)
END = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)  # 17:00 in Beijing
LOCKED = END + timedelta(minutes=30)


@dataclass
class Marked:
    event_id: int
    entry_ids: list[int]  # in order of finals (best first)
    codes: list[str]
    users: dict[str, str]  # role key → username
    user_ids: dict[str, int]
    person_ids: list[int]
    unit_ids: list[int]
    criteria: dict[str, int]  # C1 / C2 → criterion id


def build_marked_event(
    n: int = 37, *, overrides: dict | None = None, state: EventState = EventState.UNDER_REVIEW
) -> Marked:
    """A ranked event with real marks: one marking judge gives each entry C1 = final − 35 and
    C2 = 35 (scheme M1: C1 out of 60, C2 out of 40, one judge each), the chief judge locks the
    scoring (the results are stored) and submits the totals (→ under review). No review yet,
    codes still sealed. The caller commits."""
    scenario = ranked_event(n, state=EventState.IN_PROGRESS)
    event = db.session.get(Event, scenario.event_id)
    # Nothing is stored before marking: the results come from the marks below.
    db.session.execute(EntryScore.__table__.delete().where(EntryScore.event_id == event.id))
    event.overrides = {"theory_weight": "0", **(overrides or {})}
    event.start_at, event.end_at = START, END
    users = {
        "chief": make_user(Role.CHIEF_JUDGE, event_id=event.id),
        "judge": make_user(Role.JUDGE, event_id=event.id),
        "supervisor": make_user(Role.SUPERVISOR, event_id=event.id),
        "encrypt": make_user(Role.ENCRYPTION_JUDGE, event_id=event.id),
        "organiser": make_user(Role.ORGANISER, competition_id=scenario.competition_id),
    }
    for key, role in (("judge", PanelRole.MARKING), ("chief", PanelRole.CHIEF)):
        judge = Judge(name=f"裁判{key}", user_id=users[key].id)
        db.session.add(judge)
        db.session.flush()
        db.session.add(PanelMember(event_id=event.id, judge_id=judge.id, role=role))
    db.session.flush()
    criteria = {
        c.code: c.id
        for c in db.session.scalars(
            select(SchemeCriterion).where(SchemeCriterion.code.in_(["C1", "C2"]))
        )
        if c.module.scheme_id == event.scheme.id
    }
    finals = [Decimal(95) - Decimal("0.5") * i for i in range(n)]
    for code, final in zip(scenario.codes, finals, strict=True):
        for criterion, value in (("C1", final - 35), ("C2", Decimal(35))):
            mark = judging.MarkInput(
                client_id=str(uuid.uuid4()),
                code=code,
                criterion_id=criteria[criterion],
                value=value,
                base=None,
                entered_at=END,
                reason=None,
                device="test",
            )
            judging.record_mark(users["judge"], event, mark, now=END)
    lifecycle.transition_event(
        users["chief"], event, EventState.SCORING_LOCKED, reason=None, now=LOCKED
    )
    if state is not EventState.SCORING_LOCKED:
        lifecycle.transition_event(
            users["chief"], event, EventState.UNDER_REVIEW, reason=None, now=LOCKED
        )
    return Marked(
        event_id=event.id,
        entry_ids=scenario.entry_ids,
        codes=scenario.codes,
        users={k: u.username for k, u in users.items()},
        user_ids={k: u.id for k, u in users.items()},
        person_ids=scenario.person_ids,
        unit_ids=scenario.unit_ids,
        criteria=criteria,
    )


def open_all_layers(marked: Marked, *, now: datetime) -> None:
    event = db.session.get(Event, marked.event_id)
    encrypt = db.session.get(User, marked.user_ids["encrypt"])
    supervisor = db.session.get(User, marked.user_ids["supervisor"])
    for layer in LAYERS:
        unseal_step(encrypt, event, layer, now=now)
        unseal_step(supervisor, event, layer, now=now)


def page_token(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return csrf_from(response.get_data(as_text=True))


def sign_in(auth, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


@pytest.fixture
def marked(app) -> Marked:
    with app.app_context():
        data = build_marked_event()
        db.session.commit()
        return data


def _event(marked):
    return db.session.get(Event, marked.event_id)


def _start(client, auth, marked, seed="seed-2026"):
    sign_in(auth, marked.users["supervisor"])
    token = page_token(client, f"/events/{marked.event_id}/review")
    response = client.post(
        f"/events/{marked.event_id}/review/start", data={"csrf_token": token, "seed": seed}
    )
    assert response.status_code == 302
    return token


def _confirm(client, marked, code, token):
    return client.post(
        f"/events/{marked.event_id}/review/confirm", data={"csrf_token": token, "code": code}
    )


def _mark_field(app, marked, code, criterion="C1"):
    """The correction form's field name for the judge's mark of ``criterion`` for ``code``."""
    with app.app_context():
        entry_id = marked.entry_ids[marked.codes.index(code)]
        mark = judging.current_marks(_event(marked), entry_id=entry_id)[
            (marked.user_ids["judge"], entry_id, marked.criteria[criterion])
        ]
        return f"mark-{mark.judge_user_id}-{mark.criterion_id}", mark.value


# ---------------------------------------------------------------- the real flow up to review


def test_lock_stores_the_results_and_the_chief_judge_submits_them(app, marked):
    with app.app_context():
        event = _event(marked)
        assert event.state is EventState.UNDER_REVIEW
        rows = db.session.scalars(select(EntryScore).where(EntryScore.event_id == event.id)).all()
        assert len(rows) == 37
        assert {row.marks_seq for row in rows} == {event.mark_seq} == {74}
        best = next(row for row in rows if row.entry_id == marked.entry_ids[0])
        assert (best.final, best.rank) == (Decimal("95.00"), 1)
        assert review.totals_submitted(event) and review.ranks_computed(event)
        assert not review.recheck_done(event)


def test_totals_cannot_be_submitted_while_an_entry_has_no_stored_result(app):
    with app.app_context():
        data = build_marked_event(5, state=EventState.SCORING_LOCKED)
        event = _event(data)
        db.session.execute(
            EntryScore.__table__.delete().where(EntryScore.entry_id == data.entry_ids[4])
        )
        assert not review.totals_submitted(event)
        chief = db.session.get(User, data.user_ids["chief"])
        with pytest.raises(Conflict, match="totals_submitted"):
            lifecycle.transition_event(
                chief, event, EventState.UNDER_REVIEW, reason=None, now=LOCKED
            )


# ---------------------------------------------------------------- the sample (§8a)


def test_sample_is_the_top_10_and_a_seeded_15_percent_of_the_other_27(app, client, auth, marked):
    _start(client, auth, marked)
    with app.app_context():
        current = review.current_review(_event(marked))
        assert (current.seed, current.top_n, current.full) == ("seed-2026", 10, False)
        assert len(current.entry_ids) == 10 + 5 == 15  # ⌈0.15 × 27⌉ = ⌈4.05⌉ = 5
        assert current.entry_ids[:10] == marked.entry_ids[:10]
        assert set(current.entry_ids[10:]) <= set(marked.entry_ids[10:])
        logged = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "review.started"))
        assert logged.after["ranking"] == marked.codes  # drawn over marking codes, best first
        assert logged.after["rest"] == 27
        sampled = [marked.codes[marked.entry_ids.index(e)] for e in current.entry_ids[10:]]
        assert logged.after["sampled"] == sampled
    html = client.get(f"/events/{marked.event_id}/review").get_data(as_text=True)
    assert 'id="review-seed">seed-2026<' in html
    assert 'data-replay="identical"' in html
    assert 'data-checked="0" data-total="15"' in html
    for code in marked.codes[:10]:
        assert f'id="entry-{code}"' in html
    with app.app_context():  # sealed: no names or units on the page
        names = [db.session.get(Person, i).name for i in marked.person_ids]
    assert not [name for name in names if name in html]
    assert "参赛单位" not in html


def test_the_same_ranking_and_seed_give_the_same_sample(app, client, auth, marked):
    _start(client, auth, marked, seed="replay-me")
    with app.app_context():
        current = review.current_review(_event(marked))
        again = pick_recheck_sample(marked.codes, top_n=10, sample_pct=15, seed="replay-me")
        assert [marked.entry_ids[marked.codes.index(c)] for c in again.entries] == list(
            current.entry_ids
        )
        other = pick_recheck_sample(marked.codes, top_n=10, sample_pct=15, seed="another")
        assert other.top == again.top
        assert review.replay_sample(current) is True


def test_the_sample_is_drawn_once(app, client, auth, marked):
    token = _start(client, auth, marked)
    response = client.post(
        f"/events/{marked.event_id}/review/start",
        data={"csrf_token": token, "seed": "second"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(ResultReview.id))) == 1


def test_only_the_supervisor_draws_the_sample(app, client, auth, marked):
    sign_in(auth, marked.users["chief"])
    token = page_token(client, f"/events/{marked.event_id}/review")
    response = client.post(f"/events/{marked.event_id}/review/start", data={"csrf_token": token})
    assert response.status_code == 403


# ---------------------------------------------------------------- corrections


def test_a_correction_without_a_reason_is_refused_and_nothing_changes(app, client, auth, marked):
    token = _start(client, auth, marked)
    code = marked.codes[0]
    field, value = _mark_field(app, marked, code)
    with app.app_context():
        before = _event(marked).mark_seq
    response = client.post(
        f"/events/{marked.event_id}/review/correct",
        data={"csrf_token": token, "code": code, field: "59", "reason": "  "},
    )
    assert response.status_code == 422
    assert f'id="entry-{code}"' in response.get_data(as_text=True)
    with app.app_context():
        event = _event(marked)
        assert event.mark_seq == before
        assert db.session.scalar(select(func.count(ReviewCheck.id))) == 0
        kinds = db.session.scalars(select(MarkEvent.kind).where(MarkEvent.event_id == event.id))
        assert MarkKind.CORRECTION not in set(kinds)
        assert value == Decimal("60.00")


def test_a_correction_is_a_new_link_of_the_chain_and_the_results_are_recomputed(
    app, client, auth, marked
):
    token = _start(client, auth, marked)
    code = marked.codes[0]
    field, _value = _mark_field(app, marked, code)
    with app.app_context():
        head = _event(marked).mark_head
    response = client.post(
        f"/events/{marked.event_id}/review/correct",
        data={
            "csrf_token": token,
            "code": code,
            field: "50",
            "reason": "C1 录入错误，原始记录为50",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        event = _event(marked)
        link = db.session.scalar(select(MarkEvent).where(MarkEvent.kind == MarkKind.CORRECTION))
        assert (link.seq, link.prev_hash, link.value) == (75, head, Decimal("50.00"))
        assert link.reason == "C1 录入错误，原始记录为50"
        assert link.judge_user_id == marked.user_ids["judge"]  # the judge's cell, superseded
        assert judging.verify_marks(event) is None
        check = db.session.scalar(select(ReviewCheck))
        assert (check.outcome, check.mark_event_ids) == (CheckOutcome.CORRECTED, [link.id])
        score = db.session.scalar(
            select(EntryScore).where(EntryScore.entry_id == marked.entry_ids[0])
        )
        # 50 + 35 = 85.00: from first place down to 21st (95 − 0.5 × 20 = 85.00, tied).
        assert (score.final, score.marks_seq) == (Decimal("85.00"), 75)
        assert review.ranks_computed(event)
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "marks.corrected")
            )
            == 1
        )


def test_one_error_in_15_is_6_67_percent_and_starts_a_full_recheck(app, client, auth, marked):
    token = _start(client, auth, marked)
    with app.app_context():
        sample = list(review.current_review(_event(marked)).entry_ids)
    codes = [marked.codes[marked.entry_ids.index(e)] for e in sample]
    for code in codes[:14]:
        assert _confirm(client, marked, code, token).status_code == 302
    field, _value = _mark_field(app, marked, codes[14])
    response = client.post(
        f"/events/{marked.event_id}/review/correct",
        data={"csrf_token": token, "code": codes[14], field: "1", "reason": "算分错误"},
    )
    assert response.status_code == 302
    with app.app_context():
        event = _event(marked)
        reviews = review.reviews_of(event)
        full, first = reviews[0], reviews[1]
        progress = review.progress_of(first)
        assert (progress.checked, progress.errors, progress.rate) == (15, 1, Decimal("6.67"))
        assert first.closed_at is not None and not first.is_current
        assert full.full and full.is_current and len(full.entry_ids) == 37
        assert not review.recheck_done(event)
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(
                    AuditEntry.action == "review.full_recheck_started"
                )
            )
            == 1
        )
    html = client.get(f"/events/{marked.event_id}/review").get_data(as_text=True)
    assert 'id="full-recheck"' in html
    assert 'data-checked="0" data-total="37"' in html
    assert 'data-rate="6.67"' in html  # the sample's rate, in the history table
    assert 'data-review="' in html


def test_a_clean_sample_completes_the_review(app, client, auth, marked):
    token = _start(client, auth, marked)
    with app.app_context():
        sample = list(review.current_review(_event(marked)).entry_ids)
    for entry_id in sample:
        code = marked.codes[marked.entry_ids.index(entry_id)]
        assert _confirm(client, marked, code, token).status_code == 302
    with app.app_context():
        event = _event(marked)
        assert review.recheck_done(event)
        assert len(review.reviews_of(event)) == 1
    html = client.get(f"/events/{marked.event_id}/review").get_data(as_text=True)
    assert 'data-checked="15" data-total="15"' in html and 'data-rate="0.00"' in html
    assert 'id="full-recheck"' not in html


def test_an_entry_is_checked_once_and_only_if_sampled(app, client, auth, marked):
    token = _start(client, auth, marked)
    with app.app_context():
        sample = set(review.current_review(_event(marked)).entry_ids)
    outside = next(
        c for e, c in zip(marked.entry_ids, marked.codes, strict=True) if e not in sample
    )
    assert _confirm(client, marked, outside, token).status_code == 422
    assert _confirm(client, marked, marked.codes[0], token).status_code == 302
    assert _confirm(client, marked, marked.codes[0], token).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewCheck.id))) == 1


def test_the_chief_judge_corrects_but_an_organiser_may_not(app, client, auth, marked):
    _start(client, auth, marked)
    code = marked.codes[1]
    field, _value = _mark_field(app, marked, code)
    sign_in(auth, marked.users["organiser"])
    token = page_token(client, f"/events/{marked.event_id}/review")
    data = {"csrf_token": token, "code": code, field: "55", "reason": "复核"}
    assert client.post(f"/events/{marked.event_id}/review/correct", data=data).status_code == 403
    sign_in(auth, marked.users["chief"])
    data["csrf_token"] = page_token(client, f"/events/{marked.event_id}/review")
    assert client.post(f"/events/{marked.event_id}/review/correct", data=data).status_code == 302
    confirm = _confirm(client, marked, marked.codes[2], data["csrf_token"])
    assert confirm.status_code == 403  # confirming is the supervisor's
    with app.app_context():
        assert db.session.scalar(select(func.count(ReviewCheck.id))) == 1


def test_marks_cannot_be_corrected_once_published(app, marked):
    with app.app_context():
        event = _event(marked)
        event.state = EventState.PUBLICITY
        supervisor = db.session.get(User, marked.user_ids["supervisor"])
        from compete.models import Entry

        entry = db.session.get(Entry, marked.entry_ids[0])
        change = Correction(marked.user_ids["judge"], marked.criteria["C1"], Decimal("50"))
        with pytest.raises(Conflict):
            correct_marks(supervisor, event, entry, [change], reason="x", now=LOCKED)
        event.state = EventState.UNDER_REVIEW
        judge = db.session.get(User, marked.user_ids["judge"])
        with pytest.raises(NotAllowed):
            correct_marks(judge, event, entry, [change], reason="x", now=LOCKED)
        with pytest.raises(InvalidInput, match="between 0 and 60"):
            bad = Correction(marked.user_ids["judge"], marked.criteria["C1"], Decimal("61"))
            correct_marks(supervisor, event, entry, [bad], reason="x", now=LOCKED)
        assert event.mark_seq == 74
