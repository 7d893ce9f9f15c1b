"""Who may enter an event (§2): age on the reference date, WorldSkills age, grades, team shape.

Defaults (§2, §6): at least 16 (周岁) on the reference date (the event start unless the event
says otherwise); not past the statutory retirement age, derived from birth date and sex under
渐进式延迟法定退休年龄; for 世赛选拔 born on or after 1 January of (reference year − 22).
An event may also ask for a minimum or maximum current skill grade. A team has exactly
``team_size`` members, each a different person.

Every check returns *all* reasons, each an :class:`Ineligibility` with an untranslated msgid
and named parameters, so an import or a form can show them together.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import N_
from .errors import InvalidInput
from .grades import GRADE_LABELS, Grade, parse_grade
from .people import RetirementKind, age_on, retirement_date

GROUPS = ("employee", "student", "teacher")
DEFAULT_AGE_MIN = 16
RETIREMENT_RULE = "retirement"
NO_LIMIT = ("", "none", "off")

WRONG_GROUP = N_(
    "The declared group (employee, student or teacher) does not match this event's group."
)
TOO_YOUNG = N_("Younger than the minimum age of %(age_min)s on %(date)s.")
TOO_OLD = N_("Older than the maximum age of %(age_max)s on %(date)s.")
RETIRED = N_(
    "Reaches the statutory retirement age on %(retirement_date)s, "
    "not later than the reference date %(date)s."
)
OVER_WS_AGE = N_("Over the WorldSkills age limit of %(ws_age_max)s: born before %(born_from)s.")
GRADE_MISSING = N_("The event requires at least %(min_grade)s; no current grade was given.")
GRADE_TOO_LOW = N_("The current grade %(grade)s is below the required %(min_grade)s.")
GRADE_TOO_HIGH = N_("The current grade %(grade)s is above the highest allowed, %(max_grade)s.")
WRONG_TEAM_SIZE = N_("A team has %(expected)s members, not %(size)s.")
DUPLICATE_MEMBER = N_("Member %(position)s is the same person as member %(first)s.")


@dataclass(frozen=True)
class Ineligibility:
    """One reason a person or team may not enter: ``field``, msgid ``message``, ``params``."""

    field: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EligibilityRules:
    """The eligibility rules of one event and group, read from its parameters.

    ``age_max`` is a fixed maximum age or None; ``retirement`` applies the statutory retirement
    age instead. ``ws_age_max`` is the WorldSkills limit counted by birth year.
    """

    age_ref_date: date
    group: str = "employee"
    age_min: int = DEFAULT_AGE_MIN
    age_max: int | None = None
    retirement: bool = True
    ws_age_max: int | None = None
    min_grade: Grade | None = None
    max_grade: Grade | None = None

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], *, group: str, age_ref_date: date
    ) -> EligibilityRules:
        """Rules from an event's parameters (§6); a missing parameter takes its default.

        ``age_min`` (16); ``age_max_rule``: "retirement" (the default), a whole number of years,
        or None/"none" for no upper age; ``ws_age_max`` (None); ``min_grade``/``max_grade``:
        a Grade name ("L4") or a grade spelling ("技师"), or None. Wrong values → InvalidInput.
        """
        group_name = str(group).strip().lower()
        if group_name not in GROUPS:
            raise InvalidInput(
                N_("%(value)s is not a group; use employee, student or teacher."),
                field="group",
                value=str(group),
            )
        age_min = _whole(params.get("age_min"), "age_min", default=DEFAULT_AGE_MIN)
        rule = params.get("age_max_rule", RETIREMENT_RULE)
        retirement = rule == RETIREMENT_RULE
        age_max = None
        if not retirement and not (rule is None or str(rule).strip().lower() in NO_LIMIT):
            age_max = _whole(rule, "age_max_rule", default=None)
        ws_age_max = _whole(params.get("ws_age_max"), "ws_age_max", default=None)
        min_grade = _grade(params.get("min_grade"), "min_grade")
        max_grade = _grade(params.get("max_grade"), "max_grade")
        if age_max is not None and age_max < age_min:
            raise InvalidInput(
                N_("The maximum age %(age_max)s is below the minimum age %(age_min)s."),
                field="age_max_rule",
                age_max=age_max,
                age_min=age_min,
            )
        if min_grade is not None and max_grade is not None and min_grade > max_grade:
            raise InvalidInput(
                N_("The minimum grade %(min_grade)s is above the maximum grade %(max_grade)s."),
                field="min_grade",
                min_grade=GRADE_LABELS[min_grade],
                max_grade=GRADE_LABELS[max_grade],
            )
        return cls(
            age_ref_date=age_ref_date,
            group=group_name,
            age_min=age_min,
            age_max=age_max,
            retirement=retirement,
            ws_age_max=ws_age_max,
            min_grade=min_grade,
            max_grade=max_grade,
        )


def _whole(value: Any, name: str, *, default: int | None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool):
        value = None  # True is not a number of years
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise InvalidInput(
            N_("%(name)s must be a whole number of years, not %(value)s."),
            field=name,
            name=name,
            value=str(value),
        )
    return value


def _grade(value: Any, name: str) -> Grade | None:
    if value is None or value == "":
        return None
    if isinstance(value, Grade):
        return value
    text = str(value).strip()
    if text.upper() in Grade.__members__:
        return Grade[text.upper()]
    try:
        return parse_grade(text)
    except InvalidInput:
        raise InvalidInput(
            N_("%(value)s is not a known skill grade."), field=name, value=text
        ) from None


@dataclass(frozen=True)
class MemberFacts:
    """What the rules need to know about one person.

    ``sex`` is "M", "F" or None (unknown: the retirement check is skipped). For a woman whose
    ``retirement_kind`` is not known the later (cadre) retirement age is used, so nobody is
    refused on a guess.
    """

    birth_date: date
    sex: str | None = None
    current_grade: Grade | None = None
    retirement_kind: RetirementKind | str | None = None
    group: str | None = None  # the group the unit declares: employee, student or teacher


def _retirement_kind(facts: MemberFacts) -> RetirementKind | None:
    if facts.sex == "M":
        return RetirementKind.MALE
    if facts.sex == "F":
        kind = facts.retirement_kind
        return RetirementKind(kind) if kind is not None else RetirementKind.FEMALE_CADRE
    return None


def check_member(facts: MemberFacts, rules: EligibilityRules) -> list[Ineligibility]:
    """Every reason ``facts`` fails ``rules`` on ``rules.age_ref_date``; empty if eligible.

    - age (周岁) on the reference date < ``age_min`` (born after it counts as too young);
    - age > ``age_max`` when set;
    - with ``retirement``: the reference date is on or after the statutory retirement date;
    - with ``ws_age_max``: born before 1 January of (reference year − ``ws_age_max``);
    - ``min_grade``: no current grade, or a lower one; ``max_grade``: a higher current grade;
    - a declared ``group`` other than the event's (职工组: employed, 学生组: full-time
      students, 教师组: teachers).
    """
    on = rules.age_ref_date
    shown = on.isoformat()
    found: list[Ineligibility] = []
    if facts.group is not None and facts.group != rules.group:
        found.append(
            Ineligibility("group", WRONG_GROUP, {"group": facts.group, "event_group": rules.group})
        )
    age = age_on(facts.birth_date, on) if facts.birth_date <= on else -1
    if age < rules.age_min:
        found.append(
            Ineligibility(
                "birth_date",
                TOO_YOUNG,
                {"age_min": rules.age_min, "date": shown, "age": max(age, 0)},
            )
        )
    if rules.age_max is not None and age > rules.age_max:
        found.append(
            Ineligibility(
                "birth_date", TOO_OLD, {"age_max": rules.age_max, "date": shown, "age": age}
            )
        )
    kind = _retirement_kind(facts) if rules.retirement else None
    if kind is not None:
        retires = retirement_date(facts.birth_date, facts.sex or "", kind)
        if on >= retires:
            found.append(
                Ineligibility(
                    "birth_date",
                    RETIRED,
                    {"retirement_date": retires.isoformat(), "date": shown},
                )
            )
    if rules.ws_age_max is not None:
        born_from = date(on.year - rules.ws_age_max, 1, 1)
        if facts.birth_date < born_from:
            found.append(
                Ineligibility(
                    "birth_date",
                    OVER_WS_AGE,
                    {"ws_age_max": rules.ws_age_max, "born_from": born_from.isoformat()},
                )
            )
    grade = facts.current_grade
    if rules.min_grade is not None:
        minimum = GRADE_LABELS[rules.min_grade]
        if grade is None:
            found.append(Ineligibility("current_grade", GRADE_MISSING, {"min_grade": minimum}))
        elif grade < rules.min_grade:
            found.append(
                Ineligibility(
                    "current_grade",
                    GRADE_TOO_LOW,
                    {"grade": GRADE_LABELS[Grade(grade)], "min_grade": minimum},
                )
            )
    if rules.max_grade is not None and grade is not None and grade > rules.max_grade:
        found.append(
            Ineligibility(
                "current_grade",
                GRADE_TOO_HIGH,
                {"grade": GRADE_LABELS[Grade(grade)], "max_grade": GRADE_LABELS[rules.max_grade]},
            )
        )
    return found


def check_team(members: Sequence[Hashable], *, team_size: int) -> list[Ineligibility]:
    """Every reason a team fails: not exactly ``team_size`` members; a person twice.

    ``members`` are identity keys in team order, the lead first (identity is the ID number,
    e.g. ``(id_type, id_number)``). A repeat names both 1-based positions.
    """
    found: list[Ineligibility] = []
    if len(members) != team_size:
        found.append(
            Ineligibility("team", WRONG_TEAM_SIZE, {"expected": team_size, "size": len(members)})
        )
    first: dict[Hashable, int] = {}
    for position, member in enumerate(members, start=1):
        if member in first:
            found.append(
                Ineligibility(
                    "team", DUPLICATE_MEMBER, {"position": position, "first": first[member]}
                )
            )
        else:
            first[member] = position
    return found
