"""People's data: names, phone numbers, ages and the statutory retirement age (§2, §7).

Identity is the ID number, never the name (namesakes are common); names are normalised only so
the same name is written the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

from . import N_
from .errors import InvalidInput

NAME_MAX_LENGTH = 50
MIDDLE_DOT = "\u00b7"
# U+2022 •, U+2027 ‧, U+30FB ・, U+FF65 ･, U+FF0E ．, plus U+2219 ∙ and U+22C5 ⋅ seen in practice.
_DOT_VARIANTS = frozenset("\u2022\u2027\u30fb\uff65\uff0e\u2219\u22c5")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"  # CJK, Ext A, compat, Ext B+
_CJK_CHAR = re.compile(f"[{_CJK}]")
_DOT_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])\\.(?=[{_CJK}])")
_LATIN = re.compile(r"[A-Za-z]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def _halfwidth(char: str) -> str:
    code = ord(char)
    if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
        return chr(code - 0xFEE0)
    return char


def normalise_name(raw: str, *, max_length: int = NAME_MAX_LENGTH) -> str:
    """A name in one canonical form (§7).

    NFC; full-width Latin letters and digits → half-width; middle-dot variants (U+2022, U+2027,
    U+30FB, U+FF65, U+FF0E, U+2219, U+22C5) and "." between CJK characters → U+00B7
    (艾尔肯·买买提); trimmed; a Chinese name (CJK characters, no Latin letters) loses every space,
    U+3000 included; other names keep single spaces. Empty, control characters or more than
    ``max_length`` (50) characters → InvalidInput.
    """
    text = unicodedata.normalize("NFC", raw or "")
    text = "".join(MIDDLE_DOT if char in _DOT_VARIANTS else _halfwidth(char) for char in text)
    text = text.strip()
    if _CJK_CHAR.search(text) and not _LATIN.search(text):
        text = "".join(text.split())
    else:
        text = " ".join(text.split())
    text = _DOT_BETWEEN_CJK.sub(MIDDLE_DOT, text)
    if not text:
        raise InvalidInput(N_("The name is empty."), field="name")
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise InvalidInput(N_("The name contains control characters."), field="name")
    if len(text) > max_length:
        raise InvalidInput(
            N_("A name has at most %(max)d characters, not %(length)d."),
            field="name",
            max=max_length,
            length=len(text),
        )
    return text


def normalise_phone(raw: str) -> str:
    """A mobile or landline number in one form (§7).

    Spaces, ``+86`` and ``0086`` are removed (and full-width digits made half-width). A mobile
    number (``^1[3-9]\\d{9}$``) loses its dashes too. A landline (``^0\\d{2,3}-?\\d{7,8}$``) keeps
    the dash between area code and number if given; after an international prefix its
    dropped leading 0 is restored. Anything else → InvalidInput.
    """
    text = "".join(_halfwidth(char) for char in (raw or "")).replace("－", "-")
    text = "".join(text.split())
    international = False
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text, international = text[len(prefix) :].lstrip("-"), True
            break
    digits = text.replace("-", "")
    if _MOBILE.match(digits):
        return digits
    if international and not text.startswith("0"):
        text = "0" + text
    if _LANDLINE.match(text):
        return text
    raise InvalidInput(
        N_("%(value)s is not a mobile or landline number."), field="phone", value=raw
    )


def mask_phone(number: str, *, keep_head: int = 3, keep_tail: int = 4) -> str:
    """Hide the middle digits: ``13812345678`` → ``138****5678``; dashes are kept."""
    digit_positions = [index for index, char in enumerate(number) if char.isdigit()]
    hidden = set(digit_positions[keep_head : len(digit_positions) - keep_tail])
    return "".join("*" if index in hidden else char for index, char in enumerate(number))


def mask_name(name: str) -> str:
    """A name for public pages: first and last character kept, the middle starred.

    ``张三`` → ``张*``, ``王小明`` → ``王*明``, ``欧阳娜娜`` → ``欧**娜``; the middle dot of a
    transliterated name stays (``艾尔肯·买买提`` → ``艾**·**提``); Latin names keep their
    first letter per word (``Anna Lee`` → ``A*** L**``).
    """
    text = name.strip()
    if not text:
        return ""
    if text.isascii():
        return " ".join(word[0] + "*" * (len(word) - 1) for word in text.split())
    if len(text) <= 2:
        return text[0] + "*" * (len(text) - 1)
    middle = "".join("·" if char == "·" else "*" for char in text[1:-1])
    return text[0] + middle + text[-1]


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years (周岁) on ``on``; a 29 February birthday counts from 1 March."""
    if on < birth_date:
        raise InvalidInput(N_("The date is before the birth date."), field="on")
    years = on.year - birth_date.year
    return years if (on.month, on.day) >= (birth_date.month, birth_date.day) else years - 1


class RetirementKind(StrEnum):
    """Which statutory retirement age applied before 2025: men 60, women cadres 55, women workers 50."""

    MALE = "male"
    FEMALE_CADRE = "female_cadre"
    FEMALE_WORKER = "female_worker"


@dataclass(frozen=True)
class RetirementSchedule:
    """渐进式延迟法定退休年龄 (from 2025-01-01): the age rises by one month for each
    ``every_months`` months of birth from ``first_birth`` (year, month), up to
    ``max_delay_months``."""

    base_years: int
    first_birth: tuple[int, int]
    every_months: int
    max_delay_months: int


# 全国人大常委会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13): men 60 → 63 and women
# cadres 55 → 58 by one month every four months; women workers 50 → 55 every two months.
RETIREMENT_SCHEDULES: Mapping[RetirementKind, RetirementSchedule] = MappingProxyType(
    {
        RetirementKind.MALE: RetirementSchedule(60, (1965, 1), 4, 36),
        RetirementKind.FEMALE_CADRE: RetirementSchedule(55, (1970, 1), 4, 36),
        RetirementKind.FEMALE_WORKER: RetirementSchedule(50, (1975, 1), 2, 60),
    }
)


def _kind(sex: str, kind: RetirementKind | str | None) -> RetirementKind:
    if sex not in ("M", "F"):
        raise InvalidInput(N_("Sex must be M or F."), field="sex")
    if kind is None:
        if sex == "M":
            return RetirementKind.MALE
        raise InvalidInput(
            N_("For women, say whether the cadre (55) or worker (50) retirement age applies."),
            field="retirement_kind",
        )
    kind = RetirementKind(kind)
    if (sex == "M") != (kind is RetirementKind.MALE):
        raise InvalidInput(
            N_("The retirement kind does not match the sex."), field="retirement_kind"
        )
    return kind


def retirement_age_months(
    birth_date: date,
    sex: str,
    kind: RetirementKind | str | None = None,
    *,
    schedules: Mapping[RetirementKind, RetirementSchedule] = RETIREMENT_SCHEDULES,
) -> int:
    """The statutory retirement age in months: base years + the delay for the birth month.

    delay = ⌊months since ``first_birth`` / every_months⌋ + 1, capped; none before
    ``first_birth``. Men born 1965-01 → 60 y 1 m; from 1976-09 → 63 y.
    """
    schedule = schedules[_kind(sex, kind)]
    months_since = (birth_date.year - schedule.first_birth[0]) * 12 + (
        birth_date.month - schedule.first_birth[1]
    )
    delay = (
        0
        if months_since < 0
        else min(months_since // schedule.every_months + 1, schedule.max_delay_months)
    )
    return schedule.base_years * 12 + delay


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first_next = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return date(year, month + 1, min(day.day, (first_next - timedelta(days=1)).day))


def retirement_date(
    birth_date: date,
    sex: str,
    kind: RetirementKind | str | None = None,
    *,
    schedules: Mapping[RetirementKind, RetirementSchedule] = RETIREMENT_SCHEDULES,
) -> date:
    """The day the statutory retirement age is reached: birth date + that age (§2).

    ``sex`` "M"/"F"; ``kind`` is required for women (cadre 55 or worker 50 before the reform).
    The day of month is kept, or the month's last day when it has fewer days.
    """
    return _add_months(
        birth_date, retirement_age_months(birth_date, sex, kind, schedules=schedules)
    )


def age_ineligibility(
    birth_date: date,
    *,
    on: date,
    age_min: int = 16,
    age_max: int | None = None,
    sex: str | None = None,
    retirement_kind: RetirementKind | str | None = None,
    check_retirement: bool = True,
) -> str | None:
    """Why a person is too young or too old on ``on`` (the event start), or None (§2).

    Rules: age ≥ ``age_min`` (16); age ≤ ``age_max`` when given (世赛选拔 22, up to 25); and,
    with ``check_retirement`` and a known sex, ``on`` before the statutory retirement date.
    """
    age = age_on(birth_date, on)
    if age < age_min:
        return N_("Younger than the minimum age.")
    if age_max is not None and age > age_max:
        return N_("Older than the maximum age.")
    if (
        check_retirement
        and sex is not None
        and on >= retirement_date(birth_date, sex, retirement_kind)
    ):
        return N_("Has reached the statutory retirement age.")
    return None
