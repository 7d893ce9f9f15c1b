"""The judge pool (裁判库) by file: the blank template, reading .xlsx/.csv, all-or-nothing.

The workbook has one data sheet, 裁判库, with one header row and one row per judge, and a
sheet 说明 explaining each column in Chinese and English with an example. Every row passes the
same checks as the pool form (``pool.check_judge``); any problem in any row and nothing is
added, and every problem is reported with its row, column, value (ID numbers and phones
masked) and reason. The Chinese headers are the file format, not interface text.

Reading the file (xlsx or CSV in UTF-8 or GBK) reuses the registration importer's readers.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.errors import InvalidInput
from ...domain.grades import parse_grade
from ...domain.idnumber import mask_id_number, with_check_digit
from ...domain.people import mask_phone
from ...extensions import db
from ...models import Unit
from ..registration.importer import (
    _ID_MESSAGES,
    FILE_TOO_LARGE,
    FILE_TYPE,
    MAX_FILE_BYTES,
    MIME_TYPE,
    RegistrationImportError,
    RowProblem,
    _cell_text,
    _csv_rows,
    _masked_params,
    _xlsx_rows,
)
from . import pool

SHEET_TITLE = "裁判库"
HELP_SHEET_TITLE = "说明"
HEADER_SEARCH_ROWS = 10
TEMPLATE_TEXT_ROWS = 500
MAX_ROWS = 2000
MAX_TEXT = 200

__all__ = ["MIME_TYPE", "PoolImportRejected", "build_template", "import_judges", "read_file"]

MISSING_HEADER = N_("The header row has no column %(header)s.")
DUPLICATE_HEADER = N_("The column %(header)s appears twice in the header row.")
NO_ROWS = N_("The file has no data rows.")
TOO_MANY_ROWS = N_("The file has %(count)s rows; at most %(limit)s can be imported at once.")
MISSING = N_("%(header)s must be filled in.")
UNIT_UNKNOWN = N_("%(value)s is not a unit on file.")
GRADE_UNKNOWN = N_("%(value)s is not a known skill grade.")
YES_NO = N_("%(value)s is not yes or no; write 是 or 否.")
YEARS_BAD = N_("%(value)s is not a whole number of years.")
TOO_LONG = N_("%(header)s may be at most %(limit)s characters long, not %(length)s.")
DUPLICATE_IN_FILE = N_("This ID number is already in row %(first_row)s of the file.")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    english: str
    required: bool
    width: int
    help_zh: str
    help_en: str
    aliases: tuple[str, ...] = ()
    text: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", "Name", True, 12, "裁判姓名。", "The judge's name.", ("name",)),
    Column(
        "id_number",
        "身份证号码",
        "ID number",
        True,
        22,
        "18 位居民身份证号码，末位可以是 X；请保持本列为文本格式。",
        "The 18-character resident ID number; keep the column formatted as text.",
        ("证件号码", "身份证号", "id_number", "id number"),
        text=True,
    ),
    Column(
        "phone",
        "手机号码",
        "Mobile phone",
        False,
        15,
        "联系电话，可留空。",
        "A contact number; may be left empty.",
        ("手机号", "联系电话", "phone", "mobile"),
        text=True,
    ),
    Column(
        "unit",
        "推荐单位",
        "Unit",
        False,
        24,
        "推荐该裁判的单位全称，须为系统中已有的单位；可留空。",
        "The nominating unit's full name as on file; may be left empty.",
        ("单位", "所在单位", "unit"),
    ),
    Column(
        "employer",
        "工作单位",
        "Employer",
        False,
        24,
        "裁判的工作单位，可留空。",
        "Where the judge works; may be left empty.",
        ("employer",),
    ),
    Column(
        "occupations",
        "执裁职业（工种）",
        "Occupations",
        True,
        20,
        "可执裁的职业（工种），多个用顿号“、”或逗号分隔。",
        "Occupations the judge may judge, separated by 、 or commas.",
        ("职业（工种）", "职业", "工种", "occupations", "occupation"),
    ),
    Column(
        "grade",
        "职业技能等级",
        "Skill grade",
        False,
        16,
        "如 二级/技师、一级/高级技师；没有可留空。",
        "E.g. 二级/技师 (L2) or 一级/高级技师 (L1); leave empty if none.",
        ("技能等级", "grade", "skill grade"),
    ),
    Column(
        "title",
        "职称",
        "Professional title",
        False,
        10,
        "初级、中级、副高 或 正高；没有可留空。",
        "初级, 中级, 副高 or 正高; leave empty if none.",
        ("专业技术职称", "title"),
    ),
    Column(
        "is_assessor",
        "考评员",
        "Assessor",
        False,
        8,
        "持有考评员/裁判员证书填“是”，否则填“否”或留空。",
        "是 (yes) if the judge holds an assessor or referee certificate, else 否 or empty.",
        ("是否考评员", "assessor"),
    ),
    Column(
        "certificate_no",
        "证书编号",
        "Certificate no.",
        False,
        20,
        "考评员/裁判员证书编号，可留空。",
        "The assessor or referee certificate number; may be left empty.",
        ("考评员证书编号", "certificate_no", "certificate no"),
        text=True,
    ),
    Column(
        "years",
        "从业年限",
        "Years in the occupation",
        False,
        10,
        "在本职业的工作年限（整数）；未知可留空，导入后会提示核实。",
        "Whole years in the occupation; leave empty if unknown (a warning asks to check it).",
        ("工作年限", "years"),
    ),
)
COLUMN = {c.key: c for c in COLUMNS}
REQUIRED = tuple(c.key for c in COLUMNS if c.required)
FIELD_COLUMN = {  # pool.check_judge's field names → the column reporting them
    "name": "name",
    "id_number": "id_number",
    "unit_id": "unit",
    "occupations": "occupations",
    "years": "years",
    "grade": "grade",
    "title": "title",
}
YES = {"是", "y", "yes", "1", "true", "√", "✓", "有"}
NO = {"否", "n", "no", "0", "false", "×", "无", ""}
TITLE_SPELLINGS = {"副高级": "副高", "正高级": "正高", "中级职称": "中级", "初级职称": "初级"}
EXAMPLE = (
    "李建国",
    with_check_digit("44010619750307123"),
    "13800138000",
    "广东省机械技师学院",
    "广州某电力工程有限公司",
    "电工、电气设备安装工",
    "一级/高级技师",
    "副高",
    "是",
    "KP2020-0456",
    "20",
)


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    for mark in ("(必填)", "(选填)", "*", " ", "_", ".", "\u3000"):
        text = text.replace(mark, "")
    return text


_HEADERS: Mapping[str, str] = {
    _key(spelling): c.key for c in COLUMNS for spelling in (c.header, c.english, c.key, *c.aliases)
}


class PoolImportRejected(InvalidInput):
    """Nothing imported: ``problems`` says why (every row and column)."""

    message = N_("The file has %(count)s problems; nothing was imported.")

    def __init__(self, problems: list[RowProblem], warnings: Sequence[RowProblem] = ()) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings)
        super().__init__(field="file", count=len(self.problems))


@dataclass(frozen=True)
class RawRow:
    row: int
    values: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportOutcome:
    judges: int
    warnings: list[RowProblem]


# ---------------------------------------------------------------- template


def build_template() -> bytes:
    """The blank pool workbook: bold frozen headers with notes, text columns, a help sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    bold, fill = Font(bold=True), PatternFill("solid", start_color="DDEBF7")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center")
        cell.comment = Comment(f"{column.help_zh}\n{column.english}: {column.help_en}", "compete")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.text:
            for row in range(2, 2 + TEMPLATE_TEXT_ROWS):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    help_sheet = workbook.create_sheet(HELP_SHEET_TITLE)
    help_sheet.append(["表头 Header", "English", "必填 Required", "说明", "Notes"])
    for column in COLUMNS:
        help_sheet.append(
            [
                column.header,
                column.english,
                "是 yes" if column.required else "否 no",
                column.help_zh,
                column.help_en,
            ]
        )
    help_sheet.append([])
    help_sheet.append(["每位裁判一行。导入时有任何错误则全部不导入，并列出每个错误的行和列。"])
    help_sheet.append(
        [
            "One row per judge. If anything is wrong nothing is imported, and every problem is "
            "listed with its row and column."
        ]
    )
    help_sheet.append(["资格：技师及以上、中级及以上职称或考评员，三者之一；并满足从业年限要求。"])
    help_sheet.append(
        [
            "Qualification: grade 技师 or above, a 中级 title or above, or 考评员; and the years "
            "in the occupation the rules ask for."
        ]
    )
    help_sheet.append([])
    help_sheet.append(["示例 Example"])
    help_sheet.append([c.header for c in COLUMNS])
    help_sheet.append(list(EXAMPLE))
    for cell in help_sheet[1]:
        cell.font = bold
    for letter, width in zip("ABCDE", (18, 22, 12, 60, 70), strict=True):
        help_sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- reading


def read_file(data: bytes, filename: str) -> list[RawRow]:
    """The data rows of an uploaded .xlsx or .csv, or PoolImportRejected (file problems)."""
    try:
        if len(data) > MAX_FILE_BYTES:
            raise RegistrationImportError(
                [RowProblem(None, None, None, FILE_TOO_LARGE, {"limit": MAX_FILE_BYTES >> 20})]
            )
        suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if suffix == "xlsx":
            rows = _xlsx_rows(data)  # the first sheet: 裁判库 in the template
        elif suffix == "csv":
            rows = _csv_rows(data)
        else:
            raise RegistrationImportError(
                [RowProblem(None, None, None, FILE_TYPE, {"name": filename[-60:]})]
            )
        return _table(rows)
    except RegistrationImportError as exc:
        raise PoolImportRejected(list(exc.problems)) from None


def _table(rows: Iterator[tuple[int, Sequence[object]]]) -> list[RawRow]:
    located: dict[str, tuple[int, str]] | None = None
    searched = 0
    for number, values in rows:
        if all(_cell_text(v) == "" for v in values):
            continue
        searched += 1
        located = _locate(number, values)
        if located is not None or searched >= HEADER_SEARCH_ROWS:
            break
    missing = [COLUMN[k] for k in REQUIRED if located is None or k not in located]
    if located is None or missing:
        raise PoolImportRejected(
            [
                RowProblem(None, c.header, None, MISSING_HEADER, {"header": c.header})
                for c in missing
            ]
        )
    headers = {key: header for key, (_i, header) in located.items()}
    found = []
    for number, values in rows:
        texts = {
            key: _cell_text(values[index] if index < len(values) else None)
            for key, (index, _h) in located.items()
        }
        if any(texts.values()):
            found.append(RawRow(number, texts, headers))
    return found


def _locate(number: int, values: Sequence[object]) -> dict[str, tuple[int, str]] | None:
    located: dict[str, tuple[int, str]] = {}
    duplicates = []
    for index, value in enumerate(values):
        header = _cell_text(value)
        key = _HEADERS.get(_key(header)) if header else None
        if key is None:
            continue
        if key in located:
            duplicates.append(
                RowProblem(number, header, None, DUPLICATE_HEADER, {"header": header})
            )
            continue
        located[key] = (index, header)
    if duplicates:
        raise PoolImportRejected(duplicates)
    return located or None


# ---------------------------------------------------------------- checking and storing


def _shown(key: str, value: str) -> str | None:
    """The cell as a report shows it: ID numbers and phones masked, long text shortened."""
    if not value:
        return None
    if key == "id_number":
        return mask_id_number(value)
    if key == "phone":
        return mask_phone(value) if len(value) >= 7 else "*" * len(value)
    return value if len(value) <= 60 else value[:59] + "…"


def validate_rows(
    rows: Sequence[RawRow],
    *,
    min_years: int,
    today: date,
    units: Mapping[str, int],
    pool_ids: set[str],
) -> tuple[list[pool.CheckedJudge], list[RowProblem], list[RowProblem]]:
    """Every row through ``pool.check_judge`` plus the file's own checks; all problems."""
    if not rows:
        return [], [RowProblem(None, None, None, NO_ROWS)], []
    if len(rows) > MAX_ROWS:
        problem = RowProblem(
            None, None, None, TOO_MANY_ROWS, {"count": len(rows), "limit": MAX_ROWS}
        )
        return [], [problem], []
    units_by_key = {_key(name): unit_id for name, unit_id in units.items()}
    checked: list[pool.CheckedJudge] = []
    problems: list[RowProblem] = []
    warnings: list[RowProblem] = []
    first_row: dict[str, int] = {}
    for row in rows:
        values = row.values

        def add(key: str, message: str, row=row, values=values, **params: Any) -> None:
            header = row.headers.get(key) or COLUMN[key].header
            params.setdefault("header", header)
            problems.append(
                RowProblem(row.row, header, _shown(key, values.get(key, "")), message, params)
            )

        before = len(problems)
        for key in REQUIRED:
            if not values.get(key):
                add(key, MISSING)
        for key in ("name", "phone", "employer", "certificate_no", "unit"):
            if len(values.get(key, "")) > MAX_TEXT:
                add(key, TOO_LONG, limit=MAX_TEXT, length=len(values[key]))
        unit_id = None
        if values.get("unit"):
            unit_id = units_by_key.get(_key(values["unit"]))
            if unit_id is None:
                add("unit", UNIT_UNKNOWN, value=values["unit"][:60])
        grade = None
        if values.get("grade"):
            try:
                grade = int(parse_grade(values["grade"]))
            except InvalidInput:
                add("grade", GRADE_UNKNOWN, value=values["grade"][:60])
        assessor_text = _key(values.get("is_assessor", ""))
        if assessor_text not in YES | NO:
            add("is_assessor", YES_NO, value=values["is_assessor"][:20])
        years = None
        if values.get("years"):
            text = values["years"].removesuffix("年")
            if text.isdigit():
                years = int(text)
            else:
                add("years", YEARS_BAD, value=values["years"][:20])
        title = values.get("title", "")
        title = TITLE_SPELLINGS.get(title, title)
        data = pool.JudgeInput(
            name=values.get("name", ""),
            id_number=values.get("id_number", ""),
            occupations=pool.split_occupations(values.get("occupations", "")),
            phone=values.get("phone", ""),
            unit_id=unit_id,
            grade=grade,
            title=title,
            is_assessor=assessor_text in YES,
            years=years,
            certificate_no=values.get("certificate_no", "")[:50],
            employer=values.get("employer", "")[:200],
        )
        result = pool.check_judge(
            data,
            min_years=min_years,
            today=today,
            pool_ids=pool_ids,
            unit_ids=set(units.values()),
        )
        reported = {(p.column, p.message) for p in problems[before:]}
        for exc in result.problems:
            key = FIELD_COLUMN.get(exc.field or "", "name")
            if key in REQUIRED and not values.get(key):
                continue  # already reported as missing
            header = row.headers.get(key) or COLUMN[key].header
            message, params = exc.message, exc.params
            if key == "id_number":  # never a fragment of the number in the report
                message = _ID_MESSAGES.get(exc.message, exc.message)
                params = {} if message != exc.message else _masked_params(params, data.id_number)
            if (header, message) in reported:
                continue
            add(key, message, **params)
        if result.info is not None:
            number = result.info.number
            first = first_row.setdefault(number, row.row)
            if first != row.row:
                add("id_number", DUPLICATE_IN_FILE, first_row=first)
        for warning in result.qualification.warnings:
            header = row.headers.get("years") or COLUMN["years"].header
            warnings.append(RowProblem(row.row, header, None, warning, {}))
        if len(problems) == before:
            checked.append(result)
    if problems:
        return [], problems, warnings
    return checked, [], warnings


def import_judges(
    actor, *, data: bytes, filename: str, min_years: int, today: date
) -> ImportOutcome:
    """Add every judge of the file to the pool, or none: PoolImportRejected lists why."""
    rows = read_file(data, filename)
    units = dict(db.session.execute(select(Unit.name, Unit.id)).all())
    checked, problems, warnings = validate_rows(
        rows, min_years=min_years, today=today, units=units, pool_ids=pool.pool_id_numbers()
    )
    if problems:
        raise PoolImportRejected(problems, warnings)
    for judge in checked:
        pool.store_judge(actor, judge, action="judge.imported", file=filename[-100:])
    audit.record(actor, "judges.imported", None, after={"count": len(checked), "file": filename})
    db.session.flush()
    return ImportOutcome(len(checked), warnings)


def problem_rows(problems: Sequence[RowProblem], translate) -> list[dict]:
    """Rows for the report table: row, column, value and the reason in the user's language."""
    return [
        {
            "row": p.row,
            "column": p.column,
            "value": p.value,
            "message": translate(p.message, **p.params),
        }
        for p in problems
    ]
