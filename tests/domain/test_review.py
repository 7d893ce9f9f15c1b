from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.errors import InvalidInput
from compete.domain.review import error_rate, needs_full_recheck, pick_recheck_sample, sample_size

IDS = [f"E{i:02d}" for i in range(1, 38)]


def test_example_a_37_entries_means_15_checked():
    sample = pick_recheck_sample(IDS, seed="2025-demo")
    assert sample.top == tuple(IDS[:10])
    assert sample.rest_count == 27
    assert len(sample.sampled) == 5  # ⌈0.15 × 27⌉ = ⌈4.05⌉
    assert len(sample.entries) == 15
    assert set(sample.sampled) <= set(IDS[10:])


def test_example_a_one_error_in_15_is_6_67_percent_and_triggers_full_recheck():
    assert error_rate(15, 1) == D("6.67")
    assert needs_full_recheck(15, 1) is True


def test_exactly_5_percent_is_not_above():
    assert needs_full_recheck(20, 1) is False
    assert needs_full_recheck(20, 2) is True
    assert needs_full_recheck(0, 0) is False
    assert needs_full_recheck(15, 1, error_pct=D("6.67")) is False  # 6.666… < 6.67
    with pytest.raises(InvalidInput):
        needs_full_recheck(5, 6)


def test_sample_is_replayable_from_the_seed():
    first = pick_recheck_sample(IDS, seed="abc")
    assert pick_recheck_sample(IDS, seed="abc") == first
    others = {pick_recheck_sample(IDS, seed=f"s{i}").sampled for i in range(10)}
    assert len(others) > 1


def test_sample_size_rounds_up():
    assert sample_size(27) == 5
    assert sample_size(20) == 3
    assert sample_size(0) == 0
    assert sample_size(1) == 1
    assert sample_size(10, sample_pct=100) == 10


@given(st.integers(0, 300), st.integers(0, 100), st.integers(0, 20))
def test_sample_covers_the_top_and_at_least_the_share_of_the_rest(n, pct, top_n):
    ids = [f"E{i}" for i in range(n)]
    sample = pick_recheck_sample(ids, top_n=top_n, sample_pct=pct, seed="x")
    rest = max(n - top_n, 0)
    assert sample.top == tuple(ids[:top_n])
    assert len(sample.sampled) * 100 >= pct * rest
    assert (len(sample.sampled) - 1) * 100 < pct * rest or len(sample.sampled) == 0
    assert len(set(sample.entries)) == len(sample.entries)
