"""Award allocation from the event's preset once results are final, and what follows from it.

The rules are the pure engine's (``domain.awards``, ``domain.titles``, ``domain.promotion``);
this module maps the event's parameters onto them, stores one ``AwardGrant`` per entry (every
member of a team holds the entry's award) and keeps the proposed titles and promotions in step
with the awards. The event keeps the preset version it was created with, so editing a preset
later never changes an event's awards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from ... import audit
from ...domain import N_
from ...domain.awards import (
    AWARD_LABELS,
    PRIZES,
    AwardRules,
    AwardShape,
    Band,
    BoundaryTie,
    PrizeRounding,
    assign_awards,
    award_bands,
    merit_limit,
    prize_cap,
)
from ...domain.errors import Conflict, DomainError, InvalidInput
from ...domain.lifecycle import EventState
from ...domain.ranking import RankedEntry
from ...extensions import db
from ...models import (
    AwardGrant,
    Entry,
    EntryScore,
    Event,
    GrantStatus,
    PromotionGrant,
    TitleGrant,
)
from ..results.services import bump_results_version, stored_results, tie_settings
from . import promotions, titles
from .titles import MemberResult, award_value

BOUNDARY_LABELS: Mapping[str, str] = {
    BoundaryTie.BETTER_BAND_FLAGGED.value: N_(
        "Shared rank across an award line: everyone sharing it gets the better award, flagged "
        "until the organiser confirms or decides otherwise."
    ),
    BoundaryTie.CJ_DECISION.value: N_(
        "Shared rank across an award line: no award until the chief judge or organiser decides, "
        "with a recorded reason."
    ),
    BoundaryTie.FORBIDDEN.value: N_(
        "Shared rank across an award line is forbidden: the ranking must separate the entries."
    ),
}


def award_label(value: str | None) -> str:
    """The msgid naming an award value (unknown values are shown as they are)."""
    if value is None:
        return ""
    return AWARD_LABELS.get(value, value)


# ---------------------------------------------------------------- parameters → engine


def _ints(field_name: str, values: Any, *, length: int | None = None) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if length is not None and len(out) != length:
        raise InvalidInput(
            N_("%(name)s must list exactly %(n)d numbers."),
            field=field_name,
            name=field_name,
            n=length,
        )
    return out


def award_rules(params: Mapping[str, Any]) -> AwardRules:
    """The engine's ``AwardRules`` from an event's parameters (§6); absent keys keep defaults.

    Medals are shared on a tie unless the ranking is strict (``boundary_tie`` forbidden, or a
    tie chain ending with an organiser decision), as ``results.services.tie_settings`` reads it.
    """
    _chain, strict = tie_settings(params)
    kwargs: dict[str, Any] = {
        "shape": AwardShape(str(params.get("award_scheme") or "RATIO").lower()),
        "medal_ties_share": not strict,
    }
    if params.get("prize_ratio"):
        kwargs["prize_ratio"] = _ints("prize_ratio", params["prize_ratio"], length=len(PRIZES))
    if params.get("prize_cap_pct") is not None:
        kwargs["prize_cap_pct"] = Decimal(str(params["prize_cap_pct"]))
    if params.get("prize_rounding"):
        kwargs["prize_rounding"] = PrizeRounding(params["prize_rounding"])
    if params.get("fixed_counts"):
        kwargs["fixed_counts"] = _ints("fixed_counts", params["fixed_counts"], length=len(PRIZES))
    if params.get("shares_pct"):
        shares = _ints("shares_pct", params["shares_pct"], length=len(PRIZES))
        kwargs["shares_pct"] = tuple(Decimal(v) for v in shares)
    if params.get("rank_bands"):
        kwargs["bands"] = tuple(
            Band(int(band["from"]), int(band["to"]), award_value(band["award"]))
            for band in params["rank_bands"]
        )
    if "merit_top_pct" in params:
        value = params["merit_top_pct"]
        kwargs["merit_top_pct"] = None if value is None else Decimal(str(value))
    if params.get("medallion_threshold") is not None:
        kwargs["medallion_threshold"] = Decimal(str(params["medallion_threshold"]))
    if params.get("min_entrants_awards") is not None:
        kwargs["min_entrants_awards"] = int(params["min_entrants_awards"])
    if params.get("boundary_tie"):
        kwargs["boundary_tie"] = BoundaryTie(params["boundary_tie"])
    return AwardRules(**kwargs)


# ---------------------------------------------------------------- what the preset gives


@dataclass(frozen=True)
class BandLine:
    award: str
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Plan:
    """The award places the event's preset gives for its N entrants, before or after allocation."""

    n: int
    rules: AwardRules
    bands: tuple[BandLine, ...]
    cap: int | None  # W for prizes by ratio
    merit_last: int | None
    error: str | None = None
    error_params: Mapping[str, Any] = field(default_factory=dict)


def _bands(n: int, rules: AwardRules) -> list[BandLine]:
    shape = AwardShape(rules.shape)
    lines = []
    if shape is AwardShape.MEDAL and rules.medal_ties_share:
        lines = [BandLine(str(medal), i, i) for i, medal in enumerate(rules.medal_awards, start=1)]
    lines += [BandLine(str(b.award), b.first_rank, b.last_rank) for b in award_bands(n, rules)]
    return lines


def plan(event: Event, n: int | None = None) -> Plan:
    """The band lines for the event (N = its stored results unless given)."""
    if n is None:
        n = len(stored_results(event))
    try:
        rules = award_rules(event.rules)
        lines = _bands(n, rules)
    except (DomainError, ValueError) as exc:
        message = getattr(exc, "message", N_("The award parameters cannot be read."))
        return Plan(n, AwardRules(), (), None, None, message, getattr(exc, "params", {}))
    shape = AwardShape(rules.shape)
    cap = prize_cap(n, rules.prize_cap_pct) if shape is AwardShape.RATIO else None
    merit_last = merit_limit(n, rules.merit_top_pct) if rules.merit_top_pct is not None else None
    return Plan(n, rules, tuple(lines), cap, merit_last)


def _band_at(lines: Sequence[BandLine], position: int) -> str | None:
    for line in lines:
        if line.first <= position <= line.last:
            return line.award
    return None


def tie_options(event: Event, grant: AwardGrant, *, grants: Sequence[AwardGrant] | None = None):
    """The awards a decision may give an entry flagged at a shared rank (best first; None =
    no award): the awards of every place the shared rank covers."""
    grants = current_grants(event) if grants is None else grants
    if grant.rank is None:
        return [None]
    size = sum(1 for g in grants if g.rank == grant.rank)
    lines = plan(event, len(grants)).bands
    options: list[str | None] = []
    for position in range(grant.rank, grant.rank + size):
        award = _band_at(lines, position)
        if award not in options:
            options.append(award)
    if None in options:
        options.remove(None)
        options.append(None)
    return options


# ---------------------------------------------------------------- allocation


def current_grants(event: Event) -> list[AwardGrant]:
    """The event's award rows in force, in rank order (unranked last)."""
    rows = db.session.scalars(
        select(AwardGrant).where(AwardGrant.event_id == event.id, AwardGrant.is_current)
    ).all()
    return sorted(rows, key=lambda g: (g.rank is None, g.rank or 0, g.entry_id))


def is_allocated(event: Event) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(AwardGrant.id)).where(
                AwardGrant.event_id == event.id, AwardGrant.is_current
            )
        )
    )


def _require_final(event: Event) -> None:
    if event.state is EventState.AWARDS_ISSUED:
        raise Conflict(
            N_("The awards of this event are issued; the allocation can no longer change.")
        )
    if event.state is not EventState.FINAL:
        raise Conflict(N_("Awards are allocated once the results are final; nothing was changed."))


def _summary(grants: Sequence[AwardGrant]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for grant in grants:
        key = grant.award or "none"
        counts[key] = counts.get(key, 0) + 1
    return {"counts": counts, "flagged": sum(1 for g in grants if g.flagged)}


def allocate_awards(actor, event: Event, *, now: datetime) -> list[AwardGrant]:
    """Allocate the event's awards from its stored, final results and its preset version.

    - Only in ``final`` (refused before, and after the awards are issued): nothing changes.
    - One row per entry; a new allocation marks the earlier rows not current (logged). A
      recorded boundary decision carries over when the shared rank is unchanged.
    - A shared rank across a band line follows ``boundary_tie``: flagged with the better band,
      flagged without an award until decided, or refused (``forbidden``).
    - Then the titles and promotions are proposed (see ``sync_proposals``).
    """
    _require_final(event)
    rows = stored_results(event)
    if not rows:
        raise Conflict(N_("The event has no stored results to allocate awards from."))
    rules = award_rules(event.rules)
    ranked = [
        RankedEntry(str(row.entry_id), row.rank, needs_decision=row.needs_decision) for row in rows
    ]
    standardised = {
        str(row.entry_id): Decimal(row.standardised) for row in rows if row.standardised is not None
    }
    decisions = {
        d.entry_id: d
        for d in assign_awards(ranked, rules=rules, n_competed=len(rows), standardised=standardised)
    }
    previous = current_grants(event)
    earlier = {g.entry_id: g for g in previous}
    for grant in previous:
        grant.is_current = False
    grants = []
    for row in rows:
        decision = decisions[str(row.entry_id)]
        grants.append(
            AwardGrant(
                event_id=event.id,
                entry_id=row.entry_id,
                rank=row.rank,
                award=None if decision.award is None else str(decision.award),
                flagged=decision.flagged,
                is_current=True,
                preset_version_id=event.preset_version_id,
                allocated_by_id=getattr(actor, "id", None),
                allocated_at=now,
            )
        )
    db.session.add_all(grants)
    db.session.flush()
    for grant in grants:
        before = earlier.get(grant.entry_id)
        if (
            grant.flagged
            and before is not None
            and before.flagged
            and before.decision_reason
            and before.rank == grant.rank
            and before.award in tie_options(event, grant, grants=grants)
        ):
            grant.award, grant.decision_reason = before.award, before.decision_reason
    db.session.flush()
    sync_proposals(actor, event, now=now, check_granted=True)
    bump_results_version(event)
    audit.record(
        actor,
        "awards.reallocated" if previous else "awards.allocated",
        event,
        before=_summary(previous) if previous else None,
        after={
            **_summary(grants),
            "n": len(rows),
            "preset_version_id": event.preset_version_id,
        },
        event_id=event.id,
    )
    return grants


def decide_boundary(
    actor, event: Event, grant: AwardGrant, *, award: str | None, reason: str, now: datetime
) -> AwardGrant:
    """Record the decision on an entry flagged at a shared rank: one of the awards the shared
    places cover (or none), with a reason. The titles and promotions follow the decision."""
    _require_final(event)
    if grant.event_id != event.id or not grant.is_current or not grant.flagged:
        raise Conflict(N_("Only a flagged award of the current allocation takes a decision."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("Give the reason for the decision."), field="reason")
    if len(reason) > 2000:
        raise InvalidInput(N_("The reason is too long (2,000 characters at most)."), field="reason")
    award = award or None
    if award not in tie_options(event, grant):
        raise InvalidInput(
            N_("This award is not one of the places the shared rank covers."), field="award"
        )
    before = {"award": grant.award, "decision_reason": grant.decision_reason}
    grant.award, grant.decision_reason = award, reason
    db.session.flush()
    sync_proposals(actor, event, now=now, check_granted=True)
    bump_results_version(event)
    audit.record(
        actor,
        "awards.boundary_decided",
        grant,
        before=before,
        after={"award": award, "entry_id": grant.entry_id, "rank": grant.rank},
        reason=reason,
        event_id=event.id,
    )
    return grant


# ---------------------------------------------------------------- titles and promotions


def event_members(event: Event, grants: Sequence[AwardGrant] | None = None) -> list[MemberResult]:
    """Each member of each allocated entry with the entry's award and stored figures."""
    grants = current_grants(event) if grants is None else grants
    scores = {
        row.entry_id: row
        for row in db.session.scalars(select(EntryScore).where(EntryScore.event_id == event.id))
    }
    members = []
    for grant in grants:
        entry = db.session.get(Entry, grant.entry_id)
        for member in entry.members:
            members.append(
                MemberResult(
                    entry=entry,
                    member=member,
                    grant=grant,
                    score=scores.get(grant.entry_id),
                    group=member.declared_group or event.group.value,
                )
            )
    return members


def sync_proposals(actor, event: Event, *, now: datetime, check_granted: bool) -> None:
    """Bring the event's proposed titles and promotions in line with its current awards.

    Proposed rows no longer earned are removed and new ones added; decided rows (granted,
    declined, revoked) are never touched. With ``check_granted`` a granted title or promotion
    the awards no longer support refuses the change (revoke it first).
    """
    members = event_members(event)
    outcome = titles.sync_event_titles(actor, event, members, now=now, check_granted=check_granted)
    promotions.sync_event_promotions(
        actor,
        event,
        members,
        held_before=outcome.held_before,
        title_now=outcome.title_now,
        now=now,
        check_granted=check_granted,
    )


def _require_decidable(event: Event) -> None:
    if event.state not in (EventState.FINAL, EventState.AWARDS_ISSUED):
        raise Conflict(N_("Titles and promotions are decided once the results are final."))


def approve_titles(
    actor, event: Event, grant_ids: Sequence[int], *, approval_ref: str, granted_on, now
) -> list[TitleGrant]:
    _require_decidable(event)
    rows = titles.approve_titles(
        actor, event, grant_ids, approval_ref=approval_ref, granted_on=granted_on, now=now
    )
    bump_results_version(event)
    return rows


def decline_title(actor, event: Event, grant: TitleGrant, *, reason: str, now) -> TitleGrant:
    """The authority did not confirm the title; proposals that relied on it follow."""
    _require_decidable(event)
    titles.decline_title(actor, grant, reason=reason, now=now)
    sync_proposals(actor, event, now=now, check_granted=False)
    bump_results_version(event)
    return grant


def revoke_title(actor, event: Event, grant: TitleGrant, *, reason: str, now) -> TitleGrant:
    """Withdraw a granted title with a reason; it no longer blocks a later grant."""
    titles.revoke_title(actor, grant, reason=reason, now=now)
    if event.state is EventState.FINAL:
        sync_proposals(actor, event, now=now, check_granted=False)
    bump_results_version(event)
    return grant


def approve_promotions(
    actor, event: Event, grant_ids: Sequence[int], *, approval_ref: str, granted_on, now
) -> list[PromotionGrant]:
    _require_decidable(event)
    rows = promotions.approve_promotions(
        actor, event, grant_ids, approval_ref=approval_ref, granted_on=granted_on, now=now
    )
    bump_results_version(event)
    return rows


def decline_promotion(
    actor, event: Event, grant: PromotionGrant, *, reason: str, now
) -> PromotionGrant:
    _require_decidable(event)
    promotions.decline_promotion(actor, grant, reason=reason, now=now)
    bump_results_version(event)
    return grant


def revoke_promotion(
    actor, event: Event, grant: PromotionGrant, *, reason: str, now
) -> PromotionGrant:
    promotions.revoke_promotion(actor, grant, reason=reason, now=now)
    bump_results_version(event)
    return grant


# ---------------------------------------------------------------- lifecycle guard


def external_decisions_in(event: Event, now: datetime) -> bool:
    """Guard for ``final → awards_issued``: the awards are allocated, no shared rank still
    waits for a decision, and every proposed title and promotion is granted or declined."""
    grants = current_grants(event)
    if not grants:
        return False
    if any(g.flagged and g.award is None and g.decision_reason is None for g in grants):
        return False
    pending_titles = db.session.scalar(
        select(func.count(TitleGrant.id)).where(
            TitleGrant.event_id == event.id, TitleGrant.status == GrantStatus.PROPOSED
        )
    )
    pending_promotions = db.session.scalar(
        select(func.count(PromotionGrant.id)).where(
            PromotionGrant.event_id == event.id, PromotionGrant.status == GrantStatus.PROPOSED
        )
    )
    return not pending_titles and not pending_promotions


# ---------------------------------------------------------------- the organiser's page


@dataclass
class AwardsPage:
    plan: Plan
    grants: list[AwardGrant]
    scores: dict[int, EntryScore]
    titles: list[TitleGrant]
    promotions: list[PromotionGrant]
    options: dict[int, list[str | None]]
    labour: dict[int, Any]  # person id → LabourMedalFlag (eligible only)
    newer_version: int | None
    pending: int
    allocated_at: datetime | None


def awards_page(event: Event) -> AwardsPage:
    grants = current_grants(event)
    scores = {row.entry_id: row for row in stored_results(event)}
    page_plan = plan(event, len(grants) if grants else len(scores))
    title_rows = titles.event_titles(event)
    promotion_rows = promotions.event_promotions(event)
    options = {}
    for grant in grants:
        if grant.flagged:
            options[grant.id] = tie_options(event, grant, grants=grants)
    labour = titles.labour_medal_flags(event, event_members(event, grants)) if grants else {}
    preset = event.preset_version.preset
    latest = preset.latest.version if preset.versions else None
    newer = latest if latest and latest > event.preset_version.version else None
    pending = sum(1 for t in title_rows if t.status is GrantStatus.PROPOSED) + sum(
        1 for p in promotion_rows if p.status is GrantStatus.PROPOSED
    )
    return AwardsPage(
        plan=page_plan,
        grants=grants,
        scores=scores,
        titles=title_rows,
        promotions=promotion_rows,
        options=options,
        labour=labour,
        newer_version=newer,
        pending=pending,
        allocated_at=grants[0].allocated_at if grants else None,
    )


def competition_overview(competition) -> list[tuple[Event, int, int]]:
    """Per event: (event, allocated entries, pending title and promotion decisions)."""
    out = []
    for event in competition.events:
        allocated = len(current_grants(event))
        pending = db.session.scalar(
            select(func.count(TitleGrant.id)).where(
                TitleGrant.event_id == event.id, TitleGrant.status == GrantStatus.PROPOSED
            )
        ) + db.session.scalar(
            select(func.count(PromotionGrant.id)).where(
                PromotionGrant.event_id == event.id,
                PromotionGrant.status == GrantStatus.PROPOSED,
            )
        )
        out.append((event, allocated, pending))
    return out
