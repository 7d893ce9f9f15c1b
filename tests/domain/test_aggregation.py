from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.aggregation import (
    Aggregation,
    aggregate,
    flag_disagreement,
    kept_marks,
    spread,
    ws_judgement_mark,
    ws_needs_rescore,
)
from compete.domain.errors import InvalidInput

marks_st = st.lists(st.decimals(0, 10, places=2), min_size=1, max_size=9)


def test_five_judges_drop_one_highest_and_one_lowest():
    # §8b criterion C2: 18.5 21 20 23 19.5 → drop 23 and 18.5 → 60.5/3 = 20.1667 → 20.17
    assert aggregate([D("18.5"), D(21), D(20), D(23), D("19.5")]) == D("20.17")


def test_repeated_extremes_drop_exactly_one_copy_each():
    assert kept_marks([D(5), D(5), D(7), D(9), D(9)]) == [D(5), D(7), D(9)]
    assert aggregate([D(5), D(5), D(7), D(9), D(9)]) == D("7.00")


def test_fewer_than_five_judges_use_the_plain_mean():
    assert aggregate([D(24), D(26), D(25), D(27)]) == D("25.50")
    assert aggregate([D("18.5"), D(21), D(20), D(23)]) == D("20.63")


def test_trim_threshold_and_width_are_parameters():
    marks = [D(1), D(2), D(3), D(4)]
    assert aggregate(marks, trim_min_judges=4) == D("2.50")
    assert kept_marks(marks, trim_min_judges=4) == [D(2), D(3)]
    seven = [D(v) for v in (1, 2, 3, 4, 5, 6, 100)]
    assert kept_marks(seven, trim_each_side=2) == [D(3), D(4), D(5)]


def test_trimming_everything_is_refused():
    with pytest.raises(InvalidInput):
        kept_marks([D(1), D(2), D(3)], trim_min_judges=3, trim_each_side=2)


def test_other_methods():
    marks = [D(1), D(2), D(4), D(10)]
    assert aggregate(marks, method=Aggregation.MEAN) == D("4.25")
    assert aggregate(marks, method="median") == D("3.00")
    assert aggregate([D(1), D(7), D(2)], method="median") == D("2.00")
    assert aggregate(marks, method=Aggregation.SUM) == D("17.00")


def test_rounding_is_half_up_to_the_configured_places():
    assert aggregate([D("0.125")], method="mean") == D("0.13")
    assert aggregate([D("0.125")], method="mean", dp=1) == D("0.1")
    assert aggregate([D("2.5")], method="mean", dp=0) == D(3)


def test_floats_and_empty_marks_are_refused():
    with pytest.raises(InvalidInput):
        aggregate([0.1, 0.2])
    with pytest.raises(InvalidInput):
        aggregate([])


def test_spread_and_disagreement_flag():
    assert spread([D(3), D(7), D(5)]) == D(4)
    assert flag_disagreement([D(3), D(7)], D(3)) is True
    assert flag_disagreement([D(3), D(6)], D(3)) is False
    assert flag_disagreement([D(0), D(100)], None) is False


def test_worldskills_judgement_mark():
    # §4.4: max 1.5 with 2/3/2 → 1.5 × 7/9 = 1.1667
    assert ws_judgement_mark(D("1.5"), [2, 3, 2], dp=4) == D("1.1667")
    assert ws_judgement_mark(D("1.5"), [2, 3, 2]) == D("1.17")
    assert ws_judgement_mark(D(2), [3, 3, 3, 3]) == D("2.00")


def test_worldskills_scores_must_be_whole_0_to_3():
    for bad in ([4, 1, 1], [D("1.5"), 1, 1], [-1, 0, 0]):
        with pytest.raises(InvalidInput):
            ws_judgement_mark(D(1), bad)


def test_worldskills_rescore_when_more_than_one_apart():
    assert ws_needs_rescore([1, 3, 2]) is True
    assert ws_needs_rescore([2, 3, 2]) is False
    assert ws_needs_rescore([0, 2, 2], ws_max_spread=2) is False


@given(st.lists(st.decimals(0, 10, places=2), min_size=5, max_size=9))
def test_trimmed_mean_stays_between_kept_marks(marks):
    kept = sorted(marks)[1:-1]
    assert min(kept) <= aggregate(marks) <= max(kept)


@given(marks_st)
def test_every_method_lies_within_the_marks_except_sum(marks):
    for method in ("mean", "trimmed_mean", "median"):
        value = aggregate(marks, method=method, dp=4)
        assert min(marks) <= value <= max(marks)


@given(marks_st, st.randoms())
def test_aggregation_ignores_the_order_of_judges(marks, rnd):
    shuffled = list(marks)
    rnd.shuffle(shuffled)
    for method in Aggregation:
        assert aggregate(marks, method=method) == aggregate(shuffled, method=method)


@given(st.lists(st.decimals(0, 10, places=2), min_size=5, max_size=9))
def test_one_wild_judge_cannot_move_a_trimmed_mean_beyond_the_others(marks):
    wild = [*marks[:-1], D(1000)]
    others = sorted(marks[:-1])
    assert others[0] <= aggregate(wild) <= others[-1]
