"""Vocational skill grades (职业技能等级, the 新八级工 ladder, 8LVL).

Grades are held per occupation. Competitions promote up to ``L1`` (一级/高级技师); the two top
rungs are enterprise posts and never reached by a competition.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType

from . import N_
from .errors import InvalidInput


class Grade(IntEnum):
    """Ordered grades: a larger value is a higher grade."""

    APPRENTICE = 0  # 学徒工
    L5 = 1  # 五级/初级工
    L4 = 2  # 四级/中级工
    L3 = 3  # 三级/高级工
    L2 = 4  # 二级/技师
    L1 = 5  # 一级/高级技师
    PRINCIPAL = 6  # 特级技师
    CHIEF = 7  # 首席技师


GRADE_LABELS: Mapping[Grade, str] = MappingProxyType(
    {
        Grade.APPRENTICE: "学徒工",
        Grade.L5: "五级/初级工",
        Grade.L4: "四级/中级工",
        Grade.L3: "三级/高级工",
        Grade.L2: "二级/技师",
        Grade.L1: "一级/高级技师",
        Grade.PRINCIPAL: "特级技师",
        Grade.CHIEF: "首席技师",
    }
)

# Each spelling names exactly one grade. "高级" alone is ambiguous (高级工 or 高级技师) and absent.
_ALIASES: Mapping[str, Grade] = MappingProxyType(
    {
        "学徒工": Grade.APPRENTICE,
        "学徒": Grade.APPRENTICE,
        "五级": Grade.L5,
        "5级": Grade.L5,
        "初级工": Grade.L5,
        "初级": Grade.L5,
        "L5": Grade.L5,
        "四级": Grade.L4,
        "4级": Grade.L4,
        "中级工": Grade.L4,
        "中级": Grade.L4,
        "L4": Grade.L4,
        "三级": Grade.L3,
        "3级": Grade.L3,
        "高级工": Grade.L3,
        "L3": Grade.L3,
        "二级": Grade.L2,
        "2级": Grade.L2,
        "技师": Grade.L2,
        "L2": Grade.L2,
        "一级": Grade.L1,
        "1级": Grade.L1,
        "高级技师": Grade.L1,
        "L1": Grade.L1,
        "特级技师": Grade.PRINCIPAL,
        "首席技师": Grade.CHIEF,
    }
)

_SEPARATORS = re.compile(r"[/／、,，()（）\s·\-]+")
_LEVEL_PREFIX = re.compile(r"^([一二三四五1-5]级)(.+)$")


def grade_label(grade: Grade) -> str:
    """The Chinese label, e.g. ``Grade.L2`` → "二级/技师"."""
    return GRADE_LABELS[Grade(grade)]


def parse_grade(raw: str) -> Grade:
    """Read a grade from its common Chinese spellings.

    Accepts the level ("二级", "2级"), the title ("技师", "高级工") or both in any of the usual
    forms ("二级/技师", "技师（二级）", "二级技师"), and "L1"–"L5". Both halves must name the same
    grade. Anything else, including the ambiguous "高级", raises InvalidInput.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip().upper()
    parts = [part for part in _SEPARATORS.split(text) if part]
    if len(parts) == 1 and parts[0] not in _ALIASES and (match := _LEVEL_PREFIX.match(parts[0])):
        parts = [match.group(1), match.group(2)]
    grades = {_ALIASES.get(part) for part in parts}
    if not parts or None in grades or len(grades) != 1:
        raise InvalidInput(N_("%(value)s is not a known skill grade."), field="grade", value=raw)
    return grades.pop()
