"""The registration list as Excel; ID numbers and phones masked unless the user may see them."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from ...domain.grades import GRADE_LABELS, Grade
from ...domain.idnumber import mask_id_number
from ...domain.people import mask_phone
from ...models import Entry, Event

HEADERS = [
    "序号",
    "参赛号",
    "准考证号",
    "参赛单位",
    "姓名",
    "性别",
    "证件号码",
    "手机号码",
    "现职业技能等级",
    "指导教师",
    "状态",
    "审核意见",
]
STATUS = {
    "submitted": "待审核",
    "approved": "已通过",
    "returned": "已退回",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}


def registration_workbook(event: Event, entries: list[Entry], *, full_ids: bool) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "报名表"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    row_no = 0
    for entry in entries:
        for member in entry.members:
            row_no += 1
            person = member.person
            id_number = person.id_number if full_ids else mask_id_number(person.id_number)
            phone = person.phone if full_ids else (mask_phone(person.phone) if person.phone else "")
            grade = (
                GRADE_LABELS[Grade(member.current_grade)]
                if member.current_grade is not None
                else ""
            )
            ws.append(
                [
                    row_no,
                    entry.entry_number or "",
                    entry.admission_no or "",
                    entry.unit.name,
                    person.name,
                    "男" if person.gender == "M" else "女",
                    id_number,
                    phone,
                    grade,
                    "、".join(c["name"] for c in entry.coaches or []),
                    STATUS[entry.status.value],
                    entry.decision_reason or "",
                ]
            )
    for column, width in zip(
        "ABCDEFGHIJKL", (6, 10, 16, 28, 12, 6, 22, 14, 16, 16, 8, 30), strict=True
    ):
        ws.column_dimensions[column].width = width
    for cells in ws.iter_rows(min_row=2, min_col=7, max_col=8):
        for cell in cells:
            cell.number_format = "@"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
