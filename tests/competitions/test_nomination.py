"""Selection chains: the nomination list of a final provincial event and the pre-registration of
its nominees in the national event (domain §2, §8a: quota 2 → ranks 1, 2; rank 3 if rank 2
declines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from compete.blueprints.competitions import selection
from compete.blueprints.competitions.selection import NomineeStatus as S
from compete.blueprints.competitions.services import link_selection
from compete.blueprints.registration.services import decide_entry
from compete.domain.errors import Conflict, InvalidInput
from compete.domain.idnumber import mask_id_number
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    AuditEntry,
    AwardGrant,
    Entry,
    EntryScore,
    EntryStatus,
    Event,
    Person,
    Role,
    SelectionLink,
    UnitQuota,
)

from ..factories import csrf_from, make_competition, make_event, make_user
from ..scenario import ranked_event

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    source: int  # provincial event (final)
    target: int  # national event
    link: int
    competition: int  # provincial competition
    national: int  # national competition
    entries: list[int]  # provincial entries, entry i has finals[i]
    people: list[int]


def build(
    n=37, *, finals=None, quota=2, state=EventState.FINAL, target_state=None, seed=2026
) -> World:
    """Call inside an app context; commits."""
    sc = ranked_event(n, finals=finals, state=state, people_seed=seed)
    national = make_competition(name="全国职工职业技能大赛", tier="national_1", region="全国")
    target = make_event(national, code="N01", name="电工（全国）")
    if target_state is not None:
        target.state = target_state
    source = db.session.get(Event, sc.event_id)
    link = link_selection(None, source, target, quota=quota)
    db.session.commit()
    return World(
        sc.event_id, target.id, link.id, sc.competition_id, national.id, sc.entry_ids, sc.person_ids
    )


def listing(w: World):
    return selection.nomination_list(db.session.get(SelectionLink, w.link))


def ranks(lst, status) -> list[int]:
    return [row.score.rank for row in lst.having(status)]


def upper_entries(w: World) -> list[Entry]:
    return list(db.session.scalars(select(Entry).where(Entry.event_id == w.target)))


def organiser():
    return make_user(Role.ORGANISER)


# ---------------------------------------------------------------- the list


def test_quota_two_of_37_nominates_ranks_one_and_two(app):
    with app.app_context():
        w = build(37)
        lst = listing(w)
        assert lst.final
        assert ranks(lst, S.NOMINATED) == [1, 2]
        assert [row.entry.id for row in lst.having(S.NOMINATED)] == w.entries[:2]
        assert lst.counts["not_selected"] == 35
        assert lst.having(S.TIE) == []
        assert [row.score.rank for row in lst.listed] == [1, 2]


def test_rank_two_declines_and_rank_three_moves_up(app):
    with app.app_context():
        w = build(37)
        link = db.session.get(SelectionLink, w.link)
        second = db.session.get(Entry, w.entries[1])
        selection.decline(
            organiser(), link, second, kind="declined", reason="个人原因放弃", now=NOW
        )
        lst = listing(w)
        assert ranks(lst, S.NOMINATED) == [1, 3]
        declined = lst.having(S.DECLINED)
        assert [row.entry.id for row in declined] == [w.entries[1]]
        assert declined[0].reason == "个人原因放弃"
        # The decline is an upper entry already closed, linked back, so it cannot come back.
        (closed,) = upper_entries(w)
        assert closed.status is EntryStatus.WITHDRAWN
        assert closed.source_entry_id == w.entries[1]
        created = selection.preregister(organiser(), link, now=NOW)
        assert sorted(e.source_entry_id for e in created) == [w.entries[0], w.entries[2]]
        assert ranks(listing(w), S.PREREGISTERED) == [1, 3]


def test_decline_after_preregistration_frees_the_place_for_the_next(app):
    with app.app_context():
        w = build(37)
        link = db.session.get(SelectionLink, w.link)
        assert len(selection.preregister(organiser(), link, now=NOW)) == 2
        second = db.session.get(Entry, w.entries[1])
        upper = selection.decline(
            organiser(), link, second, kind="ineligible", reason="超龄", now=NOW
        )
        assert upper.status is EntryStatus.REJECTED
        lst = listing(w)
        assert ranks(lst, S.PREREGISTERED) == [1]
        assert ranks(lst, S.INELIGIBLE) == [2]
        assert ranks(lst, S.NOMINATED) == [3]
        (third,) = selection.preregister(organiser(), link, now=NOW)
        assert third.source_entry_id == w.entries[2]
        assert len([e for e in upper_entries(w) if e.status is EntryStatus.SUBMITTED]) == 2


def test_upper_organiser_rejecting_a_nominee_lets_the_next_move_up(app):
    with app.app_context():
        w = build(10, target_state=EventState.REGISTRATION_OPEN)
        link = db.session.get(SelectionLink, w.link)
        selection.preregister(organiser(), link, now=NOW)
        upper = next(e for e in upper_entries(w) if e.source_entry_id == w.entries[0])
        decide_entry(organiser(), upper, decision="reject", reason="不符合属地原则", now=NOW)
        lst = listing(w)
        assert ranks(lst, S.INELIGIBLE) == [1]
        assert lst.having(S.INELIGIBLE)[0].reason == "不符合属地原则"
        assert ranks(lst, S.PREREGISTERED) == [2]
        assert ranks(lst, S.NOMINATED) == [3]


def test_tie_at_the_cut_needs_a_written_decision(app):
    with app.app_context():
        w = build(6, finals=[95, 90, 90, 85, 80, 75])
        link = db.session.get(SelectionLink, w.link)
        lst = listing(w)
        assert [row.score.rank for row in lst.rows[:4]] == [1, 2, 2, 4]
        assert ranks(lst, S.NOMINATED) == [1]
        assert [row.entry.id for row in lst.having(S.TIE)] == w.entries[1:3]
        assert (lst.tie_places, lst.cut_rank) == (1, 2)

        with pytest.raises(InvalidInput) as exc:
            selection.preregister(organiser(), link, now=NOW)
        assert exc.value.field == "chosen"
        with pytest.raises(InvalidInput) as exc:
            selection.preregister(organiser(), link, now=NOW, chosen=w.entries[1:3], reason="x")
        assert exc.value.field == "chosen"
        with pytest.raises(InvalidInput) as exc:
            selection.preregister(organiser(), link, now=NOW, chosen=[w.entries[3]], reason="x")
        assert exc.value.field == "chosen"
        with pytest.raises(InvalidInput) as exc:
            selection.preregister(organiser(), link, now=NOW, chosen=[w.entries[2]], reason=" ")
        assert exc.value.field == "reason"
        assert upper_entries(w) == []

        reason = "理论成绩更高，经组委会研究决定"
        created = selection.preregister(
            organiser(), link, now=NOW, chosen=[w.entries[2]], reason=reason
        )
        assert sorted(e.source_entry_id for e in created) == [w.entries[0], w.entries[2]]
        chosen = next(e for e in created if e.source_entry_id == w.entries[2])
        assert reason in chosen.note
        other = next(e for e in created if e.source_entry_id == w.entries[0])
        assert reason not in other.note
        (decision,) = listing(w).decisions
        assert decision.reason == reason
        assert decision.after["tied"] == w.entries[1:3]
        assert decision.after["chosen"] == [w.entries[2]]
        after = listing(w)
        assert after.having(S.NOT_SELECTED)[0].entry.id == w.entries[1]
        assert after.having(S.TIE) == []


def test_below_the_pass_mark_is_never_nominated(app):
    with app.app_context():
        w = build(5, finals=[80, 59.5, 58, 40, 30], quota=3)
        lst = listing(w)
        assert ranks(lst, S.NOMINATED) == [1]
        assert lst.counts["below_minimum"] == 4
        link = db.session.get(SelectionLink, w.link)
        (only,) = selection.preregister(organiser(), link, now=NOW)
        assert only.source_entry_id == w.entries[0]
        below = db.session.get(Entry, w.entries[1])
        with pytest.raises(Conflict):
            selection.decline(organiser(), link, below, kind="declined", reason="x", now=NOW)


def test_each_group_fills_its_own_quota(app):
    """A link joins two events of the same group; each event (one group) has its own quota."""
    with app.app_context():
        employee = ranked_event(8, state=EventState.FINAL)
        provincial = db.session.get(Event, employee.event_id).competition
        student = ranked_event(
            8, state=EventState.FINAL, group="student", competition=provincial, people_seed=7
        )
        national = make_competition(name="全国技能大赛", tier="national_1")
        up_employee = make_event(national, group="employee")
        up_student = make_event(national, group="student")
        with pytest.raises(InvalidInput):
            link_selection(None, db.session.get(Event, employee.event_id), up_student, quota=1)
        l1 = link_selection(None, db.session.get(Event, employee.event_id), up_employee, quota=1)
        l2 = link_selection(None, db.session.get(Event, student.event_id), up_student, quota=3)
        db.session.commit()
        assert [r.entry.id for r in selection.nomination_list(l1).having(S.NOMINATED)] == [
            employee.entry_ids[0]
        ]
        assert [r.entry.id for r in selection.nomination_list(l2).having(S.NOMINATED)] == (
            student.entry_ids[:3]
        )


# ---------------------------------------------------------------- pre-registration


def test_preregistration_copies_the_entry_once_with_the_provincial_result(app):
    with app.app_context():
        w = build(37, finals=[92.5, *[90 - i for i in range(36)]])
        link = db.session.get(SelectionLink, w.link)
        first = selection.preregister(organiser(), link, now=NOW)
        assert len(first) == 2
        assert selection.preregister(organiser(), link, now=NOW) == []
        entries = upper_entries(w)
        assert len(entries) == 2
        top = next(e for e in entries if e.source_entry_id == w.entries[0])
        lower = db.session.get(Entry, w.entries[0])
        assert top.status is EntryStatus.SUBMITTED
        assert top.unit_id == lower.unit_id
        assert [m.person_id for m in top.members] == [m.person_id for m in lower.members]
        (member,) = top.members
        (was,) = lower.members
        assert (member.current_grade, member.employer, member.declared_group, member.is_lead) == (
            was.current_grade,
            was.employer,
            was.declared_group,
            True,
        )
        assert "92.50" in top.note
        quota = db.session.scalar(
            select(UnitQuota).where(
                UnitQuota.event_id == w.target, UnitQuota.unit_id == lower.unit_id
            )
        )
        assert quota is not None and quota.quota >= 1
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "nomination.preregistered")
        ).all()
        assert len(actions) == 2


def test_preregistration_needs_final_results_and_an_open_upper_event(app):
    with app.app_context():
        w = build(10, state=EventState.PUBLICITY)
        link = db.session.get(SelectionLink, w.link)
        assert not listing(w).final
        with pytest.raises(Conflict):
            selection.preregister(organiser(), link, now=NOW)
        w2 = build(10, target_state=EventState.REGISTRATION_CLOSED, seed=11)
        link2 = db.session.get(SelectionLink, w2.link)
        assert ranks(listing(w2), S.NOMINATED) == [1, 2]
        with pytest.raises(Conflict):
            selection.preregister(organiser(), link2, now=NOW)
        with pytest.raises(Conflict):
            selection.decline(
                organiser(),
                link2,
                db.session.get(Entry, w2.entries[0]),
                kind="declined",
                reason="x",
                now=NOW,
            )
        assert upper_entries(w2) == []


def test_a_quota_row_too_small_in_the_upper_event_is_not_overridden(app):
    with app.app_context():
        w = build(5, quota=2)
        lower = db.session.get(Entry, w.entries[0])
        db.session.add(UnitQuota(event_id=w.target, unit_id=lower.unit_id, quota=0))
        db.session.commit()
        with pytest.raises(Conflict):
            selection.preregister(organiser(), db.session.get(SelectionLink, w.link), now=NOW)


# ---------------------------------------------------------------- Excel


def _sheet(data: bytes) -> list[tuple]:
    ws = load_workbook(BytesIO(data)).worksheets[0]
    return [tuple(row) for row in ws.iter_rows(values_only=True)]


def test_workbook_lists_nominees_with_masked_ids_and_awards(app):
    with app.app_context():
        w = build(37)
        db.session.add(AwardGrant(event_id=w.source, entry_id=w.entries[0], rank=1, award="first"))
        db.session.commit()
        lst = listing(w)
        person = db.session.get(Person, w.people[0])
        masked = _sheet(selection.nomination_workbook(lst, full_ids=False))
        full = _sheet(selection.nomination_workbook(lst, full_ids=True))
        assert len(masked) == 3  # header and ranks 1, 2
        row = masked[1]
        assert row[1] == 1 and row[2] == person.name
        assert row[3] == mask_id_number(person.id_number) != person.id_number
        assert row[4] == db.session.get(Entry, w.entries[0]).unit.name
        assert row[5] == "95.00"
        assert row[6] == "一等奖"
        assert masked[2][6] in (None, "")
        assert full[1][3] == person.id_number


# ---------------------------------------------------------------- pages and permissions


def _url(w: World, tail: str = "") -> str:
    return f"/events/{w.source}/nominations{tail}"


def test_organiser_page_export_and_preregister(app, client, login_as):
    with app.app_context():
        w = build(37)
    login_as(Role.ORGANISER, competition_id=w.competition)
    page = client.get(_url(w))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-entry="{w.entries[0]}" data-status="nominated"' in html
    assert f'data-entry="{w.entries[1]}" data-status="nominated"' in html
    assert f'data-entry="{w.entries[2]}"' not in html
    export = client.get(_url(w, f"/{w.link}/export"))
    assert export.status_code == 200
    rows = _sheet(export.data)
    with app.app_context():
        person = db.session.get(Person, w.people[0])
        assert rows[1][3] == person.id_number  # organisers may see full ID numbers
    token = csrf_from(html)
    response = client.post(_url(w, f"/{w.link}/preregister"), data={"csrf_token": token})
    assert response.status_code == 302
    again = client.post(_url(w, f"/{w.link}/preregister"), data={"csrf_token": token})
    assert again.status_code == 302
    with app.app_context():
        assert sorted(e.source_entry_id for e in upper_entries(w)) == w.entries[:2]
    html = client.get(_url(w)).get_data(as_text=True)
    assert f'data-entry="{w.entries[0]}" data-status="preregistered"' in html


def test_decline_and_tie_decision_through_the_pages(app, client, login_as):
    with app.app_context():
        w = build(6, finals=[95, 90, 90, 85, 80, 75])
    login_as(Role.ORGANISER, competition_id=w.competition)
    html = client.get(_url(w)).get_data(as_text=True)
    assert f'data-entry="{w.entries[1]}" data-status="tie"' in html
    token = csrf_from(html)
    undecided = client.post(_url(w, f"/{w.link}/preregister"), data={"csrf_token": token})
    assert undecided.status_code == 422
    assert "data-error" in undecided.get_data(as_text=True)
    refused = client.post(
        _url(w, f"/{w.link}/entries/{w.entries[1]}/decline"),
        data={"csrf_token": token, "kind": "declined", "reason": ""},
    )
    assert refused.status_code == 422
    declined = client.post(
        _url(w, f"/{w.link}/entries/{w.entries[1]}/decline"),
        data={"csrf_token": token, "kind": "declined", "reason": "工作安排冲突"},
    )
    assert declined.status_code == 302
    html = client.get(_url(w)).get_data(as_text=True)
    assert f'data-entry="{w.entries[1]}" data-status="declined"' in html
    assert f'data-entry="{w.entries[2]}" data-status="nominated"' in html
    assert "工作安排冲突" in html
    assert "data-tie=" not in html


def test_tie_decision_form_and_decision_shown(app, client, login_as):
    with app.app_context():
        w = build(6, finals=[95, 90, 90, 85, 80, 75])
    login_as(Role.ORGANISER, competition_id=w.competition)
    token = csrf_from(client.get(_url(w)).get_data(as_text=True))
    response = client.post(
        _url(w, f"/{w.link}/preregister"),
        data={"csrf_token": token, "chosen": str(w.entries[1]), "reason": "实操模块B得分更高"},
    )
    assert response.status_code == 302
    html = client.get(_url(w)).get_data(as_text=True)
    assert "data-decisions" in html and "实操模块B得分更高" in html
    assert f'data-entry="{w.entries[1]}" data-status="preregistered"' in html


def test_upper_registration_list_shows_the_provincial_result(app, client, login_as):
    with app.app_context():
        w = build(10, target_state=EventState.REGISTRATION_OPEN)
        selection.preregister(None, db.session.get(SelectionLink, w.link), now=NOW)
        db.session.commit()
        final = db.session.scalar(
            select(EntryScore.final).where(EntryScore.entry_id == w.entries[0])
        )
    login_as(Role.ORGANISER, competition_id=w.national)
    html = client.get(f"/events/{w.target}/entries").get_data(as_text=True)
    assert f'data-source-entry="{w.entries[0]}"' in html
    assert f"{Decimal(final):.2f}" in html


def test_not_final_page_and_closed_upper_event_answer_clearly(app, client, login_as):
    with app.app_context():
        w = build(10, state=EventState.PUBLICITY)
    login_as(Role.ORGANISER, competition_id=w.competition)
    html = client.get(_url(w)).get_data(as_text=True)
    assert "data-not-final" in html
    token = csrf_from(html)
    response = client.post(_url(w, f"/{w.link}/preregister"), data={"csrf_token": token})
    assert response.status_code == 409
    export = client.get(_url(w, f"/{w.link}/export"))
    assert export.status_code == 302


def test_other_organisers_are_refused(app, client, login_as, auth):
    with app.app_context():
        w = build(10)
        other = make_competition(name="另一个竞赛")
        db.session.commit()
        other_id = other.id
    # An organiser of another competition: neither the page nor the actions.
    login_as(Role.ORGANISER, competition_id=other_id)
    assert client.get(_url(w)).status_code == 403
    assert client.get(_url(w, f"/{w.link}/export")).status_code == 403
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert (
        client.post(_url(w, f"/{w.link}/preregister"), data={"csrf_token": token}).status_code
        == 403
    )
    auth.logout()
    # The national organiser decides on what arrives, but does not nominate for the province.
    login_as(Role.ORGANISER, competition_id=w.national)
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert (
        client.post(_url(w, f"/{w.link}/preregister"), data={"csrf_token": token}).status_code
        == 403
    )
    with app.app_context():
        assert upper_entries(w) == []


def test_supervisor_reads_the_list_with_masked_ids_but_cannot_nominate(app, client, login_as):
    with app.app_context():
        w = build(10)
        person = db.session.get(Person, w.people[0])
        id_number = person.id_number
    login_as(Role.SUPERVISOR, event_id=w.source)
    html = client.get(_url(w)).get_data(as_text=True)
    assert 'data-status="nominated"' in html
    assert "/preregister" not in html
    rows = _sheet(client.get(_url(w, f"/{w.link}/export")).data)
    assert rows[1][3] == mask_id_number(id_number) != id_number
    token = csrf_from(html)
    assert (
        client.post(_url(w, f"/{w.link}/preregister"), data={"csrf_token": token}).status_code
        == 403
    )


def test_link_of_another_event_is_not_found(app, client, login_as):
    with app.app_context():
        w = build(5)
        w2 = build(5, seed=12)
    login_as(Role.ORGANISER, competition_id=w.competition)
    assert client.get(_url(w, f"/{w2.link}/export")).status_code == 404
