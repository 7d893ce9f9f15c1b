"""The judge pool from Excel (all or nothing, a row report) and declared ties (回避)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from compete.blueprints.judging import pool, pool_import
from compete.domain.idnumber import with_check_digit
from compete.extensions import db
from compete.models import (
    AuditEntry,
    Entry,
    EntryMember,
    EntryStatus,
    Event,
    Judge,
    JudgeConflict,
    Person,
    Role,
)

from ..factories import csrf_from, make_competition, make_event, make_unit

TODAY = date(2026, 12, 1)
ID_A = with_check_digit("44010619800101123")
ID_B = with_check_digit("44010319820202124")
ID_C = with_check_digit("44011219790303135")
BAD_ID = ID_C[:17] + ("0" if ID_C[17] != "0" else "1")
HEADERS = [
    "姓名",
    "身份证号码",
    "手机号码",
    "推荐单位",
    "执裁职业（工种）",
    "职业技能等级",
    "职称",
    "考评员",
    "从业年限",
]


def _xlsx(rows, headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "裁判库"
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def organiser(app, client, login_as):
    with app.app_context():
        make_unit(name="广东省机械技师学院")
        db.session.commit()
    login_as(Role.ORGANISER)
    return "广东省机械技师学院"


def _upload(client, data: bytes, filename="judges.xlsx"):
    token = csrf_from(client.get("/judges").get_data(as_text=True))
    return client.post(
        "/judges/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _judges(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(
            select(
                Judge.name,
                Judge.id_number,
                Judge.grade,
                Judge.title,
                Judge.is_assessor,
                Judge.years_in_occupation,
                Judge.occupations,
            ).order_by(Judge.name)
        ).all()


def test_the_template_has_the_columns_and_an_example_that_imports(app, client, organiser):
    response = client.get("/judges/template.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["裁判库", "说明"]
    headers = [c.value for c in workbook["裁判库"][1]]
    assert headers[:2] == ["姓名", "身份证号码"] and "执裁职业（工种）" in headers
    # The example row of the help sheet, copied into the data sheet, imports as it is.
    help_rows = list(workbook["说明"].iter_rows(values_only=True))
    assert list(help_rows[-2][: len(headers)]) == headers
    example = help_rows[-1][: len(headers)]
    sheet = workbook["裁判库"]
    sheet.append(list(example))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert _upload(client, buffer.getvalue()).status_code == 302
    (judge,) = _judges(app)
    assert judge.name == "李建国" and judge.title == "副高" and judge.is_assessor


def test_a_clean_file_adds_every_judge(app, client, organiser):
    data = _xlsx(
        [
            ["王裁判", ID_A, "13812345678", organiser, "电工、钳工", "二级/技师", "", "否", 8],
            ["赵裁判", ID_B, "", "", "电工", "", "中级", "", ""],
        ]
    )
    response = _upload(client, data)
    assert response.status_code == 302
    rows = _judges(app)
    assert [(r.name, r.grade, r.title, r.years_in_occupation, r.occupations) for r in rows] == [
        ("王裁判", 4, "", 8, ["电工", "钳工"]),
        ("赵裁判", None, "中级", 0, ["电工"]),
    ]
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "judge.imported")
            )
            == 2
        )
    # 赵裁判's years are unknown: imported with a warning, as the form does.
    page = client.get("/judges").get_data(as_text=True)
    assert "赵裁判" in page


def test_one_bad_row_and_nothing_is_imported_with_every_problem_reported(app, client, organiser):
    client.set_cookie("lang", "en")
    data = _xlsx(
        [
            ["王裁判", ID_A, "", "", "电工", "技师", "", "", 8],  # fine
            ["钱裁判", BAD_ID, "", "", "电工", "技师", "", "", 8],  # check digit
            [
                "孙裁判",
                ID_B,
                "",
                "不存在的单位",
                "电工",
                "三级/高级工",
                "",
                "否",
                10,
            ],  # unit, qual.
            [
                "",
                ID_A,
                "",
                "",
                "",
                "技师",
                "",
                "也许",
                "八",
            ],  # name, occupations, dup, yes/no, years
        ]
    )
    response = _upload(client, data)
    assert response.status_code == 422
    assert _judges(app) == []
    html = response.get_data(as_text=True)
    cells = [
        tuple(cell.strip() for cell in row)
        for row in re.findall(
            r"<tr><td>(\d*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html
        )
    ]
    problems = {(row, column) for row, column, _value, _message in cells}
    assert {
        ("3", "身份证号码"),
        ("4", "推荐单位"),
        ("4", "职业技能等级"),
        ("5", "姓名"),
        ("5", "执裁职业（工种）"),
        ("5", "身份证号码"),
        ("5", "考评员"),
        ("5", "从业年限"),
    } <= problems
    assert ("2", "姓名") not in problems and not any(r == "2" for r, _c in problems)
    # ID numbers never appear in full in the report.
    assert ID_A not in html and BAD_ID not in html and ID_B not in html
    assert 'id="report-download"' in html


def test_a_judge_already_in_the_pool_is_refused(app, client, organiser):
    data = _xlsx([["王裁判", ID_A, "", "", "电工", "技师", "", "", 8]])
    assert _upload(client, data).status_code == 302
    assert _upload(client, data).status_code == 422
    assert len(_judges(app)) == 1


def test_a_gbk_csv_imports_and_a_wrong_file_type_is_refused(app, client, organiser):
    text = ",".join(HEADERS) + "\r\n" + f"王裁判,{ID_A},,,电工,技师,,,8\r\n"
    assert _upload(client, text.encode("gbk"), "judges.csv").status_code == 302
    assert [r.name for r in _judges(app)] == ["王裁判"]
    assert _upload(client, b"hello", "judges.txt").status_code == 422
    assert _upload(client, _xlsx([], headers=["姓名"])).status_code == 422  # columns missing


def test_the_import_and_the_form_refuse_the_same_judges(app):
    """Same checks: a judge the form refuses is refused by the import, and the other way."""
    cases = [
        dict(grade=3, title="", is_assessor=False, years=10),  # no qualification
        dict(grade=None, title="中级", is_assessor=False, years=1),  # too few years
        dict(grade=None, title="", is_assessor=True, years=None),  # assessor, years unknown
        dict(grade=4, title="", is_assessor=False, years=5),  # 技师
    ]
    with app.app_context():
        for index, case in enumerate(cases):
            form_ok = True
            try:
                pool.add_judge(
                    None,
                    name=f"裁判{index}",
                    id_number=ID_A,
                    occupations=["电工"],
                    min_years=3,
                    today=TODAY,
                    **case,
                )
            except Exception:
                form_ok = False
            db.session.rollback()
            row = pool_import.RawRow(
                2,
                {
                    "name": f"裁判{index}",
                    "id_number": ID_A,
                    "occupations": "电工",
                    "grade": {3: "三级", 4: "技师"}.get(case["grade"], ""),
                    "title": case["title"],
                    "is_assessor": "是" if case["is_assessor"] else "",
                    "years": "" if case["years"] is None else str(case["years"]),
                },
            )
            _checked, problems, _warnings = pool_import.validate_rows(
                [row], min_years=3, today=TODAY, units={}, pool_ids=set()
            )
            assert form_ok == (not problems), case


# ---------------------------------------------------------------- declared ties


@pytest.fixture
def tie_world(app, organiser):
    """Event 电工 with one approved contestant; two qualified judges of other units."""
    with app.app_context():
        event = make_event(make_competition(), occupation="电工")
        unit, other = make_unit(), make_unit()
        person = Person(name="张三", gender="M", id_number=ID_C)
        entry = Entry(event_id=event.id, unit_id=unit.id, status=EntryStatus.APPROVED)
        db.session.add_all([person, entry])
        db.session.flush()
        db.session.add(EntryMember(entry_id=entry.id, event_id=event.id, person_id=person.id))
        judges = [
            Judge(
                name=name,
                unit_id=make_unit().id,
                occupations=["电工"],
                grade=4,
                years_in_occupation=8,
            )
            for name in ("甲裁判", "乙裁判")
        ]
        db.session.add_all(judges)
        db.session.commit()
        return {
            "event": event.id,
            "judge": judges[0].id,
            "other_judge": judges[1].id,
            "unit": other.id,
            "person": person.id,
        }


def _declare(client, **fields):
    token = csrf_from(client.get("/judges").get_data(as_text=True))
    return client.post("/judges/conflicts", data={"csrf_token": token, **fields})


def test_a_declared_tie_to_a_contestant_keeps_the_judge_out_of_the_draw(app, client, tie_world):
    response = _declare(
        client,
        judge_id=tie_world["judge"],
        kind="teacher",
        person_id_number=ID_C,
        reason="曾任该选手的实习指导教师",
    )
    assert response.status_code == 302
    with app.app_context():
        tie = db.session.scalar(select(JudgeConflict))
        assert (tie.judge_id, tie.person_id, tie.kind) == (
            tie_world["judge"],
            tie_world["person"],
            "teacher",
        )
        assert tie.note == "曾任该选手的实习指导教师"
        inputs = pool._draw_inputs(db.session.get(Event, tie_world["event"]), size=1, skip=set())
        conflicts = {c["id"]: c["conflicts"] for c in inputs["candidates"]}
        assert conflicts[str(tie_world["judge"])] != []
        for seed in ("a", "b", "c", "d"):
            drawn = pool.run_draw(seed, {**inputs, "size": 1})
            assert drawn.judges == (str(tie_world["other_judge"]),)
    page = client.get("/judges").get_data(as_text=True)
    assert 'id="tie-list"' in page and "张三" in page and "曾任该选手的实习指导教师" in page


def test_a_tie_needs_a_reason_and_exactly_one_target(app, client, tie_world):
    assert (
        _declare(
            client, judge_id=tie_world["judge"], kind="relative", person_id_number=ID_C, reason=""
        ).status_code
        == 422
    )
    assert (
        _declare(
            client,
            judge_id=tie_world["judge"],
            kind="relative",
            person_id_number=ID_C,
            unit_id=tie_world["unit"],
            reason="亲属",
        ).status_code
        == 422
    )
    assert (
        _declare(
            client,
            judge_id=tie_world["judge"],
            kind="relative",
            person_id_number=ID_A,
            reason="亲属",
        ).status_code
        == 422
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(JudgeConflict.id))) == 0
    assert (
        _declare(
            client,
            judge_id=tie_world["judge"],
            kind="colleague",
            unit_id=tie_world["unit"],
            reason="借调",
        ).status_code
        == 302
    )
    assert (
        _declare(
            client,
            judge_id=tie_world["judge"],
            kind="colleague",
            unit_id=tie_world["unit"],
            reason="again",
        ).status_code
        == 409
    )


def test_removing_a_tie_needs_a_reason_and_is_audited(app, client, tie_world):
    _declare(
        client, judge_id=tie_world["judge"], kind="coach", person_id_number=ID_C, reason="教练"
    )
    with app.app_context():
        tie_id = db.session.scalar(select(JudgeConflict.id))
    token = csrf_from(client.get("/judges").get_data(as_text=True))
    url = f"/judges/conflicts/{tie_id}/remove"
    assert client.post(url, data={"csrf_token": token, "reason": ""}).status_code == 422
    assert client.post(url, data={"csrf_token": token, "reason": "登记错误"}).status_code == 302
    with app.app_context():
        assert db.session.get(JudgeConflict, tie_id) is None
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "judge.conflict_removed")
        )
        assert entry.reason == "登记错误" and entry.before["person"] == tie_world["person"]
