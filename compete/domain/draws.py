"""Replayable, seeded draws (抽签): entry numbers, stations and sessions, judge panels.

Every draw is reproducible: the generator is ``random.Random`` seeded with the SHA-256 of the
seed string and the *sorted* inputs, and the inputs are shuffled from their sorted order. So the
same seed and the same inputs give the same result, whatever order the inputs arrive in, and
anyone holding the logged seed can replay the draw. The seed itself comes from
:func:`new_seed` (``secrets``) and is recorded, witnessed, before the draw is used.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from . import N_
from .errors import Conflict, InvalidInput

_SEPARATOR = "\x1f"


def new_seed() -> str:
    """A fresh unpredictable seed (128 bits, hex) to log before drawing."""
    return secrets.token_hex(16)


def _ids(values: Sequence[str], *, field_name: str) -> list[str]:
    ordered = sorted(values)
    if len(set(ordered)) != len(ordered):
        raise InvalidInput(N_("The same id appears twice in the draw."), field=field_name)
    return ordered


def seeded_random(seed: str, *parts: Sequence[str]) -> random.Random:
    """``random.Random`` seeded from SHA-256(seed, each part's sorted items)."""
    if not seed:
        raise InvalidInput(N_("A draw needs a seed."), field="seed")
    digest = hashlib.sha256(seed.encode())
    for part in parts:
        digest.update(b"\x1e" + _SEPARATOR.join(sorted(part)).encode())
    return random.Random(int.from_bytes(digest.digest(), "big"))


def draw_order(entry_ids: Sequence[str], *, seed: str) -> list[str]:
    """A random order of the entries (顺序号), replayable from the seed."""
    ordered = _ids(entry_ids, field_name="entry_ids")
    seeded_random(seed, ordered).shuffle(ordered)
    return ordered


def draw_numbers(
    entry_ids: Sequence[str], *, seed: str, prefix: str = "", width: int = 3, start: int = 1
) -> dict[str, str]:
    """Entry numbers (参赛号): ``prefix`` + zero-padded ``start``… in a random order.

    The same seed and entries give the same numbers; the order of ``entry_ids`` does not matter.
    """
    order = draw_order(entry_ids, seed=seed)
    if order and len(str(start + len(order) - 1)) > width:
        raise InvalidInput(
            N_("%(count)d numbers from %(start)d do not fit in %(width)d digits."),
            field="width",
            count=len(order),
            start=start,
            width=width,
        )
    return {entry: f"{prefix}{start + index:0{width}d}" for index, entry in enumerate(order)}


@dataclass(frozen=True)
class Session:
    """A session (场次) and its stations (赛位号/工位号); capacity = number of stations."""

    code: str
    stations: tuple[str, ...]


@dataclass(frozen=True)
class StationDraw:
    """Where and when an entry competes: session, station, order within the session."""

    session: str
    station: str
    run_order: int


def draw_stations(
    entry_ids: Sequence[str], *, seed: str, sessions: Sequence[Session]
) -> dict[str, StationDraw]:
    """Stations and sessions for the entries (second draw, at check-in).

    Entries are shuffled (seeded) and placed round-robin over the sessions' stations, so
    sessions fill evenly; ``run_order`` counts from 1 within each session. More entries than
    stations raises Conflict.
    """
    order = draw_order(entry_ids, seed=seed)
    stations = [station for session in sessions for station in session.stations]
    if len(set(stations)) != len(stations) or len({s.code for s in sessions}) != len(sessions):
        raise InvalidInput(N_("A station or session appears twice."), field="sessions")
    slots = [
        (session, session.stations[row])
        for row in range(max((len(s.stations) for s in sessions), default=0))
        for session in sessions
        if row < len(session.stations)
    ]
    if len(order) > len(slots):
        raise Conflict(
            N_("%(entries)d entries do not fit in %(stations)d stations."),
            entries=len(order),
            stations=len(slots),
        )
    result = {}
    for entry, (session, station) in zip(order, slots, strict=False):
        result[entry] = StationDraw(session.code, station, session.stations.index(station) + 1)
    return result


@dataclass(frozen=True)
class JudgeCandidate:
    """A judge in the pool: their unit and the entries they declared a tie to (回避)."""

    judge_id: str
    unit: str
    conflicts: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class PanelDraw:
    """The drawn panel and the judges left out, with why (msgid)."""

    judges: tuple[str, ...]
    excluded: tuple[tuple[str, str], ...]


OWN_UNIT = N_("Works for a unit with a contestant in this event.")
DECLARED_CONFLICT = N_("Declared a tie to a contestant.")


def draw_panel(
    candidates: Sequence[JudgeCandidate],
    *,
    seed: str,
    size: int,
    contestant_units: Collection[str] = (),
    contestant_entries: Collection[str] = (),
    conflicts: Collection[str] = (),
    exclude_contestant_units: bool = True,
    judges_per_unit_max: int = 1,
) -> PanelDraw:
    """Draw a marking panel at random, honouring the recusal rules (§4.2) as hard constraints.

    Excluded: a judge from a unit with a contestant here (when ``exclude_contestant_units``),
    a judge who declared a tie to any of ``contestant_entries``, and the judges listed in
    ``conflicts`` (other declared conflicts, e.g. host staff). At most
    ``judges_per_unit_max`` judges per unit. The eligible judges are shuffled (seeded) and taken
    in turn while their unit has room, which finds a panel whenever one exists. No valid panel
    → Conflict saying how many judges were eligible.
    """
    if size < 1:
        raise InvalidInput(N_("A panel needs at least one judge."), field="size")
    if judges_per_unit_max < 1:
        raise InvalidInput(
            N_("At least one judge per unit must be allowed."), field="judges_per_unit_max"
        )
    by_id = {candidate.judge_id: candidate for candidate in candidates}
    if len(by_id) != len(candidates):
        raise InvalidInput(N_("The same id appears twice in the draw."), field="candidates")
    units, entries, declared = set(contestant_units), set(contestant_entries), set(conflicts)
    excluded: list[tuple[str, str]] = []
    eligible: list[str] = []
    for judge_id in sorted(by_id):
        candidate = by_id[judge_id]
        if exclude_contestant_units and candidate.unit in units:
            excluded.append((judge_id, OWN_UNIT))
        elif candidate.conflicts & entries or judge_id in declared:
            excluded.append((judge_id, DECLARED_CONFLICT))
        else:
            eligible.append(judge_id)
    seeded_random(seed, eligible, sorted(units), sorted(entries)).shuffle(eligible)
    chosen: list[str] = []
    per_unit: dict[str, int] = {}
    for judge_id in eligible:
        unit = by_id[judge_id].unit
        if per_unit.get(unit, 0) < judges_per_unit_max:
            chosen.append(judge_id)
            per_unit[unit] = per_unit.get(unit, 0) + 1
            if len(chosen) == size:
                return PanelDraw(tuple(chosen), tuple(excluded))
    raise Conflict(
        N_(
            "No valid panel of %(size)d: %(eligible)d judges are eligible (%(excluded)d excluded "
            "for their unit or a declared tie), and with at most %(per_unit)d per unit only "
            "%(possible)d can sit together."
        ),
        size=size,
        eligible=len(eligible),
        excluded=len(excluded),
        per_unit=judges_per_unit_max,
        possible=len(chosen),
    )
