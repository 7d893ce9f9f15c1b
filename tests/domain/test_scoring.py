from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compete.domain.aggregation import Aggregation, aggregate, aggregate_exact
from compete.domain.errors import InvalidInput
from compete.domain.scheme import AspectKind, CriterionSpec, ModuleSpec, SchemeSpec
from compete.domain.scoring import (
    PassRule,
    ScoringRules,
    TrimLevel,
    final_score,
    is_pass,
    score_entry,
    standardise,
    validate_rules,
)

# §8b: 5 judges, 3 criteria (30, 30, 40), theory 82, 30/70.
SCHEME_B = SchemeSpec(
    (
        ModuleSpec("M1", "Module 1", (CriterionSpec("C1", D(30), D("0.5")),)),
        ModuleSpec("M2", "Module 2", (CriterionSpec("C2", D(30), D("0.5")),)),
        ModuleSpec("M3", "Module 3", (CriterionSpec("C3", D(40), D("0.5")),)),
    )
)
MARKS_B = {
    "C1": {"J1": D(24), "J2": D(26), "J3": D(25), "J4": D(27), "J5": D(22)},
    "C2": {"J1": D("18.5"), "J2": D(21), "J3": D(20), "J4": D(23), "J5": D("19.5")},
    "C3": {"J1": D(33), "J2": D(35), "J3": D(30), "J4": D(36), "J5": D(34)},
}


def test_example_b_trim_per_criterion_gives_80_02():
    result = score_entry(SCHEME_B, MARKS_B, entry_id="E1", theory=D(82))
    assert dict(result.criterion_scores) == {"C1": D("25.00"), "C2": D("20.17"), "C3": D("34.00")}
    assert dict(result.module_scores) == {"M1": D("25.00"), "M2": D("20.17"), "M3": D("34.00")}
    assert result.practical == D("79.17")
    assert result.theory == D("82.00")
    assert result.final == D("80.02")
    assert result.passed is True


def test_example_b_trim_on_judge_totals_gives_78_97():
    result = score_entry(
        SCHEME_B,
        MARKS_B,
        entry_id="E1",
        theory=D(82),
        rules=ScoringRules(trim_level=TrimLevel.JUDGE_TOTAL),
    )
    assert result.practical == D("77.67")
    assert result.final == D("78.97")


def test_example_b_judge_5_dropped_for_recusal_gives_80_34():
    result = score_entry(SCHEME_B, MARKS_B, entry_id="E1", theory=D(82), excluded_judges={"J5"})
    assert dict(result.criterion_scores) == {"C1": D("25.50"), "C2": D("20.63"), "C3": D("33.50")}
    assert result.practical == D("79.63")
    assert result.final == D("80.34")
    assert result.dropped_judges == ("J5",)


def test_final_formula_and_weights():
    assert final_score(D(82), D("79.17"), theory_weight=D("0.3")) == D("80.02")
    assert final_score(D(90), D(80), theory_weight=D("0.2")) == D("82.00")
    assert final_score(None, D("79.175"), theory_weight=D(0)) == D("79.18")
    with pytest.raises(InvalidInput):
        final_score(None, D(80), theory_weight=D("0.3"))


def test_theory_optional_when_its_weight_is_zero():
    result = score_entry(SCHEME_B, MARKS_B, entry_id="E1", rules=ScoringRules(theory_weight=D(0)))
    assert result.theory is None
    assert result.final == D("79.17")
    with pytest.raises(InvalidInput):
        score_entry(SCHEME_B, MARKS_B, entry_id="E1")  # w_T 0.30 needs theory


def test_theory_weight_above_its_ceiling_is_refused():
    with pytest.raises(InvalidInput) as info:
        validate_rules(ScoringRules(theory_weight=D("0.4")))
    assert info.value.field == "theory_weight"


def test_pass_mark_is_inclusive_and_both_parts_rule():
    assert is_pass(final=D("60.00"), practical=D(60), theory=D(60)) is True
    assert is_pass(final=D("59.99"), practical=D(70), theory=D(70)) is False
    assert is_pass(final=D(65), practical=D(70), theory=D(50)) is True
    assert (
        is_pass(final=D(65), practical=D(70), theory=D(50), pass_rule=PassRule.BOTH_PARTS) is False
    )
    assert is_pass(final=D(65), practical=D(65), theory=D(65), pass_rule="both_parts") is True
    assert is_pass(final=D(55), practical=D(55), theory=None, pass_mark=D(50)) is True


def test_pass_rule_reaches_the_result():
    marks = {c: {j: v - 12 for j, v in by.items()} for c, by in MARKS_B.items()}
    low = score_entry(SCHEME_B, marks, entry_id="E1", theory=D(100))
    assert low.practical < 60 <= low.final
    assert low.passed is True
    both = score_entry(
        SCHEME_B,
        marks,
        entry_id="E1",
        theory=D(100),
        rules=ScoringRules(pass_rule=PassRule.BOTH_PARTS),
    )
    assert both.passed is False


def test_marks_are_checked_against_the_scheme():
    bad = {**MARKS_B, "C1": {**MARKS_B["C1"], "J1": D(31)}}
    with pytest.raises(InvalidInput):
        score_entry(SCHEME_B, bad, entry_id="E1", theory=D(82))
    with pytest.raises(InvalidInput):
        score_entry(SCHEME_B, {**MARKS_B, "C9": {"J1": D(1)}}, entry_id="E1", theory=D(82))
    with pytest.raises(InvalidInput):
        score_entry(
            SCHEME_B, {"C1": MARKS_B["C1"], "C2": MARKS_B["C2"]}, entry_id="E1", theory=D(82)
        )
    with pytest.raises(InvalidInput):
        score_entry(SCHEME_B, MARKS_B, entry_id="E1", theory=D(101))


def test_judge_total_needs_the_same_judges_everywhere():
    marks = {**MARKS_B, "C3": {j: v for j, v in MARKS_B["C3"].items() if j != "J5"}}
    with pytest.raises(InvalidInput):
        score_entry(
            SCHEME_B,
            marks,
            entry_id="E1",
            theory=D(82),
            rules=ScoringRules(trim_level="judge_total"),
        )


def test_disagreement_and_sum_aggregation():
    spec = SchemeSpec(
        (
            ModuleSpec(
                "M1",
                "M1",
                (
                    CriterionSpec("T", D(50), D(1), tolerance=D(3)),
                    CriterionSpec("S", D(50), D(1), aggregation=Aggregation.SUM, judges=2),
                ),
            ),
        )
    )
    result = score_entry(
        spec,
        {"T": {"A": D(40), "B": D(44), "C": D(42)}, "S": {"A": D(20), "B": D(25)}},
        entry_id="E1",
        rules=ScoringRules(theory_weight=D(0)),
    )
    assert result.disagreements == ("T",)
    assert result.criterion_scores["S"] == D(45)
    with pytest.raises(InvalidInput):
        score_entry(
            spec,
            {"T": {"A": D(40)}, "S": {"A": D(30), "B": D(25)}},
            entry_id="E1",
            rules=ScoringRules(theory_weight=D(0)),
        )


def test_worldskills_judgement_mode():
    spec = SchemeSpec(
        (
            ModuleSpec(
                "M1",
                "M1",
                (
                    CriterionSpec("J", D("1.5"), kind=AspectKind.JUDGEMENT, judges=3),
                    CriterionSpec("M", D("98.5"), D("0.5"), judges=1),
                ),
            ),
        )
    )
    result = score_entry(
        spec,
        {"J": {"A": 2, "B": 3, "C": 0}, "M": {"A": D(80)}},
        entry_id="E1",
        rules=ScoringRules(theory_weight=D(0), ws_judgement=True),
    )
    assert result.criterion_scores["J"] == D("0.83")  # 1.5 × 5/9
    assert result.rescore == ("J",)
    assert result.practical == D("80.83")


mark = st.integers(0, 60).map(lambda n: D(n) / 2)


@settings(max_examples=40)
@given(st.lists(st.tuples(mark, mark, mark), min_size=1, max_size=7), st.integers(0, 100))
def test_figures_add_up_and_final_lies_between_parts(judges, theory):
    marks = {
        code: {f"J{i}": row[index] for i, row in enumerate(judges)}
        for index, code in enumerate(("C1", "C2", "C3"))
    }
    result = score_entry(SCHEME_B, marks, entry_id="E", theory=D(theory))
    assert result.practical == sum(result.module_scores.values())
    assert sum(result.criterion_scores.values()) == result.practical
    low, high = sorted([result.practical, D(theory)])
    assert low <= result.final <= high
    assert result.final == result.final.quantize(D("0.01"))


def test_standardise_median_maps_to_700():
    scores = {"A": D(60), "B": D(70), "C": D(80), "D": D(90), "E": D(100)}
    result = standardise(scores)
    assert result.median == D(80)
    assert result.mad == D(10)
    assert result.basis == "mad"
    assert result.scores["C"] == D("700.00")
    # 700 + 30 × 10 / (1.4826 × 10) = 720.23
    assert result.scores["D"] == D("720.23")
    assert result.scores["B"] == D("679.77")


def test_standardise_falls_back_to_sd_and_clamps():
    scores = {"A": D(50), "B": D(50), "C": D(50), "D": D(90)}
    result = standardise(scores)
    assert result.mad == 0
    assert result.basis == "sd"
    assert result.scores["A"] == D("700.00")
    clamped = standardise(
        {"A": D(0), "B": D(50), "C": D(50), "D": D(50), "E": D(100)}, spread_pts=500
    )
    assert clamped.scores["A"] == D(0)
    assert clamped.scores["E"] == D(1000)
    same = standardise({"A": D(70), "B": D(70)})
    assert same.basis == "none"
    assert set(same.scores.values()) == {D(700)}


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3), st.integers(0, 100), min_size=2))
def test_standardisation_never_reorders(raw):
    scores = {k: D(v) for k, v in raw.items()}
    result = standardise(scores).scores
    for a in scores:
        for b in scores:
            if scores[a] > scores[b]:
                assert result[a] >= result[b]


# ---------------------------------------------------------------- properties of the engine

judge_marks = st.lists(st.tuples(mark, mark, mark), min_size=1, max_size=7)


@settings(max_examples=60)
@given(judge_marks, st.randoms(), st.sampled_from(list(TrimLevel)))
def test_the_order_and_names_of_judges_do_not_matter(judges, rnd, level):
    """Figures depend on the marks, not on which judge gave them or in what order they came."""
    names = [f"J{i}" for i in range(len(judges))]
    marks = {
        code: {name: row[index] for name, row in zip(names, judges, strict=True)}
        for index, code in enumerate(("C1", "C2", "C3"))
    }
    shuffled_names = list(names)
    rnd.shuffle(shuffled_names)
    renamed = {f"X{n}" for n in range(len(names))}
    renaming = dict(zip(shuffled_names, sorted(renamed), strict=True))
    reordered = {
        code: {renaming[name]: by_judge[name] for name in shuffled_names}
        for code, by_judge in reversed(marks.items())
    }
    rules = ScoringRules(trim_level=level)
    first = score_entry(SCHEME_B, marks, entry_id="E", theory=D(82), rules=rules)
    second = score_entry(SCHEME_B, reordered, entry_id="E", theory=D(82), rules=rules)
    assert (first.practical, first.final, first.passed) == (
        second.practical,
        second.final,
        second.passed,
    )
    if level is TrimLevel.CRITERION:  # judge-total breakdowns name the kept judges
        assert dict(first.criterion_scores) == dict(second.criterion_scores)
        assert dict(first.module_scores) == dict(second.module_scores)


@given(
    st.lists(st.integers(0, 400).map(lambda n: D(n) / 4), min_size=1, max_size=9),
    st.integers(0, 100).map(lambda n: D(n) / 4),
    st.sampled_from([Aggregation.MEAN, Aggregation.TRIMMED_MEAN, Aggregation.MEDIAN]),
)
def test_a_uniform_offset_shifts_the_means_by_the_offset(marks, offset, method):
    """Adding c to every judge's mark adds c to the mean, trimmed mean and median (n·c to a
    sum): exactly up to the 28-digit context, and exactly once rounded to the published 0.01."""
    shifted = [value + offset for value in marks]
    exact = aggregate_exact(shifted, method=method) - aggregate_exact(marks, method=method)
    assert abs(exact - offset) < D("1e-20")
    assert aggregate(shifted, method=method) == aggregate(marks, method=method) + offset
    assert aggregate_exact(shifted, method=Aggregation.SUM) == aggregate_exact(
        marks, method=Aggregation.SUM
    ) + offset * len(marks)


@given(
    st.dictionaries(st.text("abcdef", min_size=1, max_size=3), st.integers(0, 10000), min_size=1),
    st.integers(0, 1000),
    st.integers(1, 200),
    st.sampled_from(["ws_mad", "sd"]),
)
def test_standardisation_keeps_order_and_equality_for_any_centre_and_spread(
    raw, center, spread, method
):
    scores = {k: D(v) / 100 for k, v in raw.items()}
    result = standardise(scores, center=center, spread_pts=spread, method=method).scores
    for a in scores:
        for b in scores:
            if scores[a] == scores[b]:
                assert result[a] == result[b]
            elif scores[a] > scores[b]:
                assert result[a] >= result[b]
    assert all(D(0) <= value <= D(1000) for value in result.values())
