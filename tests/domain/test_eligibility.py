"""Eligibility (§2): age on the reference date, retirement, WorldSkills age, grades, teams."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.eligibility import (
    DUPLICATE_MEMBER,
    GRADE_MISSING,
    GRADE_TOO_HIGH,
    GRADE_TOO_LOW,
    OVER_WS_AGE,
    RETIRED,
    TOO_OLD,
    TOO_YOUNG,
    WRONG_TEAM_SIZE,
    EligibilityRules,
    Ineligibility,
    MemberFacts,
    check_member,
    check_team,
)
from compete.domain.errors import InvalidInput
from compete.domain.grades import Grade
from compete.domain.people import RetirementKind, age_ineligibility, age_on, retirement_date

REF = date(2025, 10, 1)


def rules(params=None, *, group="employee", on=REF) -> EligibilityRules:
    return EligibilityRules.from_params(params or {}, group=group, age_ref_date=on)


def messages(facts: MemberFacts, event_rules: EligibilityRules) -> list[str]:
    return [reason.message for reason in check_member(facts, event_rules)]


# --- reading the parameters -----------------------------------------------------------------


def test_defaults_are_16_to_statutory_retirement():
    default = rules()
    assert default.age_min == 16
    assert default.retirement is True
    assert default.age_max is None
    assert default.ws_age_max is None
    assert default.min_grade is None and default.max_grade is None
    assert default.group == "employee"
    assert default.age_ref_date == REF


def test_preset_style_params_are_read():
    read = rules(
        {
            "age_min": 18,
            "age_max_rule": 35,
            "ws_age_max": 22,
            "min_grade": "L4",
            "max_grade": "技师",
        },
        group="STUDENT",
    )
    assert (read.age_min, read.age_max, read.retirement, read.ws_age_max) == (18, 35, False, 22)
    assert (read.min_grade, read.max_grade) == (Grade.L4, Grade.L2)
    assert read.group == "student"


@pytest.mark.parametrize("rule", [None, "none", ""])
def test_no_upper_age(rule):
    read = rules({"age_max_rule": rule})
    assert read.age_max is None and read.retirement is False


@pytest.mark.parametrize(
    ("params", "group", "field"),
    [
        ({}, "adults", "group"),
        ({"age_min": "sixteen"}, "employee", "age_min"),
        ({"age_min": True}, "employee", "age_min"),
        ({"age_max_rule": "pension"}, "employee", "age_max_rule"),
        ({"age_min": 20, "age_max_rule": 18}, "employee", "age_max_rule"),
        ({"ws_age_max": -1}, "employee", "ws_age_max"),
        ({"min_grade": "高级"}, "employee", "min_grade"),  # ambiguous spelling
        ({"min_grade": "L2", "max_grade": "L4"}, "employee", "min_grade"),
    ],
)
def test_wrong_params_are_refused(params, group, field):
    with pytest.raises(InvalidInput) as info:
        rules(params, group=group)
    assert info.value.field == field


# --- age -----------------------------------------------------------------------------------


def test_turning_16_one_day_after_the_reference_date_is_too_young():
    reasons = check_member(MemberFacts(date(2009, 10, 2), "M"), rules())
    assert reasons == [
        Ineligibility("birth_date", TOO_YOUNG, {"age_min": 16, "date": "2025-10-01", "age": 15})
    ]


def test_exactly_16_on_the_reference_date_is_eligible():
    assert check_member(MemberFacts(date(2009, 10, 1), "F"), rules()) == []


def test_born_after_the_reference_date_is_too_young_not_an_error():
    assert messages(MemberFacts(date(2026, 1, 1), "M"), rules()) == [TOO_YOUNG]


def test_fixed_maximum_age():
    limited = rules({"age_max_rule": 35})
    assert messages(MemberFacts(date(1989, 10, 2), "M"), limited) == []  # still 35 (周岁)
    assert messages(MemberFacts(date(1989, 10, 1), "M"), limited) == [TOO_OLD]  # 36 that day


def test_retirement_says_the_date():
    # A man born 1965-05-01 reaches the statutory age (60 y 2 m) on 2025-07-01.
    reasons = check_member(MemberFacts(date(1965, 5, 1), "M"), rules())
    assert reasons == [
        Ineligibility(
            "birth_date", RETIRED, {"retirement_date": "2025-07-01", "date": "2025-10-01"}
        )
    ]
    assert check_member(MemberFacts(date(1965, 5, 1), "M"), rules(on=date(2025, 6, 30))) == []
    assert messages(MemberFacts(date(1965, 5, 1), "M"), rules(on=date(2025, 7, 1))) == [RETIRED]


def test_retirement_for_women_uses_the_later_age_unless_told():
    born = date(1975, 1, 1)  # worker: 50 y 1 m → 2025-02-01; cadre: 55 y → 2030
    assert messages(MemberFacts(born, "F"), rules()) == []
    worker = MemberFacts(born, "F", retirement_kind=RetirementKind.FEMALE_WORKER)
    assert messages(worker, rules()) == [RETIRED]


def test_unknown_sex_skips_the_retirement_check_and_no_rule_means_none():
    assert messages(MemberFacts(date(1950, 1, 1), None), rules()) == []
    assert messages(MemberFacts(date(1950, 1, 1), "M"), rules({"age_max_rule": None})) == []


def test_worldskills_age_counts_the_birth_year():
    ws = rules({"ws_age_max": 22})
    assert messages(MemberFacts(date(2003, 1, 1), "M"), ws) == []
    reasons = check_member(MemberFacts(date(2002, 12, 31), "M"), ws)
    assert reasons == [
        Ineligibility("birth_date", OVER_WS_AGE, {"ws_age_max": 22, "born_from": "2003-01-01"})
    ]


# --- grades --------------------------------------------------------------------------------


def test_minimum_and_maximum_grade():
    graded = rules({"min_grade": "L3", "max_grade": "L2"})
    born = date(1995, 1, 1)
    assert messages(MemberFacts(born, "M", None), graded) == [GRADE_MISSING]
    assert messages(MemberFacts(born, "M", Grade.L4), graded) == [GRADE_TOO_LOW]
    assert messages(MemberFacts(born, "M", Grade.L3), graded) == []
    assert messages(MemberFacts(born, "M", Grade.L2), graded) == []
    high = check_member(MemberFacts(born, "M", Grade.L1), graded)
    assert high == [
        Ineligibility(
            "current_grade", GRADE_TOO_HIGH, {"grade": "一级/高级技师", "max_grade": "二级/技师"}
        )
    ]


def test_every_reason_is_reported_together():
    strict = rules({"min_grade": "L4", "ws_age_max": 22})
    assert messages(MemberFacts(date(2012, 1, 1), "M"), strict) == [TOO_YOUNG, GRADE_MISSING]
    old = messages(MemberFacts(date(1960, 1, 1), "M", Grade.L5), strict)
    assert old == [RETIRED, OVER_WS_AGE, GRADE_TOO_LOW]


# --- properties ----------------------------------------------------------------------------

births = st.dates(date(1940, 1, 1), date(2015, 12, 31))
reference_dates = st.dates(date(2020, 1, 1), date(2030, 12, 31))


@given(births, reference_dates, st.integers(14, 30))
def test_too_young_exactly_when_under_the_minimum_age(born, on, age_min):
    reasons = messages(MemberFacts(born, None), rules({"age_min": age_min}, on=on))
    young = born > on or age_on(born, on) < age_min
    assert (TOO_YOUNG in reasons) is young
    if born <= on:
        expected = age_ineligibility(born, on=on, age_min=age_min, check_retirement=False)
        assert (expected is not None) is young


@given(births, reference_dates, st.sampled_from(list(RetirementKind)))
def test_retired_exactly_from_the_statutory_retirement_date(born, on, kind):
    sex = "M" if kind is RetirementKind.MALE else "F"
    facts = MemberFacts(born, sex, retirement_kind=kind)
    retired = RETIRED in messages(facts, rules({"age_min": 14}, on=on))
    assert retired is (on >= retirement_date(born, sex, kind))


@given(births, reference_dates, st.integers(22, 25))
def test_worldskills_limit_is_the_birth_year(born, on, limit):
    over = OVER_WS_AGE in messages(MemberFacts(born, None), rules({"ws_age_max": limit}, on=on))
    assert over is (born.year < on.year - limit)


@given(births, st.integers(0, 3650))
def test_a_later_birth_is_never_too_old_when_an_earlier_one_is_not(born, days):
    later = born + timedelta(days=days)
    event_rules = rules({"age_max_rule": 40})
    if TOO_OLD not in messages(MemberFacts(born, "M"), event_rules):
        assert TOO_OLD not in messages(MemberFacts(later, "M"), event_rules)


@given(st.sampled_from(list(Grade)), st.sampled_from(list(Grade)))
def test_minimum_grade_is_a_threshold(grade, minimum):
    reasons = messages(MemberFacts(date(1995, 1, 1), "M", grade), rules({"min_grade": minimum}))
    assert (GRADE_TOO_LOW in reasons) is (grade < minimum)


# --- teams ---------------------------------------------------------------------------------


def test_team_of_the_right_size_passes():
    assert check_team([("resident_id", "a"), ("resident_id", "b")], team_size=2) == []


def test_wrong_team_size_and_repeated_person():
    reasons = check_team(["a", "b", "a"], team_size=2)
    assert reasons == [
        Ineligibility("team", WRONG_TEAM_SIZE, {"expected": 2, "size": 3}),
        Ineligibility("team", DUPLICATE_MEMBER, {"position": 3, "first": 1}),
    ]


@given(st.lists(st.sampled_from("abcdef"), max_size=6), st.integers(1, 3))
def test_team_reasons_count_size_and_repeats(members, team_size):
    reasons = check_team(members, team_size=team_size)
    sizes = [r for r in reasons if r.message == WRONG_TEAM_SIZE]
    repeats = [r for r in reasons if r.message == DUPLICATE_MEMBER]
    assert len(sizes) == (len(members) != team_size)
    assert len(repeats) == len(members) - len(set(members))
    for repeat in repeats:
        position, first = repeat.params["position"], repeat.params["first"]
        assert first < position and members[first - 1] == members[position - 1]


def test_a_declared_group_other_than_the_events_is_refused():
    from compete.domain.eligibility import WRONG_GROUP

    rules = EligibilityRules.from_params({}, group="student", age_ref_date=date(2026, 12, 1))
    employee = MemberFacts(birth_date=date(2000, 1, 1), sex="M", group="employee")
    student = MemberFacts(birth_date=date(2000, 1, 1), sex="M", group="student")
    undeclared = MemberFacts(birth_date=date(2000, 1, 1), sex="M")
    assert [r.message for r in check_member(employee, rules)] == [WRONG_GROUP]
    assert check_member(student, rules) == []
    assert check_member(undeclared, rules) == []
