"""Score review (成绩复核, §4.7): who is rechecked, and when the whole panel rechecks.

The supervision panel rechecks all of the top ``top_n`` (10) and a random ``sample_pct`` (15%,
rounded up) of the rest; the seed is recorded so the sample can be replayed. An error rate
(entries with an error ÷ entries checked) strictly above ``error_pct`` (5%) means everything is
rechecked.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from . import N_
from .errors import InvalidInput
from .numbers import as_decimal, quantize


@dataclass(frozen=True)
class RecheckSample:
    """The entries to recheck: ``top`` (all of the top N) and ``sampled`` (seeded random draw)."""

    top: tuple[str, ...]
    sampled: tuple[str, ...]
    seed: str
    rest_count: int

    @property
    def entries(self) -> tuple[str, ...]:
        """Everything to recheck: the top first, then the sample."""
        return self.top + self.sampled


def sample_size(rest: int, sample_pct: object = 15) -> int:
    """⌈sample_pct·rest/100⌉: "≥15%" rounds up (27 → 5)."""
    pct = as_decimal(sample_pct, field="sample_pct")
    if not 0 <= pct <= 100:
        raise InvalidInput(N_("The sample share must be between 0 and 100."), field="sample_pct")
    return int((pct * rest / 100).to_integral_value(rounding=ROUND_CEILING))


def pick_recheck_sample(
    ranked_entry_ids: Sequence[str],
    *,
    top_n: int = 10,
    sample_pct: object = 15,
    seed: str,
) -> RecheckSample:
    """Top ``top_n`` in rank order plus ⌈sample_pct% of the rest⌉ drawn by ``random.Random(seed)``.

    The same ids in the same order and the same seed give the same sample (replayable).
    """
    if len(set(ranked_entry_ids)) != len(ranked_entry_ids):
        raise InvalidInput(N_("An entry appears twice in the ranking."), field="ranked_entry_ids")
    if top_n < 0:
        raise InvalidInput(N_("The number rechecked at the top cannot be negative."), field="top_n")
    top = tuple(ranked_entry_ids[:top_n])
    rest = list(ranked_entry_ids[top_n:])
    size = sample_size(len(rest), sample_pct)
    sampled = random.Random(seed).sample(rest, size)
    order = {entry_id: index for index, entry_id in enumerate(rest)}
    return RecheckSample(top, tuple(sorted(sampled, key=order.__getitem__)), seed, len(rest))


def error_rate(checked: int, with_error: int, *, dp: int = 2) -> Decimal:
    """Entries with an error ÷ entries checked, in per cent, rounded (1 of 15 → 6.67)."""
    if checked <= 0:
        return Decimal(0)
    return quantize(Decimal(100) * with_error / checked, dp)


def needs_full_recheck(checked: int, with_error: int, *, error_pct: object = 5) -> bool:
    """True when with_error/checked is strictly above ``error_pct`` per cent (exact, unrounded)."""
    if checked < 0 or with_error < 0 or with_error > checked:
        raise InvalidInput(
            N_("%(errors)d errors cannot come from %(checked)d checked entries."),
            field="with_error",
            errors=with_error,
            checked=checked,
        )
    if checked == 0:
        return False
    return Decimal(100) * with_error > as_decimal(error_pct, field="error_pct") * checked
