"""Award shapes (§5, §5.7): ratio prizes, medals, fixed counts, shares, rank bands, 优胜奖.

Awards go by rank positions: a band covers positions ``first..last``; an entry of rank r
(1224 style, so r is its first position) gets the band of position r. A shared rank that
straddles a band line is a *boundary tie*, handled by ``boundary_tie``. Entries below the pass
mark (rank None) get nothing. N is everyone who competed in the event and group, ranked or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from types import MappingProxyType

from . import N_
from .errors import Conflict, InvalidInput
from .numbers import as_decimal
from .ranking import RankedEntry


class Award(StrEnum):
    """What an entry can win. ``merit`` is the domestic 优胜奖; ``medallion`` the WorldSkills one."""

    FIRST = "first"  # 一等奖
    SECOND = "second"  # 二等奖
    THIRD = "third"  # 三等奖
    MERIT = "merit"  # 优胜奖 (top half, no prize)
    EXCELLENCE = "excellence"  # 优秀奖 (shares preset)
    GOLD = "gold"
    SILVER = "silver"
    BRONZE = "bronze"
    MEDALLION = "medallion"  # Medallion for Excellence (世赛 优胜奖)


# The name of every award value a preset can give (BANDS presets name theirs band_1, …), as
# msgids: the one place pages, lists, exports and certificates take them from.
AWARD_LABELS: Mapping[str, str] = MappingProxyType(
    {
        Award.FIRST.value: N_("First prize"),
        Award.SECOND.value: N_("Second prize"),
        Award.THIRD.value: N_("Third prize"),
        Award.MERIT.value: N_("Merit award"),
        Award.EXCELLENCE.value: N_("Excellence award"),
        Award.GOLD.value: N_("Gold medal"),
        Award.SILVER.value: N_("Silver medal"),
        Award.BRONZE.value: N_("Bronze medal"),
        Award.MEDALLION.value: N_("Medallion for Excellence"),
        "band_1": N_("Rank band 1"),
        "band_2": N_("Rank band 2"),
        "band_3": N_("Rank band 3"),
    }
)

PRIZES = (Award.FIRST, Award.SECOND, Award.THIRD)
MEDALS = (Award.GOLD, Award.SILVER, Award.BRONZE)
MEDAL_POINTS: Mapping[Award, int] = MappingProxyType(
    {Award.GOLD: 4, Award.SILVER: 3, Award.BRONZE: 2, Award.MEDALLION: 1}
)


class AwardShape(StrEnum):
    """How the award places are laid out."""

    RATIO = "ratio"
    MEDAL = "medal"
    FIXED = "fixed"
    SHARES = "shares"
    BANDS = "bands"


class PrizeRounding(StrEnum):
    """How the capped number of winners W splits by the prize ratio."""

    STRICT = "strict"
    PROPORTIONAL = "proportional"


class BoundaryTie(StrEnum):
    """A shared rank across a band line: better band flagged, CJ decision, or forbidden."""

    BETTER_BAND_FLAGGED = "better_band_flagged"
    CJ_DECISION = "cj_decision"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class Band:
    """Rank positions ``first_rank..last_rank`` (inclusive) receive ``award``."""

    first_rank: int
    last_rank: int
    award: Award


@dataclass(frozen=True)
class AwardRules:
    """The preset's award parameters (§6); defaults are Guangdong PROVINCIAL_2."""

    shape: AwardShape = AwardShape.RATIO
    prize_ratio: tuple[int, ...] = (1, 2, 3)
    prize_cap_pct: Decimal = Decimal(20)
    prize_rounding: PrizeRounding = PrizeRounding.STRICT
    fixed_counts: tuple[int, ...] = (1, 2, 5)
    shares_pct: tuple[Decimal, ...] = (Decimal(10), Decimal(20), Decimal(30))
    share_awards: tuple[Award, ...] = PRIZES
    bands: tuple[Band, ...] = ()
    medal_awards: tuple[Award, ...] = MEDALS
    medal_ties_share: bool = True
    merit_top_pct: Decimal | None = Decimal(50)
    medallion_threshold: Decimal | None = None
    min_entrants_awards: int | None = None
    boundary_tie: BoundaryTie = BoundaryTie.BETTER_BAND_FLAGGED


@dataclass(frozen=True)
class AwardDecision:
    """One entry's award (None = nothing), whether it needs a decision, and why (msgid + params)."""

    entry_id: str
    award: Award | None
    flagged: bool = False
    reason: str = ""
    params: Mapping[str, object] = field(default_factory=dict)


def _floor_pct(n: int, pct: object) -> int:
    return int((as_decimal(pct, field="pct") * n / 100).to_integral_value(rounding=ROUND_FLOOR))


def prize_cap(n: int, cap_pct: object = Decimal(20)) -> int:
    """W = ⌊cap_pct·N/100⌋: "不超过…20%" forbids rounding up (37 entrants → 7)."""
    if n < 0:
        raise InvalidInput(N_("The number of entrants cannot be negative."), field="n")
    return _floor_pct(n, cap_pct)


def merit_limit(n: int, merit_top_pct: object = Decimal(50)) -> int:
    """优胜奖 reaches rank ⌊N·merit_top_pct/100⌋ (the half of all who competed)."""
    return _floor_pct(n, merit_top_pct)


def largest_remainder(total: int, ratio: Sequence[int]) -> tuple[int, ...]:
    """Split ``total`` places by ``ratio`` (Hamilton): floors, then the largest remainders.

    Equal remainders favour the higher prize (the earlier position in ``ratio``).
    """
    if not ratio or any(part < 0 for part in ratio) or sum(ratio) == 0:
        raise InvalidInput(N_("The prize ratio must have positive parts."), field="prize_ratio")
    quotas = [Fraction(total * part, sum(ratio)) for part in ratio]
    counts = [int(quota) for quota in quotas]
    order = sorted(range(len(ratio)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for index in order[: total - sum(counts)]:
        counts[index] += 1
    return tuple(counts)


def prize_counts(
    n: int,
    *,
    ratio: Sequence[int] = (1, 2, 3),
    cap_pct: object = Decimal(20),
    rounding: PrizeRounding | str = PrizeRounding.STRICT,
) -> tuple[int, ...]:
    """Prize places for N entrants under a ratio and a cap (§5.1, table in §8a).

    W = ⌊cap·N/100⌋.
    - ``strict``: k = ⌊W/Σratio⌋ → k·ratio (1:2:3 → k/2k/3k); spare places stay unused. If k = 0
      (W < Σratio): largest remainder with ties to the higher prize, and the first prize gets at
      least one place (taken from the lowest prize that has one).
    - ``proportional``: largest remainder of W·ratio/Σratio.
    """
    total = prize_cap(n, cap_pct)
    if PrizeRounding(rounding) is PrizeRounding.PROPORTIONAL:
        return largest_remainder(total, ratio)
    k = total // sum(ratio)
    if k > 0:
        return tuple(k * part for part in ratio)
    counts = list(largest_remainder(total, ratio))
    if total > 0 and counts[0] == 0:
        donor = max(i for i, count in enumerate(counts) if count > 0)
        counts[donor] -= 1
        counts[0] += 1
    return tuple(counts)


def share_counts(n: int, shares_pct: Sequence[object]) -> tuple[int, ...]:
    """Places for percentage shares (e.g. 10/20/30%), floored on the cumulative share.

    Band i reaches position ⌊(p1 + … + pi)·N/100⌋, so rounding never adds places beyond any
    cumulative percentage.
    """
    counts, reached, cumulative = [], 0, Decimal(0)
    for pct in shares_pct:
        cumulative += as_decimal(pct, field="shares_pct")
        line = _floor_pct(n, cumulative)
        counts.append(line - reached)
        reached = line
    return tuple(counts)


def _bands_from_counts(counts: Sequence[int], awards: Sequence[Award]) -> list[Band]:
    bands, position = [], 1
    for count, award in zip(counts, awards, strict=True):
        if count > 0:
            bands.append(Band(position, position + count - 1, award))
        position += count
    return bands


def award_bands(n: int, rules: AwardRules) -> list[Band]:
    """The position bands for N entrants (prizes, then the 优胜奖 band up to the merit limit).

    For the MEDAL shape with ``medal_ties_share`` the medals go by rank value (ties share,
    §5.5) and are not listed here; otherwise each medal is a one-place band, so a shared rank
    across a medal line follows ``boundary_tie``. The 优胜奖 band starts after the medal ranks.
    """
    shape = AwardShape(rules.shape)
    if shape is AwardShape.RATIO:
        counts = prize_counts(
            n, ratio=rules.prize_ratio, cap_pct=rules.prize_cap_pct, rounding=rules.prize_rounding
        )
        bands = _bands_from_counts(counts, PRIZES)
        last = sum(counts)
    elif shape is AwardShape.FIXED:
        bands = _bands_from_counts(rules.fixed_counts, PRIZES)
        last = sum(rules.fixed_counts)
    elif shape is AwardShape.SHARES:
        counts = share_counts(n, rules.shares_pct)
        bands = _bands_from_counts(counts, rules.share_awards)
        last = sum(counts)
    elif shape is AwardShape.BANDS:
        bands = sorted(rules.bands, key=lambda band: band.first_rank)
        for band, following in pairwise(bands):
            if band.first_rank > band.last_rank or following.first_rank <= band.last_rank:
                raise InvalidInput(N_("Award bands overlap or run backwards."), field="bands")
        last = bands[-1].last_rank if bands else 0
    else:
        last = len(rules.medal_awards)
        bands = (
            []
            if rules.medal_ties_share
            else [Band(i, i, medal) for i, medal in enumerate(rules.medal_awards, start=1)]
        )
    if rules.merit_top_pct is not None:
        limit = merit_limit(n, rules.merit_top_pct)
        if limit > last:
            bands.append(Band(last + 1, limit, Award.MERIT))
    return bands


def _band_at(bands: Sequence[Band], position: int) -> Award | None:
    for band in bands:
        if band.first_rank <= position <= band.last_rank:
            return band.award
    return None


def _groups(ranked: Sequence[RankedEntry]) -> list[list[RankedEntry]]:
    groups: list[list[RankedEntry]] = []
    for entry in ranked:
        if entry.rank is None:
            continue
        if groups and groups[-1][0].rank == entry.rank:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


def assign_awards(
    ranked: Sequence[RankedEntry],
    *,
    rules: AwardRules | None = None,
    n_competed: int | None = None,
    standardised: Mapping[str, Decimal] | None = None,
) -> list[AwardDecision]:
    """Decide every entry's award from the ranking (§5, §5.7), in the ranking's order.

    - Unranked (below the pass mark): nothing. Fewer than ``min_entrants_awards`` competed:
      nothing for anyone.
    - Bands from :func:`award_bands`; MEDAL: ranks 1–3 by rank value, ties share (unless
      ``medal_ties_share`` is off).
    - 优胜奖: ranked entries without a prize whose rank ≤ ⌊N·merit_top_pct/100⌋.
    - Medallion for Excellence: a ranked entry with no other award whose standardised score is
      ≥ ``medallion_threshold``.
    - A shared rank straddling a band line: ``better_band_flagged`` (all get the better band,
      flagged), ``cj_decision`` (flagged, no award until decided) or ``forbidden`` (Conflict).
      An unresolved strict-mode tie (``needs_decision``) is flagged the same way.
    - N (``n_competed``) defaults to the length of ``ranked``, unranked entries included.
    """
    rules = rules or AwardRules()
    n = len(ranked) if n_competed is None else n_competed
    decisions: dict[str, AwardDecision] = {}
    if rules.min_entrants_awards is not None and n < rules.min_entrants_awards:
        return [
            AwardDecision(
                entry.entry_id,
                None,
                reason=N_("Only %(n)d entrants competed; awards need at least %(min)d."),
                params={"n": n, "min": rules.min_entrants_awards},
            )
            for entry in ranked
        ]
    bands = award_bands(n, rules)
    medal_shape = AwardShape(rules.shape) is AwardShape.MEDAL
    policy = BoundaryTie(rules.boundary_tie)
    for group in _groups(ranked):
        rank = group[0].rank
        assert rank is not None
        last_position = rank + len(group) - 1
        if medal_shape and rules.medal_ties_share and rank <= len(rules.medal_awards):
            best = worst = rules.medal_awards[rank - 1]
        else:
            best, worst = _band_at(bands, rank), _band_at(bands, last_position)
        undecided = any(entry.needs_decision for entry in group)
        straddles = best != worst
        if straddles and policy is BoundaryTie.FORBIDDEN:
            raise Conflict(
                N_("Rank %(rank)d is shared across the %(award)s line, which this preset forbids."),
                rank=rank,
                award=str(best),
            )
        for entry in group:
            params = {"rank": rank, "award": None if best is None else str(best)}
            if best is None:
                decision = AwardDecision(
                    entry.entry_id,
                    None,
                    reason=N_("Rank %(rank)d is outside the award places."),
                    params=params,
                )
            elif (straddles or undecided) and policy is BoundaryTie.CJ_DECISION:
                decision = AwardDecision(
                    entry.entry_id,
                    None,
                    flagged=True,
                    reason=N_(
                        "Rank %(rank)d is shared across the %(award)s line: no award until the "
                        "chief judge or organiser decides."
                    ),
                    params=params,
                )
            elif straddles or undecided:
                decision = AwardDecision(
                    entry.entry_id,
                    best,
                    flagged=True,
                    reason=N_(
                        "Rank %(rank)d is shared across the %(award)s line: provisionally the "
                        "better band until the chief judge or organiser decides."
                    ),
                    params=params,
                )
            else:
                decision = AwardDecision(
                    entry.entry_id,
                    best,
                    reason=N_("Rank %(rank)d earns %(award)s."),
                    params=params,
                )
            decisions[entry.entry_id] = decision
    if rules.medallion_threshold is not None:
        threshold = as_decimal(rules.medallion_threshold, field="medallion_threshold")
        scores = standardised or {}
        for entry_id, decision in list(decisions.items()):
            score = scores.get(entry_id)
            if (
                decision.award is None
                and not decision.flagged
                and score is not None
                and score >= threshold
            ):
                decisions[entry_id] = AwardDecision(
                    entry_id,
                    Award.MEDALLION,
                    reason=N_("Standardised score %(score)s reaches %(threshold)s."),
                    params={"score": str(score), "threshold": str(threshold)},
                )
    result = []
    for entry in ranked:
        if entry.rank is None:
            result.append(
                AwardDecision(
                    entry.entry_id, None, reason=N_("Below the pass mark: not ranked, no award.")
                )
            )
        else:
            result.append(decisions[entry.entry_id])
    return result


def medal_points(award: Award | None, *, points: Mapping[Award, int] = MEDAL_POINTS) -> int:
    """WorldSkills medal points: gold 4, silver 3, bronze 2, Medallion for Excellence 1."""
    return 0 if award is None else points.get(Award(award), 0)


@dataclass(frozen=True)
class MedalTableRow:
    """One delegation's line in a medal table; ``rank`` is shared when the sort keys are equal."""

    delegation: str
    gold: int
    silver: int
    bronze: int
    medallion: int
    points: int
    rank: int


def medal_table(
    rows: Iterable[tuple[str, Award | None]],
    *,
    by: str = "medals",
    points: Mapping[Award, int] = MEDAL_POINTS,
) -> list[MedalTableRow]:
    """Medal table from ``(delegation, award)`` rows, one per entry (a team's medal counts once).

    ``by="medals"``: gold, then silver, then bronze, then medallions, all descending.
    ``by="points"``: points first (4/3/2/1), then the same medal order. Equal keys share a rank;
    the delegation name only fixes the listing order.
    """
    if by not in ("medals", "points"):
        raise InvalidInput(N_("A medal table sorts by medals or by points."), field="by")
    counts: dict[str, dict[Award, int]] = {}
    for delegation, award in rows:
        tally = counts.setdefault(delegation, {})
        if award is not None:
            tally[Award(award)] = tally.get(Award(award), 0) + 1
    lines = []
    for delegation, tally in counts.items():
        total = sum(points.get(award, 0) * count for award, count in tally.items())
        medals = tuple(tally.get(award, 0) for award in (*MEDALS, Award.MEDALLION))
        key = (total, *medals) if by == "points" else (*medals, total)
        lines.append((tuple(-value for value in key), delegation, medals, total))
    lines.sort()
    table, previous_key, rank = [], None, 0
    for position, (key, delegation, medals, total) in enumerate(lines, start=1):
        if key != previous_key:
            rank, previous_key = position, key
        table.append(MedalTableRow(delegation, *medals, points=total, rank=rank))
    return table


def best_placed_non_medallists(
    ranked: Sequence[RankedEntry],
    *,
    delegation_of: Mapping[str, str],
    decisions: Sequence[AwardDecision],
    excluded_awards: Iterable[Award] = MEDALS,
) -> dict[str, tuple[str, ...]]:
    """参赛队最佳奖 candidates (A): per delegation, its best-ranked entry without a medal.

    Entries sharing that best rank are all returned (the organiser picks).
    """
    excluded = set(excluded_awards)
    awarded = {decision.entry_id: decision.award for decision in decisions}
    best: dict[str, tuple[int, list[str]]] = {}
    for entry in ranked:
        delegation = delegation_of.get(entry.entry_id)
        if entry.rank is None or delegation is None or awarded.get(entry.entry_id) in excluded:
            continue
        current = best.get(delegation)
        if current is None or entry.rank < current[0]:
            best[delegation] = (entry.rank, [entry.entry_id])
        elif entry.rank == current[0]:
            current[1].append(entry.entry_id)
    return {delegation: tuple(ids) for delegation, (_rank, ids) in best.items()}
