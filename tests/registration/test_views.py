"""Registration through the pages: unit contacts' form and import, review, export, draws,
check-in, and who may do what."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from compete.blueprints.registration.importer import FILE_TYPE, OVER_QUOTA
from compete.domain.eligibility import GRADE_TOO_LOW, TOO_YOUNG
from compete.domain.grades import GRADE_LABELS, Grade
from compete.domain.idnumber import mask_id_number, with_check_digit
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import (
    AuditEntry,
    CheckIn,
    Draw,
    Entry,
    EntryMember,
    EntryStatus,
    Event,
    Person,
    UnitQuota,
    User,
)

from .conftest import (
    LI,
    OTHER_UNIT_NAME,
    UNIT_NAME,
    WANG,
    ZHANG,
    ZHAO,
    another_event,
    approved_event,
    count,
    csv_text,
    decide,
    drawn_event,
    entry_form,
    entry_statuses,
    flashes,
    id_for,
    page,
    register,
    set_overrides,
    set_quota,
    set_state,
    text,
    with_wrong_check,
    workbook,
)


def new_entry_url(world, unit_id=None, event_id=None) -> str:
    return f"/units/{unit_id or world.unit}/events/{event_id or world.event}/entries/new"


def people(app) -> list[Person]:
    with app.app_context():
        return list(db.session.scalars(select(Person).order_by(Person.id)))


def entries(app, event_id) -> list[Entry]:
    with app.app_context():
        rows = db.session.scalars(
            select(Entry).where(Entry.event_id == event_id).order_by(Entry.id)
        ).all()
        for row in rows:  # load what the tests read after the context closes
            for m in row.members:
                _ = m.person.id_number
        return list(rows)


def form_error_texts(response) -> str:
    """Every error shown on the form (above it or under a field)."""
    html = page(response)
    return " ".join(re.findall(r'role="alert">\s*(?:<p>)?([^<]+)', html))


# ---------------------------------------------------------------- 1. the registration form


def test_unit_contact_registers_a_contestant_through_the_form(app, client, world, login_as, csrf):
    login_as("unit_contact", unit_id=world.unit)
    form = client.get(new_entry_url(world))
    assert form.status_code == 200
    assert 'name="members-0-id_number"' in form.get_data(as_text=True)

    response = client.post(
        new_entry_url(world),
        data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG}, coaches="李老师、王老师"),
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/units/{world.unit}")
    [person] = people(app)
    assert (person.name, person.id_number, person.gender) == ("张三", ZHANG, "M")
    assert person.birth_date == date(1990, 3, 7)
    [entry] = entries(app, world.event)
    assert entry.status is EntryStatus.SUBMITTED and entry.unit_id == world.unit
    assert [c["name"] for c in entry.coaches] == ["李老师", "王老师"]
    home = client.get(f"/units/{world.unit}")
    assert "张三" in page(home) and mask_id_number(ZHANG) in page(home)
    assert ZHANG not in page(home)


def test_the_same_id_number_cannot_be_registered_twice_in_one_event(
    app, client, world, login_as, csrf
):
    set_quota(app, world, world.unit, 3)
    login_as("unit_contact", unit_id=world.unit)
    first = client.post(
        new_entry_url(world), data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG})
    )
    assert first.status_code == 302

    again = client.post(
        new_entry_url(world), data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG})
    )

    assert again.status_code == 422
    assert text(app, "This person is already registered in this event.") in page(again)
    assert len(entries(app, world.event)) == 1 and len(people(app)) == 1


def test_one_person_across_competitions_reuses_the_person_record(
    app, client, world, login_as, csrf
):
    second_event = another_event(app, world, "G01", "广州市电工", new_competition=True)
    register(app, world.event, world.unit, ("张三", ZHANG))
    login_as("unit_contact", unit_id=world.unit)

    response = client.post(
        new_entry_url(world, event_id=second_event),
        data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG, "phone": "13900001111"}),
    )

    assert response.status_code == 302
    [person] = people(app)
    assert person.phone == "13900001111"
    with app.app_context():
        members = db.session.scalars(select(EntryMember).order_by(EntryMember.id)).all()
        assert [(m.event_id, m.person_id) for m in members] == [
            (world.event, person.id),
            (second_event, person.id),
        ]


def test_an_id_number_on_file_under_another_name_is_refused(app, client, world, login_as, csrf):
    register(app, world.event, world.other_unit, ("张三", ZHANG))
    login_as("unit_contact", unit_id=world.unit)

    response = client.post(
        new_entry_url(world), data=entry_form(csrf(), {"name": "张山", "id_number": ZHANG})
    )

    assert response.status_code == 422
    assert text(
        app, "This ID number is on file under another name; check the name and the number."
    ) in page(response)
    assert [p.name for p in people(app)] == ["张三"]
    assert len(entries(app, world.event)) == 1


def _refused_form(app, client, world, csrf, person: dict):
    response = client.post(new_entry_url(world), data=entry_form(csrf(), person))
    assert response.status_code == 422
    assert people(app) == [] and entries(app, world.event) == []
    return response


def test_a_wrong_check_digit_reshows_the_form_with_the_expected_character(
    app, client, world, login_as, csrf
):
    login_as("unit_contact", unit_id=world.unit)
    wrong = with_wrong_check(ZHANG)

    response = _refused_form(app, client, world, csrf, {"name": "张三", "id_number": wrong})

    expected = text(
        app,
        "The ID number's check character is %(given)s but should be %(expected)s.",
        given=wrong[17],
        expected=ZHANG[17],
    )
    assert expected in form_error_texts(response)
    assert f'value="{wrong}"' in response.get_data(as_text=True)  # kept for correction


def test_an_impossible_birth_date_in_the_id_is_refused(app, client, world, login_as, csrf):
    login_as("unit_contact", unit_id=world.unit)
    impossible = with_check_digit("44010619980230123")  # 30 February

    response = _refused_form(app, client, world, csrf, {"name": "张三", "id_number": impossible})

    assert text(
        app, "The birth date %(digits)s in the ID number does not exist.", digits="19980230"
    ) in form_error_texts(response)


def test_a_bad_phone_number_is_refused(app, client, world, login_as, csrf):
    login_as("unit_contact", unit_id=world.unit)

    response = _refused_form(
        app, client, world, csrf, {"name": "张三", "id_number": ZHANG, "phone": "1381234"}
    )

    assert text(
        app, "%(value)s is not a mobile or landline number.", value="1381234"
    ) in form_error_texts(response)


def test_a_team_event_needs_both_members_and_keeps_the_lead_first(
    app, client, world, login_as, csrf
):
    team_event_id = another_event(app, world, "T01", "电工双人赛", team_size=2)
    login_as("unit_contact", unit_id=world.unit)
    url = new_entry_url(world, event_id=team_event_id)
    blank = client.get(url).get_data(as_text=True)
    assert 'name="members-1-id_number"' in blank

    alone = client.post(url, data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG}))
    assert alone.status_code == 422
    assert text(app, "This event takes teams of %(size)s.", size=2) in page(alone)
    assert entries(app, team_event_id) == []

    pair = client.post(
        url,
        data=entry_form(
            csrf(), {"name": "李四", "id_number": LI}, {"name": "张三", "id_number": ZHANG}
        ),
    )

    assert pair.status_code == 302
    [entry] = entries(app, team_event_id)
    assert [(m.position, m.is_lead, m.person.name) for m in entry.members] == [
        (1, True, "李四"),
        (2, False, "张三"),
    ]


# ---------------------------------------------------------------- 2. eligibility


def test_too_young_on_the_event_start_is_refused_with_the_reason(
    app, client, world, login_as, csrf
):
    login_as("unit_contact", unit_id=world.unit)
    young = id_for(date(2010, 10, 2), 121)  # 15 on 2026-10-01

    response = client.post(
        new_entry_url(world), data=entry_form(csrf(), {"name": "小明", "id_number": young})
    )

    assert response.status_code == 422
    assert text(app, TOO_YOUNG, age_min=16, date="2026-10-01") in page(response)
    assert people(app) == [] and entries(app, world.event) == []


def test_sixteen_on_the_start_day_is_old_enough_even_for_an_early_morning_start(
    app, client, world, login_as, csrf
):
    """The reference date is the start day in China: 07:30 on 1 October is 23:30 UTC."""
    with app.app_context():
        db.session.get(Event, world.event).start_at = datetime(2026, 9, 30, 23, 30, tzinfo=UTC)
        db.session.commit()
    login_as("unit_contact", unit_id=world.unit)
    sixteen = id_for(date(2010, 10, 1), 121)  # 16 on 2026-10-01

    response = client.post(
        new_entry_url(world), data=entry_form(csrf(), {"name": "小明", "id_number": sixteen})
    )

    assert response.status_code == 302, form_error_texts(response)
    assert len(entries(app, world.event)) == 1


def test_a_grade_below_the_events_minimum_is_refused(app, client, world, login_as, csrf):
    set_overrides(app, world.event, min_grade="L3")
    login_as("unit_contact", unit_id=world.unit)

    low = client.post(
        new_entry_url(world),
        data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG, "current_grade": "L4"}),
    )

    assert low.status_code == 422
    assert text(
        app, GRADE_TOO_LOW, grade=GRADE_LABELS[Grade.L4], min_grade=GRADE_LABELS[Grade.L3]
    ) in page(low)
    assert entries(app, world.event) == []

    enough = client.post(
        new_entry_url(world),
        data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG, "current_grade": "L3"}),
    )
    assert enough.status_code == 302
    [entry] = entries(app, world.event)
    assert entry.members[0].current_grade == Grade.L3


def test_an_exclusive_event_refuses_a_person_already_in_the_other_one(
    app, client, world, login_as, csrf
):
    other_id = another_event(app, world, "E02", "电工（学生组）")
    register(app, other_id, world.unit, ("张三", ZHANG))
    set_overrides(app, world.event, exclusive_events=["E02"])
    login_as("unit_contact", unit_id=world.unit)

    response = client.post(
        new_entry_url(world), data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG})
    )

    assert response.status_code == 422
    assert text(
        app,
        "This person is already registered in the event %(code)s, which excludes this one.",
        code="E02",
    ) in page(response)
    assert entries(app, world.event) == []


# ---------------------------------------------------------------- 3. quotas


def test_the_default_quota_from_the_rules_cannot_be_exceeded_online(
    app, client, world, login_as, csrf
):
    register(app, world.event, world.unit, ("张三", ZHANG))  # rules' default: 1 per unit
    login_as("unit_contact", unit_id=world.unit)

    response = client.post(
        new_entry_url(world), data=entry_form(csrf(), {"name": "李四", "id_number": LI})
    )

    assert response.status_code == 422
    assert text(
        app, "%(unit)s has used its quota of %(quota)s for this event.", unit=UNIT_NAME, quota=1
    ) in page(response)
    assert len(entries(app, world.event)) == 1 and len(people(app)) == 1


def test_a_units_own_quota_replaces_the_default(app, client, world, login_as, csrf):
    set_quota(app, world, world.unit, 2)
    login_as("unit_contact", unit_id=world.unit)
    for name, number in (("张三", ZHANG), ("李四", LI)):
        ok = client.post(
            new_entry_url(world), data=entry_form(csrf(), {"name": name, "id_number": number})
        )
        assert ok.status_code == 302

    third = client.post(
        new_entry_url(world), data=entry_form(csrf(), {"name": "王五", "id_number": WANG})
    )

    assert third.status_code == 422
    assert len(entries(app, world.event)) == 2


def test_organiser_sets_a_quota_and_cannot_lower_it_below_the_entries_in_use(
    app, client, world, login_as, csrf
):
    login_as("organiser", competition_id=world.competition)
    url = f"/events/{world.event}/units"

    saved = client.post(
        url,
        data={"csrf_token": csrf(url), "unit_id": world.unit, "quota": 3},
        follow_redirects=True,
    )
    assert text(app, "Quota saved.") in flashes(saved)
    register(app, world.event, world.unit, ("张三", ZHANG))
    register(app, world.event, world.unit, ("李四", LI))

    lowered = client.post(
        url,
        data={"csrf_token": csrf(url), "unit_id": world.unit, "quota": 1},
        follow_redirects=True,
    )

    assert text(
        app,
        "%(unit)s already has %(used)s entries; the quota cannot be lower.",
        unit=UNIT_NAME,
        used=2,
    ) in flashes(lowered)
    with app.app_context():
        assert (
            db.session.scalar(select(UnitQuota.quota).where(UnitQuota.unit_id == world.unit)) == 3
        )
        assert count(AuditEntry, AuditEntry.action == "quota.set") == 1


def test_organiser_can_close_a_unit_out_with_a_quota_of_zero(app, client, world, login_as, csrf):
    login_as("organiser", competition_id=world.competition)
    url = f"/events/{world.event}/units"

    response = client.post(
        url,
        data={"csrf_token": csrf(url), "unit_id": world.other_unit, "quota": 0},
        follow_redirects=True,
    )

    assert text(app, "Quota saved.") in flashes(response)
    with app.app_context():
        assert (
            db.session.scalar(select(UnitQuota.quota).where(UnitQuota.unit_id == world.other_unit))
            == 0
        )


# ---------------------------------------------------------------- 5. import (and its quota)


def upload(client, url, token, data: bytes, filename: str, **headers):
    return client.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=headers,
    )


def unit_import_url(world) -> str:
    return f"/units/{world.unit}/events/{world.event}/import"


def test_unit_contact_imports_a_good_workbook(app, client, world, login_as, csrf):
    set_quota(app, world, world.unit, 3)
    login_as("unit_contact", unit_id=world.unit)
    data = workbook(
        [
            {
                "姓名": "张三",
                "证件号码": ZHANG,
                "手机号码": "13812345678",
                "现职业技能等级": "技师",
            },
            {"姓名": "李四", "证件号码": LI, "手机号码": "13912345678"},
        ]
    )

    response = upload(client, unit_import_url(world), csrf(), data, "报名表.xlsx")

    assert response.status_code == 302
    rows = entries(app, world.event)
    assert [(e.unit_id, e.status, e.members[0].person.name) for e in rows] == [
        (world.unit, EntryStatus.SUBMITTED, "张三"),
        (world.unit, EntryStatus.SUBMITTED, "李四"),
    ]
    assert rows[0].members[0].current_grade == Grade.L2
    with app.app_context():
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "entries.imported"))
        assert audit.after["entries"] == 2 and audit.event_id == world.event


def test_a_file_with_bad_rows_saves_nothing_and_reports_every_bad_row_masked(
    app, client, world, login_as, csrf
):
    set_quota(app, world, world.unit, 5)
    login_as("unit_contact", unit_id=world.unit)
    wrong = with_wrong_check(WANG)
    data = workbook(
        [
            {"姓名": "张三", "证件号码": ZHANG, "手机号码": "13812345678"},
            {"姓名": "王五", "证件号码": wrong, "手机号码": "13812345678"},
            {"姓名": "李四", "证件号码": LI, "手机号码": "12345"},
            {"姓名": "赵六", "证件号码": ZHAO, "手机号码": "13812345678"},
        ]
    )

    response = upload(client, unit_import_url(world), csrf(), data, "报名表.xlsx")

    assert response.status_code == 422
    html = page(response)
    table = html[html.index('id="problems"') :]
    cells = [
        re.findall(r"<td>(.*?)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    ]
    assert [(c[0], c[1]) for c in cells] == [("3", "证件号码"), ("4", "手机号码")]
    assert cells[0][2] == mask_id_number(wrong)
    for number in (ZHANG, LI, WANG, wrong, ZHAO):
        assert number not in html
    assert entries(app, world.event) == [] and people(app) == []


def test_import_answers_json_with_the_problems_when_asked(app, client, world, login_as, csrf):
    login_as("unit_contact", unit_id=world.unit)
    data = workbook(
        [{"姓名": "王五", "证件号码": with_wrong_check(WANG), "手机号码": "13812345678"}]
    )

    response = upload(
        client, unit_import_url(world), csrf(), data, "报名表.xlsx", Accept="application/json"
    )

    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "ImportRejected"
    assert [(p["row"], p["column"]) for p in body["problems"]] == [(2, "证件号码")]
    assert WANG[:17] not in response.get_data(as_text=True)


def test_import_cannot_exceed_the_units_quota(app, client, world, login_as, csrf):
    register(app, world.event, world.unit, ("张三", ZHANG))  # default quota 1, used
    login_as("unit_contact", unit_id=world.unit)
    data = workbook([{"姓名": "李四", "证件号码": LI, "手机号码": "13812345678"}])

    response = upload(client, unit_import_url(world), csrf(), data, "报名表.xlsx")

    assert response.status_code == 422
    assert text(app, OVER_QUOTA, unit=UNIT_NAME, quota=1, existing=1, new=1, total=2) in page(
        response
    )
    assert len(entries(app, world.event)) == 1


def test_a_gbk_csv_file_imports(app, client, world, login_as, csrf):
    login_as("unit_contact", unit_id=world.unit)
    data = csv_text(
        [
            {
                "姓名": "张三",
                "证件号码": ZHANG,
                "手机号码": "13812345678",
                "工作单位/学校": "广州供电局",
            }
        ]
    ).encode("gbk")

    response = upload(client, unit_import_url(world), csrf(), data, "报名表.csv")

    assert response.status_code == 302
    [entry] = entries(app, world.event)
    assert entry.members[0].person.name == "张三"
    assert entry.members[0].employer == "广州供电局"


def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_refusal(app, client, world, login_as, csrf):
    login_as("unit_contact", unit_id=world.unit)

    text_file = upload(client, unit_import_url(world), csrf(), b"hello", "notes.txt")
    fake_xlsx = upload(client, unit_import_url(world), csrf(), b"\x89PNG\r\n\x1a\n....", "a.xlsx")

    assert text_file.status_code == 422
    assert text(app, FILE_TYPE, name="notes.txt") in page(text_file)
    assert fake_xlsx.status_code == 422
    assert text(app, "The file is not an Excel workbook (.xlsx).") in page(fake_xlsx)
    assert entries(app, world.event) == []


def test_organiser_imports_for_several_units(app, client, world, login_as, csrf):
    set_quota(app, world, world.unit, 2)
    set_quota(app, world, world.other_unit, 1)
    login_as("organiser", competition_id=world.competition)
    data = workbook(
        [
            {"姓名": "张三", "证件号码": ZHANG, "手机号码": "13812345678", "参赛单位": UNIT_NAME},
            {
                "姓名": "李四",
                "证件号码": LI,
                "手机号码": "13812345678",
                "参赛单位": OTHER_UNIT_NAME,
            },
        ]
    )

    response = upload(
        client,
        f"/events/{world.event}/entries/import",
        csrf(f"/events/{world.event}/entries"),
        data,
        "报名表.xlsx",
    )

    assert response.status_code == 302
    assert sorted(e.unit_id for e in entries(app, world.event)) == sorted(
        [world.unit, world.other_unit]
    )


def test_organiser_import_respects_each_units_quota(app, client, world, login_as, csrf):
    set_quota(app, world, world.unit, 1)
    set_quota(app, world, world.other_unit, 1)
    login_as("organiser", competition_id=world.competition)
    data = workbook(
        [
            {"姓名": "张三", "证件号码": ZHANG, "手机号码": "13812345678", "参赛单位": UNIT_NAME},
            {"姓名": "李四", "证件号码": LI, "手机号码": "13812345678", "参赛单位": UNIT_NAME},
        ]
    )

    response = upload(
        client,
        f"/events/{world.event}/entries/import",
        csrf(f"/events/{world.event}/entries"),
        data,
        "报名表.xlsx",
    )

    assert response.status_code == 422
    assert entries(app, world.event) == []


# ---------------------------------------------------------------- 4. review


def review_url(world, entry_id) -> str:
    return f"/events/{world.event}/entries/{entry_id}/decide"


def test_organiser_approves_and_the_entry_gets_an_admission_number_and_a_qr_token(
    app, client, world, login_as, csrf
):
    set_quota(app, world, world.unit, 2)
    first = register(app, world.event, world.unit, ("张三", ZHANG))
    second = register(app, world.event, world.unit, ("李四", LI))
    login_as("organiser", competition_id=world.competition)
    token = csrf(f"/events/{world.event}/entries")

    for entry_id in (first, second):
        response = client.post(
            review_url(world, entry_id), data={"csrf_token": token, "decision": "approve"}
        )
        assert response.status_code == 302

    a, b = entries(app, world.event)
    assert a.status is EntryStatus.APPROVED and b.status is EntryStatus.APPROVED
    assert a.admission_no and b.admission_no and a.admission_no != b.admission_no
    for entry in (a, b):
        assert len(entry.qr_token) >= 22
        assert re.fullmatch(r"[A-Za-z0-9_-]+", entry.qr_token)
    assert a.qr_token != b.qr_token
    with app.app_context():
        assert count(AuditEntry, AuditEntry.action == "entry.approve") == 2


def test_a_returned_entry_shows_the_reason_to_the_unit_which_fixes_and_resends_it(
    app, client, world, login_as, csrf, auth
):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    login_as("organiser", competition_id=world.competition)
    returned = client.post(
        review_url(world, entry_id),
        data={"csrf_token": csrf(), "decision": "return", "reason": "请补充等级证书编号"},
    )
    assert returned.status_code == 302
    assert entry_statuses(app, world.event) == [EntryStatus.RETURNED]
    auth.logout()

    login_as("unit_contact", unit_id=world.unit)
    home = page(client.get(f"/units/{world.unit}"))
    assert "请补充等级证书编号" in home
    edit_url = f"/units/{world.unit}/events/{world.event}/entries/{entry_id}/edit"
    assert edit_url in home
    form = client.get(edit_url)
    assert "请补充等级证书编号" in page(form)
    resent = client.post(
        edit_url,
        data=entry_form(
            csrf(), {"name": "张三", "id_number": ZHANG, "grade_certificate_no": "S000044010001"}
        ),
    )

    assert resent.status_code == 302
    [entry] = entries(app, world.event)
    assert entry.status is EntryStatus.SUBMITTED and entry.decision_reason is None
    assert entry.members[0].grade_certificate_no == "S000044010001"
    with app.app_context():
        assert count(AuditEntry, AuditEntry.action == "entry.return") == 1
        assert count(AuditEntry, AuditEntry.action == "entry.resubmitted") == 1


def test_organiser_rejects_with_a_reason(app, client, world, login_as, csrf):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    login_as("organiser", competition_id=world.competition)

    client.post(
        review_url(world, entry_id),
        data={"csrf_token": csrf(), "decision": "reject", "reason": "非本单位职工"},
    )

    [entry] = entries(app, world.event)
    assert entry.status is EntryStatus.REJECTED and entry.decision_reason == "非本单位职工"
    assert entry.qr_token is None and entry.admission_no is None
    with app.app_context():
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "entry.reject"))
        assert audit.reason == "非本单位职工"


def test_returning_or_rejecting_without_a_reason_is_refused(app, client, world, login_as, csrf):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    login_as("organiser", competition_id=world.competition)

    for decision in ("return", "reject"):
        response = client.post(
            review_url(world, entry_id),
            data={"csrf_token": csrf(), "decision": decision, "reason": " "},
            follow_redirects=True,
        )
        assert text(app, "Returning or rejecting a registration needs a reason.") in flashes(
            response
        )

    assert entry_statuses(app, world.event) == [EntryStatus.SUBMITTED]


def test_bulk_approve_approves_only_submitted_entries(app, client, world, login_as, csrf):
    set_quota(app, world, world.unit, 3)
    submitted = register(app, world.event, world.unit, ("张三", ZHANG))
    returned = register(app, world.event, world.unit, ("李四", LI))
    decide(app, returned, "return", "照片不清晰")
    login_as("organiser", competition_id=world.competition)

    response = client.post(
        f"/events/{world.event}/entries/approve",
        data={"csrf_token": csrf(), "entry_id": [submitted, returned]},
        follow_redirects=True,
    )

    assert text(app, "%(n)s registrations approved.", n=1) in flashes(response)
    assert entry_statuses(app, world.event) == [EntryStatus.APPROVED, EntryStatus.RETURNED]


def test_decisions_are_refused_once_the_event_is_drawn(app, client, world, login_as, csrf):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    set_state(app, world.event, EventState.DRAWN)
    login_as("organiser", competition_id=world.competition)

    response = client.post(
        review_url(world, entry_id),
        data={"csrf_token": csrf(), "decision": "approve"},
        follow_redirects=True,
    )

    assert text(
        app, "Registrations are decided only while registration is open or under review."
    ) in flashes(response)
    assert entry_statuses(app, world.event) == [EntryStatus.SUBMITTED]


# ---------------------------------------------------------------- 6. export


def test_export_is_audited_and_shows_full_numbers_to_the_organiser(
    app, client, world, login_as, csrf
):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    decide(app, entry_id)
    login_as("organiser", competition_id=world.competition)

    response = client.get(f"/events/{world.event}/entries.xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    assert row[header.index("证件号码")] == ZHANG
    assert row[header.index("手机号码")] == "13812345678"
    assert row[header.index("状态")] == "已通过"
    with app.app_context():
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "entries.exported"))
        assert audit is not None and audit.after == {"full_ids": True}
        assert audit.event_id == world.event


# ---------------------------------------------------------------- 7. draws (pages)


def test_a_supervisor_replays_a_draw_and_the_page_says_identical(
    app, client, world, login_as, csrf
):
    drawn_event(app, world)
    with app.app_context():
        draw_id = db.session.scalar(select(Draw.id))
    login_as("supervisor", event_id=world.event)
    draws_page = client.get(f"/events/{world.event}/draws")
    assert f"/events/{world.event}/draws/{draw_id}/replay" in draws_page.get_data(as_text=True)

    response = client.post(
        f"/events/{world.event}/draws/{draw_id}/replay",
        data={"csrf_token": csrf()},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert text(app, "Replayed from the seed: the result is identical.") in flashes(response)


def test_a_tampered_draw_replays_as_different_on_the_page(app, client, world, login_as, csrf):
    drawn_event(app, world)
    with app.app_context():
        draw = db.session.scalar(select(Draw))
        first, second = sorted(draw.result)[:2]
        draw.result = {**draw.result, first: draw.result[second], second: draw.result[first]}
        db.session.commit()
        draw_id = draw.id
    login_as("supervisor", event_id=world.event)

    response = client.post(
        f"/events/{world.event}/draws/{draw_id}/replay",
        data={"csrf_token": csrf()},
        follow_redirects=True,
    )

    assert text(
        app, "Replayed from the seed: the result is DIFFERENT from the recorded one."
    ) in flashes(response)


def test_the_encryption_judge_draws_entry_numbers_through_the_page(
    app, client, world, login_as, csrf
):
    ids = approved_event(app, world, 3)
    login_as("encryption_judge", event_id=world.event)

    response = client.post(
        f"/events/{world.event}/draws/entry-numbers",
        data={"csrf_token": csrf(), "seed": "abc", "prefix": "A"},
        follow_redirects=True,
    )

    assert text(app, "Entry numbers drawn and recorded.") in flashes(response)
    numbers = sorted(e.entry_number for e in entries(app, world.event))
    assert numbers == ["A001", "A002", "A003"] and len(ids) == 3


def test_a_redraw_without_a_reason_is_refused_on_the_page(app, client, world, login_as, csrf):
    approved_event(app, world, 2)
    login_as("encryption_judge", event_id=world.event)
    url = f"/events/{world.event}/draws/entry-numbers"
    client.post(url, data={"csrf_token": csrf(), "seed": "abc"})

    again = client.post(url, data={"csrf_token": csrf(), "seed": "xyz"}, follow_redirects=True)

    assert text(app, "This draw has been made. A redraw needs a reason and is logged.") in (
        flashes(again)
    )
    with app.app_context():
        assert [(d.seed, d.is_current) for d in db.session.scalars(select(Draw))] == [("abc", True)]


# ---------------------------------------------------------------- 8. check-in


def checkin_url(world) -> str:
    return f"/events/{world.event}/checkin"


def ticket(app, entry_id) -> tuple[str, str]:
    with app.app_context():
        entry = db.session.get(Entry, entry_id)
        return entry.qr_token, entry.admission_no


def test_scanning_a_ticket_shows_the_person_then_confirming_checks_in_once(
    app, client, world, login_as, csrf
):
    ids = drawn_event(app, world, 2)
    token, _ = ticket(app, ids[0])
    login_as("score_recorder", event_id=world.event)
    before = client.get(checkin_url(world))
    assert "张三" in page(before) and "李四" in page(before)  # both absent

    looked_up = client.post(
        checkin_url(world), data={"csrf_token": csrf(), "code": token, "method": "qr"}
    )
    assert looked_up.status_code == 200
    assert "张三" in page(looked_up)
    assert text(app, "Confirm check-in") in page(looked_up)
    with app.app_context():
        assert count(CheckIn) == 0

    confirmed = client.post(
        checkin_url(world),
        data={"csrf_token": csrf(), "code": token, "method": "qr", "confirm": "1"},
    )

    assert confirmed.status_code == 200
    assert text(app, "Checked in.") in page(confirmed)
    with app.app_context():
        [row] = db.session.scalars(select(CheckIn)).all()
        assert (row.entry_id, row.method) == (ids[0], "qr")
    absent = page(client.get(checkin_url(world)))
    section = absent[absent.index(text(app, "Not yet checked in")) :]
    assert "李四" in section and "张三" not in section


def test_a_second_scan_says_already_checked_in_with_when_and_by_whom(
    app, client, world, login_as, csrf
):
    ids = drawn_event(app, world, 1)
    token, _ = ticket(app, ids[0])
    user_id = login_as("score_recorder", event_id=world.event)
    data = {"csrf_token": csrf(), "code": token, "confirm": "1"}
    client.post(checkin_url(world), data=data)

    again = client.post(checkin_url(world), data=data, headers={"Accept": "application/json"})

    assert again.status_code == 200
    body = again.get_json()
    with app.app_context():
        who = db.session.get(User, user_id).display_name
        assert count(CheckIn) == 1
    assert body["checked_in"] is True and body["first_time"] is False
    assert body["checked_in_by"] == who
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body["checked_in_at"])
    html = page(client.post(checkin_url(world), data=data))
    assert who in html and body["checked_in_at"] in html


def test_check_in_by_typed_admission_number_or_scanned_url(app, client, world, login_as, csrf):
    ids = drawn_event(app, world, 2)
    _, admission_no = ticket(app, ids[0])
    token, _ = ticket(app, ids[1])
    login_as("score_recorder", event_id=world.event)
    json = {"Accept": "application/json"}

    typed = client.post(
        checkin_url(world),
        headers=json,
        data={"csrf_token": csrf(), "code": f" {admission_no} ", "confirm": "1"},
    )
    scanned = client.post(
        checkin_url(world),
        headers=json,
        data={
            "csrf_token": csrf(),
            "code": f"https://compete.example.cn/t/{token}",
            "confirm": "1",
        },
    )

    assert typed.status_code == 200 and typed.get_json()["first_time"] is True
    assert typed.get_json()["entry"]["names"] == "张三"
    assert scanned.status_code == 200 and scanned.get_json()["entry"]["names"] == "李四"
    with app.app_context():
        assert sorted(db.session.scalars(select(CheckIn.entry_id))) == sorted(ids)
    absent = page(client.get(checkin_url(world)))
    assert text(app, "Everyone is checked in.") in absent


def test_a_ticket_of_another_event_or_an_unapproved_entry_is_not_found(
    app, client, world, login_as, csrf
):
    ids = drawn_event(app, world, 2)
    decide_after = ids[1]
    with app.app_context():  # approved once, then returned: the ticket no longer counts
        entry = db.session.get(Entry, decide_after)
        entry.status = EntryStatus.RETURNED
        db.session.commit()
    other_event = another_event(app, world, "E09", "焊工")
    other_entry = register(app, other_event, world.unit, ("王五", WANG))
    decide(app, other_entry)
    login_as("score_recorder", event_id=world.event)
    json = {"Accept": "application/json"}

    for code in (ticket(app, other_entry)[0], ticket(app, decide_after)[0], "nonsense"):
        response = client.post(
            checkin_url(world),
            headers=json,
            data={"csrf_token": csrf(), "code": code, "confirm": "1"},
        )
        assert response.status_code == 404
        assert response.get_json()["error"] == text(
            app, "No approved registration of this event has this ticket."
        )
    with app.app_context():
        assert count(CheckIn) == 0


def test_check_in_is_refused_before_the_draw(app, client, world, login_as, csrf):
    ids = approved_event(app, world, 1)  # registration closed, no draw yet
    token, _ = ticket(app, ids[0])
    login_as("score_recorder", event_id=world.event)

    response = client.post(
        checkin_url(world),
        headers={"Accept": "application/json"},
        data={"csrf_token": csrf(), "code": token, "confirm": "1"},
    )

    assert response.status_code == 409
    assert response.get_json()["error"] == text(
        app, "Check-in is open once the draw is made and while the event runs."
    )
    with app.app_context():
        assert count(CheckIn) == 0


# ---------------------------------------------------------------- 9. permissions


def test_a_unit_contact_cannot_register_for_another_unit(app, client, world, login_as, csrf):
    login_as("unit_contact", unit_id=world.unit)

    form = client.get(new_entry_url(world, unit_id=world.other_unit))
    post = client.post(
        new_entry_url(world, unit_id=world.other_unit),
        data=entry_form(csrf(), {"name": "张三", "id_number": ZHANG}),
    )
    imported = upload(
        client,
        f"/units/{world.other_unit}/events/{world.event}/import",
        csrf(),
        workbook([{"姓名": "张三", "证件号码": ZHANG, "手机号码": "13812345678"}]),
        "a.xlsx",
    )

    assert (form.status_code, post.status_code, imported.status_code) == (403, 403, 403)
    assert entries(app, world.event) == []


def test_a_unit_contact_cannot_open_the_review_page_or_decide(app, client, world, login_as, csrf):
    entry_id = register(app, world.event, world.unit, ("张三", ZHANG))
    login_as("unit_contact", unit_id=world.unit)

    assert client.get(f"/events/{world.event}/entries").status_code == 403
    assert client.get(f"/events/{world.event}/entries.xlsx").status_code == 403
    decided = client.post(
        review_url(world, entry_id), data={"csrf_token": csrf(), "decision": "approve"}
    )
    assert decided.status_code == 403
    assert entry_statuses(app, world.event) == [EntryStatus.SUBMITTED]


def test_a_unit_contact_cannot_edit_another_units_entry(app, client, world, login_as, csrf):
    other = register(app, world.event, world.other_unit, ("李四", LI))
    login_as("unit_contact", unit_id=world.unit)

    response = client.get(f"/units/{world.unit}/events/{world.event}/entries/{other}/edit")

    assert response.status_code == 404


def test_a_judge_cannot_check_in_but_a_score_recorder_can(app, client, world, login_as, csrf, auth):
    ids = drawn_event(app, world, 1)
    token, _ = ticket(app, ids[0])
    login_as("judge", event_id=world.event)
    assert client.get(checkin_url(world)).status_code == 403
    refused = client.post(
        checkin_url(world), data={"csrf_token": csrf(), "code": token, "confirm": "1"}
    )
    assert refused.status_code == 403
    auth.logout()

    login_as("score_recorder", event_id=world.event)
    allowed = client.post(
        checkin_url(world), data={"csrf_token": csrf(), "code": token, "confirm": "1"}
    )

    assert allowed.status_code == 200
    with app.app_context():
        assert count(CheckIn) == 1


def test_a_score_recorder_of_another_event_cannot_check_in_here(app, client, world, login_as, csrf):
    drawn_event(app, world, 1)
    other = another_event(app, world, "E08", "钳工")
    login_as("score_recorder", event_id=other)

    assert client.get(checkin_url(world)).status_code == 403
