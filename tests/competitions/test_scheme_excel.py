"""The 评分标准 workbook: template, export, and all-or-nothing import."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook

from compete.blueprints.competitions.scheme_excel import (
    HELP_SHEET_TITLE,
    MAX_DATA_ROWS,
    SHEET_TITLE,
    CellProblem,
    SchemeImportError,
    build_workbook,
    parse_workbook,
)
from compete.domain.aggregation import Aggregation
from compete.domain.errors import InvalidInput
from compete.domain.scheme import AspectKind, CriterionSpec, ModuleSpec, SchemeSpec

D = Decimal
HEADERS = [
    "模块代码",
    "模块名称",
    "评分项代码",
    "评分项描述",
    "类型",
    "满分",
    "步长",
    "裁判人数",
    "汇总方式",
    "允许分差",
    "双人录入",
]


def make_xlsx(rows, *, header=HEADERS, title=SHEET_TITLE) -> bytes:
    """A workbook written directly with openpyxl, independent of build_workbook."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def row(
    code="A1",
    *,
    module="A",
    name="焊接",
    kind="测量",
    max_mark=100,
    step="0.5",
    judges=3,
    aggregation="平均",
    tolerance=None,
    double="否",
    description="焊缝尺寸",
):
    return [
        module,
        name,
        code,
        description,
        kind,
        max_mark,
        step,
        judges,
        aggregation,
        tolerance,
        double,
    ]


def problems_of(data: bytes, **kwargs) -> list[CellProblem]:
    with pytest.raises(SchemeImportError) as caught:
        parse_workbook(data, **kwargs)
    return caught.value.problems


def where(problems: list[CellProblem]) -> set[tuple[int | None, str | None, str]]:
    return {(p.row, p.column, p.message) for p in problems}


SPEC = SchemeSpec(
    modules=(
        ModuleSpec(
            "B",
            "焊接",
            (
                CriterionSpec(
                    "B1", D("40"), D("0.5"), AspectKind.JUDGEMENT, Aggregation.MEAN, 3, D("1.5")
                ),
                CriterionSpec("B2", D("20.25"), D("0.25"), aggregation=Aggregation.MEDIAN),
            ),
        ),
        ModuleSpec(
            "A",
            "装配",
            (
                CriterionSpec(
                    "A1",
                    D("39.75"),
                    D("0.01"),
                    judges=1,
                    aggregation=Aggregation.SUM,
                    tolerance=D(0),
                ),
            ),
        ),
    )
)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_round_trip_keeps_spec_descriptions_and_double_entry(locale):
    data = build_workbook(
        SPEC, locale=locale, descriptions={"B1": "外观质量", "A1": "装配精度"}, double_entry={"B2"}
    )

    parsed = parse_workbook(data)

    assert parsed.spec == SPEC
    assert [m.code for m in parsed.spec.modules] == ["B", "A"]
    assert parsed.descriptions == {"B1": "外观质量", "A1": "装配精度"}
    assert parsed.double_entry == frozenset({"B2"})
    assert parsed.module_names == {"B": "焊接", "A": "装配"}


def test_export_writes_one_row_per_criterion_in_chinese_by_default():
    sheet = load_workbook(BytesIO(build_workbook(SPEC, double_entry={"A1"})))[SHEET_TITLE]

    rows = list(sheet.iter_rows(values_only=True))

    assert list(rows[0]) == HEADERS
    assert [r[:3] for r in rows[1:]] == [
        ("B", "焊接", "B1"),
        ("B", "焊接", "B2"),
        ("A", "装配", "A1"),
    ]
    assert [r[4] for r in rows[1:]] == ["评价", "测量", "测量"]
    assert [r[8] for r in rows[1:]] == ["平均", "中位数", "求和"]
    assert [r[10] for r in rows[1:]] == ["否", "否", "是"]


def test_template_has_one_bold_frozen_header_dropdowns_and_a_help_sheet():
    workbook = load_workbook(BytesIO(build_workbook(None)))

    assert workbook.sheetnames == [SHEET_TITLE, HELP_SHEET_TITLE]
    sheet = workbook[SHEET_TITLE]
    assert sheet.max_row == 1
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["D"].width > sheet.column_dimensions["A"].width
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists["E2"] == '"测量,评价"'
    assert lists["I2"] == '"去掉最高最低分后平均,平均,中位数,求和"'
    help_text = " ".join(
        str(value) for r in workbook[HELP_SHEET_TITLE].iter_rows(values_only=True) for value in r
    )
    for header in HEADERS:
        assert header in help_text
    assert "Max mark" in help_text


def test_empty_template_is_refused_for_having_no_data_rows():
    problems = problems_of(build_workbook(None))

    assert where(problems) == {(None, None, "The sheet has no data rows.")}


def test_every_bad_cell_is_reported_with_its_row_and_column_in_one_error():
    data = make_xlsx(
        [
            row("A1", max_mark=10),  # row 2, fine
            row("A2", max_mark="ten"),  # F3
            row("A3", max_mark=10, step=0),  # G4
            [None] * 11,  # row 5, empty, ignored
            row("A4", max_mark=10, judges=2.5),  # H6
            row("A5", max_mark=10, kind="大概"),  # E7
            row("A6", max_mark=10, aggregation="最大值"),  # I8
            row("A7", max_mark=10, name=None),  # B9
            row("A1", max_mark=10),  # C10: duplicate of row 2
            row("A8", max_mark=10, name="装配"),  # B11: module A is 焊接 in row 2
            row("A9", max_mark=10, step=3),  # G12: 3 does not divide 10
            row("A" * 21, max_mark=10, tolerance=-1),  # C13 too long, J13 negative
        ]
    )

    with pytest.raises(SchemeImportError) as caught:
        parse_workbook(data)

    problems = caught.value.problems
    assert {(p.row, p.column) for p in problems} == {
        (3, "F"),
        (4, "G"),
        (6, "H"),
        (7, "E"),
        (8, "I"),
        (9, "B"),
        (10, "C"),
        (11, "B"),
        (12, "G"),
        (13, "C"),
        (13, "J"),
    }
    assert len(problems) == 11
    assert caught.value.params == {"count": 11}
    duplicate = next(p for p in problems if p.cell == "C10")
    assert duplicate.params["first_row"] == 2
    conflict = next(p for p in problems if p.cell == "B11")
    assert conflict.params["first_row"] == 2
    assert conflict.params["first_name"] == "焊接"
    assert next(p for p in problems if p.cell == "F3").value == "ten"
    assert next(p for p in problems if p.cell == "B9").header == "模块名称"


def test_every_problem_message_formats_with_its_params():
    data = make_xlsx(
        [
            row(
                "A1",
                max_mark="1.234",
                step=-1,
                judges=0,
                kind="x",
                aggregation="y",
                double="maybe",
                tolerance="abc",
            ),
            row("A2", max_mark=True, module="M" * 21),
        ]
    )

    problems = problems_of(data)

    assert len(problems) >= 9
    for problem in problems:
        text = problem.message % problem.params
        assert "%(" not in text


def test_a_total_of_99_is_refused_naming_the_total():
    data = make_xlsx([row("A1", max_mark=60), row("A2", max_mark="39")])

    problems = problems_of(data)

    assert len(problems) == 1
    assert problems[0].row is None
    assert problems[0].params["actual"] == "99"
    assert problems[0].params["expected"] == "100"


def test_another_total_can_be_required():
    parsed = parse_workbook(make_xlsx([row("A1", max_mark=30)]), total=D(30))

    assert parsed.spec.max_mark == D(30)


@pytest.mark.parametrize(
    "data",
    [b"", b"name,max\nA1,100\n", b"PK\x03\x04 truncated", "zip"],
    ids=["empty", "csv", "broken zip", "zip without a workbook"],
)
def test_bytes_that_are_not_an_xlsx_workbook_are_refused(data):
    if data == "zip":
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "not a workbook")
        data = buffer.getvalue()

    problems = problems_of(data)

    assert len(problems) == 1
    assert problems[0].row is None
    assert "Excel" in problems[0].message


def test_a_missing_sheet_is_named():
    problems = problems_of(make_xlsx([row()], title="Sheet1"))

    assert [p.params for p in problems] == [{"sheet": SHEET_TITLE}]


def test_each_missing_header_is_named():
    header = [h for h in HEADERS if h not in ("满分", "汇总方式")]

    problems = problems_of(make_xlsx([], header=header))

    assert {p.header for p in problems} == {"满分", "汇总方式"}
    assert all(p.message == "The header row has no column %(header)s." for p in problems)


def test_optional_columns_may_be_left_out_and_columns_reordered():
    header = ["满分", "步长", "裁判人数", "汇总方式", "类型", "评分项代码", "模块名称", "模块代码"]

    parsed = parse_workbook(
        make_xlsx([[100, 1, 5, "平均", "评价", "X1", "综合", "X"]], header=header)
    )

    assert parsed.spec == SchemeSpec(
        (
            ModuleSpec(
                "X",
                "综合",
                (CriterionSpec("X1", D(100), D(1), AspectKind.JUDGEMENT, Aggregation.MEAN, 5),),
            ),
        )
    )
    assert parsed.descriptions == {}
    assert parsed.double_entry == frozenset()


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("测量", AspectKind.MEASUREMENT),
        ("客观", AspectKind.MEASUREMENT),
        ("measurement", AspectKind.MEASUREMENT),
        (" Measurement ", AspectKind.MEASUREMENT),
        ("评价", AspectKind.JUDGEMENT),
        ("主观", AspectKind.JUDGEMENT),
        ("judgement", AspectKind.JUDGEMENT),
    ],
)
def test_kind_is_accepted_in_chinese_and_english(spelling, kind):
    parsed = parse_workbook(make_xlsx([row(kind=spelling)]))

    assert parsed.spec.criterion("A1").kind is kind


@pytest.mark.parametrize(
    ("spelling", "method"),
    [
        ("去掉最高最低分后平均", Aggregation.TRIMMED_MEAN),
        ("trimmed_mean", Aggregation.TRIMMED_MEAN),
        ("平均", Aggregation.MEAN),
        ("mean", Aggregation.MEAN),
        ("中位数", Aggregation.MEDIAN),
        ("MEDIAN", Aggregation.MEDIAN),
        ("求和", Aggregation.SUM),
        ("sum", Aggregation.SUM),
    ],
)
def test_aggregation_is_accepted_in_chinese_and_english(spelling, method):
    parsed = parse_workbook(make_xlsx([row(aggregation=spelling)]))

    assert parsed.spec.criterion("A1").aggregation is method


def test_full_width_digits_are_read_as_numbers():
    data = make_xlsx(
        [
            row("Ａ１", max_mark="６０．５", step="０．５", judges="５", tolerance="１．２５"),
            row("A2", max_mark=" 39.5 ", step="0.5", judges="3"),
        ]
    )

    criterion = parse_workbook(data).spec.criterion("A1")

    assert criterion.max_mark == D("60.5")
    assert criterion.step == D("0.5")
    assert criterion.judges == 5
    assert criterion.tolerance == D("1.25")


def test_numbers_with_more_than_two_decimals_are_refused():
    data = make_xlsx([row("A1", max_mark=99.995, step=0.005), row("A2", max_mark="0.005")])

    problems = problems_of(data)

    assert {p.cell for p in problems} == {"F2", "G2", "F3"}
    assert {p.params["value"] for p in problems} == {"99.995", "0.005"}


def test_exact_decimals_survive_float_cells():
    data = make_xlsx([row("A1", max_mark=0.1, step=0.1), row("A2", max_mark=99.9, step=0.1)])

    spec = parse_workbook(data).spec

    assert spec.max_mark == D(100)
    assert spec.criterion("A1").max_mark == D("0.1")


def test_modules_keep_first_appearance_order_and_criteria_row_order():
    data = make_xlsx(
        [
            row("B1", module="B", name="乙", max_mark=25),
            row("A1", module="A", name="甲", max_mark=25),
            [],
            row("B2", module="B", name="乙", max_mark=25),
            row("A2", module="A", name="甲", max_mark=25),
        ]
    )

    spec = parse_workbook(data).spec

    assert [(m.code, [c.code for c in m.criteria]) for m in spec.modules] == [
        ("B", ["B1", "B2"]),
        ("A", ["A1", "A2"]),
    ]


def test_more_than_2000_data_rows_are_refused():
    rows = [row(f"C{n}", max_mark="0.01", step="0.01") for n in range(MAX_DATA_ROWS + 1)]

    problems = problems_of(make_xlsx(rows))

    assert [(p.row, p.params) for p in problems] == [(None, {"limit": MAX_DATA_ROWS})]


def test_double_entry_refuses_unknown_answers_and_accepts_yes():
    assert parse_workbook(make_xlsx([row(double="是")])).double_entry == frozenset({"A1"})
    assert parse_workbook(make_xlsx([row(double="yes")])).double_entry == frozenset({"A1"})

    problems = problems_of(make_xlsx([row(double="也许")]))

    assert [p.cell for p in problems] == ["K2"]


def test_import_error_is_invalid_input_with_a_count():
    with pytest.raises(InvalidInput) as caught:
        parse_workbook(b"nope")

    assert caught.value.message == (
        "The marking scheme file has %(count)s problems; nothing was imported."
    )
    assert caught.value.params == {"count": 1}
