"""Ranking one event and group, with the tie-break chain (§4.6).

Entries that reached the pass mark are ranked by final score, descending, then by the keys of
``tie_chain`` in order. Entries still equal share a rank, "1224" style (40, 40, 42), unless
``strict`` ("选手排名不并列", 全国技能大赛): then an organiser decision orders them. Entries below
the pass mark are listed after the ranked ones, unranked (rank None). Ranking compares the
published (rounded) figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from . import N_
from .errors import InvalidInput
from .scoring import EntryResult

_INFINITY = Decimal("Infinity")


class TieKey(StrEnum):
    """Tie-break keys; ``shared`` ends the chain (equal entries share the rank)."""

    TOP_MODULE = "top_module"
    ALL_MODULES = "all_modules"
    PRACTICAL = "practical"
    THEORY = "theory"
    TIME = "time"
    SHARED = "shared"


DEFAULT_TIE_CHAIN = (TieKey.TOP_MODULE, TieKey.PRACTICAL, TieKey.TIME, TieKey.SHARED)
ALL_MODULES_TIE_CHAIN = (TieKey.ALL_MODULES, TieKey.PRACTICAL, TieKey.TIME, TieKey.SHARED)
LAMP_TIE_CHAIN = (TieKey.TIME, TieKey.PRACTICAL, TieKey.THEORY, TieKey.SHARED)


@dataclass(frozen=True)
class TieNote:
    """Why an entry with the same final score sits below ``other_entry_id`` (the entry above).

    ``key`` is the deciding key (``module`` names the module for module keys), ``value`` this
    entry's figure and ``other_value`` the figure of the entry above. ``key = shared`` means
    equal on every key; ``key = decision`` means an organiser's decision ordered them.
    """

    key: str
    other_entry_id: str
    value: Decimal | None = None
    other_value: Decimal | None = None
    module: str | None = None


@dataclass(frozen=True)
class RankedEntry:
    """An entry's place: ``rank`` None when below the pass mark.

    ``needs_decision`` (strict mode only) marks entries equal on every key with no organiser
    decision yet; they provisionally share the rank.
    """

    entry_id: str
    rank: int | None
    tie_note: TieNote | None = None
    needs_decision: bool = False


@dataclass(frozen=True)
class _Key:
    name: str
    module: str | None = None
    lower_is_better: bool = False


def heaviest_module(module_order: Sequence[tuple[str, Decimal]]) -> str:
    """The heaviest practical module: largest max mark, the first in scheme order on a tie."""
    if not module_order:
        raise InvalidInput(N_("The scheme has no modules to break ties on."), field="tie_chain")
    best_code, best_max = module_order[0]
    for code, maximum in module_order[1:]:
        if maximum > best_max:
            best_code, best_max = code, maximum
    return best_code


def _expand_chain(
    tie_chain: Sequence[TieKey | str], module_order: Sequence[tuple[str, Decimal]]
) -> list[_Key]:
    keys: list[_Key] = []
    for raw in tie_chain:
        key = TieKey(raw)
        if key is TieKey.SHARED:
            break
        if key is TieKey.TOP_MODULE:
            keys.append(_Key(key, heaviest_module(module_order)))
        elif key is TieKey.ALL_MODULES:
            by_weight = sorted(enumerate(module_order), key=lambda item: (-item[1][1], item[0]))
            keys.extend(_Key(key, code) for _index, (code, _max) in by_weight)
        elif key is TieKey.TIME:
            keys.append(_Key(key, lower_is_better=True))
        else:
            keys.append(_Key(key))
    return keys


def _value(result: EntryResult, key: _Key) -> Decimal | None:
    if key.module is not None:
        return result.module_scores.get(key.module)
    if key.name == TieKey.PRACTICAL:
        return result.practical
    if key.name == TieKey.THEORY:
        return result.theory
    return result.time


def _sort_value(result: EntryResult, key: _Key) -> Decimal:
    """Smaller sorts first: higher scores first; shorter time first; missing values last."""
    value = _value(result, key)
    if value is None:
        return _INFINITY
    return value if key.lower_is_better else -value


def _sort_tuple(result: EntryResult, keys: list[_Key]) -> tuple[Decimal, ...]:
    return (-result.final, *(_sort_value(result, key) for key in keys))


def _note(lower: EntryResult, upper: EntryResult, keys: list[_Key]) -> TieNote | None:
    if lower.final != upper.final:
        return None
    for key in keys:
        if _sort_value(lower, key) != _sort_value(upper, key):
            return TieNote(
                key=str(key.name),
                other_entry_id=upper.entry_id,
                value=_value(lower, key),
                other_value=_value(upper, key),
                module=key.module,
            )
    return TieNote(key=TieKey.SHARED.value, other_entry_id=upper.entry_id)


def rank_entries(
    results: Sequence[EntryResult],
    *,
    module_order: Sequence[tuple[str, Decimal]],
    tie_chain: Sequence[TieKey | str] = DEFAULT_TIE_CHAIN,
    strict: bool = False,
    decisions: Sequence[str] = (),
) -> list[RankedEntry]:
    """Rank entries (§4.6): final desc, then ``tie_chain``; passed entries first, then the rest.

    - ``top_module``: the heaviest module (largest max; first in scheme order on a tie).
    - ``all_modules``: every module by weight desc (scheme order on equal weight).
    - ``practical``, ``theory``: higher first (no theory = lowest). ``time``: shorter first,
      missing = longest. ``shared``: stop; remaining equals share the rank ("1224").
    - ``strict``: no shared ranks. Entries equal on every key are ordered by their position in
      ``decisions`` (the organiser's written order) when all of them appear there; otherwise
      they provisionally share the rank with ``needs_decision`` set.
    - ``module_order``: ``(module code, max mark)`` in scheme order (``SchemeSpec.module_weights``).
    - ``tie_note`` on each entry tied on final score says which key put it below the entry above.
    """
    ids = [result.entry_id for result in results]
    if len(set(ids)) != len(ids):
        raise InvalidInput(N_("An entry appears twice in the ranking."), field="results")
    keys = _expand_chain(tie_chain, module_order)
    decided = {entry_id: index for index, entry_id in enumerate(decisions)}
    passed = sorted(
        (r for r in results if r.passed), key=lambda r: (_sort_tuple(r, keys), r.entry_id)
    )
    failed = sorted(
        (r for r in results if not r.passed), key=lambda r: (_sort_tuple(r, keys), r.entry_id)
    )

    # Group the passed entries that are equal on every key.
    groups: list[list[EntryResult]] = []
    for result in passed:
        if groups and _sort_tuple(groups[-1][0], keys) == _sort_tuple(result, keys):
            groups[-1].append(result)
        else:
            groups.append([result])

    ranked: list[RankedEntry] = []
    previous: EntryResult | None = None
    position = 1
    for group in groups:
        resolved = strict and len(group) > 1 and all(r.entry_id in decided for r in group)
        if resolved:
            group = sorted(group, key=lambda r: decided[r.entry_id])
        for index, result in enumerate(group):
            note = None if previous is None else _note(result, previous, keys)
            if resolved and index > 0:
                note = TieNote(key="decision", other_entry_id=previous.entry_id)
            rank = position + index if resolved else position
            ranked.append(
                RankedEntry(
                    entry_id=result.entry_id,
                    rank=rank,
                    tie_note=note,
                    needs_decision=strict and len(group) > 1 and not resolved,
                )
            )
            previous = result
        position += len(group)
    ranked.extend(RankedEntry(entry_id=r.entry_id, rank=None) for r in failed)
    return ranked


def undecided_ties(ranked: Sequence[RankedEntry]) -> list[tuple[str, ...]]:
    """Groups of entries that still need an organiser decision (strict mode), in rank order."""
    groups: dict[int, list[str]] = {}
    for entry in ranked:
        if entry.needs_decision and entry.rank is not None:
            groups.setdefault(entry.rank, []).append(entry.entry_id)
    return [tuple(groups[rank]) for rank in sorted(groups)]
