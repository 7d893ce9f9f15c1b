"""Theory scores (理论成绩) and completion times (用时) for entries: one at a time or by file.

Each figure is an append-only ``EntryInput`` row; the newest per (entry, kind) is in force and
a change to a figure in force needs a reason. An entry is named by its admission number
(准考证号), its marking code (评审号) or its entry number (参赛号): theory papers are marked
anonymously, so the score sheet may carry either the admission number or the code.

- Theory: 0–100, at most two decimals (the stored precision). Time: minutes above 0, at most
  two decimals; a file may also give ``h:mm:ss`` or an Excel time.
- Nothing is accepted once the results are published (公示), final or cancelled: published
  figures change only through review after an upheld appeal.
- A file is imported whole or not at all; every bad cell is reported with its row, column,
  value and reason. A row whose figures equal those in force adds nothing (a file can be
  imported again).

The caller commits, then calls ``services.schedule_recompute``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput
from ...domain.lifecycle import EventState
from ...extensions import db
from ...models import Entry, EntryInput, EntryStatus, Event, InputKind, ReviewCode
from ..registration.importer import RowProblem
from .services import InputInForce, inputs_in_force

THEORY_MAX = Decimal(100)
TIME_MAX = Decimal(100_000)  # minutes; the column holds up to 999 999.99
VALUE_PLACES = 2
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
HEADER_SEARCH_ROWS = 10
SHEET_TITLE = "成绩录入"
HELP_SHEET_TITLE = "说明"
CLOSED_STATES = (
    EventState.PUBLICITY,
    EventState.FINAL,
    EventState.AWARDS_ISSUED,
    EventState.CANCELLED,
)


class IdKind(StrEnum):
    """How a row or a form names its entry."""

    ADMISSION_NO = "admission_no"  # 准考证号
    REVIEW_CODE = "review_code"  # 评审号
    ENTRY_NUMBER = "entry_number"  # 参赛号


# --- messages -------------------------------------------------------------------------------

CLOSED = N_("The results are published: theory scores and times can no longer be changed.")
NOT_APPROVED = N_("This entry is not approved.")
UNKNOWN_ENTRY = {
    IdKind.ADMISSION_NO: N_("No approved entry of this event has the admission number %(value)s."),
    IdKind.REVIEW_CODE: N_("No approved entry of this event has the marking code %(value)s."),
    IdKind.ENTRY_NUMBER: N_("No approved entry of this event has the entry number %(value)s."),
}
NO_IDENTIFIER = N_("Name the entry by admission number, marking code or entry number.")
NOTHING_GIVEN = N_("Enter a theory score or a completion time.")
NOT_A_NUMBER = N_("%(value)s is not a number.")
TOO_PRECISE = N_("%(value)s has more than two decimals.")
THEORY_RANGE = N_("The theory score must be between 0 and 100, not %(value)s.")
TIME_RANGE = N_("The time must be more than 0 and below %(max)s minutes, not %(value)s.")
TIME_FORMAT = N_("%(value)s is not a time: give minutes (such as 95.5) or h:mm:ss.")
NEEDS_REASON = {
    InputKind.THEORY: N_("Changing the recorded theory score %(old)s to %(new)s needs a reason."),
    InputKind.TIME: N_("Changing the recorded time %(old)s to %(new)s needs a reason."),
}
WITHDRAW_NEEDS_REASON = N_("Withdrawing a recorded figure needs a reason.")
NOTHING_TO_WITHDRAW = N_("There is no figure in force to withdraw.")
REASON_TOO_LONG = N_("The reason is too long (500 characters at most).")

FILE_TOO_LARGE = N_("The file is larger than %(limit)s MB.")
FILE_TYPE = N_("Upload an Excel workbook (.xlsx) or a CSV file (.csv), not %(name)s.")
FILE_NOT_XLSX = N_("The file is not an Excel workbook (.xlsx).")
FILE_DAMAGED = N_("The file could not be read; it may be damaged.")
FILE_ENCODING = N_("The CSV file is neither UTF-8 nor GBK text; save it again as CSV UTF-8.")
FILE_CSV = N_("The CSV file could not be read: %(error)s.")
NO_HEADER = N_("No header row names the entry: add a column %(columns)s.")
NO_VALUE_COLUMN = N_("The header row has neither a %(theory)s nor a %(time)s column.")
DUPLICATE_HEADER = N_("The column %(header)s appears twice in the header row.")
NO_ROWS = N_("The file has no data rows.")
TOO_MANY_ROWS = N_("The file has %(count)s rows; at most %(limit)s can be imported at once.")
ROW_NO_IDENTIFIER = N_("Name the entry in one of the columns %(columns)s.")
ROW_SEVERAL_IDENTIFIERS = N_("Name the entry in one column only, not in %(columns)s.")
ROW_EMPTY = N_("The row gives neither a theory score nor a time.")
ROW_DUPLICATE = N_("This entry is already in row %(first_row)s of the file.")


@dataclass(frozen=True)
class Column:
    """A column of the upload sheet: key, Chinese header, English name, other spellings."""

    key: str
    header: str
    english: str
    width: int
    help_zh: str
    help_en: str
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column(
        IdKind.ADMISSION_NO.value,
        "准考证号",
        "Admission no.",
        18,
        "准考证号。每行只填准考证号、评审号、参赛号中的一项。",
        "Admission number. Fill in one of admission number, marking code or entry number.",
        ("准考证", "准考证编号", "admission_no", "admission number", "admission"),
    ),
    Column(
        IdKind.REVIEW_CODE.value,
        "评审号",
        "Marking code",
        12,
        "评审号（理论试卷密封评阅时使用）。",
        "Marking code (when the papers are marked anonymously).",
        ("评审编号", "密号", "review_code", "marking code", "code"),
    ),
    Column(
        IdKind.ENTRY_NUMBER.value,
        "参赛号",
        "Entry no.",
        10,
        "参赛号。",
        "Entry number.",
        ("参赛编号", "选手编号", "entry_number", "entry number", "entry no"),
    ),
    Column(
        InputKind.THEORY.value,
        "理论成绩",
        "Theory score",
        12,
        "理论考试成绩，0～100 分，最多两位小数；不录入可留空。",
        "Theory score, 0-100, at most two decimals; leave empty if not recorded here.",
        ("理论", "理论考试成绩", "理论分", "theory", "theory score"),
    ),
    Column(
        InputKind.TIME.value,
        "用时（分钟）",
        "Time (minutes)",
        14,
        "实操完成用时，单位分钟（如 95.5），或 时:分:秒（如 1:35:30）；不录入可留空。",
        "Practical completion time in minutes (such as 95.5) or h:mm:ss (such as 1:35:30);"
        " leave empty if not recorded here.",
        ("用时", "用时(分钟)", "完成用时", "完成时间", "time", "time (minutes)", "minutes"),
    ),
    Column(
        "reason",
        "更正原因",
        "Reason",
        24,
        "更改已录入的成绩或用时必须填写原因。",
        "Required when a row changes a figure already recorded.",
        ("原因", "修改原因", "reason", "correction reason"),
    ),
)
COLUMN = {column.key: column for column in COLUMNS}
ID_KEYS = tuple(kind.value for kind in IdKind)
VALUE_KEYS = (InputKind.THEORY.value, InputKind.TIME.value)


def _key(text: str) -> str:
    """A header in one form for lookups: NFKC, case-folded, without spaces and marks."""
    text = unicodedata.normalize("NFKC", text).casefold()
    for mark in ("(必填)", "(选填)", "*", " ", "_", ".", "\u3000"):
        text = text.replace(mark, "")
    return text


_HEADERS: Mapping[str, str] = {
    _key(spelling): column.key
    for column in COLUMNS
    for spelling in (column.header, column.english, column.key, *column.aliases)
}


# --- checks shared by the form and the file -------------------------------------------------


def check_open(event: Event) -> None:
    """Figures can be recorded until the results are published."""
    if event.state in CLOSED_STATES:
        raise Conflict(CLOSED)


def _decimal(raw: object, *, field: str) -> Decimal:
    """A cell or form value as an exact number with at most two decimals."""
    if isinstance(raw, bool):
        raise InvalidInput(NOT_A_NUMBER, field=field, value=str(raw))
    if isinstance(raw, float):
        text = repr(raw)  # the shortest text that reads back as this float
    elif isinstance(raw, int | Decimal):
        text = str(raw)
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(NOT_A_NUMBER, field=field, value=text[:40]) from None
    if not value.is_finite():
        raise InvalidInput(NOT_A_NUMBER, field=field, value=text[:40])
    if value != value.quantize(Decimal(1).scaleb(-VALUE_PLACES)):
        raise InvalidInput(TOO_PRECISE, field=field, value=text[:40])
    return value.quantize(Decimal(1).scaleb(-VALUE_PLACES))


def parse_theory(raw: object) -> Decimal:
    """A theory score: 0–100 inclusive, at most two decimals."""
    value = _decimal(raw, field="theory")
    if not 0 <= value <= THEORY_MAX:
        raise InvalidInput(THEORY_RANGE, field="theory", value=str(value))
    return value


_CLOCK = re.compile(r"^(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)$")


def parse_time(raw: object) -> Decimal:
    """A completion time in minutes above 0: a number of minutes, ``h:mm:ss`` (rounded half-up
    to 0.01 minute), or an Excel time or duration cell."""
    if isinstance(raw, timedelta):
        minutes = Decimal(int(raw.total_seconds() * 1000)) / 60000
        value = minutes.quantize(Decimal("0.01"))
    elif isinstance(raw, time):
        seconds = raw.hour * 3600 + raw.minute * 60 + raw.second
        value = (Decimal(seconds) / 60).quantize(Decimal("0.01"))
    elif isinstance(raw, str) and ":" in raw:
        text = unicodedata.normalize("NFKC", raw).strip()
        match = _CLOCK.match(text)
        if match is None:
            raise InvalidInput(TIME_FORMAT, field="time", value=text[:40])
        hours, minutes, seconds = match.groups()
        total = Decimal(hours) * 60 + Decimal(minutes) + Decimal(seconds) / 60
        value = total.quantize(Decimal("0.01"))
    else:
        value = _decimal(raw, field="time")
    if not 0 < value < TIME_MAX:
        raise InvalidInput(TIME_RANGE, field="time", value=str(value), max=str(TIME_MAX))
    return value


def _clean_reason(reason: str | None) -> str | None:
    text = (reason or "").strip() or None
    if text is not None and len(text) > 500:
        raise InvalidInput(REASON_TOO_LONG, field="reason")
    return text


def find_entry(event: Event, kind: IdKind | str, identifier: str) -> Entry:
    """The approved entry of ``event`` named by ``identifier`` (InvalidInput if none)."""
    kind = IdKind(kind)
    text = unicodedata.normalize("NFKC", identifier or "").strip()
    if not text:
        raise InvalidInput(NO_IDENTIFIER, field="identifier")
    stmt = select(Entry).where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)
    if kind is IdKind.ADMISSION_NO:
        stmt = stmt.where(Entry.admission_no == text)
    elif kind is IdKind.ENTRY_NUMBER:
        stmt = stmt.where(Entry.entry_number == text)
    else:
        stmt = stmt.join(ReviewCode, ReviewCode.entry_id == Entry.id).where(
            ReviewCode.event_id == event.id, ReviewCode.code == text
        )
    entry = db.session.scalars(stmt.limit(1)).first()
    if entry is None:
        raise InvalidInput(UNKNOWN_ENTRY[kind], field="identifier", value=text[:40])
    return entry


def _same(current: InputInForce | None, value: Decimal | None) -> bool:
    old = current.value if current is not None else None
    return old == value


def _needs_reason(current: InputInForce | None, value: Decimal | None) -> bool:
    """A figure in force that would change (or be withdrawn) needs a reason."""
    return current is not None and current.value is not None and current.value != value


def _shown(value: Decimal | None) -> str:
    return "—" if value is None else str(value)


# --- one figure -------------------------------------------------------------------------------


def record_input(
    actor,
    event: Event,
    *,
    entry: Entry,
    kind: InputKind | str,
    value: Decimal | None,
    reason: str | None,
    now: datetime,
    source: str = "form",
) -> EntryInput | None:
    """Record one theory score or time (``value`` None withdraws it, with a reason).

    Returns the new row, or None when the figure equals the one in force (nothing to add).
    A change to a figure in force needs a reason. Audited; flushes, the caller commits.
    """
    check_open(event)
    kind = InputKind(kind)
    if entry.event_id != event.id or entry.status is not EntryStatus.APPROVED:
        raise InvalidInput(NOT_APPROVED, field="identifier")
    if value is not None:
        value = parse_theory(value) if kind is InputKind.THEORY else parse_time(value)
    reason = _clean_reason(reason)
    current = inputs_in_force_for(event, entry.id).get(kind)
    if value is None and (current is None or current.value is None):
        raise InvalidInput(NOTHING_TO_WITHDRAW, field=kind.value)
    if _same(current, value):
        return None
    if _needs_reason(current, value) and reason is None:
        if value is None:
            raise InvalidInput(WITHDRAW_NEEDS_REASON, field="reason")
        raise InvalidInput(
            NEEDS_REASON[kind], field="reason", old=_shown(current.value), new=_shown(value)
        )
    row = EntryInput(
        event_id=event.id,
        entry_id=entry.id,
        kind=kind,
        value=value,
        source=source,
        reason=reason,
        recorded_by_id=getattr(actor, "id", None),
        recorded_at=now,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor,
        "results.input_recorded",
        row,
        before={"value": None if current is None else current.value},
        after={"entry": entry.id, "kind": kind, "value": value, "source": source},
        reason=reason,
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return row


def inputs_in_force_for(event: Event, entry_id: int) -> dict[InputKind, InputInForce]:
    """The figures in force of one entry."""
    return inputs_in_force(event).get(entry_id, {})


def record_inputs(
    actor,
    event: Event,
    *,
    id_kind: IdKind | str,
    identifier: str,
    theory: str | None,
    time: str | None,
    reason: str | None,
    now: datetime,
) -> list[EntryInput]:
    """The one-by-one form: a theory score and/or a time for the entry named by
    ``identifier``. Both are checked before either is stored. Returns the rows added."""
    check_open(event)
    entry = find_entry(event, id_kind, identifier)
    given: list[tuple[InputKind, Decimal]] = []
    if theory is not None and str(theory).strip():
        given.append((InputKind.THEORY, parse_theory(theory)))
    if time is not None and str(time).strip():
        given.append((InputKind.TIME, parse_time(time)))
    if not given:
        raise InvalidInput(NOTHING_GIVEN, field="theory")
    in_force = inputs_in_force_for(event, entry.id)
    clean = _clean_reason(reason)
    for kind, value in given:
        current = in_force.get(kind)
        if _needs_reason(current, value) and clean is None:
            raise InvalidInput(
                NEEDS_REASON[kind], field="reason", old=_shown(current.value), new=_shown(value)
            )
    rows = []
    for kind, value in given:
        row = record_input(actor, event, entry=entry, kind=kind, value=value, reason=clean, now=now)
        if row is not None:
            rows.append(row)
    return rows


# --- the listing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputLine:
    """One coded entry on the inputs page: its marking code and the figures in force."""

    code: str
    theory: InputInForce | None
    time: InputInForce | None


@dataclass(frozen=True)
class InputTable:
    lines: list[InputLine]
    approved: int  # approved entries, coded or not
    with_theory: int
    with_time: int
    uncoded_with_figures: int  # approved entries without a marking code that have a figure


def input_table(event: Event) -> InputTable:
    """The figures in force per approved entry with a marking code, by code.

    Entries are listed by marking code only, as on the provisional ranking: the page never
    shows a code beside an admission or entry number.
    """
    approved = list(
        db.session.execute(
            select(Entry.id, ReviewCode.code)
            .outerjoin(ReviewCode, ReviewCode.entry_id == Entry.id)
            .where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)
        )
    )
    inputs = inputs_in_force(event)

    def held(entry_id: int, kind: InputKind) -> InputInForce | None:
        figure = inputs.get(entry_id, {}).get(kind)
        return figure if figure is not None and figure.value is not None else None

    lines = sorted(
        (
            InputLine(code, held(entry_id, InputKind.THEORY), held(entry_id, InputKind.TIME))
            for entry_id, code in approved
            if code is not None
        ),
        key=lambda line: line.code,
    )
    return InputTable(
        lines=lines,
        approved=len(approved),
        with_theory=sum(1 for e, _c in approved if held(e, InputKind.THEORY)),
        with_time=sum(1 for e, _c in approved if held(e, InputKind.TIME)),
        uncoded_with_figures=sum(
            1
            for e, code in approved
            if code is None and (held(e, InputKind.THEORY) or held(e, InputKind.TIME))
        ),
    )


# --- the file ---------------------------------------------------------------------------------


def build_template(*, locale: str = "zh_CN") -> bytes:
    """The blank upload workbook: sheet 成绩录入 (bold frozen headers, identifier columns as
    text so leading zeros survive) and sheet 说明 explaining each column with an example."""
    english = locale.lower().startswith("en")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    bold = Font(bold=True)
    fill = PatternFill("solid", start_color="DDEBF7")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        notes = (column.english, column.help_en) if english else (column.help_zh, column.help_en)
        cell.comment = Comment("\n".join(notes), "compete")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.key in ID_KEYS:
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    help_sheet = workbook.create_sheet(HELP_SHEET_TITLE)
    help_sheet.append(["列 Column", "表头 Header", "English", "说明", "Notes"])
    for index, column in enumerate(COLUMNS, start=1):
        help_sheet.append(
            [
                get_column_letter(index),
                column.header,
                column.english,
                column.help_zh,
                column.help_en,
            ]
        )
    help_sheet.append([])
    help_sheet.append(["每个选手一行。有任何错误则全部不导入，并列出每个错误的行和列。"])
    help_sheet.append(
        [
            "One row per entry. If anything is wrong nothing is imported, and every problem is"
            " listed with its row and column."
        ]
    )
    help_sheet.append([])
    help_sheet.append(["示例 Example"])
    help_sheet.append([column.header for column in COLUMNS])
    help_sheet.append(["A0010001", "", "", "82.5", "", ""])
    help_sheet.append(["", "R007", "", "76", "95.5", ""])
    help_sheet.append(["", "", "012", "", "1:35:30", "计时记录有误"])
    for cell in help_sheet[1]:
        cell.font = bold
    for letter, width in zip("ABCDE", (10, 16, 18, 60, 70), strict=True):
        help_sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class RawRow:
    """One data row as read: its number in the file, cells by column key, headers as written."""

    row: int
    values: Mapping[str, object]
    headers: Mapping[str, str] = field(default_factory=dict)


class InputsRejected(InvalidInput):
    """The file was not imported; ``problems`` lists every bad cell."""

    message = N_("The file has %(count)s problems; nothing was imported.")

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = list(problems)
        super().__init__(field="file", count=len(self.problems))


def _file_problem(message: str, **params: Any) -> RowProblem:
    return RowProblem(None, None, None, message, params)


def read_rows(data: bytes, filename: str) -> list[RawRow]:
    """The data rows of an .xlsx or .csv upload (InputsRejected when it cannot be read).

    The header row is the first of the first ten non-empty rows naming a known column; columns
    are found by header text (Chinese or English) in any order, unknown ones ignored. Excel
    cells keep their type (numbers, times); CSV cells are text (UTF-8, with or without BOM, or
    GB18030; comma, tab or semicolon).
    """
    if len(data) > MAX_FILE_BYTES:
        raise InputsRejected([_file_problem(FILE_TOO_LARGE, limit=MAX_FILE_BYTES // 2**20)])
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xlsx":
        rows = _xlsx_rows(data)
    elif suffix == "csv":
        rows = _csv_rows(data)
    else:
        raise InputsRejected([_file_problem(FILE_TYPE, name=filename[-60:])])
    return _table(rows)


def _xlsx_rows(data: bytes) -> list[tuple[int, Sequence[object]]]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InputsRejected([_file_problem(FILE_NOT_XLSX)])
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error on a damaged file
        raise InputsRejected([_file_problem(FILE_DAMAGED)]) from None
    try:
        names = workbook.sheetnames
        sheet = workbook[SHEET_TITLE if SHEET_TITLE in names else names[0]]
        rows = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + HEADER_SEARCH_ROWS + 1:
                raise InputsRejected(
                    [_file_problem(TOO_MANY_ROWS, count=f"> {MAX_ROWS}", limit=MAX_ROWS)]
                )
            rows.append((number, values))
    except InputsRejected:
        raise
    except Exception:  # cells are parsed lazily in read-only mode
        raise InputsRejected([_file_problem(FILE_DAMAGED)]) from None
    finally:
        workbook.close()
    return rows


def _csv_rows(data: bytes) -> list[tuple[int, Sequence[object]]]:
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputsRejected([_file_problem(FILE_ENCODING)])
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return list(enumerate(reader, start=1))
    except csv.Error as exc:
        raise InputsRejected([_file_problem(FILE_CSV, error=str(exc)[:100])]) from None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table(rows: list[tuple[int, Sequence[object]]]) -> list[RawRow]:
    located: dict[str, tuple[int, str]] | None = None
    start = 0
    searched = 0
    for position, (number, values) in enumerate(rows):
        if all(_blank(v) for v in values):
            continue
        searched += 1
        located = _locate(number, values)
        if located is not None or searched >= HEADER_SEARCH_ROWS:
            start = position + 1
            break
    id_headers = " / ".join(COLUMN[k].header for k in ID_KEYS)
    if located is None or not any(k in located for k in ID_KEYS):
        raise InputsRejected([_file_problem(NO_HEADER, columns=id_headers)])
    if not any(k in located for k in VALUE_KEYS):
        raise InputsRejected(
            [
                _file_problem(
                    NO_VALUE_COLUMN,
                    theory=COLUMN[InputKind.THEORY.value].header,
                    time=COLUMN[InputKind.TIME.value].header,
                )
            ]
        )
    headers = {key: header for key, (_i, header) in located.items()}
    found = []
    for number, values in rows[start:]:
        cells = {
            key: values[index] if index < len(values) else None
            for key, (index, _h) in located.items()
        }
        if all(_blank(v) for v in cells.values()):
            continue
        found.append(RawRow(number, cells, headers))
    if not found:
        raise InputsRejected([_file_problem(NO_ROWS)])
    if len(found) > MAX_ROWS:
        raise InputsRejected([_file_problem(TOO_MANY_ROWS, count=len(found), limit=MAX_ROWS)])
    return found


def _locate(number: int, values: Sequence[object]) -> dict[str, tuple[int, str]] | None:
    located: dict[str, tuple[int, str]] = {}
    duplicates = []
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            continue
        key = _HEADERS.get(_key(value))
        if key is None:
            continue
        if key in located:
            duplicates.append(
                RowProblem(number, value.strip(), None, DUPLICATE_HEADER, {"header": value.strip()})
            )
            continue
        located[key] = (index, value.strip())
    if duplicates:
        raise InputsRejected(duplicates)
    return located or None


def _text(value: object) -> str:
    """A cell as stripped text; whole floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()


@dataclass(frozen=True)
class Change:
    """One figure a file adds."""

    row: int
    entry_id: int
    kind: InputKind
    value: Decimal
    reason: str | None


@dataclass(frozen=True)
class ImportOutcome:
    recorded: int  # figures added
    unchanged: int  # figures equal to those in force
    rows: int


def check_rows(event: Event, rows: Sequence[RawRow]) -> tuple[list[Change], int, list[RowProblem]]:
    """Every row checked against the event: (changes, unchanged figures, problems)."""
    entries = _identifiers(event)
    inputs = inputs_in_force(event)
    problems: list[RowProblem] = []
    changes: list[Change] = []
    unchanged = 0
    first_row: dict[tuple[int, InputKind], int] = {}

    def add(row: RawRow, key: str | None, shown: object, message: str, **params: Any) -> None:
        header = row.headers.get(key) if key else None
        text = None if _blank(shown) else _text(shown)[:60]
        problems.append(RowProblem(row.row, header, text, message, params))

    for row in rows:
        filled = [k for k in ID_KEYS if k in row.values and not _blank(row.values[k])]
        if not filled:
            add(
                row,
                None,
                None,
                ROW_NO_IDENTIFIER,
                columns=" / ".join(row.headers[k] for k in ID_KEYS if k in row.headers),
            )
            continue
        if len(filled) > 1:
            add(
                row,
                filled[1],
                row.values[filled[1]],
                ROW_SEVERAL_IDENTIFIERS,
                columns=" / ".join(row.headers[k] for k in filled),
            )
            continue
        id_key = filled[0]
        identifier = _text(row.values[id_key])
        entry_id = entries[id_key].get(identifier)
        if entry_id is None:
            add(row, id_key, identifier, UNKNOWN_ENTRY[IdKind(id_key)], value=identifier)
            continue
        reason_text = _text(row.values.get("reason"))
        reason = reason_text or None
        if reason is not None and len(reason) > 500:
            add(row, "reason", reason, REASON_TOO_LONG)
            continue
        given = [k for k in VALUE_KEYS if k in row.values and not _blank(row.values[k])]
        if not given:
            add(row, None, None, ROW_EMPTY)
            continue
        for key in given:
            kind = InputKind(key)
            raw = row.values[key]
            try:
                value = parse_theory(raw) if kind is InputKind.THEORY else parse_time(raw)
            except InvalidInput as exc:
                add(row, key, raw, exc.message, **exc.params)
                continue
            seen = first_row.setdefault((entry_id, kind), row.row)
            if seen != row.row:
                add(row, id_key, identifier, ROW_DUPLICATE, first_row=seen)
                continue
            current = inputs.get(entry_id, {}).get(kind)
            if _same(current, value):
                unchanged += 1
                continue
            if _needs_reason(current, value) and reason is None:
                add(row, key, raw, NEEDS_REASON[kind], old=_shown(current.value), new=_shown(value))
                continue
            changes.append(Change(row.row, entry_id, kind, value, reason))
    return changes, unchanged, problems


def _identifiers(event: Event) -> dict[str, dict[str, int]]:
    """Approved entries by admission number, marking code and entry number."""
    rows = db.session.execute(
        select(Entry.id, Entry.admission_no, Entry.entry_number, ReviewCode.code)
        .outerjoin(ReviewCode, ReviewCode.entry_id == Entry.id)
        .where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)
    )
    found: dict[str, dict[str, int]] = {key: {} for key in ID_KEYS}
    for entry_id, admission_no, entry_number, code in rows:
        for key, value in (
            (IdKind.ADMISSION_NO.value, admission_no),
            (IdKind.ENTRY_NUMBER.value, entry_number),
            (IdKind.REVIEW_CODE.value, code),
        ):
            if value:
                found[key][value] = entry_id
    return found


def import_inputs(
    actor, event: Event, *, data: bytes, filename: str, now: datetime
) -> ImportOutcome:
    """Import a whole file of theory scores and times, or nothing (InputsRejected).

    Figures equal to those in force are skipped; the rest are stored as rows with source
    ``file``. One audit entry lists what the file changed. Flushes; the caller commits.
    """
    check_open(event)
    rows = read_rows(data, filename)
    changes, unchanged, problems = check_rows(event, rows)
    if problems:
        raise InputsRejected(sorted(problems, key=lambda p: p.row or 0))
    added = [
        EntryInput(
            event_id=event.id,
            entry_id=change.entry_id,
            kind=change.kind,
            value=change.value,
            source="file",
            reason=change.reason,
            recorded_by_id=getattr(actor, "id", None),
            recorded_at=now,
        )
        for change in changes
    ]
    db.session.add_all(added)
    db.session.flush()
    audit.record(
        actor,
        "results.inputs_imported",
        event,
        after={
            "file": filename[-100:],
            "rows": len(rows),
            "recorded": len(added),
            "unchanged": unchanged,
            "changes": [
                {"row": c.row, "entry": c.entry_id, "kind": c.kind, "value": c.value}
                for c in changes
            ],
        },
        event_id=event.id,
        competition_id=event.competition_id,
    )
    return ImportOutcome(recorded=len(added), unchanged=unchanged, rows=len(rows))


def problem_rows(problems: Sequence[RowProblem], translate) -> list[dict[str, Any]]:
    """Problems for the report page and JSON: row, column, value and the translated reason."""
    return [
        {
            "row": p.row,
            "column": p.column,
            "value": p.value,
            "message": translate(p.message, **p.params),
        }
        for p in problems
    ]
