from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.draws import (
    DECLARED_CONFLICT,
    OWN_UNIT,
    JudgeCandidate,
    Session,
    draw_numbers,
    draw_order,
    draw_panel,
    draw_stations,
    new_seed,
)
from compete.domain.errors import Conflict, InvalidInput

ids_st = st.lists(st.text("abcdefgh0123", min_size=1, max_size=6), unique=True, max_size=30)


@given(ids_st, st.randoms())
def test_a_replayed_draw_repeats_whatever_the_input_order(ids, rnd):
    shuffled = list(ids)
    rnd.shuffle(shuffled)
    assert draw_numbers(ids, seed="s1") == draw_numbers(shuffled, seed="s1")


@given(ids_st)
def test_numbers_are_a_permutation_of_the_range(ids):
    numbers = draw_numbers(ids, seed="s", prefix="A", width=3, start=1)
    assert set(numbers) == set(ids)
    assert sorted(numbers.values()) == [f"A{i:03d}" for i in range(1, len(ids) + 1)]


def test_different_seeds_give_different_draws():
    ids = [f"E{i}" for i in range(20)]
    assert draw_numbers(ids, seed="a") != draw_numbers(ids, seed="b")
    assert len({tuple(draw_order(ids, seed=str(i))) for i in range(5)}) == 5


def test_the_draw_depends_on_the_inputs_not_only_the_seed():
    first = draw_numbers([f"E{i}" for i in range(30)], seed="x")
    second = draw_numbers([f"E{i}" for i in range(31)], seed="x")
    assert [first[k] for k in first] != [second[k] for k in first]


def test_draw_input_errors():
    with pytest.raises(InvalidInput):
        draw_numbers(["a", "a"], seed="x")
    with pytest.raises(InvalidInput):
        draw_numbers(["a"], seed="")
    with pytest.raises(InvalidInput):
        draw_numbers([str(i) for i in range(10)], seed="x", width=1, start=1)


def test_new_seed_is_random_hex():
    seeds = {new_seed() for _ in range(20)}
    assert len(seeds) == 20
    assert all(len(s) == 32 and int(s, 16) >= 0 for s in seeds)


def test_stations_fill_sessions_evenly_and_uniquely():
    sessions = [Session("AM", ("01", "02", "03")), Session("PM", ("04", "05", "06"))]
    ids = [f"E{i}" for i in range(5)]
    result = draw_stations(ids, seed="k", sessions=sessions)
    assert set(result) == set(ids)
    assert len({r.station for r in result.values()}) == 5
    per_session = [sum(1 for r in result.values() if r.session == s.code) for s in sessions]
    assert sorted(per_session) == [2, 3]
    assert result == draw_stations(list(reversed(ids)), seed="k", sessions=sessions)
    for r in result.values():
        session = next(s for s in sessions if s.code == r.session)
        assert session.stations[r.run_order - 1] == r.station
    with pytest.raises(Conflict):
        draw_stations([f"E{i}" for i in range(7)], seed="k", sessions=sessions)
    with pytest.raises(InvalidInput):
        draw_stations(ids, seed="k", sessions=[Session("A", ("1",)), Session("B", ("1",))])


def pool():
    return [
        JudgeCandidate("J1", "U1"),
        JudgeCandidate("J2", "U1"),
        JudgeCandidate("J3", "U2"),
        JudgeCandidate("J4", "U3"),
        JudgeCandidate("J5", "U4", conflicts=frozenset({"E7"})),
        JudgeCandidate("J6", "U5"),
        JudgeCandidate("J7", "U6"),
        JudgeCandidate("J8", "U6"),
    ]


def test_panel_honours_recusal_rules():
    for seed in map(str, range(30)):
        panel = draw_panel(
            pool(), seed=seed, size=4, contestant_units={"U2"}, contestant_entries={"E7"}
        )
        by_id = {c.judge_id: c for c in pool()}
        units = [by_id[j].unit for j in panel.judges]
        assert len(panel.judges) == 4
        assert "U2" not in units
        assert "J5" not in panel.judges
        assert len(units) == len(set(units))
        assert dict(panel.excluded) == {"J3": OWN_UNIT, "J5": DECLARED_CONFLICT}


def test_listed_conflicts_are_excluded():
    panel = draw_panel(pool(), seed="x", size=3, conflicts={"J1", "J2", "J4"})
    assert not {"J1", "J2", "J4"} & set(panel.judges)
    assert dict(panel.excluded) == dict.fromkeys(("J1", "J2", "J4"), DECLARED_CONFLICT)


def test_panel_draw_is_replayable():
    kwargs = dict(seed="witnessed", size=3, contestant_units={"U2"})
    assert draw_panel(pool(), **kwargs) == draw_panel(list(reversed(pool())), **kwargs)


def test_impossible_panel_explains_why():
    with pytest.raises(Conflict) as info:
        draw_panel(
            pool(), seed="x", size=5, contestant_units={"U2", "U3"}, contestant_entries={"E7"}
        )
    assert info.value.params == {
        "size": 5,
        "eligible": 5,
        "excluded": 3,
        "per_unit": 1,
        "possible": 3,
    }
    panel = draw_panel(
        pool(),
        seed="x",
        size=5,
        contestant_units={"U2", "U3"},
        contestant_entries={"E7"},
        judges_per_unit_max=2,
    )
    assert len(panel.judges) == 5


def test_unit_exclusion_can_be_switched_off():
    # six units in the pool: with U2 allowed, one judge per unit fills a panel of six
    panel = draw_panel(
        pool(), seed="x", size=6, contestant_units={"U2"}, exclude_contestant_units=False
    )
    assert len(panel.judges) == 6
    with pytest.raises(Conflict):
        draw_panel(pool(), seed="x", size=6, contestant_units={"U2"})
