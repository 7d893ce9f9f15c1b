from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.errors import InvalidInput
from compete.domain.ranking import RankedEntry
from compete.domain.selection import BELOW_MINIMUM, DECLINED, select_upstream


def field(*ranks):
    return [RankedEntry(f"E{i}", rank) for i, rank in enumerate(ranks, start=1)]


def test_example_a_quota_two_takes_ranks_one_and_two():
    ranked = field(*range(1, 38))
    assert select_upstream(ranked, quota=2).nominated == ("E1", "E2")


def test_ineligible_or_declining_rank_two_lets_rank_three_in():
    ranked = field(*range(1, 38))
    ineligible = select_upstream(ranked, quota=2, ineligible={"E2": "Over the age limit."})
    assert ineligible.nominated == ("E1", "E3")
    assert ineligible.skipped == (("E2", "Over the age limit."),)
    declined = select_upstream(ranked, quota=2, declined={"E2"})
    assert declined.nominated == ("E1", "E3")
    assert declined.skipped == (("E2", DECLINED),)


def test_minimum_score_still_applies():
    ranked = [*field(1, 2), RankedEntry("U", None)]
    result = select_upstream(ranked, quota=5)
    assert result.nominated == ("E1", "E2")
    assert ("U", BELOW_MINIMUM) in result.skipped
    finals = {"E1": D(80), "E2": D(59)}
    strict = select_upstream(field(1, 2), quota=2, pass_mark=D(60), finals=finals)
    assert strict.nominated == ("E1",)


def test_shared_rank_at_the_cut_goes_to_the_organiser():
    ranked = field(1, 2, 2, 4)
    result = select_upstream(ranked, quota=2)
    assert result.nominated == ("E1",)
    assert result.tie_at_cut == ("E2", "E3")
    assert result.tie_places == 1
    fits = select_upstream(ranked, quota=3)
    assert fits.nominated == ("E1", "E2", "E3")
    assert fits.tie_at_cut == ()


def test_negative_quota_refused():
    with pytest.raises(InvalidInput):
        select_upstream(field(1), quota=-1)


@given(st.lists(st.integers(1, 6), max_size=15), st.integers(0, 8), st.data())
def test_nominations_follow_rank_order_and_never_exceed_quota(raw, quota, data):
    ranks = sorted(raw)
    ranked = field(*ranks)
    declined = (
        data.draw(st.sets(st.sampled_from([e.entry_id for e in ranked]))) if ranked else set()
    )
    result = select_upstream(ranked, quota=quota, declined=declined)
    rank_of = {e.entry_id: e.rank for e in ranked}
    assert len(result.nominated) + result.tie_places <= quota
    assert not set(result.nominated) & declined
    nominated_ranks = [rank_of[e] for e in result.nominated]
    assert nominated_ranks == sorted(nominated_ranks)
    others = [
        e.entry_id
        for e in ranked
        if e.entry_id not in declined and e.entry_id not in result.nominated
    ]
    if result.nominated:
        assert all(rank_of[o] >= max(nominated_ranks) for o in others)
