"""Validation of rule-preset parameters (domain.md §6).

A preset is plain data (JSON). ``validate_params`` checks every parameter against its allowed
range and the parameters against each other, and returns a normalised copy (decimals as
strings) or raises ``InvalidInput`` naming the first wrong field.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from . import N_
from .errors import InvalidInput

AGGREGATIONS = ("trimmed_mean", "mean", "median", "sum")
TIE_KEYS = ("top_module", "all_modules", "practical", "theory", "time", "shared", "decision")
AWARD_SCHEMES = ("RATIO", "MEDAL", "FIXED", "SHARES", "BANDS")
AWARD_LEVELS = (
    "merit",
    "third",
    "second",
    "first",
    "bronze",
    "silver",
    "gold",
    "band_2",
    "band_1",
    "medallion",
)
TITLE_SCOPES = ("prize_winners", "top_n", "award_holders", "score_threshold")
GRADES = ("APPRENTICE", "L5", "L4", "L3", "L2", "L1")

# name: (kind, options). kinds: int (lo, hi), dec (lo, hi), choice (values), bool, or None ok.
SPEC: dict[str, tuple[str, Any, bool]] = {
    # name: (kind, options, nullable)
    "entries_per_unit": ("int", (1, 10), False),
    "max_entries": ("int", (1, 100000), True),
    "age_min": ("int", (14, 30), False),
    "ws_age_max": ("int", (22, 25), True),
    "theory_weight": ("dec", (0, 1), False),
    "theory_weight_max": ("dec", (0, 1), False),
    "pass_mark": ("dec", (0, 100), False),
    "pass_rule": ("choice", ("final", "both_parts"), False),
    "aggregation": ("choice", AGGREGATIONS, False),
    "trim_min_judges": ("int", (3, 9), False),
    "trim_each_side": ("int", (0, 2), False),
    "trim_level": ("choice", ("criterion", "judge_total"), False),
    "agreement_tolerance": ("dec", (0, 100), True),
    "score_dp": ("int", (0, 3), False),
    "boundary_tie": ("choice", ("better_band_flagged", "cj_decision", "forbidden"), False),
    "ws_judgement": ("bool", None, False),
    "ws_max_spread": ("int", (0, 3), False),
    "standardise": ("bool", None, False),
    "std_center": ("int", (0, 1000), False),
    "std_spread_pts": ("int", (1, 200), False),
    "review_top_n": ("int", (0, 1000), False),
    "review_sample_pct": ("dec", (0, 100), False),
    "review_error_pct": ("dec", (0, 100), False),
    "appeal_window_min": ("int", (0, 1440), False),
    "appeal_anchor": ("choice", ("event_end", "result_release"), False),
    "publicity_workdays": ("int", (1, 15), False),
    "award_scheme": ("choice", AWARD_SCHEMES, False),
    "prize_cap_pct": ("dec", (0, 60), False),
    "prize_rounding": ("choice", ("strict", "proportional"), False),
    "merit_top_pct": ("dec", (0, 100), False),
    "medallion_threshold": ("dec", (0, 1000), True),
    "min_entrants_awards": ("int", (1, 1000), True),
    "title": ("str", None, True),
    "title_scope": ("choice", TITLE_SCOPES, False),
    "title_min_score": ("dec", (0, 100), True),  # score_threshold scope; pass mark when absent
    "title_requires_employee": ("bool", None, False),
    "title_needs_approval": ("bool", None, False),
    "title_regrant": ("bool", None, False),
    "senior_step_requires_title": ("bool", None, False),
    "promotion_cap": ("choice", ("L2", "L1"), False),
    "promotions_per_year_max": ("int", (1, 5), True),
    "labour_medal_ranks": ("int", (0, 3), False),
    "judges_per_unit_max": ("int", (1, 2), False),
    "panel_size": ("int", (3, 7), False),
    "judge_min_years": ("int", (0, 10), False),
    "judge_max_age": ("int", (55, 70), False),
    "max_coaches": ("int", (0, 5), False),
}


def _bad(field: str, message: str, **params: Any) -> InvalidInput:
    return InvalidInput(message, field=field, name=field, **params)


def _dec(field: str, value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise _bad(field, N_("%(name)s must be a number.")) from exc
    if not number.is_finite():
        raise _bad(field, N_("%(name)s must be a number."))
    return number


def _int(field: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _bad(field, N_("%(name)s must be a whole number."))
    number = _dec(field, value)
    if number != number.to_integral_value():
        raise _bad(field, N_("%(name)s must be a whole number."))
    return int(number)


def _check_one(field: str, kind: str, options: Any, value: Any) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(field, N_("%(name)s must be true or false."))
        return value
    if kind == "choice":
        if value not in options:
            raise _bad(
                field, N_("%(name)s must be one of: %(options)s."), options=", ".join(options)
            )
        return value
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise _bad(field, N_("%(name)s must be a text."))
        return value.strip()
    lo, hi = options
    number = _int(field, value) if kind == "int" else _dec(field, value)
    if not lo <= number <= hi:
        raise _bad(field, N_("%(name)s must be between %(lo)s and %(hi)s."), lo=lo, hi=hi)
    return number if kind == "int" else str(number)


def _positive_ints(field: str, values: Any, *, length: int | None = None) -> list[int]:
    if not isinstance(values, list) or not values or (length and len(values) != length):
        raise _bad(field, N_("%(name)s must be a list of %(n)s whole numbers."), n=length or "1+")
    out = [_int(field, v) for v in values]
    if any(v < 0 for v in out) or not any(out):
        raise _bad(field, N_("%(name)s must not be negative and must not all be zero."))
    return out


def _tie_chain(values: Any) -> list[str]:
    field = "tie_chain"
    if not isinstance(values, list) or not values:
        raise _bad(field, N_("The tie-break chain must list at least one key."))
    for key in values:
        if key not in TIE_KEYS:
            raise _bad(field, N_("Unknown tie-break key %(key)s."), key=key)
    if len(set(values)) != len(values):
        raise _bad(field, N_("A tie-break key is listed twice."))
    if (
        values[-1] not in ("shared", "decision")
        or sum(k in ("shared", "decision") for k in values) != 1
    ):
        raise _bad(field, N_("The tie-break chain must end with 'shared' or 'decision'."))
    return list(values)


def _rank_bands(values: Any) -> list[dict[str, Any]]:
    field = "rank_bands"
    if not isinstance(values, list):
        raise _bad(field, N_("%(name)s must be a list."))
    out, last_to = [], 0
    for band in values:
        if not isinstance(band, dict):
            raise _bad(field, N_("%(name)s must be a list."))
        lo, hi = _int(field, band.get("from")), _int(field, band.get("to"))
        if lo < 1 or hi < lo:
            raise _bad(
                field,
                N_("A rank band must run from rank 1 or later to a rank not before its start."),
            )
        if lo <= last_to:
            raise _bad(field, N_("Rank bands must not overlap."))
        last_to = hi
        out.append(
            {"from": lo, "to": hi, "award": str(band.get("award") or f"band_{len(out) + 1}")}
        )
    return out


def _promotion_rules(values: Any) -> list[dict[str, Any]]:
    field = "promotion_rules"
    if not isinstance(values, list):
        raise _bad(field, N_("%(name)s must be a list."))
    out = []
    for rule in values:
        if not isinstance(rule, dict) or rule.get("target") not in (*GRADES, "one_up"):
            raise _bad(field, N_("Each promotion rule needs a target grade (L5 to L1, or one_up)."))
        clean: dict[str, Any] = {
            "target": rule["target"],
            "plus_one": bool(rule.get("plus_one", False)),
        }
        if "min_award" in rule:
            if rule["min_award"] not in AWARD_LEVELS:
                raise _bad(
                    field,
                    N_("Unknown award level %(key)s in a promotion rule."),
                    key=rule["min_award"],
                )
            clean["min_award"] = rule["min_award"]
        for bound in ("min_rank", "max_rank"):
            if rule.get(bound) is not None:
                clean[bound] = _int(field, rule[bound])
        if rule.get("min_score") is not None:
            clean["min_score"] = str(_dec(field, rule["min_score"]))
        if rule.get("group") is not None:
            clean["group"] = str(rule["group"])
        if "cap" in rule:
            clean["cap"] = _check_one(field, "choice", ("L3", "L2", "L1"), rule["cap"])
        if not ({"min_award", "min_rank", "max_rank", "min_score"} & clean.keys()):
            raise _bad(field, N_("Each promotion rule needs a condition (award, rank or score)."))
        out.append(clean)
    return out


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check a preset's parameters; return them normalised, or raise naming the wrong field."""
    if not isinstance(params, dict):
        raise InvalidInput(N_("The rule parameters must be a mapping."))
    out = dict(params)
    for field, (kind, options, nullable) in SPEC.items():
        if field not in params:
            continue
        value = params[field]
        if value is None:
            if not nullable:
                raise _bad(field, N_("%(name)s is required."))
            continue
        out[field] = _check_one(field, kind, options, value)
    if "tie_chain" in params:
        out["tie_chain"] = _tie_chain(params["tie_chain"])
    if "prize_ratio" in params:
        out["prize_ratio"] = _positive_ints("prize_ratio", params["prize_ratio"], length=3)
    if "fixed_counts" in params:
        out["fixed_counts"] = _positive_ints("fixed_counts", params["fixed_counts"])
    if "shares_pct" in params:
        shares = _positive_ints("shares_pct", params["shares_pct"])
        if sum(shares) > 100:
            raise _bad("shares_pct", N_("The award shares add up to more than 100%%."))
        out["shares_pct"] = shares
    if "rank_bands" in params:
        out["rank_bands"] = _rank_bands(params["rank_bands"])
    if "promotion_rules" in params:
        out["promotion_rules"] = _promotion_rules(params["promotion_rules"])
    if "title_top_n" in params:
        top = params["title_top_n"]
        if not isinstance(top, dict) or set(top) - {"1", "2", "3"}:
            raise _bad("title_top_n", N_("%(name)s maps team size 1, 2 or 3 to a number."))
        out["title_top_n"] = {k: _int("title_top_n", v) for k, v in top.items()}
    _check_consistency(out)
    return out


def _check_consistency(p: dict[str, Any]) -> None:
    if (
        "theory_weight" in p
        and "theory_weight_max" in p
        and Decimal(p["theory_weight"]) > Decimal(p["theory_weight_max"])
    ):
        raise _bad(
            "theory_weight",
            N_("The theory weight %(value)s is above the maximum %(max)s."),
            value=p["theory_weight"],
            max=p["theory_weight_max"],
        )
    if (
        p.get("trim_each_side") is not None
        and p.get("trim_min_judges") is not None
        and (2 * p["trim_each_side"] >= p["trim_min_judges"])
    ):
        raise _bad(
            "trim_each_side",
            N_(
                "Trimming would drop every mark: keep 2 × the marks"
                " dropped per side below the judges needed."
            ),
        )
    scheme = p.get("award_scheme")
    if scheme == "RATIO":
        if Decimal(str(p.get("prize_cap_pct", 0))) <= 0:
            raise _bad("prize_cap_pct", N_("Prizes by ratio need a cap above 0%%."))
        merit = Decimal(str(p.get("merit_top_pct", 0)))
        if 0 < merit < Decimal(str(p["prize_cap_pct"])):
            raise _bad(
                "merit_top_pct", N_("The merit award share must not be smaller than the prize cap.")
            )
    if scheme == "BANDS" and not p.get("rank_bands"):
        raise _bad("rank_bands", N_("Awards by rank band need at least one band."))
    if p.get("title") and p.get("title_scope") is None:
        raise _bad("title_scope", N_("%(name)s is required."))
