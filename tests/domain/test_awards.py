from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.awards import (
    Award,
    AwardRules,
    AwardShape,
    Band,
    BoundaryTie,
    assign_awards,
    best_placed_non_medallists,
    largest_remainder,
    medal_points,
    medal_table,
    merit_limit,
    prize_cap,
    prize_counts,
    share_counts,
)
from compete.domain.errors import Conflict
from compete.domain.ranking import RankedEntry

F, S, T, M = Award.FIRST, Award.SECOND, Award.THIRD, Award.MERIT

# §8a N table: N, W, strict, proportional, 优胜奖 ranks (strict).
N_TABLE = [
    (4, 0, (0, 0, 0), (0, 0, 0), (1, 2)),
    (15, 3, (1, 1, 1), (1, 1, 1), (4, 7)),
    (20, 4, (1, 1, 2), (1, 1, 2), (5, 10)),
    (29, 5, (1, 2, 2), (1, 2, 2), (6, 14)),
    (37, 7, (1, 2, 3), (1, 2, 4), (7, 18)),
    (59, 11, (1, 2, 3), (2, 4, 5), (7, 29)),
    (60, 12, (2, 4, 6), (2, 4, 6), (13, 30)),
    (120, 24, (4, 8, 12), (4, 8, 12), (25, 60)),
]


def field_of(n: int, *, unranked: int = 0, ties: dict[int, int] | None = None) -> list[RankedEntry]:
    """n entries, the last ``unranked`` below the pass mark; ``ties`` {rank: size}."""
    ties = ties or {}
    entries, position = [], 1
    while position <= n - unranked:
        size = ties.get(position, 1)
        entries += [RankedEntry(f"E{position + i:03d}", position) for i in range(size)]
        position += size
    entries += [RankedEntry(f"U{i:03d}", None) for i in range(unranked)]
    return entries


def awards_by_rank(decisions, ranked):
    rank_of = {e.entry_id: e.rank for e in ranked}
    return {rank_of[d.entry_id]: d.award for d in decisions if rank_of[d.entry_id] is not None}


@pytest.mark.parametrize(("n", "w", "strict", "proportional", "merit"), N_TABLE)
def test_n_table(n, w, strict, proportional, merit):
    assert prize_cap(n) == w
    assert prize_counts(n) == strict
    assert prize_counts(n, rounding="proportional") == proportional
    ranked = field_of(n)
    decisions = assign_awards(ranked)
    merit_ranks = sorted(r for r, a in awards_by_rank(decisions, ranked).items() if a is M)
    assert (merit_ranks[0], merit_ranks[-1]) == merit
    assert len(merit_ranks) == merit[1] - merit[0] + 1


def test_example_a_37_entrants():
    ranked = field_of(37)
    by_rank = awards_by_rank(assign_awards(ranked), ranked)
    assert by_rank[1] is F
    assert [by_rank[r] for r in (2, 3)] == [S, S]
    assert [by_rank[r] for r in (4, 5, 6)] == [T, T, T]
    assert [by_rank[r] for r in range(7, 19)] == [M] * 12  # the 7th prize place stays unused
    assert all(by_rank[r] is None for r in range(19, 38))
    proportional = awards_by_rank(
        assign_awards(ranked, rules=AwardRules(prize_rounding="proportional")), ranked
    )
    assert [proportional[r] for r in range(1, 9)] == [F, S, S, T, T, T, T, M]


def test_example_a_rank_18_below_the_pass_mark_shrinks_merit_but_not_the_half():
    ranked = field_of(37, unranked=20)  # ranks 1–17 pass; 18th place scored 59.50
    decisions = assign_awards(ranked)
    by_rank = awards_by_rank(decisions, ranked)
    assert sorted(r for r, a in by_rank.items() if a is M) == list(range(7, 18))
    assert all(d.award is None for d in decisions if d.entry_id.startswith("U"))
    assert merit_limit(37) == 18


def test_nobody_below_the_pass_mark_gets_anything_even_with_places_free():
    ranked = field_of(60, unranked=58)
    decisions = assign_awards(ranked)
    assert [d.award for d in decisions[:2]] == [F, F]
    assert all(d.award is None for d in decisions[2:])
    assert decisions[-1].reason == "Below the pass mark: not ranked, no award."


def test_strict_small_fields_keep_a_first_prize():
    assert prize_counts(5) == (1, 0, 0)  # W = 1
    assert prize_counts(10) == (1, 1, 0)  # W = 2
    assert prize_counts(5, rounding="proportional") == (0, 0, 1)
    assert largest_remainder(3, (1, 2, 3)) == (1, 1, 1)  # equal remainders → higher prize


def test_boundary_tie_better_band_flagged():
    ranked = field_of(37, ties={1: 2})  # two share rank 1 across the 1st-prize line
    decisions = assign_awards(ranked)
    first_two = decisions[:2]
    assert [d.award for d in first_two] == [F, F]
    assert all(d.flagged for d in first_two)
    assert "better band" in first_two[0].reason
    assert decisions[2].award is S and not decisions[2].flagged  # rank 3


def test_boundary_tie_cj_decision_and_forbidden():
    ranked = field_of(37, ties={6: 2})  # ranks 6,6 straddle the 3rd-prize / merit line
    decided = assign_awards(ranked, rules=AwardRules(boundary_tie=BoundaryTie.CJ_DECISION))
    tied = [d for d in decided if d.entry_id in ("E006", "E007")]
    assert [(d.award, d.flagged) for d in tied] == [(None, True), (None, True)]
    with pytest.raises(Conflict):
        assign_awards(ranked, rules=AwardRules(boundary_tie="forbidden"))


def test_tie_inside_one_band_is_not_flagged():
    ranked = field_of(37, ties={4: 2})
    decisions = assign_awards(ranked)
    assert [(d.award, d.flagged) for d in decisions[3:6]] == [(T, False), (T, False), (T, False)]


def test_min_entrants_awards_withholds_everything():
    ranked = field_of(4)
    decisions = assign_awards(ranked, rules=AwardRules(min_entrants_awards=5))
    assert all(d.award is None for d in decisions)
    assert decisions[0].params == {"n": 4, "min": 5}
    assert [d.award for d in assign_awards(ranked)] == [M, M, None, None]


def test_medal_shape_with_merit_top_half():
    ranked = field_of(10)
    decisions = assign_awards(ranked, rules=AwardRules(shape=AwardShape.MEDAL))
    assert [d.award for d in decisions] == [
        Award.GOLD,
        Award.SILVER,
        Award.BRONZE,
        M,
        M,
        None,
        None,
        None,
        None,
        None,
    ]


def test_worldskills_ties_share_medals_and_medallion_needs_700():
    ranked = field_of(6, ties={1: 2})
    standardised = {"E001": D(760), "E002": D(760), "E003": D(720), "E004": D(700), "E005": D(699)}
    rules = AwardRules(shape="medal", merit_top_pct=None, medallion_threshold=D(700))
    decisions = assign_awards(ranked, rules=rules, standardised=standardised)
    assert [(d.award, d.flagged) for d in decisions] == [
        (Award.GOLD, False),
        (Award.GOLD, False),
        (Award.BRONZE, False),
        (Award.MEDALLION, False),
        (None, False),
        (None, False),
    ]


def test_medal_ties_can_follow_the_boundary_policy_instead_of_sharing():
    ranked = field_of(6, ties={1: 2})
    flagged = assign_awards(ranked, rules=AwardRules(shape="medal", medal_ties_share=False))
    assert [(d.award, d.flagged) for d in flagged[:3]] == [
        (Award.GOLD, True),
        (Award.GOLD, True),
        (Award.BRONZE, False),
    ]
    with pytest.raises(Conflict):
        assign_awards(
            ranked,
            rules=AwardRules(shape="medal", medal_ties_share=False, boundary_tie="forbidden"),
        )


def test_fixed_counts_1_2_5():
    ranked = field_of(30)
    by_rank = awards_by_rank(
        assign_awards(ranked, rules=AwardRules(shape="fixed", merit_top_pct=None)), ranked
    )
    assert [by_rank[r] for r in range(1, 10)] == [F, S, S, T, T, T, T, T, None]


def test_shares_with_excellence_award():
    rules = AwardRules(
        shape="shares",
        shares_pct=(D(5), D(15), D(30), D(10)),
        share_awards=(F, S, T, Award.EXCELLENCE),
        merit_top_pct=None,
    )
    assert share_counts(40, rules.shares_pct) == (2, 6, 12, 4)
    ranked = field_of(40)
    by_rank = awards_by_rank(assign_awards(ranked, rules=rules), ranked)
    assert by_rank[2] is F and by_rank[3] is S and by_rank[9] is T
    assert by_rank[21] is Award.EXCELLENCE and by_rank[24] is Award.EXCELLENCE
    assert by_rank[25] is None


def test_rank_bands():
    rules = AwardRules(
        shape="bands",
        bands=(Band(1, 5, F), Band(6, 20, S)),
        merit_top_pct=None,
    )
    ranked = field_of(25)
    by_rank = awards_by_rank(assign_awards(ranked, rules=rules), ranked)
    assert [by_rank[r] for r in (1, 5, 6, 20, 21)] == [F, F, S, S, None]


def test_medal_points_and_table():
    assert [medal_points(a) for a in (Award.GOLD, Award.SILVER, Award.BRONZE, Award.MEDALLION)] == [
        4,
        3,
        2,
        1,
    ]
    assert medal_points(None) == 0 and medal_points(M) == 0
    rows = [
        ("GD", Award.GOLD),
        ("GD", Award.BRONZE),
        ("SH", Award.SILVER),
        ("SH", Award.SILVER),
        ("SH", Award.SILVER),
        ("BJ", Award.GOLD),
        ("BJ", Award.BRONZE),
        ("TJ", None),
    ]
    by_medals = medal_table(rows)
    assert [(r.delegation, r.rank) for r in by_medals] == [
        ("BJ", 1),
        ("GD", 1),
        ("SH", 3),
        ("TJ", 4),
    ]
    by_points = medal_table(rows, by="points")
    assert [(r.delegation, r.points, r.rank) for r in by_points] == [
        ("SH", 9, 1),
        ("BJ", 6, 2),
        ("GD", 6, 2),
        ("TJ", 0, 4),
    ]


def test_best_placed_non_medallist_per_delegation():
    ranked = field_of(6)
    decisions = assign_awards(ranked, rules=AwardRules(shape="medal"))
    delegation = {
        "E001": "GD",
        "E002": "GD",
        "E003": "SH",
        "E004": "SH",
        "E005": "GD",
        "E006": "SH",
    }
    best = best_placed_non_medallists(ranked, delegation_of=delegation, decisions=decisions)
    assert best == {"GD": ("E005",), "SH": ("E004",)}


@given(st.integers(0, 2000))
def test_strict_counts_keep_the_ratio_and_the_cap(n):
    first, second, third = prize_counts(n)
    assert first + second + third <= prize_cap(n) <= n * D("0.2")
    if prize_cap(n) >= 6:
        assert (second, third) == (2 * first, 3 * first)
    if prize_cap(n) >= 1:
        assert first >= 1
    # lower prizes never have fewer places than higher ones, unless they have none at all
    assert second == 0 or second >= first
    assert third == 0 or third >= second
    assert not (second == 0 and third > 0)


@given(st.integers(0, 2000), st.lists(st.integers(0, 9), min_size=1, max_size=5).filter(any))
def test_proportional_counts_fill_the_cap_exactly(n, ratio):
    counts = prize_counts(n, ratio=tuple(ratio), rounding="proportional")
    assert sum(counts) == prize_cap(n)
    for count, part in zip(counts, ratio, strict=True):
        quota = D(prize_cap(n) * part) / sum(ratio)
        assert quota - 1 < count < quota + 1


@given(st.integers(1, 200), st.data())
def test_awards_never_exceed_places_without_flags(n, data):
    unranked = data.draw(st.integers(0, n))
    ranked = field_of(n, unranked=unranked)
    decisions = assign_awards(ranked)
    counts = {a: sum(1 for d in decisions if d.award is a) for a in Award}
    for award, allowed in zip((F, S, T), prize_counts(n), strict=True):
        assert counts[award] <= allowed
    assert counts[F] + counts[S] + counts[T] + counts[M] <= max(
        merit_limit(n), sum(prize_counts(n))
    )
    assert all(d.award is None for d in decisions if d.entry_id.startswith("U"))
