"""Marking scheme value objects (评分标准, §4.4) and their validation.

A scheme totals 100 marks and is split into modules (模块); a module's weight is its maximum,
the sum of its criteria's maxima. Each criterion (评分项) is marked by one or more judges as a
measurement (测量, against a tolerance) or a judgement (评价, several judges' opinion).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from . import N_
from .aggregation import WS_SCORE_MAX, Aggregation
from .errors import InvalidInput
from .numbers import as_decimal

DEFAULT_SCHEME_TOTAL = Decimal(100)


class AspectKind(StrEnum):
    """Measurement (客观, against a spec) or judgement (主观, several judges)."""

    MEASUREMENT = "measurement"
    JUDGEMENT = "judgement"


@dataclass(frozen=True)
class CriterionSpec:
    """One marked unit: its maximum, the step marks move in, and how judges' marks combine.

    ``max_mark`` is the criterion's published maximum. With ``aggregation=sum`` the judges'
    marks add up (each marks a share) and the sum may not exceed ``max_mark``.
    """

    code: str
    max_mark: Decimal
    step: Decimal = Decimal("0.01")
    kind: AspectKind = AspectKind.MEASUREMENT
    aggregation: Aggregation = Aggregation.TRIMMED_MEAN
    judges: int = 5
    tolerance: Decimal | None = None


@dataclass(frozen=True)
class ModuleSpec:
    """A weighted part of the practical (模块); its weight is the sum of its criteria's maxima."""

    code: str
    name: str
    criteria: tuple[CriterionSpec, ...] = field(default_factory=tuple)

    @property
    def max_mark(self) -> Decimal:
        """The module's weight: Σ criterion maxima."""
        return sum((criterion.max_mark for criterion in self.criteria), Decimal(0))


@dataclass(frozen=True)
class SchemeSpec:
    """A whole marking scheme: modules in scheme order."""

    modules: tuple[ModuleSpec, ...]

    @property
    def max_mark(self) -> Decimal:
        """Σ module maxima (100 for a valid scheme)."""
        return sum((module.max_mark for module in self.modules), Decimal(0))

    def criteria(self) -> Iterator[tuple[ModuleSpec, CriterionSpec]]:
        """Every criterion with its module, in scheme order."""
        for module in self.modules:
            for criterion in module.criteria:
                yield module, criterion

    def criterion(self, code: str) -> CriterionSpec:
        """The criterion with this code; InvalidInput if there is none."""
        for _module, criterion in self.criteria():
            if criterion.code == code:
                return criterion
        raise InvalidInput(N_("There is no criterion %(code)s."), field="criterion", code=code)

    def module_weights(self) -> tuple[tuple[str, Decimal], ...]:
        """(module code, max mark) in scheme order: what ranking needs for module tie-breaks."""
        return tuple((module.code, module.max_mark) for module in self.modules)


def _check_positive(value: object, *, what: str, code: str, field_name: str) -> Decimal:
    number = as_decimal(value, field=field_name)
    if number <= 0:
        raise InvalidInput(
            N_("The %(what)s of %(code)s must be above zero, not %(value)s."),
            field=field_name,
            what=what,
            code=code,
            value=str(number),
        )
    return number


def validate_criterion(criterion: CriterionSpec) -> None:
    """A criterion needs max > 0, step > 0 dividing max, judges ≥ 1 and tolerance ≥ 0."""
    code = criterion.code
    if not code or not code.strip():
        raise InvalidInput(N_("Every criterion needs a code."), field="criterion")
    maximum = _check_positive(criterion.max_mark, what="maximum", code=code, field_name="max_mark")
    step = _check_positive(criterion.step, what="step", code=code, field_name="step")
    if maximum % step != 0:
        raise InvalidInput(
            N_("The step %(step)s of %(code)s does not divide its maximum %(max)s."),
            field="step",
            code=code,
            step=str(step),
            max=str(maximum),
        )
    if isinstance(criterion.judges, bool) or not isinstance(criterion.judges, int):
        raise InvalidInput(
            N_("The judge count of %(code)s must be a whole number."), field="judges", code=code
        )
    if criterion.judges < 1:
        raise InvalidInput(
            N_("%(code)s needs at least one judge, not %(judges)d."),
            field="judges",
            code=code,
            judges=criterion.judges,
        )
    if criterion.tolerance is not None and as_decimal(criterion.tolerance, field="tolerance") < 0:
        raise InvalidInput(
            N_("The tolerance of %(code)s cannot be negative."), field="tolerance", code=code
        )
    AspectKind(criterion.kind)
    Aggregation(criterion.aggregation)


def validate_scheme(spec: SchemeSpec, *, total: Decimal = DEFAULT_SCHEME_TOTAL) -> SchemeSpec:
    """A scheme is valid when codes are unique, every criterion is valid and maxima total ``total``.

    Raises InvalidInput naming the offending module or criterion; returns the scheme otherwise.
    """
    if not spec.modules:
        raise InvalidInput(N_("The marking scheme has no modules."), field="modules")
    module_codes: set[str] = set()
    criterion_codes: set[str] = set()
    for module in spec.modules:
        if not module.code or not module.code.strip():
            raise InvalidInput(N_("Every module needs a code."), field="module")
        if module.code in module_codes:
            raise InvalidInput(
                N_("Module code %(code)s is used twice."), field="module", code=module.code
            )
        module_codes.add(module.code)
        if not module.criteria:
            raise InvalidInput(
                N_("Module %(code)s has no criteria."), field="module", code=module.code
            )
        for criterion in module.criteria:
            validate_criterion(criterion)
            if criterion.code in criterion_codes:
                raise InvalidInput(
                    N_("Criterion code %(code)s is used twice."),
                    field="criterion",
                    code=criterion.code,
                )
            criterion_codes.add(criterion.code)
    expected = as_decimal(total, field="total")
    if spec.max_mark != expected:
        raise InvalidInput(
            N_("The modules total %(actual)s marks, not %(expected)s."),
            field="modules",
            actual=str(spec.max_mark),
            expected=str(expected),
        )
    return spec


def check_mark(criterion: CriterionSpec, value: object, *, ws_judgement: bool = False) -> Decimal:
    """A judge's raw mark lies in 0..max and is a multiple of the criterion's step.

    With ``ws_judgement`` on, a judgement criterion takes WorldSkills scores: a whole number
    0–3. Returns the mark as ``Decimal``; raises InvalidInput otherwise.
    """
    mark = as_decimal(value, field=criterion.code)
    if ws_judgement and criterion.kind is AspectKind.JUDGEMENT:
        if mark != mark.to_integral_value() or not 0 <= mark <= WS_SCORE_MAX:
            raise InvalidInput(
                N_("%(code)s takes a whole score from 0 to %(top)d, not %(value)s."),
                field=criterion.code,
                code=criterion.code,
                top=WS_SCORE_MAX,
                value=str(mark),
            )
        return mark
    if not 0 <= mark <= criterion.max_mark:
        raise InvalidInput(
            N_("The mark for %(code)s must be between 0 and %(max)s, not %(value)s."),
            field=criterion.code,
            code=criterion.code,
            max=str(criterion.max_mark),
            value=str(mark),
        )
    if mark % criterion.step != 0:
        raise InvalidInput(
            N_("The mark for %(code)s must be a multiple of %(step)s, not %(value)s."),
            field=criterion.code,
            code=criterion.code,
            step=str(criterion.step),
            value=str(mark),
        )
    return mark
