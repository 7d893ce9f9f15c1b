"""Group honours (§5.7): medal table by medals and by points, members or entries counted,
delegation ranking with team awards, 参赛队最佳奖, 优秀指导教师 and special awards by region."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest

from compete.blueprints.awards import honours
from compete.domain.awards import Award
from compete.domain.errors import InvalidInput
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AwardGrant, Competition, Entry, EntryMember, Event, Person, Role

from ..factories import make_competition, make_unit
from ..scenario import ranked_event

G, S, B, M = Award.GOLD, Award.SILVER, Award.BRONZE, Award.MEDALLION
# Event A, individual: (award, delegation, coaches); rank = position, the last one unranked.
EVENT_A = [
    (G, "甲", [{"name": "王老师"}]),
    (S, "乙", [{"name": "王老师"}]),
    (B, "乙", []),
    (M, "丙", [{"name": "赵老师"}]),
    (M, "甲", []),
    (None, "丁", [{"name": "孙老师"}]),
    (None, "乙", []),
    (None, "丙", []),
]
# Event B, pairs: two members per entry.
EVENT_B = [
    (G, "丙", [{"name": "周老师", "unit": "丙技师学院"}]),
    (S, "乙", []),
    (B, "甲", [{"name": "王老师"}, {"name": "李 老师"}]),
    (None, "甲", []),
]
REGIONS = {"甲": "广西", "乙": "贵州", "丙": "广东", "丁": "广西"}


@dataclass(frozen=True)
class Honours:
    competition_id: int
    event_a: int
    event_b: int
    entries_a: list[int]
    entries_b: list[int]
    delegation: dict[str, str]  # short key → unit name


def _allocate(scenario, rows, units, *, unranked_last: bool) -> None:
    for position, (entry_id, (award, key, coaches)) in enumerate(
        zip(scenario.entry_ids, rows, strict=True), start=1
    ):
        entry = db.session.get(Entry, entry_id)
        entry.unit_id = units[key].id
        entry.coaches = coaches
        rank = None if unranked_last and position == len(rows) else position
        db.session.add(
            AwardGrant(
                event_id=scenario.event_id,
                entry_id=entry_id,
                rank=rank,
                award=None if award is None else award.value,
            )
        )


def _build(*, b_state=EventState.FINAL) -> Honours:
    competition = make_competition(name="2026年全国技能大赛")
    units = {k: make_unit(name=f"{k}代表团", region=region) for k, region in REGIONS.items()}
    a = ranked_event(len(EVENT_A), competition=competition, people_seed=101)
    b = ranked_event(len(EVENT_B), competition=competition, people_seed=202, state=b_state)
    db.session.get(Event, b.event_id).team_size = 2
    for i, entry_id in enumerate(b.entry_ids):
        mate = Person(name=f"队员{i}", gender="M", id_number=f"44010619900101{i:03d}9")
        db.session.add(mate)
        db.session.flush()
        db.session.add(
            EntryMember(entry_id=entry_id, event_id=b.event_id, person_id=mate.id, position=2)
        )
    # A stale allocation that a reallocation replaced: never counted.
    db.session.add(
        AwardGrant(
            event_id=a.event_id, entry_id=a.entry_ids[-1], rank=1, award="gold", is_current=False
        )
    )
    _allocate(a, EVENT_A, units, unranked_last=True)
    _allocate(b, EVENT_B, units, unranked_last=False)
    db.session.flush()
    return Honours(
        competition_id=competition.id,
        event_a=a.event_id,
        event_b=b.event_id,
        entries_a=a.entry_ids,
        entries_b=b.entry_ids,
        delegation={k: u.name for k, u in units.items()},
    )


@pytest.fixture
def world(app) -> Honours:
    with app.app_context():
        w = _build()
        db.session.commit()
        return w


def _rows(app, w: Honours, *, published_only=False):
    competition = db.session.get(Competition, w.competition_id)
    return honours.placings(competition, published_only=published_only)


def _table(lines, w: Honours):
    names = {v: k for k, v in w.delegation.items()}
    return [
        (r.rank, names[r.delegation], r.gold, r.silver, r.bronze, r.medallion, r.points)
        for r in lines
    ]


# ---------------------------------------------------------------- medal table


def test_medal_table_by_medals_counting_members(app, world):
    with app.app_context():
        table = honours.medal_table_of(_rows(app, world), by="medals")
    # 丙: gold of a pair (2) + a medallion; 甲: one gold, a bronze pair (2), a medallion;
    # 乙: a silver, a silver pair (2), a bronze. 丁 won nothing and is not listed.
    assert _table(table, world) == [
        (1, "丙", 2, 0, 0, 1, 9),
        (2, "甲", 1, 0, 2, 1, 9),
        (3, "乙", 0, 3, 1, 0, 11),
    ]


def test_medal_table_by_points_counting_members(app, world):
    with app.app_context():
        table = honours.medal_table_of(_rows(app, world), by="points")
    # 11 points first; 丙 and 甲 both have 9: gold decides.
    assert _table(table, world) == [
        (1, "乙", 0, 3, 1, 0, 11),
        (2, "丙", 2, 0, 0, 1, 9),
        (3, "甲", 1, 0, 2, 1, 9),
    ]


def test_medal_table_counting_each_entry_once(app, world):
    with app.app_context():
        rows = _rows(app, world)
        by_medals = honours.medal_table_of(rows, by="medals", counting=honours.Counting.ENTRIES)
        by_points = honours.medal_table_of(rows, by="points", counting=honours.Counting.ENTRIES)
    assert _table(by_medals, world) == [
        (1, "甲", 1, 0, 1, 1, 7),
        (2, "丙", 1, 0, 0, 1, 5),
        (3, "乙", 0, 2, 1, 0, 8),
    ]
    assert [row[1] for row in _table(by_points, world)] == ["乙", "甲", "丙"]
    assert honours.DEFAULT_COUNTING is honours.Counting.MEMBERS


def test_prize_events_count_in_the_medal_columns(app):
    with app.app_context():
        competition = make_competition()
        unit = make_unit(name="某代表团")
        s = ranked_event(4, competition=competition, people_seed=303)
        for rank, (entry_id, award) in enumerate(
            zip(s.entry_ids, ["first", "second", "third", "merit"], strict=True), start=1
        ):
            db.session.get(Entry, entry_id).unit_id = unit.id
            db.session.add(
                AwardGrant(event_id=s.event_id, entry_id=entry_id, rank=rank, award=award)
            )
        db.session.flush()
        rows = honours.placings(competition, published_only=False)
        assert honours.uses_prizes(rows)
        [row] = honours.medal_table_of(rows)
        assert (row.gold, row.silver, row.bronze, row.medallion, row.points) == (1, 1, 1, 1, 10)


# ---------------------------------------------------------------- delegations


def test_delegation_ranking_lists_everyone_with_team_awards_by_position(app, world):
    with app.app_context():
        lines = honours.delegation_ranking(_rows(app, world), team_prizes=(1, 1, 1))
    names = {v: k for k, v in world.delegation.items()}
    got = [
        (
            line.row.rank,
            names[line.row.delegation],
            line.row.points,
            line.entries,
            line.people,
            line.best_rank,
            line.team_award,
        )
        for line in lines
    ]
    assert got == [
        (1, "乙", 11, 4, 5, 2, Award.FIRST),
        (2, "丙", 9, 3, 4, 1, Award.SECOND),
        (3, "甲", 9, 4, 6, 1, Award.THIRD),
        (4, "丁", 0, 1, 1, 6, None),
    ]


def test_team_prize_counts_are_validated():
    assert honours.parse_team_prizes("1，2,3") == (1, 2, 3)
    assert honours.parse_team_prizes("") == ()
    for bad in ("a", "1,2,3,4", "-1", "1,,2"):
        with pytest.raises(InvalidInput):
            honours.parse_team_prizes(bad)


# ---------------------------------------------------------------- 参赛队最佳奖, coaches


def test_best_of_delegation_is_its_best_placed_non_medallist_across_events(app, world):
    with app.app_context():
        best = honours.best_of_delegation(_rows(app, world))
    chosen = {delegation: [p.entry_id for p in ps] for delegation, ps in best}
    d = world.delegation
    assert chosen == {
        d["甲"]: [world.entries_b[3]],  # rank 4 in B beats its medallion at rank 5 in A
        d["乙"]: [world.entries_a[6]],  # its medallists are out; rank 7
        d["丙"]: [world.entries_a[3]],  # a medallion is no medal; the unranked entry is out
        d["丁"]: [world.entries_a[5]],
    }


def _placing(entry_id, rank, award, delegation="甲", region="广西", coaches=()):
    return honours.Placing(
        entry_id=entry_id,
        event_id=1,
        event_code=f"E{entry_id}",
        event_name="赛项",
        delegation=delegation,
        region=region,
        rank=rank,
        award=award,
        people=(f"选手{entry_id}",),
        coaches=coaches,
        published=True,
    )


def test_best_of_delegation_lists_a_tie_for_the_organiser_to_choose():
    rows = [_placing(1, 1, G), _placing(2, 4, None), _placing(3, 4, M), _placing(4, 9, None)]
    [(delegation, chosen)] = honours.best_of_delegation(rows)
    assert delegation == "甲" and [p.entry_id for p in chosen] == [2, 3]


def test_outstanding_coaches_of_medallists_deduplicated_by_name_and_unit(app, world):
    with app.app_context():
        rows = _rows(app, world)
        coaches = honours.outstanding_coaches(rows)
        everyone = honours.outstanding_coaches(rows, include_merit=True)
    d = world.delegation
    got = {(c.name, c.unit): sorted(p.entry_id for p in c.winners) for c in coaches}
    assert got == {
        ("王老师", d["甲"]): sorted([world.entries_a[0], world.entries_b[2]]),
        ("王老师", d["乙"]): [world.entries_a[1]],  # a namesake of another unit
        ("李 老师", d["甲"]): [world.entries_b[2]],
        ("周老师", "丙技师学院"): [world.entries_b[0]],  # the coach's own unit
    }
    assert {(c.name, c.unit) for c in everyone} - set(got) == {("赵老师", d["丙"])}
    assert all(c.name != "孙老师" for c in everyone)  # coached no winner


# ---------------------------------------------------------------- special awards


def test_special_award_picks_the_best_from_the_regions(app, world):
    rules = honours.parse_rules(
        '[{"name": "西部技能之星", "regions": ["广西", "贵州"]},'
        ' {"name": "西部前二", "regions": ["广西", "贵州"], "top": 2},'
        ' {"name": "广东之星", "regions": ["广东"], "min_award": "bronze"},'
        ' {"name": "云南之星", "regions": ["云南"]},'
        ' {"name": "广西金牌", "regions": "广西", "min_award": "gold", "top": 5}]'
    )
    with app.app_context():
        rows = _rows(app, world)
        got = {
            rule.name: sorted(p.entry_id for p in honours.special_award(rows, rule))
            for rule in rules
        }
    a, b = world.entries_a, world.entries_b
    assert got == {
        "西部技能之星": [a[0]],  # 甲's gold; 丙's gold is from 广东
        "西部前二": sorted([a[0], a[1], b[1]]),  # two silvers share rank 2: both kept
        "广东之星": [b[0]],
        "云南之星": [],
        "广西金牌": [a[0]],
    }


def test_special_award_without_minimum_can_reach_an_entry_without_award():
    rule = honours.SpecialRule("边疆之星", ("新疆",))
    rows = [_placing(1, 7, None, region="新疆"), _placing(2, 1, G, region="广西")]
    assert [p.entry_id for p in honours.special_award(rows, rule)] == [1]
    rule = honours.SpecialRule("边疆之星", ("新疆",), min_award=Award.MERIT)
    assert honours.special_award(rows, rule) == []


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"regions": ["广西"]}',
        '{"name": "x"}',
        '{"name": "x", "regions": []}',
        '{"name": "x", "regions": ["广西"], "min_award": "platinum"}',
        '{"name": "x", "regions": ["广西"], "top": 0}',
        "[1, 2]",
    ],
)
def test_bad_special_award_rules_are_refused(text):
    with pytest.raises(InvalidInput) as caught:
        honours.parse_rules(text)
    assert caught.value.field == "rules"


# ---------------------------------------------------------------- pages


def test_organiser_page_shows_every_section_and_exports_csv(app, client, login_as, world):
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    url = f"/competitions/{world.competition_id}/honours"
    response = client.get(
        url,
        query_string={
            "by": "points",
            "team_prizes": "1,1,1",
            "rules": '{"name": "西部技能之星", "regions": ["广西", "贵州"]}',
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    d = world.delegation
    assert f'data-delegation="{d["乙"]}" data-rank="1" data-points="11"' in page
    assert f'data-delegation="{d["丙"]}" data-rank="2" data-points="9"' in page
    assert f'data-delegation="{d["乙"]}" data-rank="1" data-team-award="first"' in page
    assert f'data-delegation="{d["丁"]}" data-rank="4" data-team-award=""' in page
    assert f'data-delegation="{d["甲"]}" data-entry-id="{world.entries_b[3]}"' in page
    assert f'data-coach="王老师" data-unit="{d["甲"]}" data-winners="2"' in page
    assert f'data-rule="西部技能之星" data-entry-id="{world.entries_a[0]}"' in page

    export = client.get(url, query_string={"by": "medals", "export": "medals"})
    assert export.status_code == 200 and export.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[1:] == [
        ["1", d["丙"], "2", "0", "0", "1", "9"],
        ["2", d["甲"], "1", "0", "2", "1", "9"],
        ["3", d["乙"], "0", "3", "1", "0", "11"],
    ]
    coaches = client.get(url, query_string={"export": "coaches"}).get_data(as_text=True)
    assert "周老师" in coaches and "孙老师" not in coaches


def test_organiser_page_refuses_bad_options_with_a_message(app, client, login_as, world):
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    url = f"/competitions/{world.competition_id}/honours"
    response = client.get(url, query_string={"rules": "[{"})
    assert response.status_code == 422
    assert 'data-field="rules"' in response.get_data(as_text=True)
    response = client.get(url, query_string={"team_prizes": "x"})
    assert response.status_code == 422
    assert 'data-field="team_prizes"' in response.get_data(as_text=True)
    assert client.get(url, query_string={"count": "nobody"}).status_code == 422


def test_honours_page_needs_awards_manage_in_the_competition(app, client, login_as, world):
    with app.app_context():
        other = make_competition(name="另一竞赛").id
        db.session.commit()
    login_as(Role.ORGANISER, competition_id=other)
    assert client.get(f"/competitions/{world.competition_id}/honours").status_code == 403


def test_public_medal_table_counts_published_events_only(app, client):
    with app.app_context():
        w = _build(b_state=EventState.SCORING_LOCKED)
        db.session.commit()
    response = client.get(f"/competitions/{w.competition_id}/medals?format=json")
    assert response.status_code == 200
    names = {v: k for k, v in w.delegation.items()}
    rows = [
        (
            r["rank"],
            names[r["delegation"]],
            r["gold"],
            r["silver"],
            r["bronze"],
            r["medallion"],
            r["points"],
        )
        for r in response.get_json()["rows"]
    ]
    # Event B (the pairs) is not published: only event A counts.
    assert rows == [(1, "甲", 1, 0, 0, 1, 5), (2, "乙", 0, 1, 1, 0, 5), (3, "丙", 0, 0, 0, 1, 1)]
    page = client.get(f"/competitions/{w.competition_id}/medals?by=points")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="medal-table" data-by="points" data-count="members"' in html
    assert f'data-delegation="{w.delegation["甲"]}" data-rank="1" data-points="5"' in html
    assert client.get(f"/competitions/{w.competition_id}/medals?by=nonsense").status_code == 200


def test_public_medal_table_is_404_until_an_event_is_published(app, client):
    with app.app_context():
        competition = make_competition()
        ranked_event(3, competition=competition, state=EventState.UNDER_REVIEW, people_seed=404)
        db.session.commit()
        competition_id = competition.id
    assert client.get(f"/competitions/{competition_id}/medals").status_code == 404
