from __future__ import annotations

from decimal import Decimal as D
from itertools import pairwise
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.errors import InvalidInput
from compete.domain.ranking import (
    ALL_MODULES_TIE_CHAIN,
    DEFAULT_TIE_CHAIN,
    LAMP_TIE_CHAIN,
    TieKey,
    heaviest_module,
    rank_entries,
    undecided_ties,
)
from compete.domain.scoring import EntryResult

MODULES_C = (("M1", D(40)), ("M2", D(35)), ("M3", D(25)))


def result(entry, final, *, theory=None, modules=(0, 0, 0), practical=None, time=None, passed=True):
    module_scores = dict(zip(("M1", "M2", "M3"), map(D, modules), strict=True))
    return EntryResult(
        entry_id=entry,
        criterion_scores=MappingProxyType({}),
        module_scores=MappingProxyType(module_scores),
        practical=D(practical) if practical is not None else sum(module_scores.values()),
        theory=None if theory is None else D(theory),
        final=D(final),
        passed=passed,
        time=None if time is None else D(time),
    )


def example_c() -> list[EntryResult]:
    """§8c: five entries at 83.00, plus four above them so they rank 5–9."""
    tied = [
        result("A", "83.00", theory=90, modules=("34.0", "28.0", "18.0"), time=55),
        result("B", "83.00", theory=76, modules=("34.0", "31.0", "21.0"), time=58),
        result("C", "83.00", theory=90, modules=("33.5", "29.0", "17.5"), time=50),
        result("D", "83.00", theory=90, modules=("33.5", "28.5", "18.0"), time=52),
        result("E", "83.00", theory=90, modules=("33.5", "27.5", "19.0"), time=52),
    ]
    above = [result(f"T{i}", 90 - i, modules=(30, 30, 30)) for i in range(4)]
    nxt = result("N", "82.99", modules=(30, 30, 20))
    return [nxt, *reversed(tied), *above]


def ranks(ranked):
    return {entry.entry_id: entry.rank for entry in ranked}


def test_example_c_default_chain():
    ranked = rank_entries(example_c(), tie_chain=DEFAULT_TIE_CHAIN, module_order=MODULES_C)
    order = [e.entry_id for e in ranked]
    assert order[4:9] == ["B", "A", "C", "D", "E"]
    got = ranks(ranked)
    assert {k: got[k] for k in "BACDE"} == {"B": 5, "A": 6, "C": 7, "D": 8, "E": 8}
    assert got["N"] == 10


def test_example_c_tie_notes_explain_each_step():
    ranked = {e.entry_id: e for e in rank_entries(example_c(), module_order=MODULES_C)}
    assert ranked["B"].tie_note is None  # final differs from the entry above
    a = ranked["A"].tie_note
    assert (a.key, a.other_entry_id, a.value, a.other_value) == ("practical", "B", D(80), D(86))
    c = ranked["C"].tie_note
    assert (c.key, c.module, c.other_entry_id, c.value, c.other_value) == (
        "top_module",
        "M1",
        "A",
        D("33.5"),
        D("34.0"),
    )
    d = ranked["D"].tie_note
    assert (d.key, d.other_entry_id, d.value, d.other_value) == ("time", "C", D(52), D(50))
    assert ranked["E"].tie_note.key == "shared"
    assert ranked["N"].tie_note is None


def test_example_c_all_modules_splits_d_and_e():
    ranked = rank_entries(example_c(), tie_chain=ALL_MODULES_TIE_CHAIN, module_order=MODULES_C)
    got = ranks(ranked)
    assert {k: got[k] for k in "BACDE"} == {"B": 5, "A": 6, "C": 7, "D": 8, "E": 9}
    note = next(e for e in ranked if e.entry_id == "E").tie_note
    assert (note.key, note.module, note.value, note.other_value) == (
        "all_modules",
        "M2",
        D("27.5"),
        D("28.5"),
    )


def test_example_c_lamp_order():
    ranked = rank_entries(example_c(), tie_chain=LAMP_TIE_CHAIN, module_order=MODULES_C)
    assert [e.entry_id for e in ranked][4:9] == ["C", "D", "E", "A", "B"]
    got = ranks(ranked)
    assert {k: got[k] for k in "CDEAB"} == {"C": 5, "D": 6, "E": 6, "A": 8, "B": 9}


def test_heaviest_module_is_first_in_scheme_order_on_equal_weight():
    assert heaviest_module(MODULES_C) == "M1"
    assert heaviest_module((("X", D(30)), ("Y", D(40)), ("Z", D(40)))) == "Y"
    with pytest.raises(InvalidInput):
        heaviest_module(())


def test_missing_time_counts_as_longest():
    entries = [result("A", 80, time=None), result("B", 80, time=999)]
    got = ranks(rank_entries(entries, tie_chain=("time", "shared"), module_order=MODULES_C))
    assert got == {"B": 1, "A": 2}


def test_theory_breaks_ties_only_when_in_the_chain():
    entries = [result("A", 80, theory=70), result("B", 80, theory=75)]
    assert ranks(rank_entries(entries, tie_chain=("practical", "shared"), module_order=())) == {
        "A": 1,
        "B": 1,
    }
    assert ranks(rank_entries(entries, tie_chain=("theory",), module_order=())) == {"B": 1, "A": 2}


def test_below_pass_mark_is_listed_unranked_after_the_ranked():
    entries = [
        result("LOW", "59.99", passed=False),
        result("HIGH", 95),
        result("MID", 60),
        result("LOWER", 40, passed=False),
    ]
    ranked = rank_entries(entries, module_order=MODULES_C)
    assert [(e.entry_id, e.rank) for e in ranked] == [
        ("HIGH", 1),
        ("MID", 2),
        ("LOW", None),
        ("LOWER", None),
    ]


def test_shared_ranks_skip_like_1224():
    entries = [result("A", 90), result("B", 80), result("C", 80), result("D", 70)]
    assert ranks(rank_entries(entries, tie_chain=("shared",), module_order=())) == {
        "A": 1,
        "B": 2,
        "C": 2,
        "D": 4,
    }


def test_strict_mode_flags_equal_entries_until_the_organiser_decides():
    entries = [result("A", 90), result("B", 80), result("C", 80), result("D", 70)]
    ranked = rank_entries(entries, module_order=MODULES_C, strict=True)
    assert undecided_ties(ranked) == [("B", "C")]
    assert [e.needs_decision for e in ranked] == [False, True, True, False]
    decided = rank_entries(entries, module_order=MODULES_C, strict=True, decisions=["C", "B"])
    assert [(e.entry_id, e.rank) for e in decided] == [("A", 1), ("C", 2), ("B", 3), ("D", 4)]
    assert decided[2].tie_note.key == "decision"
    assert undecided_ties(decided) == []


def test_duplicate_entries_are_refused():
    with pytest.raises(InvalidInput):
        rank_entries([result("A", 90), result("A", 80)], module_order=MODULES_C)


entry_st = st.builds(
    lambda final, m1, time, passed: (final, m1, time, passed),
    st.integers(55, 65),
    st.integers(0, 3),
    st.none() | st.integers(1, 3),
    st.booleans(),
)


def build(rows):
    return [
        result(f"E{i}", final, modules=(m1, 0, 0), practical=final, time=time, passed=passed)
        for i, (final, m1, time, passed) in enumerate(rows)
    ]


@given(st.lists(entry_st, max_size=12), st.randoms())
def test_ranking_does_not_depend_on_input_order(rows, rnd):
    entries = build(rows)
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    assert ranks(rank_entries(entries, module_order=MODULES_C)) == ranks(
        rank_entries(shuffled, module_order=MODULES_C)
    )


@given(st.lists(entry_st, max_size=12))
def test_ranks_are_competition_ranks(rows):
    entries = build(rows)
    ranked = rank_entries(entries, module_order=MODULES_C)
    finals = {e.entry_id: e.final for e in entries}
    numbered = [e for e in ranked if e.rank is not None]
    assert len(numbered) == sum(1 for e in entries if e.passed)
    for position, entry in enumerate(numbered, start=1):
        assert entry.rank <= position
        assert entry.rank == 1 + sum(1 for other in numbered if other.rank < entry.rank)
    for upper, lower in pairwise(numbered):
        assert finals[upper.entry_id] >= finals[lower.entry_id]
    assert all(e.rank is None for e in ranked[len(numbered) :])


@given(st.lists(entry_st, max_size=12))
def test_strict_rankings_share_no_rank_once_decided(rows):
    entries = build(rows)
    decisions = [e.entry_id for e in entries]
    ranked = rank_entries(entries, module_order=MODULES_C, strict=True, decisions=decisions)
    numbered = [e.rank for e in ranked if e.rank is not None]
    assert numbered == list(range(1, len(numbered) + 1))
    assert not any(e.needs_decision for e in ranked)


@given(st.lists(entry_st, max_size=12))
def test_tied_entries_in_shared_mode_are_equal_on_every_chain_key(rows):
    entries = {e.entry_id: e for e in build(rows)}
    ranked = rank_entries(list(entries.values()), module_order=MODULES_C)
    for entry in ranked:
        if entry.tie_note is not None and entry.tie_note.key == TieKey.SHARED:
            me, other = entries[entry.entry_id], entries[entry.tie_note.other_entry_id]
            assert (me.final, me.module_scores["M1"], me.practical, me.time) == (
                other.final,
                other.module_scores["M1"],
                other.practical,
                other.time,
            )


chain_st = st.sampled_from([DEFAULT_TIE_CHAIN, ALL_MODULES_TIE_CHAIN, LAMP_TIE_CHAIN])
full_entry_st = st.builds(
    lambda final, m1, m2, time, passed: (final, m1, m2, time, passed),
    st.integers(58, 62),
    st.integers(0, 2),
    st.integers(0, 2),
    st.none() | st.integers(1, 2),
    st.booleans(),
)


@given(st.lists(full_entry_st, max_size=14), chain_st)
def test_ranks_are_a_permutation_with_ties_shared_1224(rows, chain):
    """Every entry appears once; a passed entry's rank is 1 + the number of passed entries
    strictly better on (final, chain keys); entries equal on all of them share it; the next
    rank skips ("1224")."""
    entries = [
        result(f"E{i}", final, modules=(m1, m2, 0), practical=final, time=time, passed=passed)
        for i, (final, m1, m2, time, passed) in enumerate(rows)
    ]
    ranked = rank_entries(entries, module_order=MODULES_C, tie_chain=chain)
    assert sorted(e.entry_id for e in ranked) == sorted(e.entry_id for e in entries)
    by_id = {e.entry_id: e for e in entries}

    def key(entry):
        values = [-entry.final]
        for name in chain:
            if name == TieKey.SHARED:
                break
            if name == TieKey.TOP_MODULE:
                values.append(-entry.module_scores["M1"])
            elif name == TieKey.ALL_MODULES:
                values += [-entry.module_scores[m] for m in ("M1", "M2", "M3")]
            elif name == TieKey.PRACTICAL:
                values.append(-entry.practical)
            elif name == TieKey.THEORY:
                values.append(-(entry.theory if entry.theory is not None else D("-Infinity")))
            elif name == TieKey.TIME:
                values.append(entry.time if entry.time is not None else D("Infinity"))
        return tuple(values)

    passed = [e for e in entries if e.passed]
    for place in ranked:
        entry = by_id[place.entry_id]
        if not entry.passed:
            assert place.rank is None
            continue
        better = sum(1 for other in passed if key(other) < key(entry))
        assert place.rank == 1 + better
