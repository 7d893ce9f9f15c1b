"""Rule parameters as an organiser sees them: labels, how each is edited and shown."""

from __future__ import annotations

import json
from typing import Any

from ...domain import N_
from ...domain.rules import SPEC

# (group, label) per parameter, in display order.
PARAMS: dict[str, tuple[str, str]] = {
    "theory_weight": ("scoring", N_("Theory weight (0–1)")),
    "theory_weight_max": ("scoring", N_("Maximum theory weight")),
    "pass_mark": ("scoring", N_("Minimum final score to be ranked")),
    "pass_rule": ("scoring", N_("Minimum applies to")),
    "aggregation": ("scoring", N_("Default aggregation per criterion")),
    "trim_min_judges": ("scoring", N_("Judges needed before trimming")),
    "trim_each_side": ("scoring", N_("Marks dropped at each end")),
    "trim_level": ("scoring", N_("Trim per criterion or per judge total")),
    "agreement_tolerance": ("scoring", N_("Agreement tolerance (marks)")),
    "score_dp": ("scoring", N_("Decimal places of published scores")),
    "tie_chain": ("scoring", N_("Tie-break order")),
    "ws_judgement": ("scoring", N_("WorldSkills 0–3 judgement marking")),
    "ws_max_spread": ("scoring", N_("Largest allowed spread of 0–3 scores")),
    "standardise": ("scoring", N_("Show WorldSkills standardised scores")),
    "std_center": ("scoring", N_("Standardised centre")),
    "std_spread_pts": ("scoring", N_("Standardised points per spread unit")),
    "award_scheme": ("awards", N_("Award shape")),
    "prize_ratio": ("awards", N_("Prize ratio 1st:2nd:3rd")),
    "prize_cap_pct": ("awards", N_("Prize winners at most (%% of entrants)")),
    "prize_rounding": ("awards", N_("Rounding of prize counts")),
    "fixed_counts": ("awards", N_("Fixed prize counts 1st:2nd:3rd")),
    "shares_pct": ("awards", N_("Prize shares in %% 1st:2nd:3rd")),
    "rank_bands": ("awards", N_("Rank bands (JSON)")),
    "merit_top_pct": ("awards", N_("Merit award within the top (%% of entrants)")),
    "medallion_threshold": ("awards", N_("Medallion for Excellence from (standardised)")),
    "min_entrants_awards": ("awards", N_("No awards below this many entrants")),
    "boundary_tie": ("awards", N_("Shared rank across an award line")),
    "title": ("titles", N_("Title granted")),
    "title_scope": ("titles", N_("Who qualifies for the title")),
    "title_top_n": ("titles", N_("Title places by team size (JSON)")),
    "title_requires_employee": ("titles", N_("Title needs employee status")),
    "title_needs_approval": ("titles", N_("Title needs approval")),
    "title_regrant": ("titles", N_("Grant the title again to a holder")),
    "promotion_rules": ("titles", N_("Grade promotion rules (JSON)")),
    "senior_step_requires_title": ("titles", N_("技师 to 高级技师 only with the title")),
    "promotion_cap": ("titles", N_("Highest grade by promotion")),
    "promotions_per_year_max": ("titles", N_("Promotions per person per year")),
    "labour_medal_ranks": ("titles", N_("Ranks that may apply for the May Day medal")),
    "entries_per_unit": ("registration", N_("Entries per unit")),
    "max_entries": ("registration", N_("Entries in the event at most")),
    "age_min": ("registration", N_("Minimum age")),
    "ws_age_max": ("registration", N_("Maximum age (WorldSkills selection)")),
    "max_coaches": ("registration", N_("Coaches per entry")),
    "judges_per_unit_max": ("judging", N_("Judges per unit in a panel")),
    "panel_size": ("judging", N_("Marking judges per panel")),
    "judge_min_years": ("judging", N_("Judge's minimum years in the occupation")),
    "judge_max_age": ("judging", N_("Judge's maximum age")),
    "review_top_n": ("review", N_("Review: all of the top")),
    "review_sample_pct": ("review", N_("Review: sample of the rest (%%)")),
    "review_error_pct": ("review", N_("Review: full recheck above error rate (%%)")),
    "appeal_window_min": ("review", N_("Appeal window (minutes)")),
    "appeal_anchor": ("review", N_("Appeal window starts at")),
    "publicity_workdays": ("review", N_("Publicity period (working days)")),
}

GROUPS = {
    "scoring": N_("Scoring and ranking"),
    "awards": N_("Awards"),
    "titles": N_("Titles and promotions"),
    "registration": N_("Registration"),
    "judging": N_("Judging panel"),
    "review": N_("Review, appeals and publicity"),
}

COLON_LISTS = ("prize_ratio", "fixed_counts", "shares_pct")
JSON_PARAMS = ("rank_bands", "title_top_n", "promotion_rules")


def display(name: str, value: Any) -> str:
    """A parameter's value as text an organiser reads and types back."""
    if value is None:
        return ""
    if name in COLON_LISTS:
        return ":".join(str(v) for v in value)
    if name == "tie_chain":
        return ", ".join(value)
    if name in JSON_PARAMS:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ParamParseError(ValueError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def parse(name: str, text: str) -> Any:
    """Text typed into the rules form back into a parameter value (validated later)."""
    text = (text or "").strip()
    kind = SPEC.get(name, ("str", None, True))[0]
    if text == "":
        return None
    try:
        if name in COLON_LISTS:
            return [int(part) for part in text.replace("：", ":").split(":")]
        if name == "tie_chain":
            return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
        if name in JSON_PARAMS:
            return json.loads(text)
    except ValueError as exc:
        raise ParamParseError(name) from exc
    if kind == "bool":
        if text.lower() in ("true", "1", "yes", "是"):
            return True
        if text.lower() in ("false", "0", "no", "否"):
            return False
        raise ParamParseError(name)
    return text


def grouped(params: dict[str, Any], sources: dict[str, list[str]]):
    """[(group label, [(name, label, shown value, status, source)])] for the rules page."""
    out = []
    for group, group_label in GROUPS.items():
        rows = []
        for name, (g, label) in PARAMS.items():
            if g != group:
                continue
            status, source = (sources.get(name) or ["", ""])[:2]
            rows.append((name, label, display(name, params.get(name)), status, source))
        out.append((group_label, rows))
    return out
