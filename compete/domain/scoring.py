"""One entry's result from raw marks (§4.5), and the optional WorldSkills scale (§4.6).

Each published figure is rounded half-up to ``dp`` and the next figure is computed from the
rounded ones: criterion scores → module totals → practical = Σ modules →
final = w_T·theory + (1 − w_T)·practical. Raw marks are inputs; nothing here edits them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from . import N_
from .aggregation import (
    DEFAULT_TRIM_EACH_SIDE,
    DEFAULT_TRIM_MIN_JUDGES,
    DEFAULT_WS_MAX_SPREAD,
    Aggregation,
    aggregate,
    flag_disagreement,
    kept_marks,
    mean_exact,
    median_exact,
    ws_judgement_mark,
    ws_needs_rescore,
)
from .errors import InvalidInput
from .numbers import DEFAULT_DP, as_decimal, quantize
from .scheme import AspectKind, SchemeSpec, check_mark

DEFAULT_THEORY_WEIGHT = Decimal("0.30")
DEFAULT_THEORY_WEIGHT_MAX = Decimal("0.30")
DEFAULT_PASS_MARK = Decimal(60)
PART_MAX = Decimal(100)


class TrimLevel(StrEnum):
    """Where trimming happens: per criterion (default) or on each judge's practical total."""

    CRITERION = "criterion"
    JUDGE_TOTAL = "judge_total"


class PassRule(StrEnum):
    """What must reach the pass mark: the final score, or theory and practical both."""

    FINAL = "final"
    BOTH_PARTS = "both_parts"


@dataclass(frozen=True)
class ScoringRules:
    """The preset's scoring parameters (§6), defaults from Guangdong PROVINCIAL_2."""

    theory_weight: Decimal = DEFAULT_THEORY_WEIGHT
    theory_weight_max: Decimal = DEFAULT_THEORY_WEIGHT_MAX
    pass_mark: Decimal = DEFAULT_PASS_MARK
    pass_rule: PassRule = PassRule.FINAL
    trim_level: TrimLevel = TrimLevel.CRITERION
    trim_min_judges: int = DEFAULT_TRIM_MIN_JUDGES
    trim_each_side: int = DEFAULT_TRIM_EACH_SIDE
    dp: int = DEFAULT_DP
    ws_judgement: bool = False
    ws_max_spread: int = DEFAULT_WS_MAX_SPREAD


@dataclass(frozen=True)
class EntryResult:
    """One entry's published figures (a team is one entry) plus what tie-breaks need.

    ``disagreements`` lists criteria whose spread exceeds their tolerance, ``rescore`` the
    WorldSkills judgement criteria whose scores are too far apart, ``dropped_judges`` the
    judges whose marks were left out (recusal).
    """

    entry_id: str
    criterion_scores: Mapping[str, Decimal]
    module_scores: Mapping[str, Decimal]
    practical: Decimal
    theory: Decimal | None
    final: Decimal
    passed: bool
    time: Decimal | None = None
    disagreements: tuple[str, ...] = ()
    rescore: tuple[str, ...] = ()
    dropped_judges: tuple[str, ...] = ()


def validate_rules(rules: ScoringRules) -> ScoringRules:
    """w_T lies in 0..theory_weight_max (≤ 1), the pass mark in 0..100, dp in 0..3."""
    weight = as_decimal(rules.theory_weight, field="theory_weight")
    ceiling = as_decimal(rules.theory_weight_max, field="theory_weight_max")
    if not 0 <= ceiling <= 1:
        raise InvalidInput(
            N_("The theory weight ceiling must be between 0 and 1."), field="theory_weight_max"
        )
    if not 0 <= weight <= ceiling:
        raise InvalidInput(
            N_("The theory weight %(weight)s must be between 0 and %(ceiling)s."),
            field="theory_weight",
            weight=str(weight),
            ceiling=str(ceiling),
        )
    if not 0 <= as_decimal(rules.pass_mark, field="pass_mark") <= PART_MAX:
        raise InvalidInput(N_("The pass mark must be between 0 and 100."), field="pass_mark")
    if not 0 <= rules.dp <= 3:
        raise InvalidInput(N_("Scores are published with 0 to 3 decimals."), field="dp")
    return rules


def final_score(
    theory: Decimal | None, practical: Decimal, *, theory_weight: Decimal, dp: int = DEFAULT_DP
) -> Decimal:
    """final = w_T·theory + (1 − w_T)·practical, rounded half-up; w_T = 0 needs no theory."""
    weight = as_decimal(theory_weight, field="theory_weight")
    if weight == 0:
        return quantize(practical, dp)
    if theory is None:
        raise InvalidInput(N_("The theory score is missing."), field="theory")
    return quantize(weight * theory + (1 - weight) * practical, dp)


def is_pass(
    *,
    final: Decimal,
    practical: Decimal,
    theory: Decimal | None,
    pass_mark: Decimal = DEFAULT_PASS_MARK,
    pass_rule: PassRule | str = PassRule.FINAL,
) -> bool:
    """Reaching the pass mark (inclusive: 60.00 passes).

    ``final``: final ≥ pass mark. ``both_parts``: also practical ≥ pass mark and, when there is
    a theory score, theory ≥ pass mark.
    """
    if final < pass_mark:
        return False
    if PassRule(pass_rule) is PassRule.BOTH_PARTS:
        return practical >= pass_mark and (theory is None or theory >= pass_mark)
    return True


def _judge_marks(
    scheme: SchemeSpec,
    marks: Mapping[str, Mapping[str, object]],
    excluded: Collection[str],
    rules: ScoringRules,
) -> dict[str, dict[str, Decimal]]:
    known = {criterion.code for _module, criterion in scheme.criteria()}
    unknown = sorted(set(marks) - known)
    if unknown:
        raise InvalidInput(
            N_("Marks were given for unknown criteria: %(codes)s."),
            field="marks",
            codes=", ".join(unknown),
        )
    checked: dict[str, dict[str, Decimal]] = {}
    for _module, criterion in scheme.criteria():
        by_judge = {
            judge: check_mark(criterion, value, ws_judgement=rules.ws_judgement)
            for judge, value in marks.get(criterion.code, {}).items()
            if judge not in excluded
        }
        if not by_judge:
            raise InvalidInput(
                N_("Criterion %(code)s has no marks."), field="marks", code=criterion.code
            )
        checked[criterion.code] = by_judge
    return checked


def _criterion_level(
    scheme: SchemeSpec, checked: dict[str, dict[str, Decimal]], rules: ScoringRules
) -> tuple[dict[str, Decimal], list[str], list[str]]:
    scores: dict[str, Decimal] = {}
    disagreements: list[str] = []
    rescore: list[str] = []
    for _module, criterion in scheme.criteria():
        values = list(checked[criterion.code].values())
        if rules.ws_judgement and criterion.kind is AspectKind.JUDGEMENT:
            scores[criterion.code] = ws_judgement_mark(criterion.max_mark, values, dp=rules.dp)
            if ws_needs_rescore(values, ws_max_spread=rules.ws_max_spread):
                rescore.append(criterion.code)
            continue
        score = aggregate(
            values,
            method=criterion.aggregation,
            trim_min_judges=rules.trim_min_judges,
            trim_each_side=rules.trim_each_side,
            dp=rules.dp,
        )
        if criterion.aggregation is Aggregation.SUM and score > criterion.max_mark:
            raise InvalidInput(
                N_("The marks for %(code)s add up to %(sum)s, above its maximum %(max)s."),
                field="marks",
                code=criterion.code,
                sum=str(score),
                max=str(criterion.max_mark),
            )
        scores[criterion.code] = score
        if flag_disagreement(values, criterion.tolerance):
            disagreements.append(criterion.code)
    return scores, disagreements, rescore


def _judge_total_level(
    scheme: SchemeSpec, checked: dict[str, dict[str, Decimal]], rules: ScoringRules
) -> tuple[dict[str, Decimal], dict[str, Decimal], Decimal]:
    if rules.ws_judgement:
        raise InvalidInput(
            N_("Judge-total trimming cannot be combined with 0–3 judgement scores."),
            field="trim_level",
        )
    judge_sets = {frozenset(by_judge) for by_judge in checked.values()}
    if len(judge_sets) != 1:
        raise InvalidInput(
            N_("Judge-total trimming needs the same judges on every criterion."),
            field="trim_level",
        )
    judges = sorted(judge_sets.pop())
    totals = {judge: sum(checked[code][judge] for code in checked) for judge in judges}
    kept_totals = kept_marks(
        list(totals.values()),
        trim_min_judges=rules.trim_min_judges,
        trim_each_side=rules.trim_each_side,
    )
    practical = quantize(mean_exact(kept_totals), rules.dp)
    # Which judges were kept: on tied totals the lower judge id is dropped first (breakdown only).
    ordered = sorted(judges, key=lambda judge: (totals[judge], judge))
    trimmed = len(ordered) - len(kept_totals)
    kept = ordered[trimmed // 2 : len(ordered) - trimmed // 2]
    criterion_scores = {
        code: quantize(mean_exact([by_judge[judge] for judge in kept]), rules.dp)
        for code, by_judge in checked.items()
    }
    module_scores = {
        module.code: quantize(
            mean_exact([sum(checked[c.code][judge] for c in module.criteria) for judge in kept]),
            rules.dp,
        )
        for module in scheme.modules
    }
    return criterion_scores, module_scores, practical


def score_entry(
    scheme: SchemeSpec,
    marks: Mapping[str, Mapping[str, object]],
    *,
    entry_id: str,
    theory: object | None = None,
    time: object | None = None,
    rules: ScoringRules | None = None,
    excluded_judges: Collection[str] = (),
) -> EntryResult:
    """Compute one entry's published figures from raw marks ``{criterion: {judge: mark}}``.

    - ``trim_level=criterion`` (default): each criterion is aggregated and rounded, modules add
      the rounded criteria, practical adds the modules.
    - ``trim_level=judge_total``: each judge's practical total is formed, the totals are trimmed
      and averaged (§8b: the two levels differ); module and criterion figures are then the
      means over the kept judges, for display and tie-breaks.
    - ``excluded_judges``: judges whose marks for this entry are dropped (unavoidable recusal).
    - final = w_T·theory + (1 − w_T)·practical; with w_T = 0 theory may be omitted and is
      ignored (``theory`` None in the result).
    - ``passed`` follows ``pass_rule`` and ``pass_mark`` (inclusive).
    """
    rules = validate_rules(rules or ScoringRules())
    excluded = frozenset(excluded_judges)
    checked = _judge_marks(scheme, marks, excluded, rules)
    disagreements: list[str] = []
    rescore: list[str] = []
    if TrimLevel(rules.trim_level) is TrimLevel.JUDGE_TOTAL:
        criterion_scores, module_scores, practical = _judge_total_level(scheme, checked, rules)
    else:
        criterion_scores, disagreements, rescore = _criterion_level(scheme, checked, rules)
        module_scores = {
            module.code: sum((criterion_scores[c.code] for c in module.criteria), Decimal(0))
            for module in scheme.modules
        }
        practical = sum(module_scores.values(), Decimal(0))
    theory_score = None
    if theory is not None:
        theory_score = quantize(as_decimal(theory, field="theory"), rules.dp)
        if not 0 <= theory_score <= PART_MAX:
            raise InvalidInput(
                N_("The theory score must be between 0 and 100, not %(value)s."),
                field="theory",
                value=str(theory_score),
            )
    final = final_score(theory_score, practical, theory_weight=rules.theory_weight, dp=rules.dp)
    if rules.theory_weight == 0:
        theory_score = None
    dropped = tuple(sorted({j for by_judge in marks.values() for j in by_judge if j in excluded}))
    return EntryResult(
        entry_id=entry_id,
        criterion_scores=MappingProxyType(criterion_scores),
        module_scores=MappingProxyType(module_scores),
        practical=practical,
        theory=theory_score,
        final=final,
        passed=is_pass(
            final=final,
            practical=practical,
            theory=theory_score,
            pass_mark=rules.pass_mark,
            pass_rule=rules.pass_rule,
        ),
        time=None if time is None else as_decimal(time, field="time"),
        disagreements=tuple(disagreements),
        rescore=tuple(rescore),
        dropped_judges=dropped,
    )


class StandardiseMethod(StrEnum):
    """``ws_mad``: spread = 1.4826·MAD, SD when MAD = 0. ``sd``: spread = SD."""

    WS_MAD = "ws_mad"
    SD = "sd"


@dataclass(frozen=True)
class Standardisation:
    """Standardised scores with the parameters used, stored beside the raw scores."""

    scores: Mapping[str, Decimal]
    method: StandardiseMethod
    median: Decimal
    mad: Decimal
    sd: Decimal
    basis: str  # "mad", "sd" or "none" (all equal: everyone at the centre)
    center: Decimal
    spread_pts: Decimal
    params: Mapping[str, object] = field(default_factory=dict)


def standardise(
    scores: Mapping[str, object],
    *,
    method: StandardiseMethod | str = StandardiseMethod.WS_MAD,
    center: object = 700,
    spread_pts: object = 30,
    mad_scale: object = Decimal("1.4826"),
    lowest: object = 0,
    highest: object = 1000,
    dp: int = DEFAULT_DP,
) -> Standardisation:
    """WorldSkills-style scale (§4.6, spread term A): the median maps to ``center``.

    z = center + spread_pts·(raw − median)/spread, where spread = mad_scale·MAD (``ws_mad``;
    the population SD when MAD = 0) or the population SD (``sd``); clamped to lowest..highest
    and rounded half-up to ``dp``. All scores equal → everyone at ``center``. A positive linear
    map never reorders an event.
    """
    method = StandardiseMethod(method)
    raw = {entry: as_decimal(value, field="scores") for entry, value in scores.items()}
    if not raw:
        raise InvalidInput(N_("There are no scores to standardise."), field="scores")
    centre = as_decimal(center, field="center")
    points = as_decimal(spread_pts, field="spread_pts")
    low, high = as_decimal(lowest, field="lowest"), as_decimal(highest, field="highest")
    values = list(raw.values())
    median = median_exact(values)
    mad = median_exact([abs(value - median) for value in values])
    mean = mean_exact(values)
    sd = mean_exact([(value - mean) ** 2 for value in values]).sqrt()
    if method is StandardiseMethod.WS_MAD and mad > 0:
        basis, scale = "mad", as_decimal(mad_scale, field="mad_scale") * mad
    elif sd > 0:
        basis, scale = "sd", sd
    else:
        basis, scale = "none", Decimal(0)
    result = {}
    for entry, value in raw.items():
        z = centre if scale == 0 else centre + points * (value - median) / scale
        result[entry] = quantize(min(max(z, low), high), dp)
    return Standardisation(
        scores=MappingProxyType(result),
        method=method,
        median=median,
        mad=mad,
        sd=sd,
        basis=basis,
        center=centre,
        spread_pts=points,
        params=MappingProxyType(
            {"mad_scale": str(mad_scale), "lowest": str(low), "highest": str(high), "dp": dp}
        ),
    )
