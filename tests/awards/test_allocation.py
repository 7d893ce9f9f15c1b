"""Award allocation from the event's preset (§5, §8a): the worked example through the app, the
N table, fixed counts, medals, teams, ties at a band line, and what allocation refuses."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from compete.blueprints.awards import services
from compete.blueprints.competitions import presets
from compete.blueprints.competitions.services import set_rules
from compete.demo import demo_people
from compete.domain.errors import Conflict
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    AuditEntry,
    AwardGrant,
    EntryMember,
    EntryScore,
    Event,
    GrantStatus,
    Person,
    PromotionGrant,
    TitleGrant,
)
from compete.models.base import utcnow

from ..factories import csrf_from
from ..scenario import ranked_event

ROW = re.compile(
    r'data-entry="(\d+)" data-rank="(\d*)" data-award="(\w*)" data-flagged="(true|false)"'
)
L4, L3, L2, L1 = 2, 3, 4, 5  # 中级工, 高级工, 技师, 高级技师
COPIES = itertools.count(1)


def preset_version(key: str, **changes):
    """The latest version of a shipped preset, or of a copy of it with ``changes``."""
    preset = next(p for p in presets.ensure_builtin_presets() if p.key == key)
    if not changes:
        return preset.latest
    copy = presets.copy_preset(None, preset, key=f"{key}-copy-{next(COPIES)}", name="copy")
    return presets.add_version(None, copy, params={**copy.latest.params, **changes})


def build(app, n: int, *, preset: str = "gd_provincial_2_employee", changes=None, **kwargs):
    with app.app_context():
        version = preset_version(preset, **(changes or {}))
        scenario = ranked_event(n, preset_version=version, **kwargs)
        db.session.commit()
        return scenario


def allocate(app, scenario):
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        services.allocate_awards(None, event, now=utcnow())
        db.session.commit()


def awards_by_rank(app, scenario) -> dict[int, str | None]:
    with app.app_context():
        grants = db.session.scalars(
            select(AwardGrant).where(
                AwardGrant.event_id == scenario.event_id, AwardGrant.is_current
            )
        ).all()
        return {g.rank: g.award for g in grants if g.rank is not None}


def places(awards: dict[int, str | None], award: str) -> list[int]:
    return sorted(rank for rank, value in awards.items() if value == award)


def token(client) -> str:
    return csrf_from(client.get("/").get_data(as_text=True))


# ---------------------------------------------------------------- §8a through the app


def test_worked_example_37_entrants_through_the_app(app, client, login_as):
    grades = [L3] * 37
    grades[1], grades[4], grades[5], grades[6], grades[11] = L2, L2, L1, L2, L4
    scenario = build(app, 37, grades=grades)
    login_as("organiser", competition_id=scenario.competition_id)
    csrf = token(client)
    rank5 = scenario.person_ids[4]
    response = client.post(
        f"/people/{rank5}/history/titles",
        data={
            "csrf_token": csrf,
            "title-title": "GD_TECH_EXPERT",
            "title-granted_on": "2021-11-30",
            "title-source": "粤人社函〔2021〕123号",
            "title-approval_ref": "粤人社函〔2021〕123号",
        },
    )
    assert response.status_code == 302

    response = client.post(
        f"/events/{scenario.event_id}/awards/allocate", data={"csrf_token": csrf}
    )
    assert response.status_code == 302
    page = client.get(f"/events/{scenario.event_id}/awards")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-n="37"' in html and 'data-cap="7"' in html
    rows = {int(rank): award for _e, rank, award, _f in ROW.findall(html) if rank}
    assert places(rows, "first") == [1]
    assert places(rows, "second") == [2, 3]
    assert places(rows, "third") == [4, 5, 6]  # the 7th prize place stays unused
    assert places(rows, "merit") == list(range(7, 19))  # 优胜奖: 12, ranks 7–18
    assert all(rows[rank] == "" for rank in range(19, 38))
    assert 'data-band="third" data-first="4" data-last="6"' in html
    assert 'data-band="merit" data-first="7" data-last="18"' in html
    assert html.count('class="band-line"') == 5  # first, second, third, merit, none
    assert 'data-labour="2027"' in html  # rank 1 may apply next year for the 五一 medal

    person = dict(enumerate(scenario.person_ids, start=1))  # rank → person id
    with app.app_context():
        titles = {
            t.person_id: t.status
            for t in db.session.scalars(
                select(TitleGrant).where(TitleGrant.event_id == scenario.event_id)
            )
        }
        promoted = {
            p.person_id: (p.from_grade, p.to_grade, p.status)
            for p in db.session.scalars(
                select(PromotionGrant).where(PromotionGrant.event_id == scenario.event_id)
            )
        }
    # Titles for the prize winners, "拟" until approved; rank 5 holds it since 2021.
    assert titles == {person[r]: GrantStatus.PROPOSED for r in (1, 2, 3, 4, 6)}
    assert promoted[person[1]] == (L3, L2, GrantStatus.PROPOSED)  # 高级工 → 技师
    assert promoted[person[2]][:2] == (L2, L1)  # 技师 with the title now → 高级技师
    assert promoted[person[5]][:2] == (L2, L1)  # title held since 2021 → 高级技师
    assert person[6] not in promoted  # 高级技师 already: the cap
    assert person[7] not in promoted  # 技师, 优胜奖, no title: unchanged
    assert promoted[person[12]][:2] == (L4, L2)  # 中级工 → 技师, skipping 高级工
    assert person[19] not in promoted  # no award, no promotion
    assert sorted(promoted) == sorted(person[r] for r in (1, 2, 3, 4, 5, *range(8, 19)))


@pytest.mark.parametrize(
    ("n", "strict", "proportional", "merit"),
    [
        (15, (1, 1, 1), (1, 1, 1), (4, 7)),
        (20, (1, 1, 2), (1, 1, 2), (5, 10)),
        (29, (1, 2, 2), (1, 2, 2), (6, 14)),
        (59, (1, 2, 3), (2, 4, 5), (7, 29)),
        (60, (2, 4, 6), (2, 4, 6), (13, 30)),
        (120, (4, 8, 12), (4, 8, 12), (25, 60)),
    ],
)
@pytest.mark.parametrize("rounding", ["strict", "proportional"])
def test_prize_table_rows(app, n, strict, proportional, merit, rounding):
    changes = {"prize_rounding": "proportional"} if rounding == "proportional" else None
    scenario = build(app, n, changes=changes)
    allocate(app, scenario)
    awards = awards_by_rank(app, scenario)
    counts = strict if rounding == "strict" else proportional
    assert tuple(len(places(awards, a)) for a in ("first", "second", "third")) == counts
    winners = sum(counts)
    merit_first = winners + 1 if rounding == "proportional" else merit[0]
    assert places(awards, "merit") == list(range(merit_first, merit[1] + 1))


def test_fixed_counts_one_two_five(app):
    scenario = build(app, 27, changes={"award_scheme": "FIXED", "fixed_counts": [1, 2, 5]})
    allocate(app, scenario)
    awards = awards_by_rank(app, scenario)
    assert places(awards, "first") == [1]
    assert places(awards, "second") == [2, 3]
    assert places(awards, "third") == [4, 5, 6, 7, 8]
    assert places(awards, "merit") == list(range(9, 14))  # the top half of 27


def test_national_medals_and_merit_to_the_top_half(app):
    grades = [L3] * 37
    grades[0] = L2
    scenario = build(app, 37, preset="national_comprehensive", grades=grades)
    allocate(app, scenario)
    awards = awards_by_rank(app, scenario)
    assert places(awards, "gold") == [1]
    assert places(awards, "silver") == [2]
    assert places(awards, "bronze") == [3]
    assert places(awards, "merit") == list(range(4, 19))
    with app.app_context():
        titled = set(
            db.session.scalars(
                select(TitleGrant.person_id).where(TitleGrant.event_id == scenario.event_id)
            )
        )
        gold = db.session.scalar(
            select(PromotionGrant).where(PromotionGrant.person_id == scenario.person_ids[0])
        )
    assert titled == set(scenario.person_ids[:5])  # 全国技术能手: top 5
    assert (gold.from_grade, gold.to_grade) == (L2, L1)  # national reading: 技师 → 高级技师


def test_national_shared_rank_across_a_medal_line_is_refused(app):
    finals = [Decimal(95) - Decimal("0.5") * i for i in range(20)]
    finals[3] = finals[2]  # ranks 3 and 4 equal on every key: a shared bronze
    scenario = build(app, 20, preset="national_comprehensive", finals=finals)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        with pytest.raises(Conflict):
            services.allocate_awards(None, event, now=utcnow())
        db.session.rollback()
        assert not db.session.scalar(select(func.count(AwardGrant.id)))


def test_team_members_each_get_the_team_award(app, client, login_as):
    scenario = build(app, 20)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        event.team_size = 2
        extra = demo_people(2, seed=77)
        partners = []
        for index, (name, sex, number, phone) in zip((0, 5), extra, strict=True):
            person = Person(name=name, gender=sex, id_number=number, phone=phone)
            db.session.add(person)
            db.session.flush()
            db.session.add(
                EntryMember(
                    entry_id=scenario.entry_ids[index],
                    event_id=event.id,
                    person_id=person.id,
                    position=2,
                    current_grade=L4,
                )
            )
            partners.append(person.id)
        db.session.commit()
    allocate(app, scenario)
    login_as("organiser", competition_id=scenario.competition_id)
    html = client.get(f"/events/{scenario.event_id}/awards").get_data(as_text=True)
    with app.app_context():
        partner_names = [db.session.get(Person, pid).name for pid in partners]
        titled = set(
            db.session.scalars(
                select(TitleGrant.person_id).where(TitleGrant.event_id == scenario.event_id)
            )
        )
        promoted = {
            p.person_id: p.to_grade
            for p in db.session.scalars(
                select(PromotionGrant).where(PromotionGrant.event_id == scenario.event_id)
            )
        }
        awards = {
            g.entry_id: g.award
            for g in db.session.scalars(select(AwardGrant).where(AwardGrant.is_current))
        }
    assert all(name in html for name in partner_names)
    assert awards[scenario.entry_ids[0]] == "first"
    # Both members of the first-prize pair: the title and the promotion, each their own.
    assert {scenario.person_ids[0], partners[0]} <= titled
    assert promoted[partners[0]] == L2 and promoted[scenario.person_ids[0]] == L2
    # Rank 6 of 20 is 优胜奖 (prizes 1/1/2): the partner is promoted, not titled.
    assert awards[scenario.entry_ids[5]] == "merit"
    assert partners[1] not in titled and promoted[partners[1]] == L2


def tied_at_six(n: int = 37) -> list[Decimal]:
    finals = [Decimal(95) - Decimal("0.5") * i for i in range(n)]
    finals[6] = finals[5]  # ranks 6 and 7 share rank 6: across the third-prize line
    return finals


def test_boundary_tie_is_flagged_with_the_better_band_and_decided(app, client, login_as):
    scenario = build(app, 37, finals=tied_at_six())
    login_as("organiser", competition_id=scenario.competition_id)
    csrf = token(client)
    client.post(f"/events/{scenario.event_id}/awards/allocate", data={"csrf_token": csrf})
    html = client.get(f"/events/{scenario.event_id}/awards").get_data(as_text=True)
    rows = {int(e): (rank, award, flagged) for e, rank, award, flagged in ROW.findall(html)}
    sixth, seventh = scenario.entry_ids[5], scenario.entry_ids[6]
    assert rows[sixth] == ("6", "third", "true")
    assert rows[seventh] == ("6", "third", "true")
    with app.app_context():
        grant = db.session.scalar(
            select(AwardGrant).where(AwardGrant.entry_id == seventh, AwardGrant.is_current)
        )
        grant_id = grant.id
        assert services.tie_options(grant.entry.event, grant) == ["third", "merit"]
        assert not services.external_decisions_in(grant.entry.event, utcnow())  # titles open

    # A decision without a reason changes nothing.
    client.post(
        f"/events/{scenario.event_id}/awards/{grant_id}/decision",
        data={"csrf_token": csrf, "award": "merit", "reason": ""},
    )
    with app.app_context():
        assert db.session.get(AwardGrant, grant_id).award == "third"
    client.post(
        f"/events/{scenario.event_id}/awards/{grant_id}/decision",
        data={"csrf_token": csrf, "award": "merit", "reason": "组委会决定：实操用时较长"},
    )
    with app.app_context():
        grant = db.session.get(AwardGrant, grant_id)
        assert (grant.award, grant.decision_reason) == ("merit", "组委会决定：实操用时较长")
        titled = set(
            db.session.scalars(
                select(TitleGrant.person_id).where(TitleGrant.event_id == scenario.event_id)
            )
        )
        assert scenario.person_ids[6] not in titled  # the title follows the decision
        assert scenario.person_ids[5] in titled
        assert db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "awards.boundary_decided")
        )
    html = client.get(f"/events/{scenario.event_id}/awards").get_data(as_text=True)
    assert "组委会决定：实操用时较长" in html

    # Allocating again keeps the recorded decision while the shared rank is unchanged.
    client.post(f"/events/{scenario.event_id}/awards/allocate", data={"csrf_token": csrf})
    with app.app_context():
        grant = db.session.scalar(
            select(AwardGrant).where(AwardGrant.entry_id == seventh, AwardGrant.is_current)
        )
        assert grant.award == "merit" and grant.id != grant_id
        assert (
            db.session.scalar(
                select(func.count(AwardGrant.id)).where(AwardGrant.is_current.is_(False))
            )
            == 37
        )


def test_cj_decision_tie_waits_without_an_award(app):
    scenario = build(app, 37, finals=tied_at_six(), changes={"boundary_tie": "cj_decision"})
    allocate(app, scenario)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        tied = [g for g in services.current_grants(event) if g.rank == 6]
        assert [(g.award, g.flagged) for g in tied] == [(None, True), (None, True)]
        services.decide_boundary(None, event, tied[0], award="third", reason="决定甲", now=utcnow())
        services.decide_boundary(None, event, tied[1], award="merit", reason="决定乙", now=utcnow())
        for row in db.session.scalars(select(TitleGrant).where(TitleGrant.event_id == event.id)):
            row.status = GrantStatus.DECLINED
        for row in db.session.scalars(
            select(PromotionGrant).where(PromotionGrant.event_id == event.id)
        ):
            row.status = GrantStatus.GRANTED
        assert services.external_decisions_in(event, utcnow())


@pytest.mark.parametrize("state", [EventState.PUBLICITY, EventState.AWARDS_ISSUED])
def test_allocation_refused_unless_final(app, client, login_as, state):
    scenario = build(app, 20, state=state)
    login_as("organiser", competition_id=scenario.competition_id)
    client.set_cookie("lang", "en")
    response = client.post(
        f"/events/{scenario.event_id}/awards/allocate",
        data={"csrf_token": token(client)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(select(func.count(AwardGrant.id)))
        assert not db.session.scalar(select(func.count(TitleGrant.id)))
        event = db.session.get(Event, scenario.event_id)
        assert not services.external_decisions_in(event, utcnow())


def test_an_edited_preset_does_not_change_the_event(app, client, login_as):
    scenario = build(app, 37, changes={"prize_cap_pct": 20})
    allocate(app, scenario)
    before = awards_by_rank(app, scenario)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        kept = event.preset_version_id
        preset = event.preset_version.preset
        presets.add_version(None, preset, params={**preset.latest.params, "prize_cap_pct": 40})
        with pytest.raises(Conflict):
            set_rules(None, event, preset_version=preset.latest, overrides={})
        db.session.commit()
    login_as("organiser", competition_id=scenario.competition_id)
    client.post(f"/events/{scenario.event_id}/awards/allocate", data={"csrf_token": token(client)})
    assert awards_by_rank(app, scenario) == before
    html = client.get(f"/events/{scenario.event_id}/awards").get_data(as_text=True)
    assert f'data-preset-version="{kept}"' in html and "data-newer-version" in html
    with app.app_context():
        assert db.session.get(Event, scenario.event_id).preset_version_id == kept
        versions = set(
            db.session.scalars(select(AwardGrant.preset_version_id).where(AwardGrant.is_current))
        )
        assert versions == {kept}


def test_no_stored_results_refused(app):
    scenario = build(app, 5)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        db.session.execute(delete(EntryScore).where(EntryScore.event_id == event.id))
        db.session.flush()
        with pytest.raises(Conflict):
            services.allocate_awards(None, event, now=utcnow())


def test_guard_needs_allocation_and_every_decision(app, client, login_as):
    scenario = build(app, 20)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        assert not services.external_decisions_in(event, utcnow())
    allocate(app, scenario)
    login_as("organiser", competition_id=scenario.competition_id)
    csrf = token(client)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        assert not services.external_decisions_in(event, utcnow())
        title_ids = [t.id for t in db.session.scalars(select(TitleGrant))]
        promotion_ids = [p.id for p in db.session.scalars(select(PromotionGrant))]
    today = utcnow().date().isoformat()
    client.post(
        f"/events/{scenario.event_id}/titles/approve",
        data={
            "csrf_token": csrf,
            "grant_id": title_ids,
            "approval_ref": "粤人社函〔2027〕1号",
            "granted_on": today,
        },
    )
    with app.app_context():
        assert not services.external_decisions_in(
            db.session.get(Event, scenario.event_id), utcnow()
        )
    client.post(
        f"/events/{scenario.event_id}/promotions/approve",
        data={
            "csrf_token": csrf,
            "grant_id": promotion_ids[:-1],
            "approval_ref": "粤人社函〔2027〕2号",
            "granted_on": today,
        },
    )
    client.post(
        f"/events/{scenario.event_id}/promotions/{promotion_ids[-1]}/decline",
        data={"csrf_token": csrf, "reason": "证书信息不符"},
    )
    with app.app_context():
        assert services.external_decisions_in(db.session.get(Event, scenario.event_id), utcnow())


def test_awards_are_issued_only_once_every_decision_is_in(app):
    """The lifecycle step final → awards_issued reads the awards guard."""
    from compete.blueprints.competitions.lifecycle import transition_event

    from ..factories import make_user

    scenario = build(app, 20)
    allocate(app, scenario)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        organiser = make_user("organiser", competition_id=scenario.competition_id)
        with pytest.raises(Conflict):
            transition_event(organiser, event, EventState.AWARDS_ISSUED, reason=None, now=utcnow())
        for model in (TitleGrant, PromotionGrant):
            for row in db.session.scalars(select(model).where(model.event_id == event.id)):
                row.status = GrantStatus.GRANTED
        transition_event(organiser, event, EventState.AWARDS_ISSUED, reason=None, now=utcnow())
        assert event.state is EventState.AWARDS_ISSUED
