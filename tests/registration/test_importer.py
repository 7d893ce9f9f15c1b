"""Registration by file: template, reading .xlsx/.csv, all-or-nothing checks, masking, speed."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from compete.blueprints.registration.importer import (
    ALREADY_REGISTERED,
    BIRTH_DATE_MISMATCH,
    DUPLICATE_HEADER,
    DUPLICATE_IN_FILE,
    FILE_ENCODING,
    FILE_NOT_XLSX,
    FILE_TYPE,
    GENDER_MISMATCH,
    GRADE_UNKNOWN,
    HELP_SHEET_TITLE,
    ID_CHECK_DIGIT,
    ID_DATE_IMPOSSIBLE,
    ID_DATE_RANGE,
    ID_FULLWIDTH,
    ID_FULLWIDTH_NORMALISED,
    ID_LEGACY_CONVERTED,
    ID_LOST_DIGITS,
    ID_NO_BIRTH_DATE,
    MISSING,
    MISSING_HEADER,
    NAME_CHARACTERS,
    NAME_CONFLICT,
    NO_ROWS,
    OVER_QUOTA,
    PHONE_BAD,
    SHEET_TITLE,
    TOO_MANY_COACHES,
    TOO_MANY_ROWS,
    UNIT_NOT_YOURS,
    UNIT_UNKNOWN,
    EntryInput,
    ImportContext,
    ImportResult,
    MemberInput,
    RawRow,
    RegistrationImportError,
    RowProblem,
    build_template,
    import_file,
    read_rows,
    validate_rows,
)
from compete.domain.eligibility import (
    RETIRED,
    TOO_YOUNG,
    WRONG_TEAM_SIZE,
    EligibilityRules,
)
from compete.domain.grades import Grade
from compete.domain.idnumber import IdType, parse_id_number, with_check_digit

TODAY = date(2025, 6, 1)
START = date(2025, 10, 1)
UNIT = "广州市技师学院"
OTHER_UNIT = "深圳技师学院"
HEADERS = [
    "姓名",
    "性别",
    "证件类型",
    "证件号码",
    "手机号码",
    "参赛单位",
    "现职业技能等级",
    "指导教师",
]
PROVINCE_MSG = "The ID number starts with %(code)s, which is not a province code."
LEGACY_MSG = "15-digit ID numbers are no longer valid; please enter the 18-digit number."
NAME_EMPTY_MSG = "The name is empty."


def make_id(born: date, seq: int = 123, area: str = "440106") -> str:
    """A valid resident ID; an odd ``seq`` is a man, an even one a woman."""
    return with_check_digit(f"{area}{born:%Y%m%d}{seq:03d}")


def bad_check(number: str) -> str:
    """The same number with a wrong check character."""
    wrong = "0" if number[17] != "0" else "1"
    return number[:17] + wrong


MAN = make_id(date(1990, 3, 7), 123)
WOMAN = make_id(date(1995, 12, 31), 246)


def context(**overrides) -> ImportContext:
    values = {
        "today": TODAY,
        "eligibility": EligibilityRules.from_params({}, group="employee", age_ref_date=START),
        "unit_names": frozenset({UNIT}),
    }
    values.update(overrides)
    return ImportContext(**values)


ORGANISER = {"unit_names": frozenset({UNIT, OTHER_UNIT}), "require_unit": True}


def xlsx(rows: Sequence[Sequence[object]], headers: Sequence[str] = HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, headers=HEADERS, *, encoding="utf-8", delimiter=",") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def raw(number: int, **values: str) -> RawRow:
    base = {"name": "张三", "id_number": MAN, "phone": "13812345678"}
    return RawRow(number, {**base, **values})


def where(result: ImportResult, message: str) -> list[RowProblem]:
    return [p for p in result.problems if p.message == message]


def only(result: ImportResult, message: str) -> RowProblem:
    found = where(result, message)
    assert len(found) == 1, result.problems
    return found[0]


# --- template --------------------------------------------------------------------------------


def test_template_has_a_frozen_bold_header_and_text_id_and_phone_columns():
    workbook = load_workbook(io.BytesIO(build_template()))
    assert workbook.sheetnames == [SHEET_TITLE, HELP_SHEET_TITLE]
    sheet = workbook[SHEET_TITLE]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:2] == ["姓名", "性别"] and "队伍编号" not in headers
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    for header in ("证件号码", "手机号码"):
        letter = sheet.cell(row=1, column=headers.index(header) + 1).column_letter
        assert sheet[f"{letter}2"].number_format == "@"
        assert sheet[f"{letter}500"].number_format == "@"
        assert sheet.column_dimensions[letter].width >= 15
    assert sheet[f"{sheet.cell(row=1, column=1).column_letter}2"].number_format == "General"


def test_template_for_teams_has_a_team_column_and_a_team_example():
    workbook = load_workbook(io.BytesIO(build_template(team_size=2, locale="en")))
    assert workbook[SHEET_TITLE]["A1"].value == "队伍编号"
    help_rows = list(workbook[HELP_SHEET_TITLE].iter_rows(values_only=True))
    header_index = next(i for i, row in enumerate(help_rows) if row[0] == "队伍编号")
    examples = help_rows[header_index + 1 :]
    assert len(examples) == 2 and {row[0] for row in examples} == {"1"}


def test_template_example_ids_are_valid_and_explained_in_both_languages():
    sheet = load_workbook(io.BytesIO(build_template(team_size=3)))[HELP_SHEET_TITLE]
    rows = list(sheet.iter_rows(values_only=True))
    described = {row[1]: row for row in rows[1:13]}
    assert described["证件号码"][2] == "ID number"
    assert described["证件号码"][4] and described["证件号码"][5]
    header = next(row for row in rows if row[0] == "队伍编号")
    id_column = header.index("证件号码")
    examples = rows[rows.index(header) + 1 :]
    for example in examples:
        info = parse_id_number(example[id_column], today=TODAY)
        assert info.sex == {"男": "M", "女": "F"}[example[header.index("性别")]]


def test_filled_template_round_trips_to_entries():
    data = build_template()
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook[SHEET_TITLE]
    headers = [cell.value for cell in sheet[1]]
    people = [
        {"姓名": "张 三", "证件号码": MAN, "手机号码": "138-1234-5678", "现职业技能等级": "技师"},
        {
            "姓名": "艾尔肯•买买提",
            "性别": "女",
            "证件号码": WOMAN.lower(),
            "手机号码": "020-87654321",
            "参赛单位": UNIT,
            "工作单位/学校": "广州某厂",
            "等级证书编号": "S1234",
            "指导教师": "王五、赵六",
        },
    ]
    for row, person in enumerate(people, start=2):
        for header, value in person.items():
            sheet.cell(row=row, column=headers.index(header) + 1, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = read_rows(buffer.getvalue(), "报名表.xlsx")
    assert [row.row for row in rows] == [2, 3]
    result = validate_rows(rows, context())
    assert result.problems == [] and result.warnings == []
    first, second = result.entries
    assert first == EntryInput(
        unit_name=UNIT,
        members=(
            MemberInput(
                name="张三",
                gender="M",
                id_type=IdType.RESIDENT_ID,
                id_number=MAN,
                birth_date=date(1990, 3, 7),
                phone="13812345678",
                current_grade=int(Grade.L2),
                grade_certificate_no=None,
                employer=None,
                row=2,
            ),
        ),
        coaches=(),
        rows=(2,),
    )
    member = second.members[0]
    assert (member.name, member.gender, member.id_number) == ("艾尔肯·买买提", "F", WOMAN)
    assert (member.phone, member.employer, member.grade_certificate_no) == (
        "020-87654321",
        "广州某厂",
        "S1234",
    )
    assert second.coaches == ("王五", "赵六")


# --- reading ---------------------------------------------------------------------------------

ROWS = [
    ["张三", "男", "居民身份证", MAN, "13812345678", UNIT, "三级/高级工", "王五"],
    ["艾尔肯·买买提", "", "", WOMAN, "13912345678", "", "", ""],
]


@pytest.mark.parametrize(
    "data",
    [
        csv_bytes(ROWS),
        csv_bytes(ROWS, encoding="utf-8-sig"),
        csv_bytes(ROWS, encoding="gbk"),
        csv_bytes(ROWS, encoding="gb18030", delimiter="\t"),
        xlsx(ROWS),
    ],
    ids=["utf-8", "utf-8-bom", "gbk", "gb18030-tab", "xlsx"],
)
def test_csv_encodings_and_xlsx_read_the_same(data):
    filename = "entries.xlsx" if data.startswith(b"PK") else "entries.csv"
    rows = read_rows(data, filename)
    assert [row.values["name"] for row in rows] == ["张三", "艾尔肯·买买提"]
    assert rows[0].values["id_number"] == MAN
    assert rows[0].headers["name"] == "姓名"
    result = validate_rows(rows, context())
    assert result.problems == []
    assert [entry.members[0].gender for entry in result.entries] == ["M", "F"]
    assert result.entries[0].members[0].current_grade == int(Grade.L3)


def test_columns_in_any_order_english_headers_title_rows_and_empty_rows():
    data = xlsx(
        [
            ["ignored", "13812345678", MAN, "张三"],
            [None, None, None, None],
            ["", "13912345678", WOMAN, "李四"],
        ],
        headers=["Remarks", "Phone", "ID number", "name"],
    )
    workbook = load_workbook(io.BytesIO(data))
    workbook[SHEET_TITLE].insert_rows(1)
    workbook[SHEET_TITLE]["A1"] = "2025年广东省职业技能大赛报名表"
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = read_rows(buffer.getvalue(), "x.XLSX")
    assert [row.row for row in rows] == [3, 5]
    assert set(rows[0].values) == {"phone", "id_number", "name"}
    assert validate_rows(rows, context()).problems == []


def test_numbers_typed_into_excel_become_text_without_decimals():
    legacy_as_int = int("440106900307123")
    data = xlsx(
        [["张三", 440106199003071235, 13812345678], ["李四", legacy_as_int, 13912345678.0]],
        headers=["姓名", "证件号码", "手机号码"],
    )
    rows = read_rows(data, "n.xlsx")
    assert rows[0].values["phone"] == "13812345678"
    assert [p.message for p in rows[0].problems] == [ID_LOST_DIGITS]  # 18 digits: a float
    assert rows[1].values == {
        "name": "李四",
        "id_number": "440106900307123",
        "phone": "13912345678",
    }
    assert rows[1].problems == ()


def test_an_id_stored_as_a_float_lost_digits_and_is_reported_masked():
    data = xlsx(
        [["张三", float(MAN[:17] + "0"), "13812345678"], ["李四", WOMAN, "123"]],
        headers=["姓名", "证件号码", "手机号码"],
    )
    rows = read_rows(data, "f.xlsx")
    result = validate_rows(rows, context())
    lost = only(result, ID_LOST_DIGITS)
    assert (lost.row, lost.column) == (2, "证件号码")
    assert MAN[:10] not in (lost.value or "")
    assert only(result, PHONE_BAD).row == 3  # other rows are still checked
    assert result.entries == []


def test_missing_required_headers_are_reported_together():
    with pytest.raises(RegistrationImportError) as info:
        read_rows(csv_bytes([["张三"]], headers=["姓名", "备注"]), "a.csv")
    problems = info.value.problems
    assert [(p.column, p.message) for p in problems] == [
        ("证件号码", MISSING_HEADER),
        ("手机号码", MISSING_HEADER),
    ]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"anything", "entries.xls", FILE_TYPE),
        (b"not a zip", "entries.xlsx", FILE_NOT_XLSX),
        (b"\x80\x81\xff,\xfe\n", "entries.csv", FILE_ENCODING),
        (b"", "entries.csv", MISSING_HEADER),
    ],
)
def test_unreadable_files_are_refused_with_a_problem(data, filename, message):
    with pytest.raises(RegistrationImportError) as info:
        read_rows(data, filename)
    assert info.value.problems[0].message == message
    assert info.value.problems[0].row is None
    result = import_file(data, filename, context())
    assert result.entries == [] and result.problems[0].message == message


def test_a_column_given_twice_is_refused():
    headers = ["姓名", "证件号码", "手机号码", "手机号"]
    with pytest.raises(RegistrationImportError) as info:
        read_rows(csv_bytes([], headers=headers), "a.csv")
    problems = [(p.row, p.column, p.message) for p in info.value.problems]
    assert problems == [(1, "手机号", DUPLICATE_HEADER)]


def test_a_file_with_only_a_header_has_no_rows():
    result = import_file(csv_bytes([]), "a.csv", context())
    assert [p.message for p in result.problems] == [NO_ROWS]


# --- every bad-row reason in one file --------------------------------------------------------


def person(index: int, **changes: str) -> dict[str, str]:
    born = date(1980, 1, 1) + timedelta(days=index)
    values = {
        "姓名": "选手"
        + "甲乙丙丁戊己庚辛壬癸"[index % 10]
        + "子丑寅卯辰巳午未申酉戌亥"[index // 10],
        "性别": "",
        "证件类型": "",
        "证件号码": make_id(born, 101 + 2 * (index % 400)),
        "手机号码": f"138{index:08d}",
        "参赛单位": "",
        "现职业技能等级": "",
        "指导教师": "",
    }
    values.update(changes)
    return values


def table(people: Sequence[dict[str, str]]) -> list[list[str]]:
    return [[p[h] for h in HEADERS] for p in people]


BAD_ROWS = [  # (change, header, message); row = index + 2
    ({"姓名": ""}, "姓名", MISSING),
    ({"姓名": "张三3"}, "姓名", NAME_CHARACTERS),
    ({"证件号码": bad_check(MAN)}, "证件号码", ID_CHECK_DIGIT),
    ({"证件号码": with_check_digit("44010619990230123")}, "证件号码", ID_DATE_IMPOSSIBLE),
    ({"证件号码": with_check_digit("44010620300101123")}, "证件号码", ID_DATE_RANGE),
    ({"证件号码": with_check_digit("99010619900307123")}, "证件号码", PROVINCE_MSG),
    ({"证件号码": "440106900307123"}, "证件号码", LEGACY_MSG),
    ({"性别": "女"}, "性别", GENDER_MISMATCH),
    ({"手机号码": "12345"}, "手机号码", PHONE_BAD),
    ({"手机号码": ""}, "手机号码", MISSING),
    ({"现职业技能等级": "高级"}, "现职业技能等级", GRADE_UNKNOWN),
    ({"参赛单位": "某某公司"}, "参赛单位", UNIT_NOT_YOURS),
    ({"证件号码": make_id(date(1990, 1, 1), 555)}, "证件号码", ALREADY_REGISTERED),
    ({"证件号码": make_id(date(1990, 1, 2), 555)}, "姓名", NAME_CONFLICT),
    ({"指导教师": "王一、王二，王三"}, "指导教师", TOO_MANY_COACHES),
    ({"证件号码": make_id(date(2010, 1, 1), 555)}, "证件号码", TOO_YOUNG),
    ({"证件号码": make_id(date(1960, 1, 1), 555)}, "证件号码", RETIRED),
    ({"证件号码": "４４０１０６１９９０" + MAN[10:]}, "证件号码", ID_FULLWIDTH),
]


def bad_file_result() -> tuple[ImportResult, list[dict[str, str]]]:
    people = [person(index, **change) for index, (change, _, _) in enumerate(BAD_ROWS)]
    people.append(person(90))
    people.append(person(91, 证件号码=people[-1]["证件号码"]))  # the same person again
    ctx = context(
        registered_ids=frozenset({("resident_id", make_id(date(1990, 1, 1), 555))}),
        existing_people={("resident_id", make_id(date(1990, 1, 2), 555)): "别人"},
        fullwidth="reject",
    )
    return validate_rows(read_rows(csv_bytes(table(people)), "bad.csv"), ctx), people


def test_every_bad_row_is_reported_with_its_row_and_column():
    result, _ = bad_file_result()
    assert result.entries == []
    found = {(p.row, p.column, p.message) for p in result.problems}
    for index, (_, header, message) in enumerate(BAD_ROWS):
        assert (index + 2, header, message) in found, (index, message)
    last = len(BAD_ROWS) + 3
    duplicate = only(result, DUPLICATE_IN_FILE)
    assert (duplicate.row, duplicate.params["first_row"]) == (last, last - 1)
    assert only(result, ID_CHECK_DIGIT).params == {"header": "证件号码"}  # no expected digit
    rows_with_problems = {p.row for p in result.problems}
    assert rows_with_problems == set(range(2, last + 1)) - {last - 1}


def test_problems_never_show_a_whole_id_number_or_phone():
    result, people = bad_file_result()
    secrets = {p["证件号码"] for p in people} | {p["手机号码"] for p in people}
    secrets |= {MAN, MAN[:17]}
    for problem in [*result.problems, *result.warnings]:
        shown = repr(problem)
        assert not [s for s in secrets if len(s) >= 11 and s in shown], problem
    phone = only(result, PHONE_BAD)
    assert phone.value == "1***5"  # a short number is masked too
    # The ID in an ineligibility is masked as first 4 + last 4.
    young = only(result, TOO_YOUNG)
    assert young.value is not None and young.value.startswith("4401") and "*" * 10 in young.value


id_like = st.text(alphabet="0123456789Xx０１２３４５６７８９", min_size=6, max_size=20)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(id_like, st.sampled_from(["resident_id", "护照", "港澳居民来往内地通行证"]))
def test_masking_never_reveals_more_than_8_characters_of_an_id(number, id_type):
    row = RawRow(2, {"name": "张三", "id_number": number, "id_type": id_type, "phone": "x"})
    result = validate_rows([row], context(allow_legacy_ids=True))
    half = number.translate({code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)}).upper()
    for problem in [*result.problems, *result.warnings]:
        if problem.column != "证件号码":
            continue
        assert problem.value is None or sum(c != "*" for c in problem.value) <= 8
        for value in problem.params.values():
            text = str(value).upper()
            assert not (len(half) > 8 and text and len(text) > 8 and text in half), problem


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_a_phone_in_a_problem_is_masked(phone):
    row = RawRow(2, {"name": "张三", "id_number": bad_check(MAN), "phone": phone + "9"})
    result = validate_rows([row], context())
    bad = only(result, PHONE_BAD)
    assert phone not in repr(bad)
    assert bad.value == phone[:3] + "*" * 5 + phone[-3:] + "9"


# --- one reason at a time --------------------------------------------------------------------


def test_full_width_digits_are_normalised_with_a_warning():
    fullwidth = MAN[:6].translate({ord(d): 0xFF10 + int(d) for d in "0123456789"}) + MAN[6:]
    result = validate_rows([raw(2, id_number=fullwidth, phone="１３８１２３４５６７８")], context())
    assert result.problems == []
    assert result.entries[0].members[0].id_number == MAN
    assert result.entries[0].members[0].phone == "13812345678"
    assert [w.message for w in result.warnings] == [
        ID_FULLWIDTH_NORMALISED,
        "Full-width digits in the phone number were converted.",
    ]
    refused = validate_rows([raw(2, id_number=fullwidth)], context(fullwidth="reject"))
    assert [p.message for p in refused.problems] == [ID_FULLWIDTH]


def test_legacy_15_digit_ids_are_refused_or_converted_with_a_warning():
    legacy = "440106900307123"
    refused = validate_rows([raw(2, id_number=legacy)], context())
    assert [p.message for p in refused.problems] == [LEGACY_MSG]
    allowed = validate_rows([raw(2, id_number=legacy)], context(allow_legacy_ids=True))
    assert allowed.problems == []
    assert allowed.entries[0].members[0].id_number == with_check_digit("44010619900307123")
    warning = allowed.warnings[0]
    assert (warning.row, warning.column, warning.message) == (2, "证件号码", ID_LEGACY_CONVERTED)


def test_name_rules_come_from_normalise_name():
    rows = [raw(2, name="张" * 51), raw(3, name="\u3000", id_number=WOMAN)]
    result = validate_rows(rows, context())
    assert [(p.row, p.message) for p in result.problems] == [
        (2, "A name has at most %(max)d characters, not %(length)d."),
        (3, NAME_EMPTY_MSG),
    ]


def test_passports_need_gender_and_take_the_birth_date_column():
    rows = [
        raw(2, id_type="护照", id_number="e12345678", gender="女", birth_date="1999/05/06"),
        raw(3, id_type="passport", id_number="E87654321"),
        raw(4, id_type="护照", id_number="E11112222", gender="M", birth_date="2012-01-01"),
    ]
    result = validate_rows(rows, context())
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (3, "性别", MISSING),
        (4, "证件号码", TOO_YOUNG),
    ]
    assert [(w.row, w.message) for w in result.warnings] == [(3, ID_NO_BIRTH_DATE)]
    fine = validate_rows(rows[:1], context())
    member = fine.entries[0].members[0]
    assert (member.id_type, member.id_number) == (IdType.PASSPORT, "E12345678")
    assert (member.gender, member.birth_date) == ("F", date(1999, 5, 6))


def test_a_birth_date_given_for_a_resident_id_must_match_it():
    result = validate_rows([raw(2, birth_date="1990-03-08")], context())
    assert [(p.column, p.message) for p in result.problems] == [("出生日期", BIRTH_DATE_MISMATCH)]
    assert validate_rows([raw(2, birth_date="1990年3月7日")], context()).problems == []


def test_a_unit_contact_may_leave_the_unit_empty_but_not_name_another():
    result = validate_rows([raw(2, unit=""), raw(3, unit=OTHER_UNIT, id_number=WOMAN)], context())
    problem = only(result, UNIT_NOT_YOURS)
    assert (problem.row, problem.params["unit"], problem.params["value"]) == (3, UNIT, OTHER_UNIT)
    ok = validate_rows([raw(2, unit="")], context())
    assert ok.entries[0].unit_name == UNIT


def test_an_organiser_must_name_a_known_unit():
    rows = [
        raw(2, unit=""),
        raw(3, unit="无名单位", id_number=WOMAN),
        raw(4, unit=f" {OTHER_UNIT} "),
    ]
    result = validate_rows(
        [
            *rows[:2],
            replace(rows[2], values={**rows[2].values, "id_number": make_id(date(2012, 1, 1), 1)}),
        ],
        context(**ORGANISER),
    )
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (2, "参赛单位", MISSING),
        (3, "参赛单位", UNIT_UNKNOWN),
        (4, "证件号码", TOO_YOUNG),
    ]
    missing_column = validate_rows([raw(2)], context(**ORGANISER))
    assert [(p.row, p.column, p.message) for p in missing_column.problems] == [
        (None, "参赛单位", MISSING_HEADER)
    ]


def test_known_people_may_be_keyed_by_the_id_type_enum():
    registered = context(registered_ids=frozenset({(IdType.RESIDENT_ID, MAN)}))
    assert [p.message for p in validate_rows([raw(2)], registered).problems] == [ALREADY_REGISTERED]
    same_name = context(existing_people={(IdType.RESIDENT_ID, MAN): "张\u3000三"})
    assert validate_rows([raw(2)], same_name).problems == []  # the same name, normalised


def test_too_many_rows_is_one_problem():
    rows = [raw(n, id_number=make_id(date(1990, 1, 1), n)) for n in range(2, 6)]
    result = validate_rows(rows, context(max_rows=3))
    assert [(p.row, p.message, p.params) for p in result.problems] == [
        (None, TOO_MANY_ROWS, {"count": 4, "limit": 3})
    ]
    assert validate_rows(rows, context(max_rows=4)).problems == []


# --- teams, coaches, quotas ------------------------------------------------------------------


def member_row(number: int, team_no: str, unit: str = UNIT, **values: str) -> RawRow:
    base = {
        "team_no": team_no,
        "name": "选手" + "甲乙丙丁戊己庚辛"[number % 8],
        "id_number": make_id(date(1990, 1, number), 101),
        "phone": f"139{number:08d}",
        "unit": unit,
        "coaches": "",
    }
    return RawRow(number, {**base, **values})


def test_rows_with_the_same_team_number_form_one_entry_lead_first():
    rows = [
        member_row(2, "A", coaches="王老师"),
        member_row(3, "B"),
        member_row(4, "A", coaches="王老师、李老师"),
        member_row(5, "B"),
    ]
    result = validate_rows(rows, context(team_size=2))
    assert result.problems == []
    assert [entry.rows for entry in result.entries] == [(2, 4), (3, 5)]
    assert [m.row for m in result.entries[0].members] == [2, 4]
    assert result.entries[0].coaches == ("王老师", "李老师")


def test_the_same_team_number_in_two_units_is_two_teams():
    rows = [
        member_row(2, "1"),
        member_row(3, "1", unit=OTHER_UNIT),
        member_row(4, "1"),
        member_row(5, "1", unit=OTHER_UNIT),
    ]
    result = validate_rows(rows, context(team_size=2, **ORGANISER))
    assert result.problems == []
    assert [(e.unit_name, e.rows) for e in result.entries] == [(UNIT, (2, 4)), (OTHER_UNIT, (3, 5))]


def test_a_team_with_the_wrong_number_of_members_is_reported_on_its_lead_row():
    rows = [member_row(2, "1"), member_row(3, "2"), member_row(4, "2"), member_row(5, "2")]
    result = validate_rows(rows, context(team_size=2))
    assert result.entries == []
    assert [(p.row, p.column, p.message, p.params) for p in result.problems] == [
        (
            2,
            "队伍编号",
            WRONG_TEAM_SIZE,
            {"header": "队伍编号", "team_no": "1", "expected": 2, "size": 1},
        ),
        (
            3,
            "队伍编号",
            WRONG_TEAM_SIZE,
            {"header": "队伍编号", "team_no": "2", "expected": 2, "size": 3},
        ),
    ]


def test_coaches_are_counted_per_entry():
    rows = [member_row(2, "1", coaches="王一, 王二"), member_row(3, "1", coaches="王三")]
    result = validate_rows(rows, context(team_size=2))
    problem = only(result, TOO_MANY_COACHES)
    assert (problem.row, problem.params["count"], problem.params["limit"]) == (3, 3, 2)
    assert validate_rows(rows, context(team_size=2, max_coaches=3)).problems == []


def test_quota_counts_entries_already_registered_and_new():
    rows = [member_row(n, "") for n in (2, 3, 4)]
    ctx = context(quotas={UNIT: 3}, already_registered={UNIT: 1})
    result = validate_rows(rows, ctx)
    problem = only(result, OVER_QUOTA)
    assert problem.row == 4  # the first entry beyond the quota
    assert problem.params == {
        "header": "参赛单位",
        "unit": UNIT,
        "quota": 3,
        "existing": 1,
        "new": 3,
        "total": 4,
    }
    assert validate_rows(rows[:2], ctx).problems == []
    team_rows = [member_row(n, "T") for n in (2, 3)]
    teams = validate_rows(team_rows, context(team_size=2, quotas={UNIT: 1}))
    assert teams.problems == []  # a team is one entry


# --- speed -----------------------------------------------------------------------------------


def test_5000_rows_validate_quickly():
    rows = [
        [
            f"选手{index}号".translate(str.maketrans("0123456789", "零一二三四五六七八九")),
            "",
            "",
            make_id(date(1975, 1, 1) + timedelta(days=index), 101 + 2 * (index % 5)),
            f"138{index:08d}",
            "",
            "三级",
            "王老师",
        ]
        for index in range(5000)
    ]
    data = csv_bytes(rows)
    started = time.perf_counter()
    result = validate_rows(read_rows(data, "big.csv"), context())
    elapsed = time.perf_counter() - started
    assert result.problems == []
    assert len(result.entries) == 5000
    assert elapsed < 5, elapsed


def test_the_group_column_must_match_the_events_group():
    from compete.blueprints.registration.importer import GROUP_UNKNOWN
    from compete.domain.eligibility import WRONG_GROUP

    rules = EligibilityRules.from_params({}, group="employee", age_ref_date=date(2026, 12, 1))
    ctx = ImportContext(
        today=date(2026, 11, 23),
        eligibility=rules,
        unit_names=frozenset({"甲单位"}),
        default_unit="甲单位",
        quotas={"甲单位": 10},
    )
    rows = [
        RawRow(
            row=2,
            values={
                "name": "张三",
                "id_number": with_check_digit("44010619900307123"),
                "phone": "13800138000",
                "group": "学生",
            },
        ),
        RawRow(
            row=3,
            values={
                "name": "李四",
                "id_number": with_check_digit("44010619910307123"),
                "phone": "13800138001",
                "group": "外星人",
            },
        ),
        RawRow(
            row=4,
            values={
                "name": "王五",
                "id_number": with_check_digit("44010619920307123"),
                "phone": "13800138002",
                "group": "在职职工",
            },
        ),
    ]
    result = validate_rows(rows, ctx)
    assert [(p.row, p.message) for p in result.problems] == [(2, WRONG_GROUP), (3, GROUP_UNKNOWN)]
