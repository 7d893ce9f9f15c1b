"""Marking scheme (评分标准) as an Excel workbook: the blank template, export and import.

The workbook has one data sheet, 评分标准, with exactly one header row and one row per
criterion; the module code and name repeat on every row of their module. Modules come in the
order they first appear, criteria in row order. A second sheet, 说明, explains each column in
Chinese and English and shows two example rows.

The Chinese sheet titles, headers and value labels are the file format that organisers fill in,
not interface text, so they live here as data; every message is an English msgid for the web
layer to translate.

Import is all or nothing: :func:`parse_workbook` checks every cell, collects every problem with
its row and column, and raises one :class:`SchemeImportError` if there is any.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any, TypeVar

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ...domain import N_
from ...domain.aggregation import Aggregation
from ...domain.errors import InvalidInput
from ...domain.scheme import (
    DEFAULT_SCHEME_TOTAL,
    AspectKind,
    CriterionSpec,
    ModuleSpec,
    SchemeSpec,
    validate_criterion,
    validate_scheme,
)

SHEET_TITLE = "评分标准"
HELP_SHEET_TITLE = "说明"
MAX_DATA_ROWS = 2000
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_CODE_LENGTH = 20  # SchemeModule.code and SchemeCriterion.code are String(20)
MAX_NAME_LENGTH = 200  # SchemeModule.name is String(200)
MAX_NUMBER = Decimal("9999.99")  # marks are Numeric(6, 2)
DECIMAL_PLACES = 2
MAX_DIGITS = 20  # below the Decimal context's 28, so quantizing a whole number never fails
MAX_JUDGES = 99  # a sanity bound on the judge count, not a competition rule
HEADER_ROW = 1
MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Choice = TypeVar("Choice", AspectKind, Aggregation)

# Full-width ASCII (！ to ～, including ０-９ and ．) and the ideographic space, to half-width.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@dataclass(frozen=True)
class Column:
    """One column of the 评分标准 sheet: its key, Chinese header, English name and help."""

    key: str
    header: str
    english: str
    required: bool
    width: int
    help_zh: str
    help_en: str


COLUMNS: tuple[Column, ...] = (
    Column(
        key="module_code",
        header="模块代码",
        english="Module code",
        required=True,
        width=12,
        help_zh="模块的代码，如 A；同一模块的每一行都要填写。最多 20 个字符。",
        help_en="The module's code, e.g. A, on every row of the module; at most 20 characters.",
    ),
    Column(
        key="module_name",
        header="模块名称",
        english="Module name",
        required=True,
        width=24,
        help_zh="模块的名称；同一模块各行必须一致。",
        help_en="The module's name; the same on every row of the module.",
    ),
    Column(
        key="criterion_code",
        header="评分项代码",
        english="Criterion code",
        required=True,
        width=14,
        help_zh="评分项的代码，如 A1，全表唯一。最多 20 个字符。",
        help_en="The criterion's code, e.g. A1, unique in the sheet. At most 20 characters.",
    ),
    Column(
        key="description",
        header="评分项描述",
        english="Description",
        required=False,
        width=40,
        help_zh="评分项考核的内容，可以留空。",
        help_en="What the criterion assesses; may be left empty.",
    ),
    Column(
        key="kind",
        header="类型",
        english="Kind",
        required=True,
        width=10,
        help_zh="测量（客观）或 评价（主观）。",
        help_en="测量 (measurement, objective) or 评价 (judgement, subjective).",
    ),
    Column(
        key="max_mark",
        header="满分",
        english="Max mark",
        required=True,
        width=10,
        help_zh="该评分项的满分，大于 0，最多两位小数；全部评分项的满分合计为 100。",
        help_en="The criterion's maximum, above 0, at most 2 decimals; all maxima total 100.",
    ),
    Column(
        key="step",
        header="步长",
        english="Step",
        required=True,
        width=10,
        help_zh="打分的最小单位，如 0.5，大于 0，必须能整除满分。",
        help_en="The smallest unit marks move in, e.g. 0.5; above 0 and dividing the maximum.",
    ),
    Column(
        key="judges",
        header="裁判人数",
        english="Judges",
        required=True,
        width=10,
        help_zh="为该评分项打分的裁判人数，正整数。",
        help_en="How many judges mark the criterion; a whole number of at least 1.",
    ),
    Column(
        key="aggregation",
        header="汇总方式",
        english="Aggregation",
        required=True,
        width=22,
        help_zh="去掉最高最低分后平均、平均、中位数 或 求和。",
        help_en="去掉最高最低分后平均 (trimmed mean), 平均 (mean), 中位数 (median) or 求和 (sum).",
    ),
    Column(
        key="tolerance",
        header="允许分差",
        english="Tolerance",
        required=False,
        width=10,
        help_zh="裁判最高分与最低分相差超过此值时提示复核；可以留空。",
        help_en="Flag when the judges' highest and lowest marks differ by more; may be left empty.",
    ),
    Column(
        key="double_entry",
        header="双人录入",
        english="Double entry",
        required=False,
        width=10,
        help_zh="是 或 否（留空为否）：由第二人核对录入的分数。",
        help_en="是 (yes) or 否 (no; empty means no): a second person confirms the entered marks.",
    ),
)
COLUMN = {column.key: column for column in COLUMNS}

KIND_LABELS_ZH = {AspectKind.MEASUREMENT: "测量", AspectKind.JUDGEMENT: "评价"}
AGGREGATION_LABELS_ZH = {
    Aggregation.TRIMMED_MEAN: "去掉最高最低分后平均",
    Aggregation.MEAN: "平均",
    Aggregation.MEDIAN: "中位数",
    Aggregation.SUM: "求和",
}
YES_NO_ZH = ("是", "否")
YES_NO_EN = ("yes", "no")

KIND_SPELLINGS: dict[str, AspectKind] = {
    "测量": AspectKind.MEASUREMENT,
    "客观": AspectKind.MEASUREMENT,
    "measurement": AspectKind.MEASUREMENT,
    "评价": AspectKind.JUDGEMENT,
    "主观": AspectKind.JUDGEMENT,
    "judgement": AspectKind.JUDGEMENT,
    "judgment": AspectKind.JUDGEMENT,
}
AGGREGATION_SPELLINGS: dict[str, Aggregation] = {
    **{label: method for method, label in AGGREGATION_LABELS_ZH.items()},
    "去掉一个最高分和一个最低分后平均": Aggregation.TRIMMED_MEAN,
    **{method.value: method for method in Aggregation},
    "trimmed mean": Aggregation.TRIMMED_MEAN,
}
YES_SPELLINGS = frozenset({"是", "yes", "y", "true", "1", "✓", "√"})
NO_SPELLINGS = frozenset({"否", "no", "n", "false", "0"})

EXAMPLE_ROWS = (
    ("A", "焊接", "A1", "焊缝尺寸", "测量", 10, Decimal("0.5"), 3, "平均", 1, "否"),
    (
        "A",
        "焊接",
        "A2",
        "外观质量",
        "评价",
        5,
        Decimal("0.1"),
        5,
        "去掉最高最低分后平均",
        Decimal("1.5"),
        "是",
    ),
)

_FIELD_COLUMN = {
    "criterion": "criterion_code",
    "max_mark": "max_mark",
    "step": "step",
    "judges": "judges",
    "tolerance": "tolerance",
}


@dataclass(frozen=True)
class CellProblem:
    """One thing wrong with an imported file; ``row``/``column`` are None for the whole file.

    ``column`` is the Excel column letter, ``header`` its header text, ``value`` the cell as
    read, and ``message`` an untranslated msgid to format with ``params``.
    """

    row: int | None
    column: str | None
    header: str | None
    value: str | None
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def cell(self) -> str | None:
        """The cell reference (``F7``), or None for a whole-file or whole-column problem."""
        if self.row is None or self.column is None:
            return None
        return f"{self.column}{self.row}"


class SchemeImportError(InvalidInput):
    """The file has problems, listed in ``problems``; nothing was imported."""

    message = N_("The marking scheme file has %(count)s problems; nothing was imported.")

    def __init__(self, problems: list[CellProblem]) -> None:
        self.problems = problems
        super().__init__(field="file", count=len(problems))


@dataclass(frozen=True)
class ParsedScheme:
    """An imported scheme with what the spec does not carry: descriptions, double entry, names."""

    spec: SchemeSpec
    descriptions: dict[str, str]
    double_entry: frozenset[str]
    module_names: dict[str, str]


# --- export -------------------------------------------------------------------------------


def build_workbook(
    spec: SchemeSpec | None,
    *,
    locale: str = "zh_CN",
    descriptions: Mapping[str, str] | None = None,
    double_entry: Collection[str] | None = None,
) -> bytes:
    """The scheme as .xlsx bytes; with ``spec=None``, the blank template (no data rows).

    ``locale`` chooses how kinds, aggregations and yes/no are written: English enum values for
    ``en*``, Chinese labels otherwise. Sheet titles and headers are always Chinese. Codes in
    ``descriptions`` or ``double_entry`` that are not in the scheme are ignored.
    """
    english = locale.lower().startswith("en")
    descriptions = descriptions or {}
    double_entry = set(double_entry or ())
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    _write_header(sheet)
    _add_dropdowns(sheet, english=english)
    if spec is not None:
        for module, criterion in spec.criteria():
            sheet.append(
                _criterion_row(
                    module,
                    criterion,
                    description=descriptions.get(criterion.code, ""),
                    double_entry=criterion.code in double_entry,
                    english=english,
                )
            )
    _write_help(workbook.create_sheet(HELP_SHEET_TITLE))
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_header(sheet: Worksheet) -> None:
    bold = Font(bold=True)
    fill = PatternFill("solid", start_color="DDEBF7")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index, value=column.header)
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.comment = Comment(f"{column.english}\n{column.help_en}", "compete")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.key in ("module_code", "criterion_code"):
            sheet.column_dimensions[letter].number_format = "@"  # "01" stays text
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"


def _add_dropdowns(sheet: Worksheet, *, english: bool) -> None:
    choices = {
        "kind": [k.value if english else KIND_LABELS_ZH[k] for k in AspectKind],
        "aggregation": [
            m.value if english else AGGREGATION_LABELS_ZH[m] for m in AGGREGATION_LABELS_ZH
        ],
        "double_entry": list(YES_NO_EN if english else YES_NO_ZH),
    }
    last_row = HEADER_ROW + MAX_DATA_ROWS
    for key, values in choices.items():
        letter = _letter(key)
        validation = DataValidation(
            type="list",
            formula1='"{}"'.format(",".join(values)),
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="warning",
            error=" / ".join(values),
        )
        validation.add(f"{letter}{HEADER_ROW + 1}:{letter}{last_row}")
        sheet.add_data_validation(validation)


def _criterion_row(
    module: ModuleSpec,
    criterion: CriterionSpec,
    *,
    description: str,
    double_entry: bool,
    english: bool,
) -> list[object]:
    kind = AspectKind(criterion.kind)
    method = Aggregation(criterion.aggregation)
    yes, no = YES_NO_EN if english else YES_NO_ZH
    return [
        module.code,
        module.name,
        criterion.code,
        description,
        kind.value if english else KIND_LABELS_ZH[kind],
        criterion.max_mark,
        criterion.step,
        criterion.judges,
        method.value if english else AGGREGATION_LABELS_ZH[method],
        criterion.tolerance,
        yes if double_entry else no,
    ]


def _write_help(sheet: Worksheet) -> None:
    bold = Font(bold=True)
    sheet.append(["列 Column", "表头 Header", "English", "必填 Required", "说明", "Notes"])
    for index, column in enumerate(COLUMNS, start=1):
        required = "是 yes" if column.required else "否 no"
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
    sheet.append(["每个评分项一行；满分合计必须为 100。导入时有任何错误则全部不导入。"])
    sheet.append(
        [
            "One row per criterion; the maxima must total 100. "
            "If any cell is wrong, nothing is imported."
        ]
    )
    sheet.append([])
    sheet.append(["示例 Example"])
    example_header = sheet.max_row + 1
    sheet.append([column.header for column in COLUMNS])
    for row in EXAMPLE_ROWS:
        sheet.append(list(row))
    for cell in sheet[1]:
        cell.font = bold
    for cell in sheet[example_header]:
        cell.font = bold
    for letter, width in zip("ABCDEF", (10, 14, 16, 14, 50, 70), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"


def _letter(key: str) -> str:
    return get_column_letter(COLUMNS.index(COLUMN[key]) + 1)


# --- import -------------------------------------------------------------------------------


class _Problems:
    """The problems found so far, in the order found."""

    def __init__(self) -> None:
        self.items: list[CellProblem] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def file(self, message: str, **params: Any) -> None:
        self.items.append(CellProblem(None, None, None, None, message, params))

    def add(self, row: int, column: _Located, raw: object, message: str, /, **params: Any) -> None:
        """A problem in one cell; ``raw`` is the cell as read, ``header`` joins the params."""
        params.setdefault("header", column.header)
        self.items.append(
            CellProblem(
                row=row,
                column=column.letter,
                header=column.header,
                value=None if raw is None else _shorten(_text(raw)),
                message=message,
                params=params,
            )
        )


@dataclass(frozen=True)
class _Located:
    """A column as found in the imported header row."""

    key: str
    header: str
    index: int  # 0-based position in the row tuple

    @property
    def letter(self) -> str:
        return get_column_letter(self.index + 1)


@dataclass(frozen=True)
class _Row:
    """One data row's valid values (None where the cell was bad); ``criterion`` if all were."""

    number: int
    module_code: str | None
    module_name: str | None
    criterion_code: str | None
    maximum: Decimal | None
    criterion: CriterionSpec | None
    description: str
    double_entry: bool


def parse_workbook(data: bytes, *, total: Decimal = DEFAULT_SCHEME_TOTAL) -> ParsedScheme:
    """Read a 评分标准 workbook into a scheme, or raise SchemeImportError listing every problem.

    Rules: one header row naming every required column; one row per criterion; fully empty
    rows are skipped; at most 2,000 data rows; numbers are exact with at most 2 decimals (full-
    width digits accepted); max and step above 0, step dividing max; judges a whole number ≥ 1;
    tolerance ≥ 0 or empty; codes at most 20 characters; criterion codes unique; a module code
    keeps one name; the maxima total ``total``.
    """
    problems = _Problems()
    table = _read_table(data, problems)
    if table is None:
        raise SchemeImportError(problems.items)
    header, rows = table
    columns = _locate_columns(header, problems)
    if columns is None:
        raise SchemeImportError(problems.items)
    if not rows:
        problems.file(N_("The sheet has no data rows."))
        raise SchemeImportError(problems.items)
    parsed = [_parse_row(number, values, columns, problems) for number, values in rows]
    result = _assemble(parsed, columns, problems, total=total)
    if problems or result is None:
        raise SchemeImportError(problems.items)
    return result


def _read_table(
    data: bytes, problems: _Problems
) -> tuple[tuple[object, ...], list[tuple[int, tuple[object, ...]]]] | None:
    """The header row and the non-empty data rows (with their row numbers), or None."""
    if len(data) > MAX_FILE_BYTES:
        problems.file(
            N_("The file is larger than %(limit)s MB."), limit=MAX_FILE_BYTES // (1024 * 1024)
        )
        return None
    if not zipfile.is_zipfile(BytesIO(data)):
        problems.file(N_("The file is not an Excel workbook (.xlsx)."))
        return None
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError):
        problems.file(N_("The file is not an Excel workbook (.xlsx)."))
        return None
    except Exception:  # openpyxl raises many kinds of error on a damaged file
        problems.file(N_("The Excel file could not be read; it may be damaged."))
        return None
    try:
        if SHEET_TITLE not in workbook.sheetnames:
            problems.file(N_("The workbook has no sheet named %(sheet)s."), sheet=SHEET_TITLE)
            return None
        return _read_sheet(workbook[SHEET_TITLE], problems)
    except Exception:  # cells are parsed lazily in read-only mode
        problems.file(N_("The Excel file could not be read; it may be damaged."))
        return None
    finally:
        workbook.close()


def _read_sheet(
    sheet: Any, problems: _Problems
) -> tuple[tuple[object, ...], list[tuple[int, tuple[object, ...]]]] | None:
    header: tuple[object, ...] = ()
    rows: list[tuple[int, tuple[object, ...]]] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number == HEADER_ROW:
            header = tuple(values)
            continue
        if all(_text(value) == "" for value in values):
            continue
        if len(rows) == MAX_DATA_ROWS:
            problems.file(N_("The sheet has more than %(limit)s data rows."), limit=MAX_DATA_ROWS)
            return None
        rows.append((number, tuple(values)))
    return header, rows


def _locate_columns(header: tuple[object, ...], problems: _Problems) -> dict[str, _Located] | None:
    by_header = {column.header: column for column in COLUMNS}
    found: dict[str, _Located] = {}
    for index, value in enumerate(header):
        column = by_header.get(_text(value))
        if column is None:
            continue
        located = _Located(column.key, column.header, index)
        if column.key in found:
            problems.add(
                HEADER_ROW,
                located,
                column.header,
                N_("The column %(header)s appears twice in the header row (first in %(first)s)."),
                first=found[column.key].letter,
            )
            continue
        found[column.key] = located
    missing = [c for c in COLUMNS if c.required and c.key not in found]
    for column in missing:
        problems.items.append(
            CellProblem(
                row=HEADER_ROW,
                column=None,
                header=column.header,
                value=None,
                message=N_("The header row has no column %(header)s."),
                params={"header": column.header},
            )
        )
    if problems:
        return None
    return found


def _parse_row(
    number: int,
    values: tuple[object, ...],
    columns: dict[str, _Located],
    problems: _Problems,
) -> _Row:
    def raw(key: str) -> object:
        located = columns.get(key)
        if located is None or located.index >= len(values):
            return None
        return values[located.index]

    def code(key: str) -> str | None:
        return _read_code(number, columns[key], raw(key), problems)

    before = len(problems.items)
    module_code = code("module_code")
    module_name = _read_name(number, columns["module_name"], raw("module_name"), problems)
    criterion_code = code("criterion_code")
    kind = _read_choice(
        number,
        columns["kind"],
        raw("kind"),
        KIND_SPELLINGS,
        problems,
        message=N_("%(value)s is not a type; use %(choices)s."),
        choices="测量 / 评价 (measurement / judgement)",
    )
    maximum = _read_number(number, columns["max_mark"], raw("max_mark"), problems, positive=True)
    step = _read_number(number, columns["step"], raw("step"), problems, positive=True)
    judges = _read_judges(number, columns["judges"], raw("judges"), problems)
    method = _read_choice(
        number,
        columns["aggregation"],
        raw("aggregation"),
        AGGREGATION_SPELLINGS,
        problems,
        message=N_("%(value)s is not an aggregation; use %(choices)s."),
        choices="去掉最高最低分后平均 / 平均 / 中位数 / 求和 (trimmed_mean / mean / median / sum)",
    )
    tolerance = None
    if "tolerance" in columns and _text(raw("tolerance")) != "":
        tolerance = _read_number(number, columns["tolerance"], raw("tolerance"), problems)
    double_entry = False
    if "double_entry" in columns:
        double_entry = _read_yes_no(number, columns["double_entry"], raw("double_entry"), problems)
    description = _text(raw("description")) if "description" in columns else ""
    if maximum is not None and step is not None and maximum % step != 0:
        problems.add(
            number,
            columns["step"],
            raw("step"),
            N_("The step %(step)s does not divide the maximum %(max)s."),
            step=str(step),
            max=str(maximum),
        )
    criterion = None
    if len(problems.items) == before and criterion_code:
        criterion = CriterionSpec(
            code=criterion_code,
            max_mark=maximum,
            step=step,
            kind=kind,
            aggregation=method,
            judges=judges,
            tolerance=tolerance,
        )
        try:
            validate_criterion(criterion)
        except InvalidInput as exc:
            key = _FIELD_COLUMN.get(exc.field or "", "criterion_code")
            problems.add(number, columns[key], raw(key), exc.message, **exc.params)
            criterion = None
    return _Row(
        number=number,
        module_code=module_code,
        module_name=module_name,
        criterion_code=criterion_code,
        maximum=maximum,
        criterion=criterion,
        description=description,
        double_entry=double_entry,
    )


def _assemble(
    rows: list[_Row],
    columns: dict[str, _Located],
    problems: _Problems,
    *,
    total: Decimal,
) -> ParsedScheme | None:
    """Group rows into modules and check what spans rows: unique codes, names, the total."""
    first_row_of: dict[str, int] = {}
    module_names: dict[str, str] = {}
    module_first_row: dict[str, int] = {}
    criteria: dict[str, list[CriterionSpec]] = {}
    descriptions: dict[str, str] = {}
    double_entry: set[str] = set()
    for row in rows:
        if row.module_code is not None and row.module_name is not None:
            name = module_names.setdefault(row.module_code, row.module_name)
            module_first_row.setdefault(row.module_code, row.number)
            if name != row.module_name:
                problems.add(
                    row.number,
                    columns["module_name"],
                    row.module_name,
                    N_(
                        "Module %(code)s is named %(first_name)s in row %(first_row)s, "
                        "not %(name)s."
                    ),
                    code=row.module_code,
                    first_name=name,
                    first_row=module_first_row[row.module_code],
                    name=row.module_name,
                )
        code = row.criterion_code
        if code is not None and code in first_row_of:
            problems.add(
                row.number,
                columns["criterion_code"],
                code,
                N_("Criterion code %(code)s is already used in row %(first_row)s."),
                code=code,
                first_row=first_row_of[code],
            )
            continue
        if code is not None:
            first_row_of[code] = row.number
        if row.criterion is None or row.module_code is None:
            continue
        criteria.setdefault(row.module_code, []).append(row.criterion)
        if row.description:
            descriptions[code] = row.description
        if row.double_entry:
            double_entry.add(code)
    expected = Decimal(total)
    maxima = [row.maximum for row in rows]
    # A total over unreadable maxima would mislead; those cells are reported already.
    actual = sum((m for m in maxima if m is not None), Decimal(0))
    if None not in maxima and actual != expected:
        problems.file(
            N_("The maxima total %(actual)s marks, not %(expected)s."),
            actual=str(_tidy(actual)),
            expected=str(_tidy(expected)),
        )
    if problems:
        return None
    spec = SchemeSpec(
        modules=tuple(
            ModuleSpec(code=code, name=module_names[code], criteria=tuple(criteria[code]))
            for code in module_names
        )
    )
    try:
        validate_scheme(spec, total=expected)
    except InvalidInput as exc:
        problems.file(exc.message, **exc.params)
        return None
    return ParsedScheme(
        spec=spec,
        descriptions=descriptions,
        double_entry=frozenset(double_entry),
        module_names=dict(module_names),
    )


# --- cells --------------------------------------------------------------------------------


def _text(value: object) -> str:
    """A cell as stripped text; whole floats lose their ``.0`` (a code typed as 1 is "1")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _half_width(text: str) -> str:
    return text.translate(_HALF_WIDTH).strip()


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tidy(number: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (10.0 → 10, 0.50 → 0.5)."""
    if number == number.to_integral_value() and number.adjusted() < MAX_DIGITS:
        return number.quantize(Decimal(1))
    return number.normalize()


def _required(number: int, column: _Located, value: object, problems: _Problems) -> str | None:
    text = _text(value)
    if text == "":
        problems.add(number, column, None, N_("%(header)s must be filled in."))
        return None
    return text


def _read_code(number: int, column: _Located, value: object, problems: _Problems) -> str | None:
    text = _required(number, column, value, problems)
    if text is None:
        return None
    code = _half_width(text)
    if len(code) > MAX_CODE_LENGTH:
        problems.add(
            number,
            column,
            value,
            N_("%(header)s may be at most %(limit)s characters long, not %(length)s."),
            limit=MAX_CODE_LENGTH,
            length=len(code),
        )
        return None
    return code


def _read_name(number: int, column: _Located, value: object, problems: _Problems) -> str | None:
    text = _required(number, column, value, problems)
    if text is not None and len(text) > MAX_NAME_LENGTH:
        problems.add(
            number,
            column,
            value,
            N_("%(header)s may be at most %(limit)s characters long, not %(length)s."),
            limit=MAX_NAME_LENGTH,
            length=len(text),
        )
        return None
    return text


def _read_decimal(
    number: int, column: _Located, value: object, problems: _Problems
) -> Decimal | None:
    """An exact number from a cell: ints and strings as written, floats via ``str``."""
    if _required(number, column, value, problems) is None:
        return None
    if isinstance(value, bool):
        result = None
    elif isinstance(value, (int, float, Decimal)):
        result = Decimal(str(value))
    else:
        try:
            result = Decimal(_half_width(str(value)))
        except InvalidOperation:
            result = None
    if result is None or not result.is_finite():
        problems.add(
            number,
            column,
            value,
            N_("%(header)s must be a number, not %(value)s."),
            value=_shorten(_text(value)),
        )
        return None
    return _tidy(result)


def _read_number(
    number: int,
    column: _Located,
    value: object,
    problems: _Problems,
    *,
    positive: bool = False,
) -> Decimal | None:
    """A mark-like number: at most 2 decimals, not above 9999.99, > 0 or ≥ 0."""
    result = _read_decimal(number, column, value, problems)
    if result is None:
        return None
    shown = str(result)
    if -result.as_tuple().exponent > DECIMAL_PLACES:
        problems.add(
            number,
            column,
            value,
            N_("%(header)s may have at most %(places)s decimal places, not %(value)s."),
            places=DECIMAL_PLACES,
            value=shown,
        )
        return None
    if positive and result <= 0:
        problems.add(
            number,
            column,
            value,
            N_("%(header)s must be above zero, not %(value)s."),
            value=shown,
        )
        return None
    if result < 0:
        problems.add(
            number,
            column,
            value,
            N_("%(header)s cannot be negative, not %(value)s."),
            value=shown,
        )
        return None
    if result > MAX_NUMBER:
        problems.add(
            number,
            column,
            value,
            N_("%(header)s may be at most %(limit)s, not %(value)s."),
            limit=str(MAX_NUMBER),
            value=shown,
        )
        return None
    return result


def _read_judges(number: int, column: _Located, value: object, problems: _Problems) -> int | None:
    result = _read_decimal(number, column, value, problems)
    if result is None:
        return None
    if result != result.to_integral_value() or not 1 <= result <= MAX_JUDGES:
        problems.add(
            number,
            column,
            value,
            N_("%(header)s must be a whole number from 1 to %(limit)s, not %(value)s."),
            limit=MAX_JUDGES,
            value=str(result),
        )
        return None
    return int(result)


def _read_choice(
    number: int,
    column: _Located,
    value: object,
    spellings: Mapping[str, Choice],
    problems: _Problems,
    *,
    message: str,
    choices: str,
) -> Choice | None:
    text = _required(number, column, value, problems)
    if text is None:
        return None
    key = " ".join(_half_width(text).lower().replace("_", " ").split())
    found = spellings.get(key) or spellings.get(key.replace(" ", "_"))
    if found is None:
        problems.add(number, column, value, message, value=_shorten(text), choices=choices)
    return found


def _read_yes_no(number: int, column: _Located, value: object, problems: _Problems) -> bool:
    if isinstance(value, bool):
        return value
    text = _half_width(_text(value)).lower()
    if text == "" or text in NO_SPELLINGS:
        return False
    if text in YES_SPELLINGS:
        return True
    problems.add(
        number,
        column,
        value,
        N_("%(header)s must be %(yes)s or %(no)s, not %(value)s."),
        yes=YES_NO_ZH[0],
        no=YES_NO_ZH[1],
        value=_shorten(_text(value)),
    )
    return False
