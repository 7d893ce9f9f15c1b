"""The worked examples of the domain reference, §8(b) and §8(c), through the app: marks in the
chain, theory scores and times recorded through the inputs service, results stored by the
recompute job and shown on the provisional page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from compete.blueprints.judging import services as judging
from compete.blueprints.results import inputs, services
from compete.extensions import db
from compete.models import Entry, Event, InputKind, Role

from .test_recompute import add_mark, build_event

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)

# ---------------------------------------------------------------- §8(b)

SCHEME_B = [("M", [("C1", "30", "0.5"), ("C2", "30", "0.5"), ("C3", "40", "0.5")])]
MARKS_B = {
    "C1": ["24", "26", "25", "27", "22"],
    "C2": ["18.5", "21", "20", "23", "19.5"],
    "C3": ["33", "35", "30", "36", "34"],
}


def _example_b(app, **overrides) -> dict:
    with app.app_context():
        built = build_event(modules=SCHEME_B, entries=1, judges=5, overrides=overrides)
        event = db.session.get(Event, built.event_id)
        (entry_id,) = built.entry_ids
        for code, values in MARKS_B.items():
            for judge_id, value in zip(built.judge_ids, values, strict=True):
                add_mark(event, judge_id, entry_id, built.criteria[code], value)
        entry = db.session.get(Entry, entry_id)
        inputs.record_input(
            None, event, entry=entry, kind=InputKind.THEORY, value=Decimal(82), reason=None, now=NOW
        )
        db.session.commit()
        assert judging.verify_marks(event) is None
        return {
            "event_id": event.id,
            "competition_id": event.competition_id,
            "entry_id": entry_id,
            "judges": built.judge_ids,
            "criteria": built.criteria,
        }


def _row(app, event_id):
    with app.app_context():
        event = db.session.get(Event, event_id)
        job = services.schedule_recompute(event)
        assert job.result["rows"] == 1, job.result
        (row,) = services.stored_results(event)
        db.session.expunge(row)
        return row


def test_example_b_trims_each_criterion_and_weighs_theory_30_70(app, client, login_as):
    example = _example_b(app)
    row = _row(app, example["event_id"])
    # C1 drops 27 and 22 → 75/3 = 25.00; C2 drops 23 and 18.5 → 60.5/3 = 20.17;
    # C3 drops 36 and 30 → 102/3 = 34.00; practical 79.17; 24.6 + 55.419 = 80.019 → 80.02.
    assert row.criterion_scores == {"C1": "25.00", "C2": "20.17", "C3": "34.00"}
    assert row.module_scores == {"M": "79.17"}
    assert (row.practical, row.theory, row.final) == (
        Decimal("79.17"),
        Decimal("82.00"),
        Decimal("80.02"),
    )
    assert (row.rank, row.passed, row.time, row.standardised) == (1, True, None, None)
    login_as(Role.ORGANISER, competition_id=example["competition_id"])
    html = client.get(f"/events/{example['event_id']}/results/provisional").get_data(as_text=True)
    assert 'data-code="R001" data-rank="1" data-final="80.02"' in html
    assert "79.17" in html and "82.00" in html


def test_example_b_trimmed_on_judge_totals_gives_78_97(app):
    example = _example_b(app, trim_level="judge_total")
    row = _row(app, example["event_id"])
    # Judge totals 75.5, 82, 75, 86, 75.5; drop 86 and 75 → 233/3 = 77.67;
    # 24.6 + 0.7 × 77.67 = 24.6 + 54.369 = 78.969 → 78.97.
    assert (row.practical, row.final) == (Decimal("77.67"), Decimal("78.97"))


def test_example_b_with_judge_5_withdrawn_gives_80_34(app):
    example = _example_b(app)
    with app.app_context():
        event = db.session.get(Event, example["event_id"])
        for criterion_id in example["criteria"].values():
            add_mark(event, example["judges"][4], example["entry_id"], criterion_id, None)
        db.session.commit()
    row = _row(app, example["event_id"])
    # Four judges: plain means 25.50 + 20.625 → 20.63 + 33.50 = 79.63; 24.6 + 55.741 → 80.34.
    assert row.criterion_scores == {"C1": "25.50", "C2": "20.63", "C3": "33.50"}
    assert (row.practical, row.final) == (Decimal("79.63"), Decimal("80.34"))


# ---------------------------------------------------------------- §8(c)

SCHEME_C = [
    ("M1", [("K1", "40", "0.5")]),
    ("M2", [("K2", "35", "0.5")]),
    ("M3", [("K3", "25", "0.5")]),
]
# label: theory, M1, M2, M3, time. A–E all reach 83.00; F1–F4 rank above them, G below.
ENTRIES_C = {
    "F1": ("90", "39", "30", "20", "60"),  # 89.00 → 27 + 62.3 = 89.30
    "F2": ("90", "38", "30", "20", "60"),  # 88.00 → 88.60
    "F3": ("90", "37", "30", "20", "60"),  # 87.00 → 87.90
    "F4": ("90", "36", "30", "20", "60"),  # 86.00 → 87.20
    "A": ("90", "34.0", "28.0", "18.0", "55"),
    "B": ("76", "34.0", "31.0", "21.0", "58"),
    "C": ("90", "33.5", "29.0", "17.5", "50"),
    "D": ("90", "33.5", "28.5", "18.0", "52"),
    "E": ("90", "33.5", "27.5", "19.0", "52"),
    "G": ("60", "30", "25", "15", "60"),  # 70.00 → 18 + 49 = 67.00
}


def _example_c(app, **overrides) -> dict:
    with app.app_context():
        built = build_event(modules=SCHEME_C, entries=len(ENTRIES_C), judges=5, overrides=overrides)
        event = db.session.get(Event, built.event_id)
        labels = {}
        for entry_id, code, (label, figures) in zip(
            built.entry_ids, built.codes, ENTRIES_C.items(), strict=True
        ):
            theory, m1, m2, m3, minutes = figures
            for criterion, value in (("K1", m1), ("K2", m2), ("K3", m3)):
                for judge_id in built.judge_ids:
                    add_mark(event, judge_id, entry_id, built.criteria[criterion], value)
            entry = db.session.get(Entry, entry_id)
            for kind, value in ((InputKind.THEORY, theory), (InputKind.TIME, minutes)):
                inputs.record_input(
                    None, event, entry=entry, kind=kind, value=Decimal(value), reason=None, now=NOW
                )
            labels[label] = code
        db.session.commit()
        services.schedule_recompute(event)
        rows = {row.entry_id: row for row in services.stored_results(event)}
        codes = dict(zip(built.entry_ids, built.codes, strict=True))
        by_label = {}
        for label, code in labels.items():
            row = next(r for e, r in rows.items() if codes[e] == code)
            by_label[label] = {
                "rank": row.rank,
                "final": row.final,
                "practical": row.practical,
                "note": json.loads(row.tie_note) if row.tie_note else None,
            }
        return {
            "event_id": event.id,
            "competition_id": event.competition_id,
            "codes": labels,
            "rows": by_label,
        }


def _ranks(example, labels):
    return [example["rows"][label]["rank"] for label in labels]


def test_example_c_five_at_83_with_the_default_chain(app, client, login_as):
    example = _example_c(app)
    rows, codes = example["rows"], example["codes"]
    assert {rows[label]["final"] for label in "ABCDE"} == {Decimal("83.00")}
    assert (rows["A"]["practical"], rows["B"]["practical"]) == (Decimal("80.00"), Decimal("86.00"))
    assert _ranks(example, ["F1", "F2", "F3", "F4"]) == [1, 2, 3, 4]
    # M1 puts {A, B} above {C, D, E}; practical puts B over A; time puts C over D and E;
    # D and E are equal on every key: B 5, A 6, C 7, D 8, E 8, next 10.
    assert _ranks(example, "BACDE") == [5, 6, 7, 8, 8]
    assert rows["G"]["rank"] == 10
    assert rows["A"]["note"] == {
        "key": "practical",
        "above": codes["B"],
        "module": None,
        "value": "80.00",
        "above_value": "86.00",
    }
    assert rows["C"]["note"]["key"] == "top_module"
    assert (rows["C"]["note"]["module"], rows["C"]["note"]["above"]) == ("M1", codes["A"])
    assert rows["D"]["note"]["key"] == "time"
    assert (rows["D"]["note"]["value"], rows["D"]["note"]["above_value"]) == ("52.00", "50.00")
    assert rows["E"]["note"] == {
        "key": "shared",
        "above": codes["D"],
        "module": None,
        "value": None,
        "above_value": None,
    }
    login_as(Role.ORGANISER, competition_id=example["competition_id"])
    client.set_cookie("lang", "en")
    html = client.get(f"/events/{example['event_id']}/results/provisional").get_data(as_text=True)
    for label, rank in zip("BACDE", [5, 6, 7, 8, 8], strict=True):
        assert f'data-code="{codes[label]}" data-rank="{rank}" data-final="83.00"' in html
    assert f"below {codes['A']} on module M1 (33.50 < 34.00)" in html
    assert f"equal to {codes['D']} on every key" in html
    assert '<th class="num">Time (min)</th>' in html


def test_example_c_all_modules_splits_d_and_e(app):
    example = _example_c(app, tie_chain=["all_modules", "practical", "time", "shared"])
    # After M1, M2 (28.5 > 27.5) puts D over E.
    assert _ranks(example, "BACDE") == [5, 6, 7, 8, 9]
    assert example["rows"]["E"]["note"]["module"] == "M2"


@pytest.mark.parametrize("standardised", [False, True])
def test_example_c_lamp_order(app, standardised):
    example = _example_c(
        app, tie_chain=["time", "practical", "theory", "shared"], standardise=standardised
    )
    # Time first: C (50), D = E (52), A (55), B (58).
    assert _ranks(example, "CDEAB") == [5, 6, 6, 8, 9]
