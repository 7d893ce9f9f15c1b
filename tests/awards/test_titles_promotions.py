"""Titles and promotions follow the person across competitions; approval, decline and
revocation; the lists for approval as Excel; the person's history page and who may see it."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from compete.blueprints.awards import lists, services
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    AuditEntry,
    EntryMember,
    Event,
    GrantStatus,
    Person,
    PromotionGrant,
    Role,
    TitleGrant,
)
from compete.models.base import utcnow
from compete.permissions import ROLE_GRANTS, Permission

from ..factories import make_competition
from .test_allocation import L1, L2, L3, build, token

TODAY = utcnow().date().isoformat()


def two_competitions(app, *, second_state=EventState.FINAL, second_grades=None):
    """Competition 1 and 2 (20 entrants each); the rank-1 person of the first also enters
    the second, at rank 2, declaring 高级工 (L3) again."""
    first = build(app, 20, grades=[L3] * 20)
    second = build(app, 20, people_seed=99, state=second_state, grades=second_grades)
    person_id = first.person_ids[0]
    with app.app_context():
        member = db.session.scalar(
            select(EntryMember).where(EntryMember.entry_id == second.entry_ids[1])
        )
        member.person_id = person_id
        member.current_grade = L3
        db.session.commit()
    return first, second, person_id


def allocate_via(client, scenario):
    response = client.post(
        f"/events/{scenario.event_id}/awards/allocate", data={"csrf_token": token(client)}
    )
    assert response.status_code == 302


def rows(app, model, event_id: int) -> dict[int, object]:
    with app.app_context():
        return {
            r.person_id: r
            for r in db.session.scalars(select(model).where(model.event_id == event_id))
        }


def approve(client, event_id: int, kind: str, ids, ref: str = "粤人社函〔2026〕88号"):
    return client.post(
        f"/events/{event_id}/{kind}/approve",
        data={
            "csrf_token": token(client),
            "grant_id": ids,
            "approval_ref": ref,
            "granted_on": TODAY,
        },
    )


def test_title_and_promotion_follow_the_person_to_the_next_competition(app, client, login_as):
    first, second, person_id = two_competitions(app)
    login_as("admin")
    allocate_via(client, first)
    title = rows(app, TitleGrant, first.event_id)[person_id]
    promotion = rows(app, PromotionGrant, first.event_id)[person_id]
    assert (title.status, promotion.from_grade, promotion.to_grade) == (
        GrantStatus.PROPOSED,
        L3,
        L2,
    )
    assert approve(client, first.event_id, "titles", [title.id]).status_code == 302
    assert approve(client, first.event_id, "promotions", [promotion.id]).status_code == 302
    with app.app_context():
        title = db.session.get(TitleGrant, title.id)
        assert (title.status, title.approval_ref, title.granted_on.isoformat()) == (
            GrantStatus.GRANTED,
            "粤人社函〔2026〕88号",
            TODAY,
        )
        assert db.session.get(PromotionGrant, promotion.id).status is GrantStatus.GRANTED

    allocate_via(client, second)
    # Not granted twice; promoted from the 技师 reached in the first competition (the
    # registration still said 高级工), and as a title holder one step up: 高级技师.
    assert person_id not in rows(app, TitleGrant, second.event_id)
    again = rows(app, PromotionGrant, second.event_id)[person_id]
    assert (again.from_grade, again.to_grade) == (L2, L1)
    assert second.person_ids[0] in rows(app, TitleGrant, second.event_id)

    html = client.get(f"/people/{person_id}/history").get_data(as_text=True)
    assert f'data-history-event="{first.event_id}"' in html
    assert f'data-history-event="{second.event_id}"' in html
    assert html.count('data-title="GD_TECH_EXPERT"') == 1


def test_revoked_title_no_longer_blocks_a_later_grant(app, client, login_as):
    first, second, person_id = two_competitions(app)
    login_as("admin")
    allocate_via(client, first)
    title = rows(app, TitleGrant, first.event_id)[person_id]
    approve(client, first.event_id, "titles", [title.id])
    csrf = token(client)
    # No reason: refused, nothing changed.
    client.post(
        f"/events/{first.event_id}/titles/{title.id}/revoke",
        data={"csrf_token": csrf, "reason": ""},
    )
    assert rows(app, TitleGrant, first.event_id)[person_id].status is GrantStatus.GRANTED
    client.post(
        f"/events/{first.event_id}/titles/{title.id}/revoke",
        data={"csrf_token": csrf, "reason": "弄虚作假，撤销称号"},
    )
    revoked = rows(app, TitleGrant, first.event_id)[person_id]
    assert (revoked.status, revoked.reason) == (GrantStatus.REVOKED, "弄虚作假，撤销称号")

    allocate_via(client, second)
    regrant = rows(app, TitleGrant, second.event_id)[person_id]
    assert regrant.status is GrantStatus.PROPOSED
    approve(client, second.event_id, "titles", [regrant.id])
    assert rows(app, TitleGrant, second.event_id)[person_id].status is GrantStatus.GRANTED
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"title.granted", "title.revoked", "awards.allocated"} <= actions


def test_approving_a_title_the_person_meanwhile_holds_is_refused(app, client, login_as):
    first, second, person_id = two_competitions(app)
    login_as("admin")
    allocate_via(client, first)
    allocate_via(client, second)  # proposed in both: nobody held it yet
    first_title = rows(app, TitleGrant, first.event_id)[person_id]
    second_title = rows(app, TitleGrant, second.event_id)[person_id]
    others = [t.id for p, t in rows(app, TitleGrant, second.event_id).items() if p != person_id]
    approve(client, first.event_id, "titles", [first_title.id])
    approve(client, second.event_id, "titles", [*others, second_title.id])
    # All or nothing: the whole approval is refused and every row stays proposed.
    assert {t.status for t in rows(app, TitleGrant, second.event_id).values()} == {
        GrantStatus.PROPOSED
    }
    client.post(
        f"/events/{second.event_id}/titles/{second_title.id}/decline",
        data={"csrf_token": token(client), "reason": "已获得该称号，不再重复授予"},
    )
    approve(client, second.event_id, "titles", others)
    statuses = {p: t.status for p, t in rows(app, TitleGrant, second.event_id).items()}
    assert statuses.pop(person_id) is GrantStatus.DECLINED
    assert set(statuses.values()) == {GrantStatus.GRANTED}


def test_declined_title_withdraws_the_step_that_needed_it(app, client, login_as):
    grades = [L3] * 20
    grades[1] = L2  # rank 2, 技师: 高级技师 only with the title
    scenario = build(app, 20, grades=grades)
    person_id = scenario.person_ids[1]
    login_as("organiser", competition_id=scenario.competition_id)
    allocate_via(client, scenario)
    title = rows(app, TitleGrant, scenario.event_id)[person_id]
    assert rows(app, PromotionGrant, scenario.event_id)[person_id].to_grade == L1
    # Approval without a reference or date changes nothing.
    client.post(
        f"/events/{scenario.event_id}/titles/approve",
        data={
            "csrf_token": token(client),
            "grant_id": [title.id],
            "approval_ref": "",
            "granted_on": "",
        },
    )
    assert rows(app, TitleGrant, scenario.event_id)[person_id].status is GrantStatus.PROPOSED
    client.post(
        f"/events/{scenario.event_id}/titles/{title.id}/decline",
        data={"csrf_token": token(client), "reason": "未通过省人社厅核准"},
    )
    declined = rows(app, TitleGrant, scenario.event_id)[person_id]
    assert (declined.status, declined.reason) == (GrantStatus.DECLINED, "未通过省人社厅核准")
    assert person_id not in rows(app, PromotionGrant, scenario.event_id)
    assert scenario.person_ids[0] in rows(app, PromotionGrant, scenario.event_id)


def test_earlier_promotion_recorded_by_hand_is_the_starting_grade(app, client, login_as):
    scenario = build(app, 20, grades=[L3] * 20)
    person_id = scenario.person_ids[0]
    other = scenario.person_ids[2]
    login_as("organiser", competition_id=scenario.competition_id)
    csrf = token(client)
    for who, occupation in ((person_id, "电工"), (other, "焊工")):
        response = client.post(
            f"/people/{who}/history/promotions",
            data={
                "csrf_token": csrf,
                "promotion-occupation": occupation,
                "promotion-from_grade": str(L3),
                "promotion-to_grade": str(L2),
                "promotion-granted_on": "2024-06-30",
                "promotion-source": "职业技能等级证书 S000001",
            },
        )
        assert response.status_code == 302
    # A bad record (grade reached not above the grade before) is refused and shown.
    response = client.post(
        f"/people/{person_id}/history/promotions",
        data={
            "csrf_token": csrf,
            "promotion-occupation": "电工",
            "promotion-from_grade": str(L2),
            "promotion-to_grade": str(L3),
            "promotion-granted_on": "2024-06-30",
            "promotion-source": "x",
        },
    )
    assert response.status_code == 422
    allocate_via(client, scenario)
    promoted = rows(app, PromotionGrant, scenario.event_id)
    assert (promoted[person_id].from_grade, promoted[person_id].to_grade) == (L2, L1)
    assert (promoted[other].from_grade, promoted[other].to_grade) == (L3, L2)  # other occupation


def test_one_promotion_per_year_limit(app, client, login_as):
    scenario = build(app, 20, grades=[L3] * 20, changes={"promotions_per_year_max": 1})
    person_id = scenario.person_ids[0]
    login_as("organiser", competition_id=scenario.competition_id)
    client.post(
        f"/people/{person_id}/history/promotions",
        data={
            "csrf_token": token(client),
            "promotion-occupation": "焊工",
            "promotion-from_grade": "",
            "promotion-to_grade": str(L3),
            "promotion-granted_on": TODAY,
            "promotion-source": "职业技能等级认定",
        },
    )
    allocate_via(client, scenario)
    promoted = rows(app, PromotionGrant, scenario.event_id)
    assert person_id not in promoted
    assert scenario.person_ids[1] in promoted


# ---------------------------------------------------------------- lists for approval


def sheet(response) -> list[list]:
    assert response.status_code == 200
    wb = load_workbook(BytesIO(response.data))
    return [list(r) for r in wb.active.iter_rows(values_only=True)]


def test_lists_for_approval_as_excel(app, client, login_as):
    scenario = build(app, 20, grades=[L3] * 20)
    login_as("organiser", competition_id=scenario.competition_id)
    allocate_via(client, scenario)
    title_ids = [t.id for t in rows(app, TitleGrant, scenario.event_id).values()]
    approve(client, scenario.event_id, "titles", title_ids[:2], ref="粤人社函〔2026〕9号")
    with app.app_context():
        people = {p.id: p for p in db.session.scalars(select(Person))}
    first = people[scenario.person_ids[0]]

    awards = sheet(client.get(f"/events/{scenario.event_id}/awards/awards.xlsx"))
    assert awards[0][:5] == ["序号", "赛项", "组别", "名次", "奖项"]
    body = awards[1:]
    assert [r[4] for r in body] == ["一等奖", "二等奖", "三等奖", "三等奖"] + ["优胜奖"] * 6
    assert (body[0][3], body[0][5], body[0][7]) == (1, first.name, first.id_number)
    assert body[0][10:12] == ["三级/高级工", "二级/技师"]

    titles = sheet(client.get(f"/events/{scenario.event_id}/awards/titles.xlsx"))
    assert [r[10] for r in titles[1:]] == ["已核准", "已核准", "拟授予", "拟授予"]
    assert titles[1][11] == "粤人社函〔2026〕9号" and titles[1][9] == "广东省技术能手"

    promotions = sheet(client.get(f"/events/{scenario.event_id}/awards/promotions.xlsx"))
    assert len(promotions) == 11  # ranks 1–10 (prizes and 优胜奖)
    assert promotions[1][10:13] == ["三级/高级工", "二级/技师", "拟晋升"]

    units = sheet(client.get(f"/competitions/{scenario.competition_id}/awards/units.xlsx"))
    assert units[0][3:7] == ["一等奖", "二等奖", "三等奖", "优胜奖"]
    assert units[-1][1:8] == ["合计", 20, 1, 1, 2, 6, 10]

    pool = sheet(client.get(f"/competitions/{scenario.competition_id}/talent-pool.xlsx"))
    assert len(pool) == 11 and pool[1][1] == first.name and pool[1][3] == first.id_number
    assert pool[1][12] == "广东省技术能手（已核准）"

    assert client.get(f"/events/{scenario.event_id}/awards/nothing.xlsx").status_code == 404
    with app.app_context():
        exports = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "awards.list_exported")
        ).all()
        assert len(exports) == 4 and all(e.after["full_ids"] for e in exports)


def test_exports_mask_id_numbers_without_personal_data_access(app, client, login_as, monkeypatch):
    scenario = build(app, 20)
    login_as("organiser", competition_id=scenario.competition_id)
    allocate_via(client, scenario)
    monkeypatch.setitem(
        ROLE_GRANTS, Role.ORGANISER, ROLE_GRANTS[Role.ORGANISER] - {Permission.PERSONAL_DATA_VIEW}
    )
    with app.app_context():
        number = db.session.get(Person, scenario.person_ids[0]).id_number
    masked = number[:4] + "*" * (len(number) - 8) + number[-4:]
    awards = sheet(client.get(f"/events/{scenario.event_id}/awards/awards.xlsx"))
    assert awards[1][7] == masked
    pool = sheet(client.get(f"/competitions/{scenario.competition_id}/talent-pool.xlsx"))
    assert pool[1][3] == masked and "****" in pool[1][4]
    page = client.get(f"/events/{scenario.event_id}/awards").get_data(as_text=True)
    assert masked in page and number not in page
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEntry.after).where(AuditEntry.action == "awards.list_exported")
        ).all()
        assert [a["full_ids"] for a in audited] == [False]


def test_unit_summary_counts_team_members_each(app):
    scenario = build(app, 20)
    with app.app_context():
        event = db.session.get(Event, scenario.event_id)
        services.allocate_awards(None, event, now=utcnow())
        data = lists.unit_summary_workbook([event])
    table = [list(r) for r in load_workbook(BytesIO(data)).active.iter_rows(values_only=True)]
    assert sum(r[2] for r in table[1:-1]) == 20 and table[-1][2] == 20


# ---------------------------------------------------------------- history and access


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("organiser", 200),
        ("outsider", 403),
        ("judge", 403),
        ("unit_contact", 403),
        ("organiser_global", 200),
        ("admin", 200),
    ],
)
def test_history_page_access(app, client, login_as, who, status):
    first, second, person_id = two_competitions(app, second_state=EventState.UNDER_REVIEW)
    with app.app_context():
        other = make_competition(name="别的竞赛")
        db.session.commit()
        other_id = other.id
    scope = {
        "organiser": ("organiser", {"competition_id": first.competition_id}),
        "outsider": ("organiser", {"competition_id": other_id}),
        "judge": ("judge", {"event_id": first.event_id}),
        "unit_contact": ("unit_contact", {"unit_id": first.unit_ids[0]}),
        "organiser_global": ("organiser", {}),
        "admin": ("admin", {}),
    }
    role, kwargs = scope[who]
    login_as(role, **kwargs)
    response = client.get(f"/people/{person_id}/history")
    assert response.status_code == status
    record = client.post(
        f"/people/{person_id}/history/titles",
        data={
            "csrf_token": token(client),
            "title-title": "GD_TECH_EXPERT",
            "title-granted_on": "2020-01-01",
            "title-source": "x",
        },
    )
    assert record.status_code == (302 if status == 200 else 403)
    if who == "organiser":
        html = response.get_data(as_text=True)
        # The second competition's results are not published and not this organiser's.
        row = html.split(f'data-history-event="{second.event_id}"')[1].split("</tr>")[0]
        assert "data-rank" not in row
        first_row = html.split(f'data-history-event="{first.event_id}"')[1].split("</tr>")[0]
        assert "data-rank" in first_row


def test_history_page_unknown_person_and_anonymous(app, client, login_as):
    scenario = build(app, 5)
    person_id = scenario.person_ids[0]
    response = client.get(f"/people/{person_id}/history")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login_as("admin")
    assert client.get("/people/999999/history").status_code == 404


def test_recorded_title_stops_a_proposal_and_can_be_revoked(app, client, login_as):
    scenario = build(app, 20)
    person_id = scenario.person_ids[0]
    login_as("organiser", competition_id=scenario.competition_id)
    csrf = token(client)
    data = {
        "csrf_token": csrf,
        "title-title": "GD_TECH_EXPERT",
        "title-granted_on": "2021-05-01",
        "title-source": "粤人社函〔2021〕5号",
    }
    assert client.post(f"/people/{person_id}/history/titles", data=data).status_code == 302
    # Twice: refused and shown on the form.
    assert client.post(f"/people/{person_id}/history/titles", data=data).status_code == 422
    with app.app_context():
        recorded = db.session.scalar(select(TitleGrant).where(TitleGrant.event_id.is_(None)))
        assert (recorded.source, recorded.status) == ("粤人社函〔2021〕5号", GrantStatus.GRANTED)
        recorded_id = recorded.id
    client.post(
        f"/people/{person_id}/history/titles/{recorded_id}/revoke",
        data={"csrf_token": csrf, "reason": "录入错误"},
    )
    allocate_via(client, scenario)
    assert rows(app, TitleGrant, scenario.event_id)[person_id].status is GrantStatus.PROPOSED
    with app.app_context():
        assert db.session.get(TitleGrant, recorded_id).status is GrantStatus.REVOKED
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "title.recorded")
            )
            == 1
        )
