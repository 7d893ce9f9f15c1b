"""Registration services: people and entries, review, import, export masking, draws, check-in."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from compete.blueprints.registration import exports, services
from compete.domain.errors import Conflict, InvalidInput
from compete.domain.idnumber import mask_id_number
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    AuditEntry,
    CheckIn,
    Draw,
    DrawKind,
    Entry,
    EntryStatus,
    Event,
    Person,
    Unit,
)

from .conftest import (
    LI,
    NOW,
    WANG,
    ZHANG,
    ZHAO,
    another_event,
    approved_event,
    count,
    decide,
    draw_numbers,
    drawn_event,
    member,
    register,
    set_overrides,
    set_quota,
    set_state,
    workbook,
)


def _event(world) -> Event:
    return db.session.get(Event, world.event)


def _unit(world) -> Unit:
    return db.session.get(Unit, world.unit)


# ---------------------------------------------------------------- people and entries


def test_a_withdrawn_person_cannot_be_registered_again_in_the_same_event(app, world):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    with app.app_context():
        services.withdraw_entry(None, db.session.get(Entry, entry_id), reason="伤病")
        db.session.commit()
    with app.app_context():
        with pytest.raises(services.EntryProblem) as refused:
            services.register_entry(
                None, _event(world), _unit(world), members=[member("张三", ZHANG)]
            )
        db.session.rollback()
        assert refused.value.problems[0][0] == "id_number"
        assert count(Entry) == 1


def test_a_withdrawn_entry_frees_the_units_quota(app, world):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    with app.app_context():
        services.withdraw_entry(None, db.session.get(Entry, entry_id), reason="伤病")
        db.session.commit()

    register(app, world.event, world.unit, ("李四", LI))

    with app.app_context():
        assert services.active_entry_count(_event(world), _unit(world)) == 1


def test_registration_is_refused_when_the_event_is_not_open(app, world):
    set_state(app, world.event, EventState.REGISTRATION_CLOSED)
    with app.app_context():
        with pytest.raises(Conflict):
            services.register_entry(
                None, _event(world), _unit(world), members=[member("张三", ZHANG)]
            )
        db.session.rollback()
        assert count(Entry) == 0 and count(Person) == 0


def test_the_events_overall_limit_applies_across_units(app, world):
    set_overrides(app, world.event, max_entries=1)
    register(app, world.event, world.unit, ("张三", ZHANG))
    with app.app_context(), pytest.raises(Conflict):
        services.register_entry(
            None,
            _event(world),
            db.session.get(Unit, world.other_unit),
            members=[member("李四", LI)],
        )


# ---------------------------------------------------------------- review


def test_every_decision_is_audited_with_its_reason(app, world):
    set_quota(app, world, world.unit, 3)
    a = register(app, world.event, world.unit, ("张三", ZHANG))
    b = register(app, world.event, world.unit, ("李四", LI))
    c = register(app, world.event, world.unit, ("王五", WANG))

    decide(app, a)
    decide(app, b, "return", "缺少照片")
    decide(app, c, "reject", "年龄不符")

    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.action, AuditEntry.target_id, AuditEntry.reason)
            .where(AuditEntry.action.like("entry.%"), AuditEntry.action != "entry.submitted")
            .order_by(AuditEntry.id)
        ).all()
        assert rows == [
            ("entry.approve", a, None),
            ("entry.return", b, "缺少照片"),
            ("entry.reject", c, "年龄不符"),
        ]


def test_decisions_are_refused_before_registration_opens_and_after_the_draw(app, world):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    for state in (EventState.DRAFT, EventState.DRAWN, EventState.IN_PROGRESS):
        set_state(app, world.event, state)
        with app.app_context(), pytest.raises(Conflict):
            services.decide_entry(
                None, db.session.get(Entry, entry_id), decision="approve", now=NOW
            )
    set_state(app, world.event, EventState.REGISTRATION_CLOSED)
    decide(app, entry_id)  # 资格审核 is the time for it
    with app.app_context():
        assert db.session.get(Entry, entry_id).status is EntryStatus.APPROVED


def test_a_rejected_entry_cannot_be_decided_again(app, world):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    decide(app, entry_id, "reject", "不符合条件")
    with app.app_context(), pytest.raises(Conflict):
        services.decide_entry(None, db.session.get(Entry, entry_id), decision="approve", now=NOW)


def test_bulk_approve_ignores_entries_of_another_event(app, world):
    other = another_event(app, world, "E02", "焊工")
    mine = register(app, world.event, world.unit, ("张三", ZHANG))
    theirs = register(app, other, world.unit, ("李四", LI))
    with app.app_context():
        n = services.bulk_approve(None, _event(world), [mine, theirs], now=NOW)
        db.session.commit()
        assert n == 1
        assert db.session.get(Entry, theirs).status is EntryStatus.SUBMITTED


def test_entries_decided_needs_no_open_entry_and_at_least_one_approved(app, world):
    set_quota(app, world, world.unit, 2)
    a = register(app, world.event, world.unit, ("张三", ZHANG))
    b = register(app, world.event, world.unit, ("李四", LI))
    with app.app_context():
        assert not services.entries_decided(_event(world))
    decide(app, a, "reject", "不符合条件")
    decide(app, b, "return", "补材料")
    with app.app_context():
        assert not services.entries_decided(_event(world))
    decide(app, b)
    with app.app_context():
        assert services.entries_decided(_event(world))


# ---------------------------------------------------------------- import


def test_import_refuses_a_person_already_in_an_exclusive_event(app, world):
    other = another_event(app, world, "E02", "电工（学生组）")
    register(app, other, world.unit, ("张三", ZHANG))
    set_overrides(app, world.event, exclusive_events=["E02"])
    data = workbook([{"姓名": "张三", "证件号码": ZHANG, "手机号码": "13812345678"}])

    with app.app_context():
        with pytest.raises(services.ImportRejected) as refused:
            services.import_entries(
                None,
                _event(world),
                unit=_unit(world),
                data=data,
                filename="a.xlsx",
                today=NOW.date(),
            )
        db.session.rollback()
        assert [p.row for p in refused.value.problems] == [2]
        assert count(Entry, Entry.event_id == world.event) == 0


def test_import_refuses_a_person_who_withdrew_from_the_event(app, world):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    with app.app_context():
        services.withdraw_entry(None, db.session.get(Entry, entry_id), reason="伤病")
        db.session.commit()
    data = workbook([{"姓名": "张三", "证件号码": ZHANG, "手机号码": "13812345678"}])

    with app.app_context():
        with pytest.raises(services.ImportRejected) as refused:
            services.import_entries(
                None,
                _event(world),
                unit=_unit(world),
                data=data,
                filename="a.xlsx",
                today=NOW.date(),
            )
        db.session.rollback()
        assert [p.row for p in refused.value.problems] == [2]


def test_import_respects_the_events_overall_limit(app, world):
    set_overrides(app, world.event, max_entries=1)
    set_quota(app, world, world.unit, 3)
    data = workbook(
        [
            {"姓名": "张三", "证件号码": ZHANG, "手机号码": "13812345678"},
            {"姓名": "李四", "证件号码": LI, "手机号码": "13812345678"},
        ]
    )

    with app.app_context():
        with pytest.raises(services.ImportRejected):
            services.import_entries(
                None,
                _event(world),
                unit=_unit(world),
                data=data,
                filename="a.xlsx",
                today=NOW.date(),
            )
        db.session.rollback()
        assert count(Entry) == 0


def test_import_reuses_a_person_on_file_and_refuses_a_different_name(app, world):
    other = another_event(app, world, "E02", "焊工")
    register(app, other, world.unit, ("张三", ZHANG))
    renamed = workbook([{"姓名": "张山", "证件号码": ZHANG, "手机号码": "13812345678"}])
    same = workbook([{"姓名": "张三", "证件号码": ZHANG, "手机号码": "13812345678"}])

    with app.app_context():
        with pytest.raises(services.ImportRejected):
            services.import_entries(
                None,
                _event(world),
                unit=_unit(world),
                data=renamed,
                filename="a.xlsx",
                today=NOW.date(),
            )
        db.session.rollback()
        outcome = services.import_entries(
            None, _event(world), unit=_unit(world), data=same, filename="a.xlsx", today=NOW.date()
        )
        db.session.commit()
        assert (outcome.entries, outcome.people_created) == (1, 0)
        assert count(Person) == 1


# ---------------------------------------------------------------- export


def test_the_export_masks_ids_and_phones_without_personal_data_rights(app, world):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    decide(app, entry_id)
    with app.app_context():
        event = _event(world)
        masked = exports.registration_workbook(event, services.event_entries(event), full_ids=False)
        full = exports.registration_workbook(event, services.event_entries(event), full_ids=True)

    def row(data):
        sheet = load_workbook(io.BytesIO(data)).active
        header = [c.value for c in sheet[1]]
        values = [c.value for c in sheet[2]]
        return values[header.index("证件号码")], values[header.index("手机号码")]

    assert row(masked) == (mask_id_number(ZHANG), "138****5678")
    assert row(full) == (ZHANG, "13812345678")
    assert ZHANG.encode() not in masked  # not hidden anywhere else in the file either


# ---------------------------------------------------------------- first draw (参赛号)


def test_entry_numbers_are_drawn_only_after_registration_closes(app, world):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    decide(app, entry_id)  # still open
    with app.app_context(), pytest.raises(Conflict):
        services.draw_entry_numbers(None, _event(world), seed="s")


def test_entry_numbers_wait_until_every_entry_is_decided(app, world):
    set_quota(app, world, world.unit, 2)
    a = register(app, world.event, world.unit, ("张三", ZHANG))
    register(app, world.event, world.unit, ("李四", LI))
    decide(app, a)
    set_state(app, world.event, EventState.REGISTRATION_CLOSED)
    with app.app_context():
        with pytest.raises(Conflict):
            services.draw_entry_numbers(None, _event(world), seed="s")
        assert count(Draw) == 0


def test_entry_numbers_are_unique_and_cover_exactly_the_approved_entries(app, world):
    set_quota(app, world, world.unit, 4)
    ids = [
        register(app, world.event, world.unit, p)
        for p in (("张三", ZHANG), ("李四", LI), ("王五", WANG), ("赵六", ZHAO))
    ]
    decide(app, ids[0])
    decide(app, ids[1], "reject", "不符合条件")
    decide(app, ids[2])
    decide(app, ids[3])
    set_state(app, world.event, EventState.REGISTRATION_CLOSED)

    draw_id = draw_numbers(app, world.event)

    with app.app_context():
        draw = db.session.get(Draw, draw_id)
        numbered = {e.id: e.entry_number for e in db.session.scalars(select(Entry))}
        assert set(draw.result) == {str(i) for i in (ids[0], ids[2], ids[3])}
        assert numbered[ids[1]] is None
        assigned = [numbered[i] for i in (ids[0], ids[2], ids[3])]
        assert sorted(assigned) == ["001", "002", "003"]
        assert {str(k): v for k, v in numbered.items() if v} == draw.result
        assert count(AuditEntry, AuditEntry.action == "draw.made") == 1


def test_the_same_seed_and_entries_replay_identically(app, world):
    approved_event(app, world, 3)
    draw_id = draw_numbers(app, world.event, seed="公开种子-2026")
    with app.app_context():
        draw = db.session.get(Draw, draw_id)
        assert services.replay_draw(None, draw) is True
        db.session.commit()
        assert count(AuditEntry, AuditEntry.action == "draw.replayed") == 1


def test_a_redraw_needs_a_reason_and_supersedes_the_first(app, world):
    approved_event(app, world, 3)
    first = draw_numbers(app, world.event, seed="one")
    with app.app_context():
        with pytest.raises(InvalidInput):
            services.draw_entry_numbers(None, _event(world), seed="two")
        db.session.rollback()
        second = services.draw_entry_numbers(
            None, _event(world), seed="two", reason="抽签时摄像机未开启"
        )
        db.session.commit()
        second_id, second_result = second.id, dict(second.result)
    with app.app_context():
        draws = db.session.scalars(select(Draw).order_by(Draw.id)).all()
        assert [(d.id, d.is_current) for d in draws] == [(first, False), (second_id, True)]
        assert draws[1].supersedes_id == first and draws[1].reason == "抽签时摄像机未开启"
        numbers = {str(e.id): e.entry_number for e in db.session.scalars(select(Entry))}
        assert numbers == second_result
        assert services.current_draw(_event(world), DrawKind.ENTRY_NUMBER).id == second_id
        assert count(AuditEntry, AuditEntry.action == "draw.redrawn") == 1


def test_a_redraw_after_a_late_rejection_drops_the_rejected_entrys_number(app, world):
    ids = approved_event(app, world, 3)
    draw_numbers(app, world.event, seed="one")
    with app.app_context():
        by_number = {e.entry_number: e.id for e in db.session.scalars(select(Entry))}
    rejected = by_number["001"]  # the number the redraw will hand out again
    decide(app, rejected, "reject", "资格复核不通过")

    with app.app_context():
        services.draw_entry_numbers(None, _event(world), seed="one", reason="资格复核后重抽")
        db.session.commit()
    with app.app_context():
        numbers = {e.id: e.entry_number for e in db.session.scalars(select(Entry))}
        assert numbers[rejected] is None
        assert sorted(v for k, v in numbers.items() if k != rejected) == ["001", "002"]
        assert len(ids) == 3


def test_tampering_with_a_stored_result_makes_the_replay_differ(app, world):
    approved_event(app, world, 3)
    draw_id = draw_numbers(app, world.event)
    with app.app_context():
        draw = db.session.get(Draw, draw_id)
        first, second = sorted(draw.result)[:2]
        draw.result = {**draw.result, first: draw.result[second], second: draw.result[first]}
        db.session.commit()
    with app.app_context():
        assert services.replay_draw(None, db.session.get(Draw, draw_id)) is False


# ---------------------------------------------------------------- second draw (赛位号)


def test_stations_need_entry_numbers_first(app, world):
    approved_event(app, world, 2)
    set_state(app, world.event, EventState.DRAWN)  # marked drawn without a first draw
    with app.app_context(), pytest.raises(Conflict):
        services.draw_station_numbers(None, _event(world), sessions=[(1, 10)], seed="s")


def test_stations_refuse_sessions_too_small_for_the_entries(app, world):
    drawn_event(app, world, 3)
    with app.app_context():
        with pytest.raises(InvalidInput):
            services.draw_station_numbers(None, _event(world), sessions=[(1, 1), (2, 1)], seed="s")
        db.session.rollback()
        assert count(Draw, Draw.kind == DrawKind.STATION) == 0


def test_stations_are_unique_within_session_capacity_and_replay(app, world):
    ids = drawn_event(app, world, 4)
    with app.app_context():
        draw = services.draw_station_numbers(
            None, _event(world), sessions=[(1, 2), (2, 3)], seed="赛位-1"
        )
        db.session.commit()
        draw_id = draw.id
    with app.app_context():
        rows = db.session.scalars(select(Entry).where(Entry.id.in_(ids))).all()
        stations = [e.station_number for e in rows]
        assert None not in stations and len(set(stations)) == 4
        per_session = {1: 0, 2: 0}
        for e in rows:
            per_session[e.session_no] += 1
            assert e.station_number.startswith(f"{e.session_no}-")
        assert per_session[1] <= 2 and per_session[2] <= 3
        assert services.replay_draw(None, db.session.get(Draw, draw_id)) is True


# ---------------------------------------------------------------- check-in


def test_check_in_happens_once_and_a_repeat_reads_the_first(app, world):
    ids = drawn_event(app, world, 2)
    with app.app_context():
        event = _event(world)
        entry = db.session.get(Entry, ids[0])
        first = services.check_in(None, event, entry, method="qr", now=NOW)
        db.session.commit()
        again = services.check_in(None, event, entry, method="manual", now=NOW)
        assert first.created and not again.created
        assert again.check_in.id == first.check_in.id and again.check_in.method == "qr"
        assert count(CheckIn) == 1
        assert [e.id for e in services.absentees(event)] == [ids[1]]


def test_find_entry_for_checkin_reads_a_token_an_admission_number_or_a_url(app, world):
    ids = drawn_event(app, world, 1)
    with app.app_context():
        event = _event(world)
        entry = db.session.get(Entry, ids[0])
        for code in (entry.qr_token, entry.admission_no, f"https://x.cn/t/{entry.qr_token}/"):
            assert services.find_entry_for_checkin(event, code=code).id == entry.id
        assert services.find_entry_for_checkin(event, code="") is None
        assert services.find_entry_for_checkin(event, code=entry.qr_token[:-1]) is None
