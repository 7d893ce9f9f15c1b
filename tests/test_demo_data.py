"""The finished 车工 event of the demo (``load_demo_results``): real figures from real marks, and
the worked example of domain §8(a) on 37 entrants, from marking to certificates."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from compete.blueprints.awards.services import current_grants
from compete.blueprints.judging.pool import current_panel_draw, replay_panel_draw
from compete.blueprints.judging.services import verify_marks
from compete.blueprints.results.review import progress_of, reviews_of
from compete.blueprints.results.services import (
    compute_results,
    current_publication,
    stored_results,
)
from compete.demo import LATHE_ENTRIES, lathe_event, load_demo, load_demo_results
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    Appeal,
    AppealStatus,
    Certificate,
    Entry,
    EntryStatus,
    Event,
    GrantStatus,
    MarkEvent,
    MarkKind,
    Person,
    PromotionGrant,
    TitleGrant,
)

PASSWORD = "Demo-pass-2026"
FIGURES = ("criterion_scores", "module_scores", "practical", "theory", "final", "passed", "rank")


@pytest.fixture
def finished(app):
    """The full demo; yields inside an app context, the 车工 event's id."""
    with app.app_context():
        load_demo(password=PASSWORD)
        load_demo_results()
        db.session.commit()
        yield lathe_event().id
        db.session.rollback()


def _figures(event):
    rows = stored_results(event)
    return {row.entry_id: tuple(getattr(row, name) for name in FIGURES) for row in rows}


def test_the_stored_results_are_those_its_marks_give(finished):
    event = db.session.get(Event, finished)
    stored = _figures(event)
    assert len(stored) == LATHE_ENTRIES
    again = compute_results(event, now=datetime.now(UTC), full=True)  # every entry from its marks
    assert {row.entry_id: tuple(getattr(row, n) for n in FIGURES) for row in again} == stored
    assert verify_marks(event) is None
    assert replay_panel_draw(current_panel_draw(event)).identical  # the marking judges' draw
    kinds = Counter(
        db.session.scalars(select(MarkEvent.kind).where(MarkEvent.event_id == finished))
    )
    # 5 judges × 8 criteria × 37 entries, and the one correction made in the review.
    assert kinds == {MarkKind.MARK: 5 * 8 * LATHE_ENTRIES, MarkKind.CORRECTION: 1}
    assert event.mark_seq == 5 * 8 * LATHE_ENTRIES + 1


def test_every_stage_has_happened_as_the_rules_say(finished):
    event = db.session.get(Event, finished)
    assert event.state is EventState.AWARDS_ISSUED
    steps = [(t.from_state.value, t.to_state.value) for t in event.transitions]
    assert steps[-4:] == [
        ("scoring_locked", "under_review"),
        ("under_review", "publicity"),
        ("publicity", "final"),
        ("final", "awards_issued"),
    ]
    # Review: the top 10 and 15% of the other 27 (5); one error → 6.67% > 5% → everything.
    full, sample = reviews_of(event)
    assert (progress_of(sample).total, progress_of(sample).errors) == (15, 1)
    assert full.full and progress_of(full).complete and progress_of(full).total == LATHE_ENTRIES
    appeal = db.session.scalar(select(Appeal).where(Appeal.event_id == finished))
    assert appeal.status is AppealStatus.DISMISSED and appeal.decision
    assert current_publication(event).finalised_at is not None

    # Awards: W = ⌊0.2 × 37⌋ = 7, strict 1:2:3 → ranks 1, 2–3, 4–6; 优胜奖 7–18; nothing shared.
    grants = current_grants(event)
    assert len(grants) == LATHE_ENTRIES and not any(g.flagged for g in grants)
    by_award = {}
    for grant in grants:
        by_award.setdefault(grant.award, []).append(grant.rank)
    assert sorted(by_award["first"]) == [1]
    assert sorted(by_award["second"]) == [2, 3]
    assert sorted(by_award["third"]) == [4, 5, 6]
    assert sorted(by_award["merit"]) == list(range(7, 19))
    assert None in [g.rank for g in grants]  # one contestant below the pass mark, unranked
    notes = [row.tie_note for row in stored_results(event)]
    assert sum(1 for note in notes if note and '"top_module"' in note) == 1

    # Titles for the prize winners: rank 5 held it already (not granted twice), one declined.
    titles = db.session.scalars(select(TitleGrant).where(TitleGrant.event_id == finished)).all()
    statuses = Counter(t.status for t in titles)
    assert statuses == {GrantStatus.GRANTED: 4, GrantStatus.DECLINED: 1}
    rank_five = next(g for g in grants if g.rank == 5)
    person = db.session.get(Entry, rank_five.entry_id).members[0].person_id
    held = db.session.scalars(select(TitleGrant).where(TitleGrant.person_id == person)).all()
    assert [(t.event_id, t.status) for t in held] == [(None, GrantStatus.GRANTED)]
    promotions = db.session.scalars(
        select(PromotionGrant).where(PromotionGrant.event_id == finished)
    ).all()
    assert promotions and all(p.status is GrantStatus.GRANTED for p in promotions)

    # Certificates: every award, granted title and granted promotion.
    certificates = db.session.scalar(
        select(func.count(Certificate.id)).where(Certificate.event_id == finished)
    )
    assert certificates == 18 + 4 + len(promotions)

    # Nominations: quota 2; rank 2 declined, so ranks 1 and 3 are pre-registered upstream.
    upper = db.session.scalars(
        select(Entry).join(Event, Event.id == Entry.event_id).where(Event.code == "N02")
    ).all()
    ranks = {g.entry_id: g.rank for g in grants}
    assert sorted((ranks[e.source_entry_id], e.status) for e in upper) == [
        (1, EntryStatus.SUBMITTED),
        (2, EntryStatus.WITHDRAWN),
        (3, EntryStatus.SUBMITTED),
    ]


def test_seed_demo_prints_pages_that_open_and_changes_nothing_the_second_time(app, client, runner):
    first = runner.invoke(args=["compete", "seed-demo", "--base-url", "https://ks.example.cn/"])
    assert first.exit_code == 0, first.output
    result = re.search(r"https://ks\.example\.cn(/r/[A-Za-z0-9_\-]+)", first.output)
    certificate = re.search(r"https://ks\.example\.cn(/c/[A-Za-z0-9_\-]+)", first.output)
    assert result and certificate
    with app.app_context():
        counts = (
            db.session.scalar(select(func.count(Person.id))),
            db.session.scalar(select(func.count(MarkEvent.id))),
        )
        assert counts[0] == 60 + 60 + LATHE_ENTRIES  # the contestants of E01, E02 and E03
        entry = db.session.scalar(select(Entry).where(Entry.qr_token == result[1][3:]))
        final = f"{stored_results(entry.event)[0].final:.2f}"
    page = client.get(result[1])
    assert page.status_code == 200 and final in page.get_data(as_text=True)
    assert client.get(certificate[1]).status_code == 200

    again = runner.invoke(args=["compete", "seed-demo", "--base-url", "https://ks.example.cn"])
    assert again.exit_code == 0, again.output
    assert result[0] in again.output and certificate[0] in again.output
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(Person.id))),
            db.session.scalar(select(func.count(MarkEvent.id))),
        ) == counts
