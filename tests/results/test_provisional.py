"""Stored results and the provisional ranking: exact figures from the marks in force (§4.5,
§4.6, §8b), marking codes only on the page, and no recomputation while the chain is unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from compete.blueprints.judging import services as judging
from compete.blueprints.results import services
from compete.demo import load_demo
from compete.domain.errors import InvalidInput
from compete.extensions import db
from compete.models import Entry, EntryScore, Event, MarkEvent, MarkKind, User

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
    """Theory weight 0 for this event: final = practical (no theory score is recorded yet)."""
    event.overrides = {**(event.overrides or {}), "theory_weight": "0"}


def test_with_theory_weight_030_and_no_theory_score_the_engine_refuses(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        assert event.rules["theory_weight"] == "0.30"
        with pytest.raises(InvalidInput, match="theory score is missing"):
            services.compute_results(event, now=NOW)
        db.session.rollback()
        assert db.session.scalar(select(func.count(EntryScore.id))) == 0


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


def test_recompute_is_skipped_until_the_mark_chain_grows(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        first = services.compute_results(event, now=NOW)
        db.session.commit()
        ids = sorted(row.id for row in first)

        later = NOW + timedelta(minutes=5)
        again = services.compute_results(event, now=later)
        assert sorted(row.id for row in again) == ids
        assert {row.computed_at for row in again} == {NOW}

        # judge1 corrects X's A1 from 7 to 10: the trimmed A1 becomes (7.5 + 8 + 9)/3 = 8.17.
        judge1 = judging.assignment_for(_user("judge1"), event)
        a1 = next(c for c in judge1.criteria if c.code == "A1")
        cell = judging.current_marks(
            event, judge_user_id=_user("judge1").id, entry_id=marked["entries"]["X"]
        )
        base = next(m for (_j, _e, crit), m in cell.items() if crit == a1.id)
        mark = judging.MarkInput(
            client_id=str(uuid.uuid4()),
            code=marked["codes"]["X"],
            criterion_id=a1.id,
            value=Decimal("10"),
            base=base.id,
            entered_at=later,
            reason="录入错误",
            device="test",
        )
        judging.record_mark(_user("judge1"), event, mark, now=later)
        rows = services.compute_results(event, now=later)
        db.session.commit()
        x = next(row for row in rows if row.entry_id == marked["entries"]["X"])
        assert x.criterion_scores["A1"] == "8.17"
        assert x.practical == Decimal("74.34")
        assert x.rank == 1
        assert {row.computed_at for row in rows} == {later}
        assert db.session.scalar(select(func.count(EntryScore.id))) == 3


def test_the_page_shows_codes_and_scores_but_no_names_or_units(app, client, auth, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        db.session.commit()
        entries = [db.session.get(Entry, entry_id) for entry_id in marked["entries"].values()]
        names = [m.person.name for entry in entries for m in entry.members]
        units = [entry.unit.name for entry in entries]
    assert auth.login("organiser", PASSWORD).status_code == 302
    response = client.get(f"/events/{marked['event_id']}/results/provisional")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "临时排名，未经复核" in html  # "Provisional ranking, not rechecked"
    for code in marked["codes"].values():
        assert code in html
    assert "73.67" in html and "31.00" in html and "52.00" in html
    assert f"按模块 A 排在 {marked['codes']['Y']} 之后" in html  # "below … on module A"
    assert "前 105 条评分" in html  # "the first 105 marks"
    for text in names + units:
        assert text not in html


def test_without_a_theory_score_the_page_says_why_it_has_no_ranking(app, client, auth, marked):
    assert auth.login("organiser", PASSWORD).status_code == 302
    response = client.get(f"/events/{marked['event_id']}/results/provisional")
    assert response.status_code == 409
    assert "缺少理论成绩" in response.get_data(as_text=True)  # "The theory score is missing."
    assert "临时排名，未经复核" in response.get_data(as_text=True)


def test_a_judge_may_not_see_the_provisional_ranking(app, client, auth, marked):
    assert auth.login("judge1", PASSWORD).status_code == 302
    response = client.get(f"/events/{marked['event_id']}/results/provisional")
    assert response.status_code == 403


def test_a_withdrawn_mark_leaves_that_judge_out_of_the_criterion(app, marked):
    with app.app_context():
        event = _event(marked["event_id"])
        _without_theory(event)
        judge5 = _user("judge5")
        a1 = next(c for c in judging.assignment_for(judge5, event).criteria if c.code == "A1")
        cell = judging.current_marks(
            event, judge_user_id=judge5.id, entry_id=marked["entries"]["X"]
        )
        base = next(m for (_j, _e, crit), m in cell.items() if crit == a1.id)
        # No service writes a withdrawal yet: append the VOID link as the chain would.
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
        rows = services.compute_results(event, now=NOW)
        x = next(row for row in rows if row.entry_id == marked["entries"]["X"])
        # Four judges left (7, 8, 7.5, 9): no trimming below five, mean 31.5/4 = 7.875 → 7.88.
        assert x.criterion_scores["A1"] == "7.88"
        assert x.practical == Decimal("74.05")
