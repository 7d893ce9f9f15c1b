"""How several judges' marks on one criterion become one figure (§4.4, §4.5).

Default: with ``trim_min_judges`` (5) or more judges, drop exactly ``trim_each_side`` (1) highest
and lowest marks, even when the extremes repeat, then average ("去掉一个最高分和一个最低分");
with fewer judges, the plain mean. Alternatives per criterion: mean, median, sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

from . import N_
from .errors import InvalidInput
from .numbers import DEFAULT_DP, as_decimal, quantize

DEFAULT_TRIM_MIN_JUDGES = 5
DEFAULT_TRIM_EACH_SIDE = 1
DEFAULT_WS_MAX_SPREAD = 1
WS_SCORE_MAX = 3


class Aggregation(StrEnum):
    """How a criterion's marks from several judges are combined."""

    MEAN = "mean"
    TRIMMED_MEAN = "trimmed_mean"
    MEDIAN = "median"
    SUM = "sum"


def _marks(marks: Sequence[object]) -> list[Decimal]:
    values = [as_decimal(mark, field="marks") for mark in marks]
    if not values:
        raise InvalidInput(N_("There are no marks to combine."), field="marks")
    return values


def kept_marks(
    marks: Sequence[object],
    *,
    trim_min_judges: int = DEFAULT_TRIM_MIN_JUDGES,
    trim_each_side: int = DEFAULT_TRIM_EACH_SIDE,
) -> list[Decimal]:
    """The marks a trimmed mean keeps, sorted ascending.

    Rule: when at least ``trim_min_judges`` marks are present, exactly ``trim_each_side`` marks
    are dropped at each end of the sorted list (one copy each, even if the extreme value
    repeats); otherwise every mark is kept.
    """
    values = sorted(_marks(marks))
    if trim_each_side < 0:
        raise InvalidInput(N_("Trimming cannot be negative."), field="trim_each_side")
    if len(values) < trim_min_judges or trim_each_side == 0:
        return values
    if len(values) <= 2 * trim_each_side:
        raise InvalidInput(
            N_("Trimming %(each)d marks at each end of %(count)d marks leaves none."),
            field="trim_each_side",
            each=trim_each_side,
            count=len(values),
        )
    return values[trim_each_side:-trim_each_side]


def mean_exact(values: Sequence[Decimal]) -> Decimal:
    """Arithmetic mean, unrounded (Decimal context precision)."""
    return sum(values, Decimal(0)) / len(values)


def median_exact(values: Sequence[Decimal]) -> Decimal:
    """Median; with an even count, the mean of the two middle marks."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def aggregate_exact(
    marks: Sequence[object],
    *,
    method: Aggregation | str = Aggregation.TRIMMED_MEAN,
    trim_min_judges: int = DEFAULT_TRIM_MIN_JUDGES,
    trim_each_side: int = DEFAULT_TRIM_EACH_SIDE,
) -> Decimal:
    """Combine marks by ``method`` without rounding (see :func:`aggregate`)."""
    method = Aggregation(method)
    values = _marks(marks)
    if method is Aggregation.MEAN:
        return mean_exact(values)
    if method is Aggregation.MEDIAN:
        return median_exact(values)
    if method is Aggregation.SUM:
        return sum(values, Decimal(0))
    kept = kept_marks(values, trim_min_judges=trim_min_judges, trim_each_side=trim_each_side)
    return mean_exact(kept)


def aggregate(
    marks: Sequence[object],
    *,
    method: Aggregation | str = Aggregation.TRIMMED_MEAN,
    trim_min_judges: int = DEFAULT_TRIM_MIN_JUDGES,
    trim_each_side: int = DEFAULT_TRIM_EACH_SIDE,
    dp: int = DEFAULT_DP,
) -> Decimal:
    """Combine one criterion's marks into its published figure, rounded half-up to ``dp``.

    - ``trimmed_mean``: n ≥ ``trim_min_judges`` → drop ``trim_each_side`` highest and lowest,
      average the rest; n < ``trim_min_judges`` → plain mean (§4.5).
    - ``mean``, ``median`` (even n: mean of the middle two), ``sum``.
    """
    return quantize(
        aggregate_exact(
            marks, method=method, trim_min_judges=trim_min_judges, trim_each_side=trim_each_side
        ),
        dp,
    )


def spread(marks: Sequence[object]) -> Decimal:
    """Highest minus lowest mark: the judges' disagreement on one criterion."""
    values = _marks(marks)
    return max(values) - min(values)


def flag_disagreement(marks: Sequence[object], tolerance: object | None) -> bool:
    """True when the spread (max − min) is strictly above ``tolerance``; no tolerance, no flag."""
    if tolerance is None:
        return False
    return spread(marks) > as_decimal(tolerance, field="tolerance")


def _ws_scores(scores: Sequence[object]) -> list[int]:
    result = []
    for score in scores:
        value = as_decimal(score, field="scores")
        if value != value.to_integral_value() or not 0 <= value <= WS_SCORE_MAX:
            raise InvalidInput(
                N_("A judgement score must be a whole number from 0 to %(top)d, not %(value)s."),
                field="scores",
                top=WS_SCORE_MAX,
                value=str(score),
            )
        result.append(int(value))
    if not result:
        raise InvalidInput(N_("There are no marks to combine."), field="scores")
    return result


def ws_judgement_mark(
    max_mark: object, scores_0_3: Sequence[object], *, dp: int = DEFAULT_DP
) -> Decimal:
    """WorldSkills judgement: each judge scores 0–3; mark = max × Σscores / (3·n), rounded.

    With 3 judges this is max × (s1 + s2 + s3) / 9 (§4.4): max 1.5 and 2/3/2 give 1.1667 (4 dp).
    """
    values = _ws_scores(scores_0_3)
    maximum = as_decimal(max_mark, field="max_mark")
    return quantize(maximum * sum(values) / (WS_SCORE_MAX * len(values)), dp)


def ws_needs_rescore(
    scores_0_3: Sequence[object], *, ws_max_spread: int = DEFAULT_WS_MAX_SPREAD
) -> bool:
    """WorldSkills judgement scores more than ``ws_max_spread`` apart must be re-scored (§4.4)."""
    values = _ws_scores(scores_0_3)
    return max(values) - min(values) > ws_max_spread
