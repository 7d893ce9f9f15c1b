"""Upstream selection (§2): the quota for a higher contest is filled strictly in rank order.

"按本次省选拔赛名次顺序，组委会选派优秀选手" (GD-229): the minimum score still applies; an entry
that is ineligible upstream (age, status) or declines is skipped with a reason; a shared rank
at the cut goes to the organiser.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from . import N_
from .errors import InvalidInput
from .ranking import RankedEntry

BELOW_MINIMUM = N_("Below the minimum score.")
DECLINED = N_("Declined the place.")


@dataclass(frozen=True)
class UpstreamSelection:
    """``nominated`` in rank order; ``skipped`` as (entry, reason); ``tie_at_cut`` the entries
    sharing the rank at the cut, competing for ``tie_places`` places (organiser decides)."""

    nominated: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    tie_at_cut: tuple[str, ...] = ()
    tie_places: int = 0


def select_upstream(
    ranked: Sequence[RankedEntry],
    *,
    quota: int,
    pass_mark: Decimal | None = None,
    finals: Mapping[str, Decimal] | None = None,
    ineligible: Mapping[str, str] | None = None,
    declined: Collection[str] = (),
) -> UpstreamSelection:
    """Nominate up to ``quota`` entries in rank order (§2).

    Skipped, with a reason: unranked (below the minimum), ``finals[entry] < pass_mark`` when
    both are given, ``ineligible`` (entry → reason) and ``declined``; the next in rank order
    moves up. If the last place falls inside a group sharing one rank that does not fit
    entirely, that group is returned as ``tie_at_cut`` with the number of places left.
    """
    if quota < 0:
        raise InvalidInput(N_("The quota cannot be negative."), field="quota")
    ineligible = ineligible or {}
    declined = set(declined)
    skipped: list[tuple[str, str]] = []
    candidates: list[RankedEntry] = []
    for entry in ranked:
        below = entry.rank is None or (
            pass_mark is not None
            and finals is not None
            and entry.entry_id in finals
            and finals[entry.entry_id] < pass_mark
        )
        if below:
            skipped.append((entry.entry_id, BELOW_MINIMUM))
        elif entry.entry_id in ineligible:
            skipped.append((entry.entry_id, ineligible[entry.entry_id]))
        elif entry.entry_id in declined:
            skipped.append((entry.entry_id, DECLINED))
        else:
            candidates.append(entry)
    candidates.sort(key=lambda entry: entry.rank or 0)
    if len(candidates) <= quota:
        return UpstreamSelection(tuple(e.entry_id for e in candidates), tuple(skipped))
    cut_rank = candidates[quota - 1].rank if quota > 0 else None
    if cut_rank is not None and candidates[quota].rank == cut_rank:
        clear = [e.entry_id for e in candidates if e.rank is not None and e.rank < cut_rank]
        tied = tuple(e.entry_id for e in candidates if e.rank == cut_rank)
        return UpstreamSelection(tuple(clear), tuple(skipped), tied, quota - len(clear))
    return UpstreamSelection(tuple(e.entry_id for e in candidates[:quota]), tuple(skipped))
