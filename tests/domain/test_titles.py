from __future__ import annotations

from decimal import Decimal as D

import pytest

from compete.domain.awards import Award
from compete.domain.errors import InvalidInput
from compete.domain.titles import (
    TitleCandidate,
    TitleRule,
    TitleScope,
    labour_medal_flag,
    propose_titles,
)

GD_TITLE = TitleRule(title="GD_TECH_EXPERT")


def cand(entry, rank, award, **kwargs):
    return TitleCandidate(entry_id=entry, person_id=f"P{entry}", rank=rank, award=award, **kwargs)


def test_example_a_titles_go_to_prize_winners_provisionally():
    candidates = [
        cand("1", 1, Award.FIRST),
        cand("2", 2, Award.SECOND),
        cand("5", 5, Award.THIRD, holds_title=True),
        cand("6", 6, Award.THIRD),
        cand("7", 7, Award.MERIT),
        cand("19", 19, None),
    ]
    result = {p.entry_id: p for p in propose_titles(GD_TITLE, candidates)}
    assert [result[e].granted for e in ("1", "2", "5", "6", "7", "19")] == [
        True,
        True,
        False,
        True,
        False,
        False,
    ]
    assert result["1"].provisional is True  # 拟 until 核准
    assert result["5"].counts_as_holder is True  # not re-granted, still a holder
    assert result["5"].reason == "Already holds the title: not granted again."
    assert result["7"].counts_as_holder is False


def test_regrant_and_approval_switches():
    rule = TitleRule(title="X", regrant=True, needs_approval=False)
    [proposal] = propose_titles(rule, [cand("1", 1, Award.FIRST, holds_title=True)])
    assert (proposal.granted, proposal.provisional) == (True, False)


def test_top_n_by_team_size():
    rule = TitleRule(title="NATIONAL_TECH_EXPERT", scope=TitleScope.TOP_N)
    solo = propose_titles(rule, [cand("a", 5, None), cand("b", 6, None)])
    assert [p.granted for p in solo] == [True, False]
    pair = propose_titles(rule, [cand("c", 3, None, team_size=2), cand("d", 4, None, team_size=2)])
    assert [p.granted for p in pair] == [True, False]
    trio = propose_titles(rule, [cand("e", 2, None, team_size=3), cand("f", 3, None, team_size=3)])
    assert [p.granted for p in trio] == [True, False]
    with pytest.raises(InvalidInput):
        propose_titles(rule, [cand("g", 1, None, team_size=4)])


def test_award_holders_score_threshold_and_employee_guard():
    holders = TitleRule(title="X", scope="award_holders")
    assert [p.granted for p in propose_titles(holders, [cand("a", 7, Award.MERIT)])] == [True]
    threshold = TitleRule(title="X", scope="score_threshold", min_score=D(90))
    got = propose_titles(
        threshold, [cand("a", 1, None, final=D(90)), cand("b", 2, None, final=D("89.99"))]
    )
    assert [p.granted for p in got] == [True, False]
    student = propose_titles(GD_TITLE, [cand("s", 1, Award.FIRST, is_employee=False)])
    assert student[0].granted is False
    assert student[0].reason == "The title needs employee status."
    relaxed = TitleRule(title="X", requires_employee=False)
    assert propose_titles(relaxed, [cand("s", 1, Award.FIRST, is_employee=False)])[0].granted
    assert propose_titles(GD_TITLE, [cand("u", None, Award.FIRST)])[0].granted is False


def test_labour_medal_first_place_lead_employee_next_year():
    flag = labour_medal_flag(rank=1, is_lead=True, group="employee", event_year=2025)
    assert (flag.eligible, flag.apply_from_year) == (True, 2026)
    assert (
        labour_medal_flag(rank=1, is_lead=False, group="employee", event_year=2025).eligible
        is False
    )
    assert (
        labour_medal_flag(rank=2, is_lead=True, group="employee", event_year=2025).eligible is False
    )
    assert (
        labour_medal_flag(rank=1, is_lead=True, group="student", event_year=2025).eligible is False
    )
    three = labour_medal_flag(
        rank=3, is_lead=True, group="employee", event_year=2025, labour_medal_ranks=3
    )
    assert three.eligible is True
    off = labour_medal_flag(
        rank=1, is_lead=True, group="employee", event_year=2025, labour_medal_ranks=0
    )
    assert off.eligible is False
