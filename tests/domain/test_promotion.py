from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.awards import Award
from compete.domain.errors import InvalidInput
from compete.domain.grades import Grade
from compete.domain.promotion import (
    GD_EMPLOYEE_RULES,
    ONE_UP,
    PromotionRule,
    decide_promotion,
    promote,
    promotions_within_limit,
)


def test_promote_pattern():
    assert promote(Grade.L3, Grade.L2, plus_one=True) is Grade.L2
    assert promote(Grade.L2, Grade.L2, plus_one=True) is Grade.L1
    assert promote(Grade.L2, Grade.L2, plus_one=False) is Grade.L2
    assert promote(Grade.L1, Grade.L2, plus_one=True) is Grade.L1
    assert promote(Grade.L1, Grade.L1, plus_one=True) is Grade.L1  # cap
    assert promote(None, Grade.L3, plus_one=False) is Grade.L3
    assert promote(Grade.L3, Grade.L3, plus_one=True, cap=Grade.L3) is Grade.L3
    assert promote(Grade.PRINCIPAL, Grade.L2, plus_one=True) is Grade.PRINCIPAL


@given(
    st.sampled_from([None, *Grade]),
    st.sampled_from(list(Grade)[:6]),
    st.booleans(),
    st.sampled_from([Grade.L2, Grade.L1]),
)
def test_promotion_never_lowers_and_respects_the_cap(current, target, plus_one, cap):
    new = promote(current, target, plus_one=plus_one, cap=cap)
    if current is not None:
        assert new >= current
        assert new <= max(current, cap)
        assert new - current <= max(target - current, 1 if plus_one else 0)
    else:
        assert new == min(target, cap)


def gd(rank, award, current, **kwargs):
    return decide_promotion(
        GD_EMPLOYEE_RULES,
        award=award,
        rank=rank,
        final=D(80),
        group="employee",
        current=current,
        **kwargs,
    )


def test_example_a_promotions_table():
    # rank 1: 高级工, 一等奖, title → 技师
    assert gd(1, Award.FIRST, Grade.L3, title_granted_now=True).new_grade is Grade.L2
    # rank 2: 技师, 二等奖, title → 高级技师
    assert gd(2, Award.SECOND, Grade.L2, title_granted_now=True).new_grade is Grade.L1
    # rank 5: 技师, title held since 2021 (not re-granted) → 高级技师
    assert gd(5, Award.THIRD, Grade.L2, holds_title=True).new_grade is Grade.L1
    # rank 6: 高级技师 → unchanged (cap)
    six = gd(6, Award.THIRD, Grade.L1, title_granted_now=True)
    assert six.new_grade is None
    assert six.params == {"grade": "L1", "cap": "L1"}
    # rank 7: 技师, 优胜奖, no title → unchanged; national reading → 高级技师
    seven = gd(7, Award.MERIT, Grade.L2)
    assert seven.new_grade is None
    assert "needs the title" in seven.reason
    assert gd(7, Award.MERIT, Grade.L2, senior_step_requires_title=False).new_grade is Grade.L1
    # rank 12: 中级工, 优胜奖 → 技师 (skips 高级工)
    assert gd(12, Award.MERIT, Grade.L4).new_grade is Grade.L2
    # rank 19: nothing
    nineteen = gd(19, None, Grade.L3)
    assert nineteen.new_grade is None
    assert nineteen.rule_index is None


def test_below_pass_mark_gets_no_promotion():
    assert gd(None, None, Grade.L4, passed=False).new_grade is None
    assert gd(3, Award.THIRD, Grade.L4, passed=False).new_grade is None


def test_rank_bands_and_first_matching_rule():
    # NATIONAL_1 employee: 1–5 → 技师 (+1); 6–20 → 高级工 (+1)
    rules = (
        PromotionRule(target=Grade.L2, plus_one=True, ranks=(1, 5)),
        PromotionRule(target=Grade.L3, plus_one=True, ranks=(6, 20)),
    )
    kwargs = dict(award=None, final=D(70), group="employee", senior_step_requires_title=False)
    assert decide_promotion(rules, rank=3, current=Grade.L4, **kwargs).new_grade is Grade.L2
    assert decide_promotion(rules, rank=8, current=Grade.L3, **kwargs).new_grade is Grade.L2
    assert decide_promotion(rules, rank=8, current=Grade.L5, **kwargs).new_grade is Grade.L3
    assert decide_promotion(rules, rank=21, current=Grade.L5, **kwargs).new_grade is None


def test_group_score_title_conditions_and_one_up():
    rules = (
        PromotionRule(target=Grade.L1, groups=frozenset({"employee"}), requires_title=True),
        PromotionRule(target=Grade.L3, min_score=D(60)),
        PromotionRule(target=ONE_UP, cap=Grade.L2, groups=frozenset({"youth"})),
    )
    base = dict(award=None, rank=4, senior_step_requires_title=False)
    assert (
        decide_promotion(
            rules, final=D(70), group="employee", current=Grade.L2, holds_title=True, **base
        ).new_grade
        is Grade.L1
    )
    assert (
        decide_promotion(rules, final=D(70), group="employee", current=Grade.L4, **base).new_grade
        is Grade.L3
    )
    assert (
        decide_promotion(rules, final=D(50), group="youth", current=Grade.L3, **base).new_grade
        is Grade.L2
    )
    assert (
        decide_promotion(rules, final=D(50), group="youth", current=Grade.L2, **base).new_grade
        is None
    )


def test_one_promotion_per_year_limit():
    earlier = [date(2025, 3, 1)]
    assert promotions_within_limit(earlier, on=date(2025, 11, 1), per_year_max=1) is False
    assert promotions_within_limit(earlier, on=date(2026, 1, 2), per_year_max=1) is True
    assert (
        promotions_within_limit(earlier, on=date(2026, 1, 2), per_year_max=1, window="rolling_year")
        is False
    )
    assert promotions_within_limit(earlier, on=date(2025, 11, 1), per_year_max=None) is True
    limited = gd(
        12,
        Award.MERIT,
        Grade.L4,
        earlier_promotions=earlier,
        on=date(2025, 11, 1),
        promotions_per_year_max=1,
    )
    assert limited.new_grade is None
    assert (
        gd(
            12,
            Award.MERIT,
            Grade.L4,
            earlier_promotions=earlier,
            on=date(2026, 5, 1),
            promotions_per_year_max=1,
        ).new_grade
        is Grade.L2
    )
    with pytest.raises(InvalidInput):
        gd(12, Award.MERIT, Grade.L4, promotions_per_year_max=1)
