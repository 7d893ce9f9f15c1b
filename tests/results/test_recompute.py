"""Incremental recompute equals a full one, and recomputing runs off the request path.

The property test builds small events, applies random sequences of marks, corrections,
withdrawn marks, theory scores and times, recomputes incrementally (directly or through the
job) after some of them, and compares every stored row with an independent full computation:
the marks in force read through the ORM, ``score_entry``, ``rank_entries`` and ``standardise``.
"""

from __future__ import annotations

import time as clock
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from compete.blueprints.competitions.schemes import add_criterion, add_module
from compete.blueprints.judging import services as judging
from compete.blueprints.results import services
from compete.domain.errors import InvalidInput
from compete.domain.hashchain import link_hash
from compete.domain.lifecycle import EventState
from compete.domain.ranking import rank_entries
from compete.domain.scoring import score_entry, standardise
from compete.extensions import db
from compete.models import (
    Entry,
    EntryInput,
    EntryScore,
    EntryStatus,
    Event,
    InputKind,
    Job,
    JobStatus,
    MarkEvent,
    MarkKind,
    ReviewCode,
    Unit,
)

from ..factories import make_competition, make_event, make_user

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------- building an event


@dataclass
class Built:
    event_id: int
    entry_ids: list[int]
    codes: list[str]
    judge_ids: list[int]
    criteria: dict[str, int]  # criterion code → id
    extra: dict = field(default_factory=dict)


def build_event(
    *,
    modules: list[tuple[str, list[tuple[str, str, str]]]],
    entries: int,
    judges: int,
    overrides: dict | None = None,
    state: EventState = EventState.IN_PROGRESS,
) -> Built:
    """An event with a scheme (``modules``: code → [(criterion code, max, step)]), ``entries``
    approved entries with marking codes R001…, admission numbers and entry numbers, and
    ``judges`` judge accounts. The caller commits."""
    event = make_event(make_competition())
    for module_code, criteria in modules:
        module = add_module(None, event, code=module_code, name=module_code)
        for code, maximum, step in criteria:
            add_criterion(
                None,
                event,
                module,
                code=code,
                description=code,
                kind="judgement",
                max_mark=Decimal(maximum),
                step=Decimal(step),
                judges=judges,
                aggregation=None,
                tolerance=None,
            )
    event.overrides = {**(event.overrides or {}), **(overrides or {})}
    event.state = state
    entry_ids, codes = [], []
    for index in range(entries):
        unit = Unit(name=f"单位{event.id}-{index}", region="广州市")
        db.session.add(unit)
        db.session.flush()
        entry = Entry(
            event_id=event.id,
            unit_id=unit.id,
            status=EntryStatus.APPROVED,
            entry_number=f"{index + 1:03d}",
            admission_no=f"A{event.id:03d}{index + 1:04d}",
        )
        db.session.add(entry)
        db.session.flush()
        code = f"R{index + 1:03d}"
        db.session.add(ReviewCode(event_id=event.id, entry_id=entry.id, code=code))
        entry_ids.append(entry.id)
        codes.append(code)
    judge_ids = [make_user().id for _ in range(judges)]
    db.session.flush()
    criteria = {c.code: c.id for m in event.scheme.modules for c in m.criteria}
    return Built(event.id, entry_ids, codes, judge_ids, criteria)


def add_mark(event: Event, judge_id: int, entry_id: int, criterion_id: int, value, *, at=NOW):
    """Append one mark (``value`` None: withdraw the judge's mark) as a valid chain link."""
    previous = db.session.scalar(
        select(MarkEvent)
        .where(
            MarkEvent.event_id == event.id,
            MarkEvent.judge_user_id == judge_id,
            MarkEvent.entry_id == entry_id,
            MarkEvent.criterion_id == criterion_id,
        )
        .order_by(MarkEvent.seq.desc())
        .limit(1)
    )
    if value is None:
        kind = MarkKind.VOID
    else:
        kind = MarkKind.MARK if previous is None else MarkKind.CORRECTION
    event.mark_seq += 1
    row = MarkEvent(
        event_id=event.id,
        seq=event.mark_seq,
        judge_user_id=judge_id,
        entry_id=entry_id,
        criterion_id=criterion_id,
        kind=kind,
        value=None if value is None else Decimal(str(value)),
        client_id=uuid.uuid4().hex,
        device="",
        recorded_at=at,
        supersedes_id=previous.id if previous else None,
        reason=None if kind is MarkKind.MARK else "更正",
        prev_hash=event.mark_head,
        hash="",
    )
    row.hash = link_hash(event.mark_head, row.payload())
    event.mark_head = row.hash
    db.session.add(row)
    db.session.flush()
    return row


def add_input(event: Event, entry_id: int, kind: InputKind, value, *, at=NOW) -> EntryInput:
    row = EntryInput(
        event_id=event.id,
        entry_id=entry_id,
        kind=kind,
        value=None if value is None else Decimal(str(value)),
        reason="test",
        recorded_at=at,
    )
    db.session.add(row)
    db.session.flush()
    return row


# ---------------------------------------------------------------- the independent full computation


def expected_rows(event: Event) -> dict[int, dict]:
    """Every coded entry's figures as a full computation gives them, through the ORM."""
    spec = event.scheme.spec()
    rules = services.scoring_rules(event.rules)
    codes = {
        rc.entry_id: rc.code
        for rc in db.session.scalars(select(ReviewCode).where(ReviewCode.event_id == event.id))
    }
    criterion_code = {c.id: c.code for m in event.scheme.modules for c in m.criteria}
    marks: dict[int, dict[str, dict[int, Decimal]]] = {}
    for (judge, entry, criterion), mark in judging.current_marks(event).items():
        if mark.value is not None:
            marks.setdefault(entry, {}).setdefault(criterion_code[criterion], {})[judge] = Decimal(
                mark.value
            )
    latest: dict[tuple[int, InputKind], Decimal | None] = {}
    for row in db.session.scalars(
        select(EntryInput).where(EntryInput.event_id == event.id).order_by(EntryInput.id)
    ):
        latest[(row.entry_id, row.kind)] = row.value
    results = {}
    for entry_id in sorted(codes):
        theory = latest.get((entry_id, InputKind.THEORY))
        time = latest.get((entry_id, InputKind.TIME))
        if rules.theory_weight > 0 and theory is None:
            continue
        entry_marks = marks.get(entry_id, {})
        if not all(entry_marks.get(c.code) for _m, c in spec.criteria()):
            continue
        try:
            results[entry_id] = score_entry(
                spec, entry_marks, entry_id=str(entry_id), theory=theory, time=time, rules=rules
            )
        except InvalidInput:
            continue
    chain, strict = services.tie_settings(event.rules)
    places = rank_entries(
        list(results.values()), module_order=spec.module_weights(), tie_chain=chain, strict=strict
    )
    scaled = {}
    if event.rules.get("standardise") and results:
        scaled = standardise(
            {str(e): r.final for e, r in results.items()},
            center=event.rules.get("std_center", 700),
            spread_pts=event.rules.get("std_spread_pts", 30),
            dp=rules.dp,
        ).scores
    text_codes = {str(e): c for e, c in codes.items()}
    expected = {}
    for place in places:
        result = results[int(place.entry_id)]
        expected[int(place.entry_id)] = {
            "criterion_scores": {k: str(v) for k, v in result.criterion_scores.items()},
            "module_scores": {k: str(v) for k, v in result.module_scores.items()},
            "practical": result.practical,
            "theory": result.theory,
            "final": result.final,
            "time": result.time,
            "passed": result.passed,
            "rank": place.rank,
            "tie_note": services._tie_note(place.tie_note, text_codes),
            "needs_decision": place.needs_decision,
            "standardised": scaled.get(place.entry_id),
        }
    return expected


def stored_rows(event: Event) -> dict[int, dict]:
    keys = (
        "criterion_scores",
        "module_scores",
        "practical",
        "theory",
        "final",
        "time",
        "passed",
        "rank",
        "tie_note",
        "needs_decision",
        "standardised",
    )
    return {
        row.entry_id: {key: getattr(row, key) for key in keys}
        for row in services.stored_results(event)
    }


# ---------------------------------------------------------------- property: incremental == full

SCHEME = [("M1", [("C1", "10", "0.5"), ("C2", "6", "0.5")]), ("M2", [("C3", "4", "0.5")])]
MAXIMA = {"C1": 20, "C2": 12, "C3": 8}  # in half-marks

action = st.one_of(
    st.tuples(
        st.just("mark"),
        st.integers(0, 3),
        st.sampled_from(sorted(MAXIMA)),
        st.integers(0, 4),
        st.one_of(st.none(), st.integers(0, 20)),
    ),
    st.tuples(st.just("theory"), st.integers(0, 3), st.one_of(st.none(), st.integers(100, 200))),
    st.tuples(st.just("time"), st.integers(0, 3), st.one_of(st.none(), st.integers(30, 34))),
    st.tuples(st.just("recompute"), st.booleans()),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    weight=st.sampled_from(["0", "0.30"]),
    standardised=st.booleans(),
    chain=st.sampled_from(
        [
            ["top_module", "practical", "time", "shared"],
            ["all_modules", "practical", "time", "shared"],
            ["time", "practical", "theory", "shared"],
        ]
    ),
    judges=st.integers(3, 5),
    initial=st.lists(st.integers(0, 20), min_size=60, max_size=60),
    gaps=st.sets(st.integers(0, 59), max_size=4),
    steps=st.lists(action, min_size=1, max_size=12),
)
def test_incremental_recompute_equals_a_full_one(
    app, weight, standardised, chain, judges, initial, gaps, steps
):
    with app.app_context():
        built = build_event(
            modules=SCHEME,
            entries=4,
            judges=judges,
            overrides={
                "theory_weight": weight,
                "standardise": standardised,
                "tie_chain": chain,
                "pass_mark": "50",
            },
        )
        event = db.session.get(Event, built.event_id)
        values = iter(initial)
        cell = 0
        for entry_id in built.entry_ids:
            for code in MAXIMA:
                for judge_id in built.judge_ids:
                    value = next(values, 10) % (MAXIMA[code] + 1)
                    if cell not in gaps:
                        add_mark(event, judge_id, entry_id, built.criteria[code], value / 2)
                    cell += 1
        for index, entry_id in enumerate(built.entry_ids[:3]):
            add_input(event, entry_id, InputKind.THEORY, 70 + 5 * index)
        db.session.commit()
        services.recompute_results(event, now=NOW)
        db.session.commit()
        assert stored_rows(event) == expected_rows(event)

        for step in [("recompute", True), *steps, ("recompute", True)]:
            kind = step[0]
            if kind == "mark":
                _, entry, code, judge, value = step
                judge_id = built.judge_ids[judge % judges]
                add_mark(
                    event,
                    judge_id,
                    built.entry_ids[entry],
                    built.criteria[code],
                    None if value is None else (value % (MAXIMA[code] + 1)) / 2,
                )
            elif kind == "theory":
                _, entry, value = step
                add_input(
                    event,
                    built.entry_ids[entry],
                    InputKind.THEORY,
                    None if value is None else value / 2,
                )
            elif kind == "time":
                _, entry, value = step
                add_input(event, built.entry_ids[entry], InputKind.TIME, value)
            else:
                db.session.commit()
                if step[1]:
                    job = services.schedule_recompute(event)
                    assert job.status is JobStatus.DONE, job.result
                else:
                    services.recompute_results(event, now=NOW)
                    db.session.commit()
                assert stored_rows(event) == expected_rows(event)
                rows = len(stored_rows(event))
                full = services.recompute_results(event, now=NOW, full=True)
                assert (full.changed, full.rows) == (0, rows)
                db.session.rollback()


# ---------------------------------------------------------------- examples


def _small(app, **overrides):
    with app.app_context():
        built = build_event(
            modules=SCHEME,
            entries=3,
            judges=3,
            overrides={"theory_weight": "0", "pass_mark": "5", **overrides},
        )
        event = db.session.get(Event, built.event_id)
        for n, entry_id in enumerate(built.entry_ids):
            for criterion_id in built.criteria.values():
                for judge_id in built.judge_ids:
                    add_mark(event, judge_id, entry_id, criterion_id, min(n + 2, 3))
        db.session.commit()
        return built


def test_the_chain_is_valid_and_the_rows_answer_for_it(app):
    built = _small(app)
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        assert judging.verify_marks(event) is None
        rows = services.compute_results(event, now=NOW)
        # Marks 2, 3, 3 on each of three criteria: practical 6, 9, 9; the two 9s share rank 1.
        assert [r.entry_id for r in rows] == [*built.entry_ids[1:], built.entry_ids[0]]
        assert [r.final for r in rows] == [Decimal(9), Decimal(9), Decimal(6)]
        assert [r.rank for r in rows] == [1, 1, 3]
        assert {r.marks_seq for r in rows} == {event.mark_seq}
        assert services.ranks_computed(event)


def test_a_theory_change_after_the_ranking_makes_it_out_of_date(app):
    built = _small(app, theory_weight="0.30")
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        for entry_id in built.entry_ids:
            add_input(event, entry_id, InputKind.THEORY, 80)
        services.compute_results(event, now=NOW)
        db.session.commit()
        assert services.ranks_computed(event)
        add_input(event, built.entry_ids[0], InputKind.THEORY, 81)
        db.session.commit()
        assert not services.ranks_computed(event)
        assert services.freshness(event).stale
        services.schedule_recompute(event)
        assert services.ranks_computed(event)
        assert not services.freshness(event).stale


def test_an_entry_withdrawn_after_marking_loses_its_row(app):
    built = _small(app)
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        services.schedule_recompute(event)
        version = event.results_version
        db.session.get(Entry, built.entry_ids[2]).status = EntryStatus.WITHDRAWN
        db.session.commit()
        assert services.freshness(event).stale  # one entry fewer than the last count
        job = services.schedule_recompute(event)
        assert job.result["rows"] == 2
        assert {r.entry_id for r in services.stored_results(event)} == set(built.entry_ids[:2])
        assert event.results_version == version + 1


def test_marks_the_engine_refuses_leave_that_entry_pending_with_the_reason(app):
    built = _small(app, trim_level="judge_total")
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        # judge 3 withdraws one mark of entry 1: judge totals need the same judges everywhere.
        add_mark(event, built.judge_ids[2], built.entry_ids[0], built.criteria["C1"], None)
        db.session.commit()
        job = services.schedule_recompute(event)
        assert job.result["pending"] == {"theory": 0, "marks": 0, "error": 1}
        assert job.result["errors"][0]["code"] == "R001"
        assert "same judges" in job.result["errors"][0]["message"]
        assert {r.entry_id for r in services.stored_results(event)} == set(built.entry_ids[1:])
        # The next job reads no marks and still knows why R001 waits.
        again = services.schedule_recompute(event)
        assert again.result["rescored"] == 0
        assert again.result["errors"][0]["code"] == "R001"


def test_a_theory_score_arriving_for_a_waiting_entry_gets_it_ranked(app):
    built = _small(app, theory_weight="0.30")
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        for entry_id in built.entry_ids[:2]:
            add_input(event, entry_id, InputKind.THEORY, 80)
        db.session.commit()
        first = services.schedule_recompute(event).result
        assert (first["rows"], first["pending"]["theory"]) == (2, 1)
        add_input(event, built.entry_ids[2], InputKind.THEORY, 60)
        db.session.commit()
        second = services.schedule_recompute(event).result
        assert (second["rows"], second["rescored"]) == (3, 1)
        assert stored_rows(event) == expected_rows(event)


def test_a_theory_score_committed_after_a_newer_one_is_not_missed(app):
    """Ids are handed out before commit: on PostgreSQL a row may become visible after one with
    a higher id. The job's account counts the rows, so such a row is still taken in."""
    built = _small(app, theory_weight="0.30")
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        add_input(event, built.entry_ids[0], InputKind.THEORY, 80)
        late = EntryInput(
            id=50,
            event_id=event.id,
            entry_id=built.entry_ids[1],
            kind=InputKind.THEORY,
            value=Decimal(70),
            recorded_at=NOW,
        )
        db.session.add(late)
        db.session.commit()
        first = services.schedule_recompute(event).result
        assert (first["rows"], first["inputs_id"], first["inputs_count"]) == (2, 50, 2)
        db.session.add(
            EntryInput(
                id=40,
                event_id=event.id,
                entry_id=built.entry_ids[2],
                kind=InputKind.THEORY,
                value=Decimal(60),
                recorded_at=NOW,
            )
        )
        db.session.commit()
        assert services.freshness(event).stale
        second = services.schedule_recompute(event).result
        assert second["rows"] == 3
        assert stored_rows(event) == expected_rows(event)


def test_results_are_frozen_once_published(app):
    built = _small(app)
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        services.compute_results(event, now=NOW)
        event.state = EventState.PUBLICITY
        db.session.commit()
        add_mark(event, built.judge_ids[0], built.entry_ids[0], built.criteria["C1"], 1)
        db.session.commit()
        assert services.schedule_recompute(event) is None
        assert not services.freshness(event).stale


# ---------------------------------------------------------------- off the request path


def test_a_job_that_has_not_read_the_chain_yet_takes_later_marks_too(app):
    built = _small(app)
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        waiting = Job(
            id=uuid.uuid4().hex,
            kind=services.RECOMPUTE_JOB,
            params={},
            event_id=event.id,
            status=JobStatus.RUNNING,
            started_at=datetime.now(UTC),
            done=0,  # still waiting for the burst to settle
        )
        db.session.add(waiting)
        db.session.commit()
        for _ in range(5):
            assert services.schedule_recompute(event).id == waiting.id
        # One already reading gets a follow-up, which waits for it (here: briefly).
        waiting.done = 1
        db.session.commit()
        app.config["RESULTS_RECOMPUTE_WAIT"] = 0.2
        try:
            follow_up = services.schedule_recompute(event)
        finally:
            app.config.pop("RESULTS_RECOMPUTE_WAIT")
        assert follow_up.id != waiting.id
        assert follow_up.status is JobStatus.DONE
        assert follow_up.result["rows"] == 3
        # A running job older than the dead-job limit no longer absorbs anything.
        waiting.done, waiting.started_at = 0, datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
        assert services.schedule_recompute(event).id not in (waiting.id, follow_up.id)


def test_the_page_does_not_start_a_second_job_while_one_runs(app, client, login_as):
    built = _small(app)
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        competition_id = event.competition_id
        queued = Job(id=uuid.uuid4().hex, kind=services.RECOMPUTE_JOB, params={}, event_id=event.id)
        db.session.add(queued)
        db.session.commit()
        queued_id = queued.id
    login_as("organiser", competition_id=competition_id)
    html = client.get(f"/events/{built.event_id}/results/provisional").get_data(as_text=True)
    assert 'data-stale="1" data-updating="1"' in html
    assert f"/jobs/{queued_id}" in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Job.id))) == 1
        assert db.session.scalar(select(func.count(EntryScore.id))) == 0


@contextmanager
def _thread_mode(tmp_path, **config):
    """An app running its jobs in threads (the embedded default) on a database file of its own,
    with ``config``; inside its app context, tables created; closed afterwards."""
    from ..conftest import build_app

    threaded = build_app(
        JOBS_MODE="thread",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'threads.db'}",
        **config,
    )
    with threaded.app_context():
        db.create_all()
        yield
        db.session.remove()
        db.engine.dispose()


def test_a_burst_of_marks_runs_one_recompute_in_thread_mode(tmp_path):
    with _thread_mode(tmp_path, RESULTS_RECOMPUTE_DELAY=2.0, RESULTS_RECOMPUTE_DELAY_MARKING=2.0):
        built = build_event(modules=SCHEME, entries=2, judges=3, overrides={"theory_weight": "0"})
        db.session.commit()
        event = db.session.get(Event, built.event_id)
        started = clock.monotonic()
        for entry_id in built.entry_ids:
            for criterion_id in built.criteria.values():
                for judge_id in built.judge_ids:
                    add_mark(event, judge_id, entry_id, criterion_id, 2)
                    db.session.commit()
                    services.schedule_recompute(event)
        assert clock.monotonic() - started < 2.0, "the burst took longer than the delay"
        deadline = clock.monotonic() + 20
        while clock.monotonic() < deadline:
            db.session.expire_all()
            jobs = db.session.scalars(select(Job)).all()
            if jobs and all(j.status in (JobStatus.DONE, JobStatus.FAILED) for j in jobs):
                break
            clock.sleep(0.05)
        assert [(j.status, j.result["rows"]) for j in jobs] == [(JobStatus.DONE, 2)]
        assert services.ranks_computed(db.session.get(Event, built.event_id))


@pytest.mark.parametrize(
    ("state", "delay"), [(EventState.IN_PROGRESS, 12.0), (EventState.SCORING_LOCKED, 1.5)]
)
def test_provisional_results_refresh_less_often_while_marking_is_open(tmp_path, state, delay):
    with _thread_mode(tmp_path, RESULTS_RECOMPUTE_DELAY=1.5, RESULTS_RECOMPUTE_DELAY_MARKING=12.0):
        built = build_event(modules=SCHEME, entries=1, judges=1)
        event = db.session.get(Event, built.event_id)
        event.state = state
        db.session.commit()
        assert services._recompute_delay(event.id) == delay


@pytest.mark.parametrize("full", [False, True])
def test_a_full_recompute_can_be_asked_for(app, full):
    built = _small(app)
    with app.app_context():
        event = db.session.get(Event, built.event_id)
        services.schedule_recompute(event)
        job = services.schedule_recompute(event, full=full)
        assert job.result["full"] is full
        assert job.result["rescored"] == (3 if full else 0)
        assert job.result["changed"] == 0
