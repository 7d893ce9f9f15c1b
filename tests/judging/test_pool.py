"""The judge pool and the random panel draw: vetting, recusal (§4.2), replay, manual changes."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from compete.domain.idnumber import with_check_digit
from compete.extensions import db
from compete.models import (
    AuditEntry,
    Draw,
    DrawKind,
    Entry,
    EntryMember,
    EntryStatus,
    Judge,
    JudgeConflict,
    PanelMember,
    PanelRole,
    Person,
    Role,
)

from ..factories import csrf_from, make_competition, make_event, make_unit

VALID_ID = with_check_digit("44010619800101123")
BAD_ID = VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1")


@dataclass(frozen=True)
class Panel:
    competition: int
    event: int
    unit_a: int  # a contestant's unit
    home_judge: int  # works for unit_a: never drawn
    tied_judge: int  # declared a tie to unit_b's contestant: never drawn
    same_unit: tuple[int, int]  # two judges of one unit: at most one drawn
    others: tuple[int, int]


IDENTICAL = "Replay identical: the seed and inputs give the recorded panel."
DIFFERENT = "Replay different: the recorded panel does not follow from its seed."


def zh(msgid: str) -> str:
    """``msgid`` as the Chinese page shows it (the catalog is compiled by ``make test``)."""
    from babel.support import Translations

    from compete import ROOT

    catalog = Translations.load(str(ROOT / "compete" / "translations"), ["zh_Hans_CN"])
    return catalog.gettext(msgid)


def _judge(name: str, unit_id: int, occupation: str = "电工") -> int:
    judge = Judge(
        name=name, unit_id=unit_id, occupations=[occupation], grade=4, years_in_occupation=8
    )
    db.session.add(judge)
    db.session.flush()
    return judge.id


def _entry(event_id: int, unit_id: int, name: str, seq: int) -> int:
    person = Person(name=name, gender="M", id_number=with_check_digit(f"44010619900101{seq:03d}"))
    entry = Entry(event_id=event_id, unit_id=unit_id, status=EntryStatus.APPROVED)
    db.session.add_all([person, entry])
    db.session.flush()
    db.session.add(EntryMember(entry_id=entry.id, event_id=event_id, person_id=person.id))
    db.session.flush()
    return person.id


@pytest.fixture
def panel(app) -> Panel:
    """Event 电工 with approved entries from units A and B, and a pool of seven judges.

    Whatever the seed, only three can sit together: one of the two J1 judges, J3's and J4's.
    """
    with app.app_context():
        competition = make_competition()
        event = make_event(competition, occupation="电工")
        unit_a, unit_b = make_unit(), make_unit()
        j1, j2, j3, j4 = (make_unit() for _ in range(4))
        _entry(event.id, unit_a.id, "张三", 123)
        person_b = _entry(event.id, unit_b.id, "李四", 135)
        home = _judge("甲裁判", unit_a.id)
        tied = _judge("乙裁判", j2.id)
        db.session.add(JudgeConflict(judge_id=tied, person_id=person_b, kind="teacher"))
        pair = (_judge("丙裁判", j1.id), _judge("丁裁判", j1.id))
        others = (_judge("戊裁判", j3.id), _judge("己裁判", j4.id))
        _judge("庚裁判", j4.id, occupation="钳工")  # another occupation: not a candidate
        db.session.commit()
        return Panel(competition.id, event.id, unit_a.id, home, tied, pair, others)


@pytest.fixture
def organiser(panel, login_as):
    return login_as(Role.ORGANISER, competition_id=panel.competition)


def _token(client, path="/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def _draw(client, panel, **data):
    token = _token(client, f"/events/{panel.event}/panel")
    return client.post(f"/events/{panel.event}/panel/draw", data={"csrf_token": token, **data})


def _members(app, event_id) -> list[PanelMember]:
    with app.app_context():
        rows = db.session.scalars(select(PanelMember).where(PanelMember.event_id == event_id)).all()
        db.session.expunge_all()
        return rows


def _active_judges(app, event_id) -> set[int]:
    return {m.judge_id for m in _members(app, event_id) if m.removed_at is None}


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- the pool


def _judge_form(token, **overrides):
    data = {
        "csrf_token": token,
        "name": "王裁判",
        "id_number": VALID_ID,
        "phone": "13812345678",
        "unit_id": "",
        "occupations": "电工，钳工",
        "grade": "4",
        "title": "",
        "years": "",
    }
    data.update(overrides)
    return data


def test_adding_a_qualified_judge_puts_them_in_the_pool(app, client, login_as):
    login_as(Role.ORGANISER)
    response = client.post("/judges", data=_judge_form(_token(client, "/judges")))
    assert response.status_code == 302
    with app.app_context():
        judge = db.session.scalar(select(Judge))
        assert (judge.name, judge.occupations, judge.grade) == ("王裁判", ["电工", "钳工"], 4)
    page = client.get("/judges").get_data(as_text=True)
    assert "王裁判" in page
    assert zh("Years in the occupation unknown: check them before the judge sits.") in page


def test_a_bad_id_number_is_refused_and_nothing_saved(app, client, login_as):
    login_as(Role.ORGANISER)
    response = client.post("/judges", data=_judge_form(_token(client, "/judges"), id_number=BAD_ID))
    assert response.status_code == 422
    assert _count(app, Judge) == 0


def test_a_judge_without_any_qualification_is_refused(app, client, login_as):
    login_as(Role.ORGANISER)
    response = client.post(
        "/judges", data=_judge_form(_token(client, "/judges"), grade="3", years="10")
    )
    assert response.status_code == 422
    assert _count(app, Judge) == 0


# ---------------------------------------------------------------- the draw


def test_a_seeded_draw_honours_recusal_and_replays_identically(app, client, panel, organiser):
    response = _draw(client, panel, seed="witnessed-seed", size="3")
    assert response.status_code == 302, response.get_data(as_text=True)
    drawn = _active_judges(app, panel.event)
    assert len(drawn) == 3
    assert panel.home_judge not in drawn  # own unit's contestant
    assert panel.tied_judge not in drawn  # declared tie
    assert len(drawn & set(panel.same_unit)) == 1  # at most one per unit
    assert set(panel.others) <= drawn
    with app.app_context():
        draw = db.session.scalar(select(Draw).where(Draw.kind == DrawKind.PANEL))
        assert draw.seed == "witnessed-seed"
        assert {int(j) for j in draw.result} == drawn
        draw_id = draw.id
    token = _token(client, f"/events/{panel.event}/panel")
    replay = client.post(
        f"/events/{panel.event}/panel/draws/{draw_id}/replay",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert zh(IDENTICAL) in replay.get_data(as_text=True)


def test_the_same_seed_draws_the_same_panel_in_another_event(app, client, panel, organiser):
    _draw(client, panel, seed="same", size="3")
    first = _active_judges(app, panel.event)
    with app.app_context():
        draw = db.session.scalar(select(Draw))
        from compete.blueprints.judging.pool import run_draw

        again = run_draw("same", dict(draw.inputs))
        other = run_draw("other-seed", dict(draw.inputs))
    assert {int(j) for j in again.judges} == first
    assert tuple(draw.result) == again.judges
    assert len(other.judges) == 3


def test_no_valid_panel_says_why_and_saves_nothing(app, client, panel, organiser):
    response = _draw(client, panel, seed="x", size="4")
    assert response.status_code == 409
    with app.test_request_context(), force_locale("zh_CN"):
        expected = gettext(
            "No valid panel of %(size)d: %(eligible)d judges are eligible (%(excluded)d excluded "
            "for their unit or a declared tie), and with at most %(per_unit)d per unit only "
            "%(possible)d can sit together.",
            size=4,
            eligible=4,
            excluded=2,
            per_unit=1,
            possible=3,
        )
    assert expected in response.get_data(as_text=True)
    assert _count(app, Draw) == 0
    assert _count(app, PanelMember) == 0


def test_a_redraw_needs_a_reason_and_replaces_only_drawn_judges(app, client, panel, organiser):
    _draw(client, panel, seed="first", size="2")
    first = _active_judges(app, panel.event)
    token = _token(client, f"/events/{panel.event}/panel")
    client.post(
        f"/events/{panel.event}/panel/members",
        data={
            "csrf_token": token,
            "judge_id": str(panel.tied_judge),
            "role": "chief",
            "reason": "裁判长由组委会聘任",
        },
    )
    refused = _draw(client, panel, seed="second", size="2")
    assert refused.status_code == 422
    assert _count(app, Draw) == 1
    allowed = _draw(client, panel, seed="second", size="2", reason="裁判因病缺席")
    assert allowed.status_code == 302
    members = _members(app, panel.event)
    removed = [m for m in members if m.removed_at is not None]
    assert {m.judge_id for m in removed} == first
    assert all(m.removed_reason == "裁判因病缺席" for m in removed)
    active = [m for m in members if m.removed_at is None]
    assert [m.judge_id for m in active if m.role is PanelRole.CHIEF] == [panel.tied_judge]
    assert sum(m.role is PanelRole.MARKING for m in active) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count(Draw.id)).where(Draw.is_current)) == 1


def test_a_tampered_draw_replays_as_different(app, client, auth, panel, organiser, login_as):
    _draw(client, panel, seed="honest", size="2")
    with app.app_context():
        draw = db.session.scalar(select(Draw))
        result = dict(draw.result)
        swapped = str(panel.home_judge)
        result.pop(next(iter(result)))
        draw.result = {swapped: "marking", **result}
        db.session.commit()
        draw_id = draw.id
    auth.logout()
    login_as(Role.SUPERVISOR, event_id=panel.event)
    response = client.post(
        f"/events/{panel.event}/panel/draws/{draw_id}/replay",
        data={"csrf_token": _token(client, f"/events/{panel.event}/draws")},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert zh(DIFFERENT) in page
    assert zh(IDENTICAL) not in page


# ---------------------------------------------------------------- manual changes


def test_manual_add_and_remove_need_a_reason(app, client, panel, organiser):
    url = f"/events/{panel.event}/panel/members"
    token = _token(client, f"/events/{panel.event}/panel")
    form = {"csrf_token": token, "judge_id": str(panel.others[0]), "role": "marking"}
    assert client.post(url, data={**form, "reason": ""}).status_code == 422
    assert _count(app, PanelMember) == 0
    assert client.post(url, data={**form, "reason": "补充评分裁判"}).status_code == 302
    (member,) = _members(app, panel.event)
    assert member.is_manual and member.reason == "补充评分裁判"
    remove = f"{url}/{member.id}/remove"
    assert client.post(remove, data={"csrf_token": token, "reason": ""}).status_code == 422
    assert _active_judges(app, panel.event) == {panel.others[0]}
    assert client.post(remove, data={"csrf_token": token, "reason": "回避"}).status_code == 302
    (member,) = _members(app, panel.event)
    assert member.removed_at is not None and member.removed_reason == "回避"
    actions = _audit_actions(app)
    assert {"panel.member_added", "panel.member_removed"} <= actions


def _audit_actions(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(AuditEntry.action)))


# ---------------------------------------------------------------- permissions


def test_a_judge_may_not_open_the_panel_page(client, panel, login_as):
    login_as(Role.JUDGE, event_id=panel.event)
    assert client.get(f"/events/{panel.event}/panel").status_code == 403


def test_an_organiser_of_another_competition_may_not_draw(app, client, panel, login_as):
    other = None
    with app.app_context():
        other = make_competition().id
        db.session.commit()
    login_as(Role.ORGANISER, competition_id=other)
    response = client.post(
        f"/events/{panel.event}/panel/draw", data={"csrf_token": _token(client), "seed": "x"}
    )
    assert response.status_code == 403
    assert _count(app, Draw) == 0


def test_the_panel_page_lists_drawn_judges(client, panel, organiser):
    _draw(client, panel, seed="shown", size="3")
    page = client.get(f"/events/{panel.event}/panel").get_data(as_text=True)
    assert "戊裁判" in page and "己裁判" in page
    current = page.split(zh("Current panel"))[1].split(zh("Draw the marking judges"))[0]
    assert "甲裁判" not in current


def test_a_drawn_judge_gets_an_account_and_the_seat_role_once(app, client, panel, organiser):
    """After the draw the organiser gives each seated judge access: a new account with a
    one-time password and the event's judge role; asking again changes nothing."""
    from compete.models import RoleAssignment, User

    assert _draw(client, panel, seed="access-seed", size="3").status_code == 302
    member = next(m for m in _members(app, panel.event) if m.removed_at is None)
    token = _token(client, f"/events/{panel.event}/panel")
    first = client.post(
        f"/events/{panel.event}/panel/members/{member.id}/access", data={"csrf_token": token}
    )
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    page = first.get_data(as_text=True)
    username = re.search(r'id="access-username">([^<]+)<', page).group(1)
    password = re.search(r'id="access-password">([^<]+)<', page).group(1)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user.check_password(password)
        roles = db.session.scalars(
            select(RoleAssignment).where(RoleAssignment.user_id == user.id)
        ).all()
        assert [(r.role, r.event_id) for r in roles] == [(Role.JUDGE, panel.event)]
    again = client.post(
        f"/events/{panel.event}/panel/members/{member.id}/access",
        data={"csrf_token": _token(client, f"/events/{panel.event}/panel")},
    ).get_data(as_text=True)
    assert 'id="access-password"' not in again  # the account exists: no new password
    with app.app_context():
        assert _count(app, RoleAssignment, RoleAssignment.user_id == user.id) == 1
