"""Group honours of a competition (§5.7): the medal table, the delegation ranking with team
awards, 参赛队最佳奖, 优秀指导教师 and rule-based special awards.

Everything is read from the current award allocation of each event (``AwardGrant`` rows with
``is_current``); nothing is stored. The delegation is the entry's unit.

- **Medal columns.** Medal events count as they are. Prize events count 一/二/三等奖 in the gold,
  silver and bronze columns, and 优胜奖 (and 优秀奖) with the Medallion for Excellence, the
  WorldSkills 优胜奖; points are the WorldSkills 4/3/2/1 (``domain.awards.medal_points``).
- **Counting.** ``members`` (the default) counts each member of a winning team, as the
  Guangdong provincial competition did (GD-P4: 111 gold, 109 silver, 109 bronze over 101
  events); ``entries`` counts a team's award once, as the WorldSkills medal table does.
- **Ties.** Equal keys share a rank (``domain.awards.medal_table``). Team awards go by rank
  position like an event's prizes: with counts (1, 2, 3) ranks 1, 2–3 and 4–6 get the first,
  second and third team award; a shared rank takes the award of its first position.
- **参赛队最佳奖** (A): per delegation its best-placed entry without gold, silver or bronze (or a
  first to third prize), ranks compared across events; entries sharing that rank are all
  listed for the organiser to choose (``domain.awards.best_placed_non_medallists``).
- **优秀指导教师**: coaches of entries with a medal (or, with ``include_merit``, any award),
  deduplicated by name and unit (the coach's own unit when recorded, else the entry's).
- **Special awards**: a rule ``{"name", "regions": [...], "min_award"?, "top"?}`` picks the
  best contestants whose unit's region is one of ``regions`` (exact match), by medal column
  then rank; ``min_award`` (e.g. ``"bronze"`` or ``"third"``) requires at least that award;
  ``top`` (default 1) how many, ties at the line included. Rules are data passed with the
  request: the competition has no field to keep them in.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...domain import N_
from ...domain.awards import (
    MEDALS,
    PRIZES,
    Award,
    AwardDecision,
    MedalTableRow,
    best_placed_non_medallists,
    medal_table,
)
from ...domain.errors import InvalidInput
from ...domain.ranking import RankedEntry
from ...extensions import db
from ...models import AwardGrant, Competition, Entry, Event
from ..results.services import is_published


class Counting(StrEnum):
    """What one award adds to a medal table."""

    MEMBERS = "members"  # each member of a team (GD-P4)
    ENTRIES = "entries"  # each entry once (WorldSkills)


DEFAULT_COUNTING = Counting.MEMBERS
TABLE_ORDERS = ("medals", "points")
MAX_RULES = 20

MEDAL_COLUMN: Mapping[Award, Award] = MappingProxyType(
    {
        Award.GOLD: Award.GOLD,
        Award.SILVER: Award.SILVER,
        Award.BRONZE: Award.BRONZE,
        Award.MEDALLION: Award.MEDALLION,
        Award.FIRST: Award.GOLD,
        Award.SECOND: Award.SILVER,
        Award.THIRD: Award.BRONZE,
        Award.MERIT: Award.MEDALLION,
        Award.EXCELLENCE: Award.MEDALLION,
    }
)
_TIER: Mapping[Award, int] = MappingProxyType(
    {Award.GOLD: 1, Award.SILVER: 2, Award.BRONZE: 3, Award.MEDALLION: 4}
)
NO_AWARD_TIER = 5


@dataclass(frozen=True)
class Placing:
    """One entry's place and current award in one event of the competition."""

    entry_id: int
    event_id: int
    event_code: str
    event_name: str
    delegation: str
    region: str
    rank: int | None
    award: Award | None  # as allocated
    people: tuple[str, ...]  # member names, the lead first
    coaches: tuple[tuple[str, str], ...]  # (name, unit) of each coach
    published: bool

    @property
    def medal(self) -> Award | None:
        """Its medal-table column (gold, silver, bronze, medallion) or None."""
        return None if self.award is None else MEDAL_COLUMN.get(self.award)

    @property
    def tier(self) -> int:
        medal = self.medal
        return NO_AWARD_TIER if medal is None else _TIER[medal]

    @property
    def is_medallist(self) -> bool:
        return self.medal in MEDALS

    @property
    def size(self) -> int:
        return max(len(self.people), 1)


def _coaches(entry: Entry) -> tuple[tuple[str, str], ...]:
    out = []
    for coach in entry.coaches or []:
        name = " ".join(str((coach or {}).get("name") or "").split())
        if name:
            unit = " ".join(str(coach.get("unit") or "").split()) or entry.unit.name
            out.append((name, unit))
    return tuple(out)


def placings(competition: Competition, *, published_only: bool) -> list[Placing]:
    """Every entry with a current allocation in the competition's events.

    ``published_only``: only events whose results the public may see (公示 or final).
    """
    events = {e.id: e for e in competition.events}
    published = {eid: is_published(e) for eid, e in events.items()}
    wanted = [eid for eid in events if published[eid] or not published_only]
    if not wanted:
        return []
    stmt = (
        select(AwardGrant)
        .where(AwardGrant.event_id.in_(wanted), AwardGrant.is_current.is_(True))
        .options(
            selectinload(AwardGrant.entry).selectinload(Entry.members),
            selectinload(AwardGrant.entry).joinedload(Entry.unit),
        )
        .order_by(AwardGrant.event_id, AwardGrant.rank, AwardGrant.entry_id)
    )
    out = []
    for grant in db.session.scalars(stmt):
        entry, event = grant.entry, events[grant.event_id]
        members = sorted(entry.members, key=lambda m: (not m.is_lead, m.position))
        out.append(
            Placing(
                entry_id=entry.id,
                event_id=event.id,
                event_code=event.code,
                event_name=event.name,
                delegation=entry.unit.name,
                region=entry.unit.region or "",
                rank=grant.rank,
                award=Award(grant.award) if grant.award else None,
                people=tuple(m.person.name for m in members),
                coaches=_coaches(entry),
                published=published[event.id],
            )
        )
    return out


def uses_prizes(rows: Iterable[Placing]) -> bool:
    """Whether the competition awards prizes (一/二/三等奖) rather than medals."""
    return any(p.award in PRIZES for p in rows)


def parse_counting(raw: str | None) -> Counting:
    try:
        return Counting(raw or DEFAULT_COUNTING)
    except ValueError:
        raise InvalidInput(N_("Count each team member or each entry."), field="count") from None


def parse_order(raw: str | None) -> str:
    value = raw or "medals"
    if value not in TABLE_ORDERS:
        raise InvalidInput(N_("A medal table sorts by medals or by points."), field="by")
    return value


# ---------------------------------------------------------------- medal table


def _medal_rows(rows: Iterable[Placing], counting: Counting) -> list[tuple[str, Award | None]]:
    out: list[tuple[str, Award | None]] = []
    for p in rows:
        weight = p.size if counting is Counting.MEMBERS else 1
        out.extend([(p.delegation, p.medal)] * weight)
    return out


def medal_table_of(
    rows: Sequence[Placing], *, by: str = "medals", counting: Counting = DEFAULT_COUNTING
) -> list[MedalTableRow]:
    """The medal table of the delegations with at least one medal or medallion."""
    counted = [row for row in _medal_rows(rows, counting) if row[1] is not None]
    return medal_table(counted, by=by)


@dataclass(frozen=True)
class DelegationLine:
    """A delegation in the ranking: its medal line, size, best rank and team award."""

    row: MedalTableRow
    entries: int
    people: int
    best_rank: int | None
    team_award: Award | None


def parse_team_prizes(raw: str | None) -> tuple[int, ...]:
    """Team award counts "1,2,3" → (1, 2, 3); empty → no team awards."""
    text = (raw or "").replace("，", ",").strip()
    if not text:
        return ()
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        counts = ()
    if not counts or len(counts) > len(PRIZES) or any(not 0 <= c <= 100 for c in counts):
        raise InvalidInput(
            N_("Team awards are up to three counts between 0 and 100, such as 1,2,3."),
            field="team_prizes",
        )
    return counts


def _team_award(rank: int, counts: Sequence[int]) -> Award | None:
    reached = 0
    for award, count in zip(PRIZES, counts, strict=False):
        reached += count
        if rank <= reached:
            return award
    return None


def delegation_ranking(
    rows: Sequence[Placing],
    *,
    counting: Counting = DEFAULT_COUNTING,
    team_prizes: Sequence[int] = (),
) -> list[DelegationLine]:
    """Every delegation that competed, by points then medals; team awards by rank position."""
    table = medal_table(_medal_rows(rows, counting), by="points")
    entries: dict[str, int] = defaultdict(int)
    people: dict[str, int] = defaultdict(int)
    best: dict[str, int] = {}
    for p in rows:
        entries[p.delegation] += 1
        people[p.delegation] += p.size
        if p.rank is not None and (p.delegation not in best or p.rank < best[p.delegation]):
            best[p.delegation] = p.rank
    return [
        DelegationLine(
            row=row,
            entries=entries[row.delegation],
            people=people[row.delegation],
            best_rank=best.get(row.delegation),
            team_award=_team_award(row.rank, team_prizes) if team_prizes else None,
        )
        for row in table
    ]


# ---------------------------------------------------------------- 参赛队最佳奖, coaches


def best_of_delegation(rows: Sequence[Placing]) -> list[tuple[str, list[Placing]]]:
    """Per delegation (by name), its best-placed non-medallists (several when tied)."""
    by_id = {str(p.entry_id): p for p in rows}
    ranked = [RankedEntry(str(p.entry_id), p.rank) for p in rows]
    decisions = [AwardDecision(str(p.entry_id), p.medal) for p in rows]
    chosen = best_placed_non_medallists(
        ranked,
        delegation_of={str(p.entry_id): p.delegation for p in rows},
        decisions=decisions,
    )
    return [
        (delegation, [by_id[entry_id] for entry_id in ids])
        for delegation, ids in sorted(chosen.items())
    ]


@dataclass(frozen=True)
class Coach:
    """优秀指导教师: one coach (name and unit) and the winners they coached."""

    name: str
    unit: str
    winners: tuple[Placing, ...]


def outstanding_coaches(rows: Sequence[Placing], *, include_merit: bool = False) -> list[Coach]:
    """Coaches of medallists (or of every award winner), one line per name and unit."""
    found: dict[tuple[str, str], list[Placing]] = {}
    for p in rows:
        if not (p.is_medallist or (include_merit and p.medal is not None)):
            continue
        for name, unit in p.coaches:
            winners = found.setdefault((name, unit), [])
            if p not in winners:
                winners.append(p)
    return [Coach(name, unit, tuple(winners)) for (name, unit), winners in sorted(found.items())]


# ---------------------------------------------------------------- special awards


@dataclass(frozen=True)
class SpecialRule:
    """The best contestants from a set of regions (e.g. 西部技能之星)."""

    name: str
    regions: tuple[str, ...]
    min_award: Award | None = None
    top: int = 1


def _rule_error(number: int) -> InvalidInput:
    return InvalidInput(
        N_(
            "Special award rule %(n)d needs a name, a list of regions, and optionally "
            'min_award (an award such as "bronze") and top (1 to 100).'
        ),
        field="rules",
        n=number,
    )


def parse_rules(text: str | None) -> list[SpecialRule]:
    """Rules from JSON: one object or a list of ``{"name", "regions", "min_award"?, "top"?}``."""
    if not (text or "").strip():
        return []
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInput(
            N_("The special award rules are not valid JSON."), field="rules"
        ) from None
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_RULES:
        raise InvalidInput(N_("At most %(max)d special award rules."), field="rules", max=MAX_RULES)
    rules = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise _rule_error(number)
        name = str(item.get("name") or "").strip()
        regions = item.get("regions")
        if isinstance(regions, str):
            regions = [regions]
        if not name or not isinstance(regions, list) or not regions:
            raise _rule_error(number)
        cleaned = tuple(str(r).strip() for r in regions if str(r).strip())
        try:
            minimum = Award(item["min_award"]) if item.get("min_award") else None
            top = 1 if item.get("top") is None else int(item["top"])
        except (ValueError, TypeError):
            raise _rule_error(number) from None
        if not cleaned or not 1 <= top <= 100 or (minimum and minimum not in MEDAL_COLUMN):
            raise _rule_error(number)
        rules.append(SpecialRule(name[:100], cleaned, minimum, top))
    return rules


def special_award(rows: Sequence[Placing], rule: SpecialRule) -> list[Placing]:
    """The best ``rule.top`` ranked entries from the rule's regions (ties at the line kept)."""
    regions = set(rule.regions)
    limit = NO_AWARD_TIER if rule.min_award is None else _TIER[MEDAL_COLUMN[rule.min_award]]
    candidates = sorted(
        (p for p in rows if p.region in regions and p.rank is not None and p.tier <= limit),
        key=lambda p: (p.tier, p.rank, p.event_code, p.entry_id),
    )
    chosen: list[Placing] = []
    for p in candidates:
        if len(chosen) >= rule.top and (p.tier, p.rank) != (chosen[-1].tier, chosen[-1].rank):
            break
        chosen.append(p)
    return chosen


# ---------------------------------------------------------------- the public table


def published_events(competition: Competition) -> list[Event]:
    """The competition's events whose results the public may see."""
    return [e for e in competition.events if is_published(e)]
