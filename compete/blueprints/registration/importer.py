"""Registration (报名) by file: the blank template, reading .xlsx/.csv, all-or-nothing checks.

The workbook has one data sheet, 报名表, with one header row and one row per contestant. Rows
with the same 队伍编号 (team number) in the same unit form one team entry; the first such row is
the lead (主选手). A second sheet, 说明, explains each column in Chinese and English and shows
an example. A CSV file has the same columns; it may be UTF-8 (with or without BOM) or
GBK/GB18030, as Excel for Chinese Windows saves it.

The Chinese headers and value labels are the file format that units fill in, not interface
text, so they live here as data; English headers are accepted too. Every message is an English
msgid (``N_``) for the web layer to translate.

Nothing here touches Flask or the database: :func:`read_rows` turns bytes into rows,
:func:`validate_rows` checks them against plain values in an :class:`ImportContext` and reports
*every* problem with its row and column. Import is all or nothing: with any problem there are
no entries. ID numbers and phones in a report are always masked.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ...domain import N_
from ...domain.eligibility import (
    DUPLICATE_MEMBER,
    EligibilityRules,
    MemberFacts,
    check_member,
    check_team,
)
from ...domain.errors import InvalidInput
from ...domain.grades import Grade, parse_grade
from ...domain.idnumber import (
    CONVERTED_FROM_15,
    EARLIEST_BIRTH,
    IdNumberInfo,
    IdType,
    mask_id_number,
    parse_id_number,
    with_check_digit,
)
from ...domain.people import mask_phone, normalise_name, normalise_phone

SHEET_TITLE = "报名表"
HELP_SHEET_TITLE = "说明"
HEADER_ROW = 1
HEADER_SEARCH_ROWS = 10  # a title line or two above the header row is tolerated
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_READ_ROWS = 100_000  # a hard bound on reading; ImportContext.max_rows is the event's limit
TEMPLATE_TEXT_ROWS = 1000  # rows pre-formatted as text in the template
MAX_TEXT_LENGTH = 200
MAX_CERTIFICATE_LENGTH = 50
EXACT_FLOAT_LIMIT = 10**15  # Excel keeps 15 significant digits; above this a number lost some
MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- messages -----------------------------------------------------------------------------

FILE_TOO_LARGE = N_("The file is larger than %(limit)s MB.")
FILE_TYPE = N_("Upload an Excel workbook (.xlsx) or a CSV file (.csv), not %(name)s.")
FILE_NOT_XLSX = N_("The file is not an Excel workbook (.xlsx).")
FILE_DAMAGED = N_("The file could not be read; it may be damaged.")
FILE_ENCODING = N_("The CSV file is neither UTF-8 nor GBK text; save it again as CSV UTF-8.")
FILE_CSV = N_("The CSV file could not be read: %(error)s.")
FILE_READ_LIMIT = N_("The file has more than %(limit)s rows.")
MISSING_HEADER = N_("The header row has no column %(header)s.")
DUPLICATE_HEADER = N_("The column %(header)s appears twice in the header row.")
NO_ROWS = N_("The file has no data rows.")
TOO_MANY_ROWS = N_("The file has %(count)s rows; at most %(limit)s can be imported at once.")

MISSING = N_("%(header)s must be filled in.")
NAME_CHARACTERS = N_("The name %(value)s contains characters that are not letters.")
TOO_LONG = N_("%(header)s may be at most %(limit)s characters long, not %(length)s.")
ID_LOST_DIGITS = N_(
    "The ID number was stored as a number and lost digits; "
    "format the column as text and type the number again."
)
ID_FULLWIDTH = N_("The ID number contains full-width characters; type it with half-width digits.")
ID_FULLWIDTH_NORMALISED = N_("Full-width characters in the ID number were converted.")
ID_CHECK_DIGIT = N_("The ID number's check digit is wrong.")
ID_DATE_IMPOSSIBLE = N_("The birth date in the ID number does not exist.")
ID_DATE_RANGE = N_("The birth date in the ID number is before 1900 or in the future.")
ID_LEGACY_CONVERTED = CONVERTED_FROM_15
ID_NO_BIRTH_DATE = N_(
    "The birth date cannot be read from a %(id_type)s; give it in %(header)s so the age can be "
    "checked."
)
BIRTH_DATE_BAD = N_("%(value)s is not a date; use YYYY-MM-DD.")
BIRTH_DATE_RANGE = N_("The birth date %(value)s is before 1900 or in the future.")
BIRTH_DATE_MISMATCH = N_("The birth date does not match the ID number.")
ID_TYPE_UNKNOWN = N_("%(value)s is not a document type; use %(choices)s.")
GENDER_UNKNOWN = N_("%(value)s is not a gender; use %(choices)s.")
GENDER_MISMATCH = N_("The gender %(value)s does not match the ID number, which says %(expected)s.")
PHONE_FULLWIDTH = N_("The phone number contains full-width digits; type it with half-width ones.")
PHONE_FULLWIDTH_NORMALISED = N_("Full-width digits in the phone number were converted.")
PHONE_BAD = N_("%(value)s is not a mobile or landline number.")
GRADE_UNKNOWN = N_("%(value)s is not a known skill grade.")
UNIT_UNKNOWN = N_("%(value)s is not a unit of this event.")
UNIT_NOT_YOURS = N_("You can only register entries for %(unit)s, not %(value)s.")
DUPLICATE_IN_FILE = N_("This person is already in row %(first_row)s of the file.")
ALREADY_REGISTERED = N_("This person is already registered in this event.")
NAME_CONFLICT = N_(
    "This ID number is already on file under a different name; check the name and the number."
)
OVER_QUOTA = N_(
    "%(unit)s may register %(quota)s entries: %(existing)s already registered and %(new)s in "
    "this file make %(total)s."
)
TOO_MANY_COACHES = N_("An entry has at most %(limit)s coaches, not %(count)s.")

# Messages of compete.domain.idnumber that would reveal part of the number in their parameters.
_ID_MESSAGES = {
    "The birth date %(digits)s in the ID number does not exist.": ID_DATE_IMPOSSIBLE,
    "The birth date %(date)s in the ID number is outside 1900-01-01 to today.": ID_DATE_RANGE,
    "The ID number's check character is %(given)s but should be %(expected)s.": ID_CHECK_DIGIT,
}

# --- columns and spellings ----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the 报名表 sheet: key, Chinese header, English name, help, other spellings."""

    key: str
    header: str
    english: str
    required: bool
    width: int
    help_zh: str
    help_en: str
    aliases: tuple[str, ...] = ()
    text: bool = False  # formatted as text in the template (keeps leading zeros and 18 digits)


COLUMNS: tuple[Column, ...] = (
    Column(
        key="team_no",
        header="队伍编号",
        english="Team no.",
        required=False,
        width=10,
        help_zh=(
            "团体赛项填写：同一单位内队伍编号相同的行为一支队伍，第一行为主选手。个人赛项可留空。"
        ),
        help_en=(
            "Team events: rows of one unit with the same team number form one team, the first "
            "row being the lead. Leave empty for individual events."
        ),
        aliases=("队伍号", "团队编号", "组队编号", "team_no", "team"),
        text=True,
    ),
    Column(
        key="name",
        header="姓名",
        english="Name",
        required=True,
        width=12,
        help_zh="选手姓名，与证件一致；少数民族姓名中间用间隔号“·”。",
        help_en="The contestant's name as on the document; use the middle dot · in names such as "
        "艾尔肯·买买提.",
        aliases=("选手姓名", "name"),
    ),
    Column(
        key="gender",
        header="性别",
        english="Gender",
        required=False,
        width=6,
        help_zh=(
            "男 或 女；可留空，按身份证号码判断。填写时必须与身份证号码一致。护照、通行证必填。"
        ),
        help_en=(
            "男 (M) or 女 (F); may be left empty for resident IDs, which carry it. If given it "
            "must match the ID number. Required for passports and travel permits."
        ),
        aliases=("gender", "sex"),
    ),
    Column(
        key="id_type",
        header="证件类型",
        english="Document type",
        required=False,
        width=22,
        help_zh=(
            "居民身份证（默认）、港澳台居民居住证、港澳居民来往内地通行证、"
            "台湾居民来往大陆通行证 或 护照。"
        ),
        help_en="居民身份证 (resident ID, the default), 港澳台居民居住证, 港澳居民来往内地通行证, "
        "台湾居民来往大陆通行证 or 护照 (passport).",
        aliases=("id_type", "document type"),
    ),
    Column(
        key="id_number",
        header="证件号码",
        english="ID number",
        required=True,
        width=22,
        help_zh=(
            "证件号码。身份证为 18 位，末位可以是 X。请保持本列为文本格式，否则 Excel 会丢失数字。"
        ),
        help_en="The document number; a resident ID has 18 characters, the last may be X. Keep the "
        "column formatted as text, or Excel loses digits.",
        aliases=("身份证号码", "身份证号", "证件号", "id_number", "id number", "id no"),
        text=True,
    ),
    Column(
        key="birth_date",
        header="出生日期",
        english="Birth date",
        required=False,
        width=12,
        help_zh="护照、通行证必填，格式 YYYY-MM-DD；身份证可留空（按号码判断），填写则必须一致。",
        help_en="Required for passports and travel permits, as YYYY-MM-DD; may be left empty for "
        "resident IDs, which carry it, and must match them if given.",
        aliases=("出生年月日", "birth_date", "date of birth"),
        text=True,
    ),
    Column(
        key="phone",
        header="手机号码",
        english="Mobile phone",
        required=True,
        width=15,
        help_zh="11 位手机号码，或带区号的固定电话。",
        help_en="An 11-digit mobile number, or a landline with its area code.",
        aliases=("手机号", "手机", "联系电话", "phone", "mobile"),
        text=True,
    ),
    Column(
        key="unit",
        header="参赛单位",
        english="Unit",
        required=False,
        width=24,
        help_zh="代表的参赛单位全称。组委会导入时必填；参赛单位联系人导入时可留空，填写则必须是本单位。",
        help_en=(
            "The unit entered for, in full. Required when the organiser imports; a unit contact "
            "may leave it empty or must give their own unit."
        ),
        aliases=("unit",),
    ),
    Column(
        key="employer",
        header="工作单位/学校",
        english="Employer / school",
        required=False,
        width=24,
        help_zh="选手的工作单位或就读学校，可留空。",
        help_en="Where the contestant works or studies; may be left empty.",
        aliases=("工作单位", "学校", "employer", "school"),
    ),
    Column(
        key="group",
        header="参赛身份",
        english="Group",
        required=False,
        width=12,
        help_zh="在职职工、全日制在校学生或在职教师；须与赛项组别一致。留空即按赛项组别申报。",
        help_en=(
            "Employee, full-time student or teacher; must match the event's group. Left empty,"
            " the unit declares the event's group."
        ),
        aliases=("身份", "组别", "group"),
    ),
    Column(
        key="current_grade",
        header="现职业技能等级",
        english="Current skill grade",
        required=False,
        width=16,
        help_zh="如 三级/高级工、二级/技师；没有可留空。",
        help_en="E.g. 三级/高级工 (L3) or 二级/技师 (L2); leave empty if none.",
        aliases=("职业技能等级", "技能等级", "current_grade", "grade"),
    ),
    Column(
        key="grade_certificate_no",
        header="等级证书编号",
        english="Grade certificate no.",
        required=False,
        width=22,
        help_zh="职业技能等级证书编号，可留空。",
        help_en="The skill grade certificate number; may be left empty.",
        aliases=("证书编号", "grade_certificate_no", "certificate no"),
        text=True,
    ),
    Column(
        key="coaches",
        header="指导教师",
        english="Coaches",
        required=False,
        width=20,
        help_zh="指导教师姓名，多人用顿号“、”或逗号分隔。",
        help_en="Coaches' names separated by 、 or commas.",
        aliases=("指导老师", "教练", "coaches", "coach"),
    ),
)
COLUMN = {column.key: column for column in COLUMNS}
GROUP_SPELLINGS = {
    "职工": "employee",
    "在职职工": "employee",
    "职工组": "employee",
    "employee": "employee",
    "学生": "student",
    "全日制学生": "student",
    "全日制在校学生": "student",
    "学生组": "student",
    "student": "student",
    "教师": "teacher",
    "在职教师": "teacher",
    "教师组": "teacher",
    "teacher": "teacher",
}
GROUP_UNKNOWN = N_("%(value)s is not a group: write 职工, 学生 or 教师.")
REQUIRED_KEYS = tuple(column.key for column in COLUMNS if column.required)

ID_TYPE_LABELS: Mapping[IdType, str] = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.RESIDENCE_PERMIT: "港澳台居民居住证",
    IdType.HK_MACAU_PERMIT: "港澳居民来往内地通行证",
    IdType.TAIWAN_PERMIT: "台湾居民来往大陆通行证",
    IdType.PASSPORT: "护照",
}
GENDER_LABELS = {"M": "男", "F": "女"}

# Full-width ASCII (！ to ～) and the ideographic space, to half-width.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULLWIDTH_DIGITS = frozenset(chr(code) for code in range(0xFF10, 0xFF1A)) | {"Ｘ", "ｘ"}
_COACH_SEPARATORS = str.maketrans(dict.fromkeys("、,，;；/／", "\n"))
_NAME_PUNCTUATION = frozenset(" ·-'.")


def _key(text: str) -> str:
    """A spelling in one form for lookups: NFKC, case-folded, no spaces, ``_``, ``*``, ``.``."""
    text = unicodedata.normalize("NFKC", text).casefold()
    for mark in ("(必填)", "(选填)", "*", " ", "_", ".", "\u3000"):
        text = text.replace(mark, "")
    return text


_HEADERS: Mapping[str, str] = {
    _key(spelling): column.key
    for column in COLUMNS
    for spelling in (column.header, column.english, column.key, *column.aliases)
}
_ID_TYPES: Mapping[str, IdType] = {
    **{_key(label): id_type for id_type, label in ID_TYPE_LABELS.items()},
    **{_key(id_type.value): id_type for id_type in IdType},
    _key("身份证"): IdType.RESIDENT_ID,
    _key("居住证"): IdType.RESIDENCE_PERMIT,
    _key("港澳通行证"): IdType.HK_MACAU_PERMIT,
    _key("回乡证"): IdType.HK_MACAU_PERMIT,
    _key("台胞证"): IdType.TAIWAN_PERMIT,
    _key("passport"): IdType.PASSPORT,
}
_GENDERS: Mapping[str, str] = {
    "男": "M",
    "女": "F",
    "m": "M",
    "f": "F",
    "male": "M",
    "female": "F",
}
ID_TYPE_CHOICES = " / ".join(ID_TYPE_LABELS.values())
GENDER_CHOICES = "男 / 女 (M / F)"

# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """One problem (or warning) in an imported file; ``row`` is None for the whole file.

    ``column`` is the header text, ``value`` the cell as read (ID numbers and phones masked),
    ``message`` an untranslated msgid to format with ``params``.
    """

    row: int | None
    column: str | None
    value: str | None
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RawRow:
    """One data row as read: its row number in the file and its cells as text by column key.

    Every column found in the header row has a key (``""`` when the cell is empty).
    ``headers`` gives the header text as written in the file; ``problems`` are cells that could
    not be read faithfully (an ID number stored as a number).
    """

    row: int
    values: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[RowProblem, ...] = ()


@dataclass(frozen=True)
class MemberInput:
    """One checked contestant, ready to store; ``gender`` is "M" or "F"."""

    name: str
    gender: str
    id_type: IdType
    id_number: str
    birth_date: date | None
    phone: str
    current_grade: int | None
    grade_certificate_no: str | None
    employer: str | None
    row: int
    group: str | None = None  # declared group (employee/student/teacher); None: the event's


@dataclass(frozen=True)
class EntryInput:
    """One checked entry: its unit, members (the lead first), coaches and source rows."""

    unit_name: str
    members: tuple[MemberInput, ...]
    coaches: tuple[str, ...]
    rows: tuple[int, ...]


@dataclass(frozen=True)
class ImportResult:
    """The entries to create, or none and every problem; warnings to show either way."""

    entries: list[EntryInput]
    problems: list[RowProblem]
    warnings: list[RowProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ImportContext:
    """What the checks need to know besides the file, as plain values.

    ``unit_names`` are the units the importer may register for: one for a unit contact, all
    the event's units for an organiser. ``quotas`` and ``already_registered`` count entries per
    unit name (already registered = not withdrawn or rejected). ``existing_people`` maps known
    ``(id_type, id_number)`` to the name on file; ``registered_ids`` are people already entered
    in this event.
    """

    today: date
    eligibility: EligibilityRules
    team_size: int = 1
    unit_names: frozenset[str] = frozenset()
    default_unit: str | None = None
    require_unit: bool = False
    quotas: Mapping[str, int] = field(default_factory=dict)
    already_registered: Mapping[str, int] = field(default_factory=dict)
    existing_people: Mapping[tuple[str, str], str] = field(default_factory=dict)
    registered_ids: frozenset[tuple[str, str]] = frozenset()
    allow_legacy_ids: bool = False
    fullwidth: Literal["normalise", "reject"] = "normalise"
    max_coaches: int = 2
    max_rows: int = 10000

    @property
    def unit_required(self) -> bool:
        """An organiser (more than one unit, or ``require_unit``) must name the unit."""
        return self.require_unit or len(self.unit_names) > 1


class RegistrationImportError(InvalidInput):
    """The file cannot be read as a registration table; ``problems`` says why. Nothing imported."""

    message = N_("The registration file has %(count)s problems; nothing was imported.")

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        super().__init__(field="file", count=len(problems))


# --- template -----------------------------------------------------------------------------

EXAMPLE_IDS = (
    with_check_digit("44010619980307123"),  # born 1998-03-07, male
    with_check_digit("44010320000512124"),  # born 2000-05-12, female
    with_check_digit("44011219990921135"),  # born 1999-09-21, male
)
EXAMPLE_PEOPLE = (
    ("张伟", "男", EXAMPLE_IDS[0], "13800138000", "二级/技师", "S000044010100123"),
    ("艾尔肯·买买提", "女", EXAMPLE_IDS[1], "13900139000", "三级/高级工", ""),
    ("李强", "男", EXAMPLE_IDS[2], "13700137000", "", ""),
)
EXAMPLE_UNIT = "广州市技师学院"
EXAMPLE_EMPLOYER = "广州市某机械有限公司"
EXAMPLE_COACHES = "王老师、陈老师"


def template_columns(team_size: int = 1) -> tuple[Column, ...]:
    """The template's columns: 队伍编号 only for team events."""
    return COLUMNS if team_size > 1 else tuple(c for c in COLUMNS if c.key != "team_no")


def build_template(*, locale: str = "zh_CN", team_size: int = 1) -> bytes:
    """The blank registration workbook as .xlsx bytes.

    Sheet 报名表: one bold, frozen header row; 证件号码, 手机号码, 队伍编号 and 等级证书编号
    formatted as text so Excel keeps leading zeros and all 18 digits; drop-down lists for
    性别 and 证件类型. Sheet 说明: every column in Chinese and English and one example entry
    (``team_size`` rows) with valid ID numbers. ``locale`` ("en…") puts English first in the
    header notes; the headers themselves are always Chinese.
    """
    english = locale.lower().startswith("en")
    columns = template_columns(team_size)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    bold = Font(bold=True)
    fill = PatternFill("solid", start_color="DDEBF7")
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=column.header)
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        notes = (column.english, column.help_en, column.help_zh)
        if not english:
            notes = (column.help_zh, f"{column.english}: {column.help_en}", "")
        cell.comment = Comment("\n".join(n for n in notes if n), "compete")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(HEADER_ROW + 1, HEADER_ROW + 1 + TEMPLATE_TEXT_ROWS):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    _add_dropdowns(sheet, columns)
    _write_help(workbook.create_sheet(HELP_SHEET_TITLE), columns, team_size)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _add_dropdowns(sheet: Worksheet, columns: Sequence[Column]) -> None:
    choices = {"gender": list(GENDER_LABELS.values()), "id_type": list(ID_TYPE_LABELS.values())}
    last = HEADER_ROW + TEMPLATE_TEXT_ROWS
    for index, column in enumerate(columns, start=1):
        values = choices.get(column.key)
        if values is None:
            continue
        letter = get_column_letter(index)
        validation = DataValidation(
            type="list",
            formula1='"{}"'.format(",".join(values)),
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",
            error=" / ".join(values),
        )
        validation.add(f"{letter}{HEADER_ROW + 1}:{letter}{last}")
        sheet.add_data_validation(validation)


def _example_rows(columns: Sequence[Column], team_size: int) -> list[list[str]]:
    rows = []
    for position in range(max(team_size, 1)):
        name, gender, id_number, phone, grade, certificate = EXAMPLE_PEOPLE[
            position % len(EXAMPLE_PEOPLE)
        ]
        values = {
            "team_no": "1",
            "name": name,
            "gender": gender,
            "id_type": ID_TYPE_LABELS[IdType.RESIDENT_ID],
            "id_number": id_number,
            "birth_date": "",
            "phone": phone,
            "unit": EXAMPLE_UNIT,
            "employer": EXAMPLE_EMPLOYER,
            "group": "职工",
            "current_grade": grade,
            "grade_certificate_no": certificate,
            "coaches": EXAMPLE_COACHES if position == 0 else "",
        }
        rows.append([values[column.key] for column in columns])
    return rows


def _write_help(sheet: Worksheet, columns: Sequence[Column], team_size: int) -> None:
    bold = Font(bold=True)
    sheet.append(["列 Column", "表头 Header", "English", "必填 Required", "说明", "Notes"])
    for index, column in enumerate(columns, start=1):
        required = "是 yes" if column.required else "否 no"
        if column.key == "unit":
            required = "组委会导入时必填 organiser: yes"
        sheet.append(
            [
                get_column_letter(index),
                column.header,
                column.english,
                required,
                column.help_zh,
                column.help_en,
            ]
        )
    sheet.append([])
    sheet.append(["每位选手一行。导入时有任何错误则全部不导入，并列出每个错误的行和列。"])
    sheet.append(
        [
            "One row per contestant. If anything is wrong nothing is imported, and every problem "
            "is listed with its row and column."
        ]
    )
    if team_size > 1:
        sheet.append([f"团体赛项：每队 {team_size} 人，队伍编号相同的行为一队，第一行为主选手。"])
        sheet.append(
            [
                f"Team event: {team_size} members per team; rows with the same team number form "
                "one team, the first row being the lead."
            ]
        )
    sheet.append([])
    sheet.append(["示例 Example"])
    example_header = sheet.max_row + 1
    sheet.append([column.header for column in columns])
    for row in _example_rows(columns, team_size):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = bold
    for cell in sheet[example_header]:
        cell.font = bold
    for letter, width in zip("ABCDEF", (10, 16, 20, 16, 60, 70), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"


# --- reading ------------------------------------------------------------------------------


def read_rows(data: bytes, filename: str) -> list[RawRow]:
    """The data rows of an uploaded .xlsx or .csv file, or RegistrationImportError.

    The header row is the first of the first 10 non-empty rows naming a known column; columns
    are found by header text (Chinese or English) in any order, unknown ones ignored, and every
    missing required column (姓名, 证件号码, 手机号码) is reported at once. Fully empty rows are
    skipped. Cells become stripped text; whole numbers lose ``.0``; an ID number that Excel
    stored as a number with more than 15 digits lost digits and is reported on its row.
    CSV: UTF-8 with or without BOM, else GB18030 (a superset of GBK); comma, tab or semicolon.
    """
    if len(data) > MAX_FILE_BYTES:
        raise RegistrationImportError(
            [_file_problem(FILE_TOO_LARGE, limit=MAX_FILE_BYTES // (1024 * 1024))]
        )
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xlsx":
        return _read_table(_xlsx_rows(data))
    if suffix == "csv":
        return _read_table(_csv_rows(data))
    raise RegistrationImportError([_file_problem(FILE_TYPE, name=filename[-60:])])


def _file_problem(message: str, **params: Any) -> RowProblem:
    return RowProblem(None, None, None, message, params)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, Sequence[object]]]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise RegistrationImportError([_file_problem(FILE_NOT_XLSX)])
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError):
        raise RegistrationImportError([_file_problem(FILE_NOT_XLSX)]) from None
    except Exception:  # openpyxl raises many kinds of error on a damaged file
        raise RegistrationImportError([_file_problem(FILE_DAMAGED)]) from None
    try:
        names = workbook.sheetnames
        sheet = workbook[SHEET_TITLE if SHEET_TITLE in names else names[0]]
        rows = list(_numbered(sheet.iter_rows(values_only=True)))
    except RegistrationImportError:
        raise
    except Exception:  # cells are parsed lazily in read-only mode
        raise RegistrationImportError([_file_problem(FILE_DAMAGED)]) from None
    finally:
        workbook.close()
    return iter(rows)


def _numbered(rows: Iterator[Sequence[object]]) -> Iterator[tuple[int, Sequence[object]]]:
    for number, values in enumerate(rows, start=1):
        if number > MAX_READ_ROWS + HEADER_SEARCH_ROWS:
            raise RegistrationImportError([_file_problem(FILE_READ_LIMIT, limit=MAX_READ_ROWS)])
        yield number, values


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RegistrationImportError([_file_problem(FILE_ENCODING)])


def _csv_rows(data: bytes) -> Iterator[tuple[int, Sequence[object]]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(_numbered(reader))
    except csv.Error as exc:
        raise RegistrationImportError([_file_problem(FILE_CSV, error=str(exc)[:100])]) from None
    return iter(rows)


def _read_table(rows: Iterator[tuple[int, Sequence[object]]]) -> list[RawRow]:
    located: dict[str, tuple[int, str]] | None = None
    searched = 0
    for number, values in rows:
        if all(_cell_text(value) == "" for value in values):
            continue
        searched += 1
        located = _locate_columns(number, values)
        if located is not None or searched >= HEADER_SEARCH_ROWS:
            break
    missing = [COLUMN[key] for key in REQUIRED_KEYS if located is None or key not in located]
    if located is None or missing:
        raise RegistrationImportError(
            [
                RowProblem(None, column.header, None, MISSING_HEADER, {"header": column.header})
                for column in missing
            ]
        )
    headers = {key: header for key, (_, header) in located.items()}
    found: list[RawRow] = []
    for number, values in rows:
        texts: dict[str, str] = {}
        problems: list[RowProblem] = []
        for key, (index, header) in located.items():
            value = values[index] if index < len(values) else None
            if key == "id_number" and isinstance(value, float) and _lost_digits(value):
                problems.append(
                    RowProblem(number, header, mask_id_number(_cell_text(value)), ID_LOST_DIGITS)
                )
            texts[key] = _cell_text(value)
        if problems or any(texts.values()):
            found.append(RawRow(number, texts, headers, tuple(problems)))
    return found


def _locate_columns(number: int, values: Sequence[object]) -> dict[str, tuple[int, str]] | None:
    """Column key → (0-based index, header as written); None if no header is known."""
    located: dict[str, tuple[int, str]] = {}
    duplicates: list[RowProblem] = []
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
        raise RegistrationImportError(duplicates)
    return located or None


def _lost_digits(value: float) -> bool:
    return not value.is_integer() or abs(value) >= EXACT_FLOAT_LIMIT


def _cell_text(value: object) -> str:
    """A cell as stripped text; whole numbers without ``.0``; dates as ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < EXACT_FLOAT_LIMIT:
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# --- checking -----------------------------------------------------------------------------


def import_file(data: bytes, filename: str, ctx: ImportContext) -> ImportResult:
    """:func:`read_rows` then :func:`validate_rows`; a file that cannot be read gives problems."""
    try:
        rows = read_rows(data, filename)
    except RegistrationImportError as exc:
        return ImportResult(entries=[], problems=list(exc.problems), warnings=[])
    return validate_rows(rows, ctx)


def validate_rows(rows: Sequence[RawRow], ctx: ImportContext) -> ImportResult:
    """Check every row and the entries they form; all or nothing, every problem reported.

    Per row: required 姓名/证件号码/手机号码; a valid name; the ID number by its document type
    (check digit, birth date, province; 15-digit numbers only with ``allow_legacy_ids``,
    converted with a warning; full-width characters normalised with a warning or refused);
    gender agreeing with the ID; a mobile or landline phone; a known grade; a unit the
    importer may register for (required for an organiser); every ineligibility under
    ``ctx.eligibility``. Across rows: one person once in the file, not already in the event,
    not on file under another name; rows with the same 队伍编号 in one unit form a team of
    exactly ``team_size`` (the first row is the lead); at most ``max_coaches`` per entry;
    entries per unit (already registered + new) within its quota; at most ``max_rows`` rows.
    With any problem, ``entries`` is empty.
    """
    return _Validator(ctx).run(rows)


@dataclass
class _Row:
    """One row's checked values; ``member`` is None if any cell of the row was bad."""

    number: int
    unit: str  # the canonical unit name, or the cell as written when unknown
    team_no: str
    identity: tuple[str, str] | None
    member: MemberInput | None
    coaches: tuple[str, ...]
    coaches_text: str


class _Validator:
    def __init__(self, ctx: ImportContext) -> None:
        self.ctx = ctx
        self.problems: list[RowProblem] = []
        self.warnings: list[RowProblem] = []
        self.units = {_key(name): name for name in ctx.unit_names}
        self.only_unit = next(iter(ctx.unit_names)) if len(ctx.unit_names) == 1 else None
        self.known_names: dict[tuple[str, str], str | None] = {}
        self.first_row: dict[tuple[str, str], int] = {}

    # -- helpers

    def header(self, row: RawRow, key: str) -> str:
        return row.headers.get(key) or COLUMN[key].header

    def add(self, row: RawRow, key: str, shown: str | None, message: str, /, **params: Any) -> None:
        """A problem in one cell; ``shown`` is the cell as reported (already masked)."""
        header = self.header(row, key)
        params.setdefault("header", header)
        self.problems.append(RowProblem(row.row, header, shown, message, params))

    def warn(
        self, row: RawRow, key: str, shown: str | None, message: str, /, **params: Any
    ) -> None:
        header = self.header(row, key)
        params.setdefault("header", header)
        self.warnings.append(RowProblem(row.row, header, shown, message, params))

    # -- the whole file

    def run(self, rows: Sequence[RawRow]) -> ImportResult:
        ctx = self.ctx
        if len(rows) > ctx.max_rows:
            problem = _file_problem(TOO_MANY_ROWS, count=len(rows), limit=ctx.max_rows)
            return ImportResult([], [problem], [])
        if not rows:
            return ImportResult([], [_file_problem(NO_ROWS)], [])
        if ctx.unit_required and "unit" not in rows[0].values:
            header = COLUMN["unit"].header
            self.problems.append(RowProblem(None, header, None, MISSING_HEADER, {"header": header}))
        checked = [self.check_row(row) for row in rows]
        by_number = {row.row: row for row in rows}
        entries = self.group_entries(checked, by_number)
        self.check_quotas(entries, by_number)
        problems = sorted(self.problems, key=lambda p: p.row or 0)
        warnings = sorted(self.warnings, key=lambda p: p.row or 0)
        if problems:
            return ImportResult([], problems, warnings)
        return ImportResult(
            [
                EntryInput(
                    unit_name=unit,
                    members=tuple(r.member for r in team if r.member is not None),
                    coaches=_union(r.coaches for r in team),
                    rows=tuple(r.number for r in team),
                )
                for unit, team in entries
            ],
            [],
            warnings,
        )

    # -- one row

    def check_row(self, row: RawRow) -> _Row:
        before = len(self.problems)
        self.problems.extend(row.problems)
        values = row.values
        name = self.check_name(row)
        id_type = self.check_id_type(row)
        info = None
        if id_type is not None and not any(p.message == ID_LOST_DIGITS for p in row.problems):
            info = self.check_id_number(row, id_type)
        gender = self.check_gender(row, info)
        phone = self.check_phone(row)
        unit = self.check_unit(row)
        grade = self.check_grade(row)
        group = self.check_group(row)
        certificate = self.optional_text(row, "grade_certificate_no", MAX_CERTIFICATE_LENGTH)
        employer = self.optional_text(row, "employer", MAX_TEXT_LENGTH)
        coaches = self.check_coaches(row)
        identity = (info.id_type.value, info.number) if info is not None else None
        if identity is not None:
            self.check_identity(row, identity, name)
        birth_date = self.check_birth_date(row, info)
        if info is not None and birth_date is not None:
            self.check_eligibility(row, info, birth_date, gender, grade, group)
        elif info is not None and not row.values.get("birth_date"):
            self.warn(
                row,
                "id_number",
                mask_id_number(info.number),
                ID_NO_BIRTH_DATE,
                id_type=ID_TYPE_LABELS[info.id_type],
                header=self.header(row, "birth_date"),
            )
        member = None
        if len(self.problems) == before:
            assert name and info and gender and phone  # every required value was read
            member = MemberInput(
                name=name,
                gender=gender,
                id_type=info.id_type,
                id_number=info.number,
                birth_date=birth_date,
                phone=phone,
                current_grade=None if grade is None else int(grade),
                grade_certificate_no=certificate,
                employer=employer,
                row=row.row,
                group=group,
            )
        return _Row(
            number=row.row,
            unit=unit,
            team_no=_half_width(values.get("team_no", "")),
            identity=identity,
            member=member,
            coaches=coaches,
            coaches_text=values.get("coaches", ""),
        )

    def required(self, row: RawRow, key: str) -> str | None:
        text = row.values.get(key, "")
        if not text:
            self.add(row, key, None, MISSING)
            return None
        return text

    def check_name(self, row: RawRow) -> str | None:
        raw = self.required(row, "name")
        return None if raw is None else self.name(row, "name", raw)

    def name(self, row: RawRow, key: str, raw: str) -> str | None:
        try:
            name = normalise_name(raw)
        except InvalidInput as exc:
            self.add(row, key, _shorten(raw), exc.message, **exc.params)
            return None
        if not all(
            char in _NAME_PUNCTUATION or unicodedata.category(char)[0] in "LM" for char in name
        ):
            self.add(row, key, _shorten(raw), NAME_CHARACTERS, value=_shorten(raw))
            return None
        return name

    def check_id_type(self, row: RawRow) -> IdType | None:
        text = row.values.get("id_type", "")
        if not text:
            return IdType.RESIDENT_ID
        found = _ID_TYPES.get(_key(text))
        if found is None:
            self.add(
                row,
                "id_type",
                _shorten(text),
                ID_TYPE_UNKNOWN,
                value=_shorten(text),
                choices=ID_TYPE_CHOICES,
            )
        return found

    def check_id_number(self, row: RawRow, id_type: IdType) -> IdNumberInfo | None:
        raw = self.required(row, "id_number")
        if raw is None:
            return None
        shown = mask_id_number(_half_width(raw))
        fullwidth = any(char in _FULLWIDTH_DIGITS for char in raw)
        if fullwidth and self.ctx.fullwidth == "reject":
            self.add(row, "id_number", shown, ID_FULLWIDTH)
        try:
            info = parse_id_number(
                raw,
                today=self.ctx.today,
                allow_legacy=self.ctx.allow_legacy_ids,
                id_type=id_type,
            )
        except InvalidInput as exc:
            message = _ID_MESSAGES.get(exc.message)
            params = {} if message else _masked_params(exc.params, raw)
            self.add(row, "id_number", shown, message or exc.message, **params)
            return None
        if fullwidth and self.ctx.fullwidth == "reject":
            return None
        shown = mask_id_number(info.number)
        if fullwidth:
            self.warn(row, "id_number", shown, ID_FULLWIDTH_NORMALISED)
        if info.converted_from_15:
            self.warn(row, "id_number", shown, ID_LEGACY_CONVERTED)
        return info

    def check_gender(self, row: RawRow, info: IdNumberInfo | None) -> str | None:
        text = row.values.get("gender", "")
        from_id = info.sex if info is not None else None
        if not text:
            if from_id is None and info is not None:
                self.add(row, "gender", None, MISSING)
            return from_id
        gender = _GENDERS.get(_key(text))
        if gender is None:
            self.add(
                row,
                "gender",
                _shorten(text),
                GENDER_UNKNOWN,
                value=_shorten(text),
                choices=GENDER_CHOICES,
            )
            return None
        if from_id is not None and gender != from_id:
            self.add(
                row,
                "gender",
                text,
                GENDER_MISMATCH,
                value=text,
                expected=GENDER_LABELS[from_id],
            )
            return None
        return gender

    def check_birth_date(self, row: RawRow, info: IdNumberInfo | None) -> date | None:
        """The birth date from the ID, or from 出生日期 for documents that do not carry it."""
        text = row.values.get("birth_date", "")
        from_id = info.birth_date if info is not None else None
        if not text:
            return from_id
        try:
            given = _parse_date(text)
        except ValueError:
            self.add(row, "birth_date", _shorten(text), BIRTH_DATE_BAD, value=_shorten(text))
            return None
        if from_id is not None:
            if given != from_id:
                self.add(row, "birth_date", text, BIRTH_DATE_MISMATCH)
                return None
            return from_id
        if not EARLIEST_BIRTH <= given <= self.ctx.today:
            self.add(row, "birth_date", text, BIRTH_DATE_RANGE, value=given.isoformat())
            return None
        return given

    def check_phone(self, row: RawRow) -> str | None:
        raw = self.required(row, "phone")
        if raw is None:
            return None
        shown = _mask_phone(_half_width(raw))
        fullwidth = any(char in _FULLWIDTH_DIGITS for char in raw)
        if fullwidth and self.ctx.fullwidth == "reject":
            self.add(row, "phone", shown, PHONE_FULLWIDTH)
            return None
        try:
            phone = normalise_phone(raw)
        except InvalidInput:
            self.add(row, "phone", shown, PHONE_BAD, value=shown)
            return None
        if fullwidth:
            self.warn(row, "phone", mask_phone(phone), PHONE_FULLWIDTH_NORMALISED)
        return phone

    def check_unit(self, row: RawRow) -> str:
        ctx = self.ctx
        text = row.values.get("unit", "")
        if not text:
            unit = None if ctx.unit_required else ctx.default_unit or self.only_unit
            if unit is None and ("unit" in row.values or not ctx.unit_required):
                self.add(row, "unit", None, MISSING)  # a missing column is reported once
            return unit or ""
        unit = self.units.get(_key(text))
        if unit is None:
            if self.only_unit is not None and not ctx.require_unit:
                self.add(
                    row, "unit", _shorten(text), UNIT_NOT_YOURS, unit=self.only_unit, value=text
                )
            else:
                self.add(row, "unit", _shorten(text), UNIT_UNKNOWN, value=_shorten(text))
            return text
        return unit

    def check_group(self, row: RawRow) -> str | None:
        text = _half_width(row.values.get("group", "")).strip().lower()
        if not text:
            return None
        group = GROUP_SPELLINGS.get(text)
        if group is None:
            self.add(row, "group", _shorten(text), GROUP_UNKNOWN, value=_shorten(text))
        return group

    def check_grade(self, row: RawRow) -> Grade | None:
        text = row.values.get("current_grade", "")
        if not text:
            return None
        try:
            return parse_grade(text)
        except InvalidInput:
            self.add(row, "current_grade", _shorten(text), GRADE_UNKNOWN, value=_shorten(text))
            return None

    def optional_text(self, row: RawRow, key: str, limit: int) -> str | None:
        text = " ".join(_half_width(row.values.get(key, "")).split())
        if len(text) > limit:
            self.add(row, key, _shorten(text), TOO_LONG, limit=limit, length=len(text))
            return None
        return text or None

    def check_coaches(self, row: RawRow) -> tuple[str, ...]:
        text = row.values.get("coaches", "")
        names = []
        for part in text.translate(_COACH_SEPARATORS).split("\n"):
            if part.strip() and (name := self.name(row, "coaches", part)) is not None:
                names.append(name)
        return tuple(names)

    def check_identity(self, row: RawRow, identity: tuple[str, str], name: str | None) -> None:
        shown = mask_id_number(identity[1])
        first = self.first_row.setdefault(identity, row.row)
        if first != row.row:
            self.add(row, "id_number", shown, DUPLICATE_IN_FILE, first_row=first)
        if identity in self.ctx.registered_ids:
            self.add(row, "id_number", shown, ALREADY_REGISTERED)
        if name is not None and identity in self.ctx.existing_people:
            if identity not in self.known_names:
                try:
                    known = normalise_name(self.ctx.existing_people[identity])
                except InvalidInput:
                    known = None
                self.known_names[identity] = known
            if self.known_names[identity] != name:
                self.add(row, "name", name, NAME_CONFLICT)

    def check_eligibility(
        self,
        row: RawRow,
        info: IdNumberInfo,
        birth_date: date,
        gender: str | None,
        grade: Grade | None,
        group: str | None = None,
    ) -> None:
        facts = MemberFacts(
            birth_date=birth_date, sex=gender or info.sex, current_grade=grade, group=group
        )
        for reason in check_member(facts, self.ctx.eligibility):
            if reason.field in ("current_grade", "group"):
                key, value = reason.field, row.values.get(reason.field) or None
            else:
                key, value = "id_number", mask_id_number(info.number)
            self.add(row, key, value, reason.message, **reason.params)

    # -- across rows

    def group_entries(
        self, checked: list[_Row], by_number: Mapping[int, RawRow]
    ) -> list[tuple[str, list[_Row]]]:
        """Rows grouped into entries in order of their first row: by (unit, 队伍编号)."""
        teams: dict[tuple[str, str], list[_Row]] = {}
        entries: list[tuple[str, list[_Row]]] = []
        for row in checked:
            if row.team_no:
                team = teams.get((row.unit, row.team_no))
                if team is not None:
                    team.append(row)
                    continue
                team = teams[(row.unit, row.team_no)] = []
                team.append(row)
            else:
                team = [row]
            entries.append((row.unit, team))
        for _unit, team in entries:
            lead = by_number[team[0].number]
            members = [r.identity or ("row", str(r.number)) for r in team]
            for reason in check_team(members, team_size=self.ctx.team_size):
                if reason.message == DUPLICATE_MEMBER:
                    continue  # reported on the row as a duplicate in the file
                key = "team_no" if "team_no" in lead.values else "name"
                value = team[0].team_no or None
                self.add(lead, key, value, reason.message, team_no=team[0].team_no, **reason.params)
            self.check_coach_count(team, by_number)
        return entries

    def check_coach_count(self, team: list[_Row], by_number: Mapping[int, RawRow]) -> None:
        seen: list[str] = []
        for row in team:
            seen.extend(name for name in row.coaches if name not in seen)
            if len(seen) > self.ctx.max_coaches:
                self.add(
                    by_number[row.number],
                    "coaches",
                    _shorten(row.coaches_text),
                    TOO_MANY_COACHES,
                    limit=self.ctx.max_coaches,
                    count=len(seen),
                )
                return

    def check_quotas(
        self, entries: list[tuple[str, list[_Row]]], by_number: Mapping[int, RawRow]
    ) -> None:
        new: dict[str, list[int]] = {}
        for unit, team in entries:
            if unit in self.ctx.unit_names:
                new.setdefault(unit, []).append(team[0].number)
        for unit, first_rows in new.items():
            quota = self.ctx.quotas.get(unit)
            if quota is None:
                continue
            existing = self.ctx.already_registered.get(unit, 0)
            total = existing + len(first_rows)
            if total > quota:
                over = first_rows[max(quota - existing, 0)]
                self.add(
                    by_number[over],
                    "unit" if "unit" in by_number[over].values else "name",
                    unit,
                    OVER_QUOTA,
                    unit=unit,
                    quota=quota,
                    existing=existing,
                    new=len(first_rows),
                    total=total,
                )


def _union(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for names in groups:
        seen.update(dict.fromkeys(names))
    return tuple(seen)


def _masked_params(params: Mapping[str, Any], raw: str) -> dict[str, Any]:
    """Parameters with any fragment of the ID number (4+ characters) masked."""
    number = _half_width(raw).upper()
    return {
        name: mask_id_number(value)
        if isinstance(value, str) and len(value) >= 4 and value.upper() in number
        else value
        for name, value in params.items()
    }


def _parse_date(text: str) -> date:
    """``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``YYYYMMDD`` or ``YYYY年MM月DD日``."""
    text = _half_width(text)
    for mark in ("/", ".", "年", "月"):
        text = text.replace(mark, "-")
    text = text.removesuffix("日").split(" ")[0]
    if len(text) == 8 and text.isdigit():
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    year, month, day = text.split("-")
    return date(int(year), int(month), int(day))


def _mask_phone(text: str) -> str:
    """``138****5678``; a short (wrong) number keeps at most a third of its digits at each end."""
    digits = sum(char.isdigit() for char in text)
    if digits >= 11:
        return mask_phone(text)
    return mask_phone(text, keep_head=min(3, digits // 3), keep_tail=min(4, digits // 3))


def _half_width(text: str) -> str:
    return text.translate(_HALF_WIDTH).strip()


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
