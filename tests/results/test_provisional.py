"""Stored results and the provisional ranking: exact figures from the marks and theory scores in
force (§4.5, §4.6, §8b), entries waiting for a theory score listed as pending, only changed
entries rescored, and a page that reads stored rows, shows marking codes only and draws charts."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from compete.blueprints.judging import services as judging
from compete.blueprints.results import inputs, services
from compete.demo import load_demo
from compete.extensions import db
from compete.models import (
    Entry,
    EntryScore,
    Event,
    InputKind,
    Job,
    JobStatus,
    MarkEvent,
    MarkKind,
    User,
)

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)
PASSWORD = "Demo-pass-2026"
JUDGES = ("judge1", "judge2", "judge3", "judge4", "judge5")

# Marks per criterion, judges 1..5 (demo scheme: A1 10, A2 15, A3 15, B1 15, B2 15, C1 20, D1 10).
SAME = {code: None for code in ("A1", "A2", "A3", "B1", "B2", "C1", "D1")}
MARKS = {
    # X: A1 drop 9 and 6 → 22.5/3 = 7.50; A2 drop 13 and 9.5 → 33.5/3 = 11.1667 → 11.17;
    # A3 all 12 (one 12 dropped each side) → 12.00. A 30.67, B 20.00, C 15.00, D 8.00 → 73.67.
    "X": {
        "A1": ["7", "8", "7.5", "9", "6"],
        "A2": ["10", "11.5", "12", "9.5", "13"],
        "A3": ["12"] * 5,
        "B1": ["10"] * 5,
        "B2": ["10"] * 5,
        "C1": ["15"] * 5,
        "D1": ["8"] * 5,
    },
    # Y: A3 drop 14 and 9 → 33/3 = 11.00, A 8 + 12 + 11 = 31.00; B2 drop 11 and one 10 →
    # 30.5/3 = 10.1667 → 10.17, B 19.17; C 15.00; D 8.50 → 73.67: tied with X on final,
    # above it on the heaviest module A (31.00 > 30.67).
    "Y": {
        "A1": ["8"] * 5,
        "A2": ["12"] * 5,
        "A3": ["10", "12", "11", "14", "9"],
        "B1": ["9"] * 5,
        "B2": ["10.5", "10", "10", "11", "10"],
        "C1": ["15"] * 5,
        "D1": ["8.5"] * 5,
    },
    # Z: C1 drop 20 and 0 → 10.00; 5 + 8 + 8 + 8 + 8 + 10 + 5 = 52.00, below the pass mark 60.
    "Z": {
        "A1": ["5"] * 5,
        "A2": ["8"] * 5,
        "A3": ["8"] * 5,
        "B1": ["8"] * 5,
        "B2": ["8"] * 5,
        "C1": ["10", "10", "10", "20", "0"],
        "D1": ["5"] * 5,
    },
}


def _user(name):
    return db.session.scalar(select(User).where(User.username == name))


def _event(event_id):
    return db.session.get(Event, event_id)


def _record(event, username, code, criterion, value):
    mark = judging.MarkInput(
        client_id=str(uuid.uuid4()),
        code=code,
        criterion_id=criterion.id,
        value=Decimal(value),
        base=None,
        entered_at=NOW,
        reason=None,
        device="test",
    )
    return judging.record_mark(_user(username), event, mark, now=NOW)


@pytest.fixture
def marked(app):
    """The demo's E01 with X, Y and Z fully marked by all five judges; returns ids and codes."""
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        assignments = [judging.assignment_for(_user(name), event) for name in JUDGES]
        common = sorted(set.intersection(*(set(a.codes) for a in assignments)))
        codes = dict(zip("XYZ", common[:3], strict=True))
        criteria = {c.code: c for c in assignments[0].criteria}
        assert sorted(criteria) == sorted(SAME)
        for label, by_criterion in MARKS.items():
            for criterion_code, values in by_criterion.items():
                for username, value in zip(JUDGES, values, strict=True):
                    _record(event, username, codes[label], criteria[criterion_code], value)
        db.session.commit()
        entries = {label: assignments[0].codes[code] for label, code in codes.items()}
        return {"event_id": event.id, "codes": codes, "entries": entries}


def _without_theory(event):
    """Theory weight 0 for this event: final = practical."""
    event.overrides = {**(event.overrides or {}), "theory_weight": "0"}


def _theory(event, entry_id, value, *, reason=None, now=NOW):
    entry = db.session.get(Entry, entry_id)
    return inputs.record_input(
        None,
        event,
        entry=entry,
        kind=InputKind.THEORY,
        value=Decimal(value),
        reason=reason,
        now=now,
    )


def _correct(event, username, entry_id, code, criterion_code, value, when):
    judge = _user(username)
    criterion = next(
        c for c in judging.assignment_for(judge, event).criteria if c.code == criterion_code
    )
    cell = judging.current_marks(event, judge_user_id=judge.id, entry_id=entry_id)
    base = next(m for (_j, _e, crit), m in cell.items() if crit == criterion.id)
    mark = judging.MarkInput(
        client_id=str(uuid.uuid4()),
        code=code,
        criterion_id=criterion.id,
        value=Decimal(value),
        base=base.id,
        entered_at=when,
        reason="录入错误",
        device="test",
    )
    return judging.record_mark(judge, event, mark, now=when)


def test_entries_wait_for_their_theory_score_instead_of_refusing_the_ranking(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        assert event.rules["theory_weight"] == "0.30"
        outcome = services.recompute_results(event, now=NOW)
        db.session.commit()
        assert outcome.rows == 0
        x, y, z = (marked["entries"][label] for label in "XYZ")
        assert {outcome.pending[e] for e in (x, y, z)} == {services.PENDING_THEORY}
        assert db.session.scalar(select(func.count(EntryScore.id))) == 0

        # X gets 82: 0.3 × 82 + 0.7 × 73.67 = 24.6 + 51.569 = 76.169 → 76.17; Y and Z still wait.
        _theory(event, x, "82")
        db.session.commit()
        rows = services.compute_results(event, now=NOW)
        db.session.commit()
        assert [(r.entry_id, r.theory, r.practical, r.final, r.rank) for r in rows] == [
            (x, Decimal("82.00"), Decimal("73.67"), Decimal("76.17"), 1)
        ]
        # Every other coded entry of the demo lacks a theory score too: no marks are read for them.
        outcome = services.recompute_results(event, now=NOW)
        assert outcome.rescored == 0
        assert outcome.pending[y] == services.PENDING_THEORY


def test_trimmed_means_add_up_to_exact_finals_and_module_a_breaks_the_tie(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        rows = services.compute_results(event, now=NOW)
        db.session.commit()
        by_entry = {row.entry_id: row for row in rows}
        assert set(by_entry) == set(marked["entries"].values())  # the other entries are pending
        x, y, z = (by_entry[marked["entries"][label]] for label in "XYZ")

        assert x.criterion_scores == {
            "A1": "7.50",
            "A2": "11.17",
            "A3": "12.00",
            "B1": "10.00",
            "B2": "10.00",
            "C1": "15.00",
            "D1": "8.00",
        }
        assert x.module_scores == {"A": "30.67", "B": "20.00", "C": "15.00", "D": "8.00"}
        assert (x.practical, x.final, x.theory) == (Decimal("73.67"), Decimal("73.67"), None)
        assert y.criterion_scores["A3"] == "11.00"
        assert y.criterion_scores["B2"] == "10.17"
        assert y.module_scores == {"A": "31.00", "B": "19.17", "C": "15.00", "D": "8.50"}
        assert (y.practical, y.final) == (Decimal("73.67"), Decimal("73.67"))
        assert z.criterion_scores["C1"] == "10.00"
        assert (z.practical, z.final) == (Decimal("52.00"), Decimal("52.00"))

        assert (y.rank, x.rank, z.rank) == (1, 2, None)
        assert (y.passed, x.passed, z.passed) == (True, True, False)
        assert y.tie_note is None
        assert '"key": "top_module"' in x.tie_note
        assert f'"above": "{marked["codes"]["Y"]}"' in x.tie_note
        assert '"module": "A"' in x.tie_note
        assert all(row.marks_seq == event.mark_seq == 3 * 7 * 5 for row in rows)
        assert all(row.standardised is None and row.standard_method is None for row in rows)


def _recompute(event):
    """Through the job, as the app does (in tests it runs at once); its account."""
    job = services.schedule_recompute(event)
    assert job.status is JobStatus.DONE, job.message
    return job.result


def test_only_the_entry_whose_marks_changed_is_rescored(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        first = _recompute(event)
        assert first["rows"] == 3 and first["pending"]["marks"] == 57
        ids = {row.entry_id: row.id for row in services.stored_results(event)}
        computed = {row.computed_at for row in services.stored_results(event)}
        version = event.results_version

        # Nothing changed: no marks are read, not even those of the entries still being marked.
        again = _recompute(event)
        assert (again["rescored"], again["changed"]) == (0, 0)
        assert again["pending"]["marks"] == 57
        assert {row.computed_at for row in services.stored_results(event)} == computed
        assert event.results_version == version

        # judge1 corrects X's A1 from 7 to 10: the trimmed A1 becomes (7.5 + 8 + 9)/3 = 8.17.
        later = NOW + timedelta(minutes=5)
        x = marked["entries"]["X"]
        _correct(event, "judge1", x, marked["codes"]["X"], "A1", "10", later)
        db.session.commit()
        outcome = services.recompute_results(event, now=later)
        # Only X is read again; X's figures and place and Y's place (X now leads) change.
        assert outcome.rescored == 1
        assert (outcome.inserted, outcome.updated, outcome.deleted) == (0, 2, 0)
        db.session.commit()
        rows = services.stored_results(event)
        assert {row.entry_id: row.id for row in rows} == ids
        row_x = next(row for row in rows if row.entry_id == x)
        assert row_x.criterion_scores["A1"] == "8.17"
        assert row_x.practical == Decimal("74.34")
        assert row_x.rank == 1
        assert {row.marks_seq for row in rows} == {3 * 7 * 5 + 1}
        assert event.results_version == version + 1
        assert db.session.scalar(select(func.count(EntryScore.id))) == 3


def test_a_recorded_time_breaks_a_tie_and_a_theory_change_rescores_one_entry(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        x, y = marked["entries"]["X"], marked["entries"]["Y"]
        for entry_id in marked["entries"].values():
            _theory(event, entry_id, "80")
        db.session.commit()
        rows = {r.entry_id: r for r in services.compute_results(event, now=NOW)}
        # 0.3 × 80 + 0.7 × 73.67 = 24 + 51.569 → 75.57 for both X and Y; module A puts Y first.
        assert (rows[x].final, rows[y].final) == (Decimal("75.57"), Decimal("75.57"))
        assert (rows[y].rank, rows[x].rank) == (1, 2)

        entry = db.session.get(Entry, x)
        inputs.record_input(
            None, event, entry=entry, kind=InputKind.TIME, value=Decimal("95"), reason=None, now=NOW
        )
        _theory(event, y, "79.5", reason="阅卷复核")
        db.session.commit()
        outcome = services.recompute_results(event, now=NOW)
        assert outcome.rescored == 2  # X (time) and Y (theory), not Z
        rows = {r.entry_id: r for r in services.stored_results(event)}
        assert rows[x].time == Decimal("95.00")
        # Y: 0.3 × 79.5 + 51.569 = 75.419 → 75.42 < 75.57: X leads on the final score.
        assert rows[y].final == Decimal("75.42")
        assert (rows[x].rank, rows[y].rank) == (1, 2)


def test_standardisation_is_stored_beside_the_raw_final_with_its_method(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        event.overrides = {**event.overrides, "standardise": True, "std_spread_pts": 30}
        rows = {r.entry_id: r for r in services.compute_results(event, now=NOW)}
        x, y, z = (rows[marked["entries"][label]] for label in "XYZ")
        # Finals 73.67, 73.67, 52.00: median 73.67 → 700; MAD 0 → SD = 10.2149…;
        # Z: 700 + 30 × (52 − 73.67)/10.2149 = 636.36.
        assert (x.standardised, y.standardised) == (Decimal("700.00"), Decimal("700.00"))
        assert z.standardised == Decimal("636.36")
        assert x.final == Decimal("73.67")  # the raw figure is unchanged
        assert x.standard_method.startswith("ws_mad basis=sd median=73.67 mad=0")
        assert "center=700" in x.standard_method and "spread_pts=30" in x.standard_method
        assert len(x.standard_method) <= 120


def _page(client, event_id):
    response = client.get(f"/events/{event_id}/results/provisional")
    return response, response.get_data(as_text=True)


def test_the_page_shows_codes_and_scores_but_no_names_or_units(app, client, auth, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        db.session.commit()
        entries = [db.session.get(Entry, entry_id) for entry_id in marked["entries"].values()]
        names = [m.person.name for entry in entries for m in entry.members]
        units = [entry.unit.name for entry in entries]
    assert auth.login("organiser", PASSWORD).status_code == 302
    response, html = _page(client, marked["event_id"])
    assert response.status_code == 200
    # No rows were stored yet: the page started the recompute (in tests it runs at once).
    codes = marked["codes"]
    assert f'data-code="{codes["Y"]}" data-rank="1" data-final="73.67"' in html
    assert f'data-code="{codes["X"]}" data-rank="2" data-final="73.67"' in html
    assert f'data-code="{codes["Z"]}" data-rank="" data-final="52.00"' in html
    assert "31.00" in html and "30.67" in html
    assert 'data-marks-seq="105" data-stale="0"' in html
    for text in names + units:
        assert text not in html
    client.set_cookie("lang", "en")
    _response, html = _page(client, marked["event_id"])
    assert "Provisional ranking, not rechecked" in html
    assert f"below {codes['Y']} on module A (30.67 < 31.00)" in html


def test_the_page_reads_stored_rows_and_recomputes_only_when_marks_arrive(
    app, client, auth, marked
):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        db.session.commit()
    assert auth.login("organiser", PASSWORD).status_code == 302
    _page(client, marked["event_id"])
    _page(client, marked["event_id"])
    with app.app_context():
        jobs = db.session.scalars(select(Job).where(Job.kind == services.RECOMPUTE_JOB)).all()
        assert [job.status for job in jobs] == [JobStatus.DONE]  # the second visit read rows
        event = _event(marked["event_id"])
        later = NOW + timedelta(minutes=3)
        # Z's C1 from judge2: 10 → 16; sorted 0, 10, 10, 16, 20 → (10 + 10 + 16)/3 = 12.00.
        _correct(event, "judge2", marked["entries"]["Z"], marked["codes"]["Z"], "C1", "16", later)
        db.session.commit()
        assert services.freshness(event).stale
    _response, html = _page(client, marked["event_id"])
    assert 'data-marks-seq="106" data-stale="0"' in html
    assert f'data-code="{marked["codes"]["Z"]}" data-rank="" data-final="54.00"' in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Job.id))) == 2
        result = services.last_recompute(_event(marked["event_id"])).result
        assert (result["rescored"], result["changed"]) == (1, 1)


def test_the_page_says_how_many_entries_wait_for_a_theory_score(app, client, auth, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        coded = len(services._coded_entries(event))
        _theory(event, marked["entries"]["X"], "90")
        db.session.commit()
    assert auth.login("organiser", PASSWORD).status_code == 302
    response, html = _page(client, marked["event_id"])
    assert response.status_code == 200
    # X is ranked (0.3 × 90 + 0.7 × 73.67 = 78.569 → 78.57); every other coded entry waits.
    assert f'data-code="{marked["codes"]["X"]}" data-rank="1" data-final="78.57"' in html
    assert (
        f'data-pending="{coded - 1}" data-missing-theory="{coded - 1}" data-not-marked="0"' in html
    )


def test_the_charts_show_the_distribution_and_each_judges_leniency(app, client, auth, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        db.session.commit()
    assert auth.login("organiser", PASSWORD).status_code == 302
    _response, html = _page(client, marked["event_id"])
    # Finals 73.67, 73.67, 52.00 in 5-point bins from 50: one in 50–55, two in 70–75.
    assert '<g class="bin" data-low="50" data-count="1">' in html
    assert '<g class="bin" data-low="70" data-count="2">' in html
    assert html.count('<g class="bin"') == 10  # 50, 55, … 95
    # One bar per judge, named by panel seat (the chief judge holds seat 1) and display name.
    assert html.count('<g class="judge"') == 5
    for n in range(1, 6):
        assert f'data-judge="{n + 1}. 评分裁判 {n}"' in html
    # judge4 marks above the panel (X: A1 9 and A2 9.5 against means 7.5 and 11.2; Z: C1 20
    # against 10), judge5 below (X: A1 6; Z: C1 0): the most lenient and the strictest.
    overall = dict(re.findall(r'data-judge="\d+\. 评分裁判 (\d)" data-overall="(-?[\d.]+)"', html))
    assert max(overall, key=lambda n: Decimal(overall[n])) == "4"
    assert min(overall, key=lambda n: Decimal(overall[n])) == "5"
    assert "style=" not in html


def test_a_judge_may_not_see_the_provisional_ranking(app, client, auth, marked):
    assert auth.login("judge1", PASSWORD).status_code == 302
    response = client.get(f"/events/{marked['event_id']}/results/provisional")
    assert response.status_code == 403


def test_a_withdrawn_mark_leaves_that_judge_out_of_the_criterion(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        services.compute_results(event, now=NOW)
        judge5 = _user("judge5")
        a1 = next(c for c in judging.assignment_for(judge5, event).criteria if c.code == "A1")
        cell = judging.current_marks(
            event, judge_user_id=judge5.id, entry_id=marked["entries"]["X"]
        )
        base = next(m for (_j, _e, crit), m in cell.items() if crit == a1.id)
        # Append the VOID link as the chain would.
        event.mark_seq += 1
        void = MarkEvent(
            event_id=event.id,
            seq=event.mark_seq,
            judge_user_id=judge5.id,
            entry_id=marked["entries"]["X"],
            criterion_id=a1.id,
            kind=MarkKind.VOID,
            value=None,
            client_id=str(uuid.uuid4()),
            recorded_at=NOW,
            supersedes_id=base.id,
            reason="回避",
            prev_hash=event.mark_head,
            hash="f" * 64,
        )
        db.session.add(void)
        db.session.flush()
        services.recompute_results(event, now=NOW)
        x = next(row for row in services.stored_results(event) if row.entry_id == void.entry_id)
        # Four judges left (7, 8, 7.5, 9): no trimming below five, mean 31.5/4 = 7.875 → 7.88.
        assert x.criterion_scores["A1"] == "7.88"
        assert x.practical == Decimal("74.05")


@pytest.mark.parametrize(
    ("state", "stage"),
    [("in_progress", "provisional"), ("under_review", "review"), ("final", "published")],
)
def test_the_page_says_which_stage_the_ranking_is_at(app, client, login_as, state, stage):
    from ..scenario import ranked_event

    with app.app_context():
        s = ranked_event(4, state=state)
        db.session.commit()
    login_as("organiser", competition_id=s.competition_id)
    page = client.get(f"/events/{s.event_id}/results/provisional").get_data(as_text=True)
    assert f'data-stage="{stage}"' in page
    assert 'id="results-outputs"' in page
