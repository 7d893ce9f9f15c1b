"""Grade promotion through competition results (晋升, §5).

Pattern "晋升X；已具有X的晋升X+1": below the target → the target; at the target with
``plus_one`` → one above; otherwise unchanged. Capped (default L1), never lowers, and only in
the occupation of the event ("相应职业") — callers pass the grade held in that occupation.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from . import N_
from .awards import Award
from .errors import InvalidInput
from .grades import Grade

ONE_UP = "one_up"


class PromotionWindow(StrEnum):
    """How "per year" is counted for ``promotions_per_year_max``."""

    CALENDAR_YEAR = "calendar_year"
    ROLLING_YEAR = "rolling_year"


def _bounded(grade: int, cap: Grade) -> Grade:
    return Grade(min(grade, cap))


def promote(
    current: Grade | None, target: Grade, *, plus_one: bool, cap: Grade = Grade.L1
) -> Grade:
    """cur < target → target; cur = target and ``plus_one`` → target + 1; else cur.

    The result never exceeds ``cap`` unless the person already held more, and is never below
    ``current`` (a promotion never lowers). No grade held (None) counts as below everything.
    """
    if current is None:
        return _bounded(target, cap)
    if current < target:
        result = _bounded(target, cap)
    elif current == target and plus_one:
        result = _bounded(target + 1, cap)
    else:
        result = current
    return max(result, current)


def one_up(current: Grade | None, *, cap: Grade) -> Grade:
    """振兴杯 style: current + 1 (no grade → 五级), capped, never lowering."""
    if current is None:
        return _bounded(Grade.L5, cap)
    return max(current, _bounded(current + 1, cap))


@dataclass(frozen=True)
class PromotionRule:
    """When a result earns a promotion, and to what.

    Condition (every given part must hold): ``awards`` (the award is one of these), ``ranks``
    (first, last inclusive), ``min_score`` (final ≥), ``groups`` (e.g. "employee").
    Action: ``target`` grade (with ``plus_one``) or ``"one_up"``; ``cap``; ``requires_title``
    restricts the whole rule to title holders.
    """

    target: Grade | str
    plus_one: bool = False
    awards: frozenset[Award] | None = None
    ranks: tuple[int, int] | None = None
    min_score: Decimal | None = None
    groups: frozenset[str] | None = None
    cap: Grade = Grade.L1
    requires_title: bool = False


# Guangdong PROVINCIAL_2, employee group (§5.1): 优胜奖 and above → 技师; 技师 holders +1.
GD_EMPLOYEE_RULES = (
    PromotionRule(
        target=Grade.L2,
        plus_one=True,
        awards=frozenset({Award.FIRST, Award.SECOND, Award.THIRD, Award.MERIT}),
    ),
)


@dataclass(frozen=True)
class PromotionDecision:
    """The new grade (None = no change) and the reason (msgid + params)."""

    new_grade: Grade | None
    reason: str
    params: Mapping[str, object] = field(default_factory=dict)
    rule_index: int | None = None


def promotions_within_limit(
    earlier: Collection[date],
    *,
    on: date,
    per_year_max: int | None,
    window: PromotionWindow | str = PromotionWindow.CALENDAR_YEAR,
) -> bool:
    """True when another promotion on ``on`` stays within ``per_year_max`` (Tianjin: 1).

    ``calendar_year`` counts earlier promotions in the same calendar year; ``rolling_year``
    those in the 365 days before ``on``. ``per_year_max`` None = no limit.
    """
    if per_year_max is None:
        return True
    if PromotionWindow(window) is PromotionWindow.CALENDAR_YEAR:
        count = sum(1 for day in earlier if day.year == on.year and day <= on)
    else:
        count = sum(1 for day in earlier if 0 <= (on - day).days < 365)
    return count < per_year_max


def _matches(
    rule: PromotionRule,
    *,
    award: Award | None,
    rank: int | None,
    final: Decimal | None,
    group: str | None,
    has_title: bool,
) -> bool:
    if rule.awards is not None and award not in rule.awards:
        return False
    if rule.ranks is not None and (rank is None or not rule.ranks[0] <= rank <= rule.ranks[1]):
        return False
    if rule.min_score is not None and (final is None or final < rule.min_score):
        return False
    if rule.groups is not None and group not in rule.groups:
        return False
    return not (rule.requires_title and not has_title)


def decide_promotion(
    rules: Sequence[PromotionRule],
    *,
    award: Award | None,
    rank: int | None,
    final: Decimal | None,
    group: str | None,
    current: Grade | None,
    holds_title: bool = False,
    title_granted_now: bool = False,
    senior_step_requires_title: bool = True,
    passed: bool = True,
    earlier_promotions: Collection[date] = (),
    on: date | None = None,
    promotions_per_year_max: int | None = None,
) -> PromotionDecision:
    """Apply the first matching rule (§5; reproduces the §8a table).

    - Below the pass mark (``passed`` False) or unranked: no promotion.
    - ``senior_step_requires_title`` (Guangdong literal reading): the ``plus_one`` step
      (e.g. 技师 → 高级技师) needs the title — held before (even if not re-granted) or granted
      now; without it the grade stays. ``False`` = national reading, everyone steps up.
    - ``promotions_per_year_max`` with ``earlier_promotions`` dates and ``on``: over the limit,
      no promotion.
    """
    if not passed or rank is None:
        return PromotionDecision(None, N_("Below the pass mark: no promotion."))
    has_title = holds_title or title_granted_now
    for index, rule in enumerate(rules):
        if not _matches(
            rule, award=award, rank=rank, final=final, group=group, has_title=has_title
        ):
            continue
        if rule.target == ONE_UP:
            new = one_up(current, cap=rule.cap)
        else:
            target = Grade(rule.target)
            plus_one = rule.plus_one
            if plus_one and senior_step_requires_title and current == target and not has_title:
                return PromotionDecision(
                    None,
                    N_(
                        "The step above %(grade)s needs the title, which this person does not hold."
                    ),
                    params={"grade": target.name},
                    rule_index=index,
                )
            new = promote(current, target, plus_one=plus_one, cap=rule.cap)
        if current is not None and new <= current:
            return PromotionDecision(
                None,
                N_("Already at %(grade)s: the rule gives nothing higher (cap %(cap)s)."),
                params={"grade": current.name, "cap": Grade(rule.cap).name},
                rule_index=index,
            )
        if on is None and promotions_per_year_max is not None:
            raise InvalidInput(
                N_("The promotion date is needed to apply the yearly limit."), field="on"
            )
        if on is not None and not promotions_within_limit(
            earlier_promotions, on=on, per_year_max=promotions_per_year_max
        ):
            return PromotionDecision(
                None,
                N_("Already promoted %(max)d time(s) this year: the limit is reached."),
                params={"max": promotions_per_year_max},
                rule_index=index,
            )
        return PromotionDecision(
            new,
            N_("Promoted to %(grade)s."),
            params={"grade": new.name},
            rule_index=index,
        )
    return PromotionDecision(None, N_("No promotion rule covers this result."))
