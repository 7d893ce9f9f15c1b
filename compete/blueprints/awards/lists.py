"""Lists for approval as Excel, in the layout a human-resources department files them.

Award list, title list, promotion list and a summary per unit, for one event or a whole
competition; and the outstanding contestants for the province's talent and trainer pools
(优秀选手纳入师资库/人才库). ID numbers (and phones) are masked unless the caller may see them.
The sheets carry the Chinese headings the department's forms use, as the registration export
does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from ...domain.idnumber import mask_id_number
from ...domain.people import mask_phone
from ...extensions import db
from ...models import (
    AwardGrant,
    Entry,
    EntryMember,
    EntryScore,
    Event,
    GrantStatus,
    PromotionGrant,
    TitleGrant,
)
from .promotions import grade_text

AWARD_ORDER = (
    "gold",
    "silver",
    "bronze",
    "first",
    "second",
    "third",
    "band_1",
    "band_2",
    "band_3",
    "merit",
    "excellence",
    "medallion",
)
AWARD_NAMES = {
    "first": "一等奖",
    "second": "二等奖",
    "third": "三等奖",
    "merit": "优胜奖",
    "excellence": "优秀奖",
    "gold": "金牌",
    "silver": "银牌",
    "bronze": "铜牌",
    "medallion": "优胜奖（世赛）",
    "band_1": "第一档",
    "band_2": "第二档",
    "band_3": "第三档",
}
TITLE_NAMES = {
    "GD_TECH_EXPERT": "广东省技术能手",
    "NATIONAL_TECH_EXPERT": "全国技术能手",
    "NANYUE_SKILL_MASTER": "南粤技能大师",
    "CHINA_SKILLS_AWARD": "中华技能大奖",
    "LABOUR_MEDAL_NATIONAL": "全国五一劳动奖章",
    "LABOUR_MEDAL_GD": "广东省五一劳动奖章",
}
TITLE_STATUS = {
    GrantStatus.PROPOSED: "拟授予",
    GrantStatus.GRANTED: "已核准",
    GrantStatus.DECLINED: "未核准",
    GrantStatus.REVOKED: "已撤销",
}
PROMOTION_STATUS = {
    GrantStatus.PROPOSED: "拟晋升",
    GrantStatus.GRANTED: "已核准",
    GrantStatus.DECLINED: "未核准",
    GrantStatus.REVOKED: "已撤销",
}
GROUP_NAMES = {"employee": "职工组", "student": "学生组", "teacher": "教师组"}
GENDER = {"M": "男", "F": "女"}

AWARD_HEADERS = [
    "序号",
    "赛项",
    "组别",
    "名次",
    "奖项",
    "姓名",
    "性别",
    "证件号码",
    "参赛单位",
    "成绩",
    "现职业技能等级",
    "拟晋升等级",
    "备注",
]
TITLE_HEADERS = [
    "序号",
    "姓名",
    "性别",
    "证件号码",
    "参赛单位",
    "赛项",
    "名次",
    "成绩",
    "奖项",
    "称号",
    "状态",
    "核准文号",
    "核准日期",
    "备注",
]
PROMOTION_HEADERS = [
    "序号",
    "姓名",
    "性别",
    "证件号码",
    "参赛单位",
    "赛项",
    "职业（工种）",
    "名次",
    "成绩",
    "奖项",
    "现职业技能等级",
    "晋升职业技能等级",
    "状态",
    "核准文号",
    "核准日期",
    "备注",
]
POOL_HEADERS = [
    "序号",
    "姓名",
    "性别",
    "证件号码",
    "手机号码",
    "参赛单位",
    "赛项",
    "职业（工种）",
    "组别",
    "名次",
    "成绩",
    "奖项",
    "称号",
    "现职业技能等级",
    "晋升后等级",
]


def award_name(value: str | None) -> str:
    return "" if value is None else AWARD_NAMES.get(value, value)


def title_name(value: str) -> str:
    return TITLE_NAMES.get(value, value)


def _id(number: str, full: bool) -> str:
    return number if full else mask_id_number(number)


@dataclass(frozen=True)
class Line:
    """One person of one allocated entry."""

    event: Event
    entry: Entry
    member: EntryMember
    grant: AwardGrant
    score: EntryScore | None


def _lines(events: Iterable[Event]) -> list[Line]:
    lines = []
    for event in events:
        scores = {
            row.entry_id: row
            for row in db.session.scalars(select(EntryScore).where(EntryScore.event_id == event.id))
        }
        grants = db.session.scalars(
            select(AwardGrant).where(AwardGrant.event_id == event.id, AwardGrant.is_current)
        ).all()
        for grant in sorted(grants, key=lambda g: (g.rank is None, g.rank or 0, g.entry_id)):
            entry = db.session.get(Entry, grant.entry_id)
            for member in entry.members:
                lines.append(Line(event, entry, member, grant, scores.get(entry.id)))
    return lines


def _grants(model, events: Sequence[Event]):
    ids = [e.id for e in events]
    if not ids:
        return {}
    rows = db.session.scalars(select(model).where(model.event_id.in_(ids))).all()
    return {(row.event_id, row.person_id): row for row in rows}


def _finish(ws, widths: Sequence[int], text_columns: Sequence[int]) -> None:
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    for column in text_columns:
        for cells in ws.iter_rows(min_row=2, min_col=column, max_col=column):
            for cell in cells:
                cell.number_format = "@"


def _save(wb: Workbook) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _score(line: Line) -> str:
    return "" if line.score is None else str(line.score.final)


def award_workbook(events: Sequence[Event], *, full_ids: bool) -> bytes:
    """获奖名单: every person of an entry with an award (or a flagged shared rank)."""
    promotions = _grants(PromotionGrant, events)
    wb = Workbook()
    ws = wb.active
    ws.title = "获奖名单"
    ws.append(AWARD_HEADERS)
    n = 0
    for line in _lines(events):
        grant = line.grant
        if grant.award is None and not grant.flagged:
            continue
        n += 1
        person = line.member.person
        promotion = promotions.get((line.event.id, person.id))
        note = ""
        if grant.flagged:
            note = "并列名次跨奖项线；" + (
                f"决定：{grant.decision_reason}" if grant.decision_reason else "待决定"
            )
        ws.append(
            [
                n,
                f"{line.event.code} {line.event.name}",
                GROUP_NAMES.get(line.event.group.value, line.event.group.value),
                grant.rank,
                award_name(grant.award),
                person.name,
                GENDER.get(person.gender, ""),
                _id(person.id_number, full_ids),
                line.entry.unit.name,
                _score(line),
                grade_text(line.member.current_grade),
                ""
                if promotion is None
                or promotion.status in (GrantStatus.DECLINED, GrantStatus.REVOKED)
                else grade_text(promotion.to_grade),
                note,
            ]
        )
    _finish(ws, (6, 24, 8, 6, 10, 12, 6, 22, 28, 8, 16, 16, 30), (8,))
    return _save(wb)


def _line_for(lines: dict[tuple[int, int], Line], event_id: int, person_id: int) -> Line | None:
    return lines.get((event_id, person_id))


def title_workbook(events: Sequence[Event], *, full_ids: bool) -> bytes:
    """技术能手名单: proposed and decided titles with the approval reference and date."""
    lines = {(line.event.id, line.member.person_id): line for line in _lines(events)}
    rows = (
        db.session.scalars(
            select(TitleGrant).where(TitleGrant.event_id.in_([e.id for e in events]))
        ).all()
        if events
        else []
    )
    wb = Workbook()
    ws = wb.active
    ws.title = "技术能手名单"
    ws.append(TITLE_HEADERS)
    events_by_id = {e.id: e for e in events}
    ordered = sorted(
        rows,
        key=lambda t: (
            events_by_id[t.event_id].code,
            _rank(lines, t.event_id, t.person_id),
            t.id,
        ),
    )
    for n, title in enumerate(ordered, start=1):
        person = title.person
        event = events_by_id[title.event_id]
        line = _line_for(lines, title.event_id, title.person_id)
        ws.append(
            [
                n,
                person.name,
                GENDER.get(person.gender, ""),
                _id(person.id_number, full_ids),
                line.entry.unit.name if line else "",
                f"{event.code} {event.name}",
                line.grant.rank if line else None,
                _score(line) if line else "",
                award_name(line.grant.award) if line else "",
                title_name(title.title),
                TITLE_STATUS[title.status],
                title.approval_ref,
                title.granted_on.isoformat() if title.granted_on else "",
                title.reason or "",
            ]
        )
    _finish(ws, (6, 12, 6, 22, 28, 24, 6, 8, 10, 18, 10, 22, 12, 30), (4,))
    return _save(wb)


def _rank(lines, event_id: int, person_id: int) -> int:
    line = lines.get((event_id, person_id))
    return 10**6 if line is None or line.grant.rank is None else line.grant.rank


def promotion_workbook(events: Sequence[Event], *, full_ids: bool) -> bytes:
    """晋升职业技能等级名单: current grade → new grade, with the approval reference and date."""
    lines = {(line.event.id, line.member.person_id): line for line in _lines(events)}
    rows = (
        db.session.scalars(
            select(PromotionGrant).where(PromotionGrant.event_id.in_([e.id for e in events]))
        ).all()
        if events
        else []
    )
    events_by_id = {e.id: e for e in events}
    ordered = sorted(
        rows,
        key=lambda p: (
            events_by_id[p.event_id].code,
            _rank(lines, p.event_id, p.person_id),
            p.id,
        ),
    )
    wb = Workbook()
    ws = wb.active
    ws.title = "晋升等级名单"
    ws.append(PROMOTION_HEADERS)
    for n, promotion in enumerate(ordered, start=1):
        person = promotion.person
        event = events_by_id[promotion.event_id]
        line = _line_for(lines, promotion.event_id, promotion.person_id)
        ws.append(
            [
                n,
                person.name,
                GENDER.get(person.gender, ""),
                _id(person.id_number, full_ids),
                line.entry.unit.name if line else "",
                f"{event.code} {event.name}",
                promotion.occupation,
                line.grant.rank if line else None,
                _score(line) if line else "",
                award_name(line.grant.award) if line else "",
                grade_text(promotion.from_grade),
                grade_text(promotion.to_grade),
                PROMOTION_STATUS[promotion.status],
                promotion.approval_ref,
                promotion.granted_on.isoformat() if promotion.granted_on else "",
                promotion.reason or "",
            ]
        )
    _finish(ws, (6, 12, 6, 22, 28, 24, 14, 6, 8, 10, 16, 16, 10, 22, 12, 30), (4,))
    return _save(wb)


LIVE = (GrantStatus.PROPOSED, GrantStatus.GRANTED)


def unit_summary_workbook(events: Sequence[Event]) -> bytes:
    """按单位汇总: per unit, contestants, each award (team members counted each), titles and
    promotions proposed or granted."""
    lines = _lines(events)
    titles = _grants(TitleGrant, events)
    promotions = _grants(PromotionGrant, events)
    present = [a for a in AWARD_ORDER if any(line.grant.award == a for line in lines)]
    present += sorted({line.grant.award for line in lines if line.grant.award} - set(AWARD_ORDER))
    units: dict[str, dict[str, Any]] = {}
    for line in lines:
        tally = units.setdefault(line.entry.unit.name, {"people": 0, "titles": 0, "promotions": 0})
        tally["people"] += 1
        if line.grant.award:
            tally[line.grant.award] = tally.get(line.grant.award, 0) + 1
        key = (line.event.id, line.member.person_id)
        if key in titles and titles[key].status in LIVE:
            tally["titles"] += 1
        if key in promotions and promotions[key].status in LIVE:
            tally["promotions"] += 1
    wb = Workbook()
    ws = wb.active
    ws.title = "单位汇总"
    ws.append(
        ["序号", "参赛单位", "参赛选手"]
        + [award_name(a) for a in present]
        + ["获奖合计", "技术能手（拟/已授予）", "晋升等级（拟/已核准）"]
    )
    totals = {"people": 0, "titles": 0, "promotions": 0, **dict.fromkeys(present, 0)}
    ordered = sorted(
        units.items(), key=lambda item: (-sum(item[1].get(a, 0) for a in present), item[0])
    )
    for n, (unit, tally) in enumerate(ordered, start=1):
        counts = [tally.get(a, 0) for a in present]
        ws.append(
            [n, unit, tally["people"], *counts, sum(counts), tally["titles"], tally["promotions"]]
        )
        for key in totals:
            totals[key] += tally.get(key, 0)
    award_total = [totals[a] for a in present]
    ws.append(
        [
            "",
            "合计",
            totals["people"],
            *award_total,
            sum(award_total),
            totals["titles"],
            totals["promotions"],
        ]
    )
    _finish(ws, (6, 32, 10, *([10] * len(present)), 10, 20, 20), ())
    return _save(wb)


def pool_rows(
    events: Sequence[Event],
) -> list[tuple[Line, TitleGrant | None, PromotionGrant | None]]:
    """Outstanding contestants: everyone holding an award, or a title proposed or granted."""
    titles = _grants(TitleGrant, events)
    promotions = _grants(PromotionGrant, events)
    out = []
    for line in _lines(events):
        key = (line.event.id, line.member.person_id)
        title = titles.get(key)
        if title is not None and title.status not in LIVE:
            title = None
        if line.grant.award is None and title is None:
            continue
        promotion = promotions.get(key)
        if promotion is not None and promotion.status not in LIVE:
            promotion = None
        out.append((line, title, promotion))
    return out


def talent_pool_workbook(events: Sequence[Event], *, full_ids: bool) -> bytes:
    """优秀选手名单 for the talent and trainer pools: award winners and title holders."""
    wb = Workbook()
    ws = wb.active
    ws.title = "优秀选手名单"
    ws.append(POOL_HEADERS)
    for n, (line, title, promotion) in enumerate(pool_rows(events), start=1):
        person = line.member.person
        phone = person.phone if full_ids else (mask_phone(person.phone) if person.phone else "")
        ws.append(
            [
                n,
                person.name,
                GENDER.get(person.gender, ""),
                _id(person.id_number, full_ids),
                phone,
                line.entry.unit.name,
                f"{line.event.code} {line.event.name}",
                line.event.occupation,
                GROUP_NAMES.get(line.event.group.value, line.event.group.value),
                line.grant.rank,
                _score(line),
                award_name(line.grant.award),
                ""
                if title is None
                else f"{title_name(title.title)}（{TITLE_STATUS[title.status]}）",
                grade_text(line.member.current_grade),
                "" if promotion is None else grade_text(promotion.to_grade),
            ]
        )
    _finish(ws, (6, 12, 6, 22, 14, 28, 24, 14, 8, 6, 8, 10, 24, 16, 16), (4, 5))
    return _save(wb)


KINDS = ("awards", "titles", "promotions", "units")


def workbook(kind: str, events: Sequence[Event], *, full_ids: bool) -> bytes:
    if kind == "awards":
        return award_workbook(events, full_ids=full_ids)
    if kind == "titles":
        return title_workbook(events, full_ids=full_ids)
    if kind == "promotions":
        return promotion_workbook(events, full_ids=full_ids)
    return unit_summary_workbook(events)
