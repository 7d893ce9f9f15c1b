"""Skill-grade promotions (晋升) as a rule table per preset, proposed then approved.

Each preset lists rules ``condition → action`` (``promotion_rules``): the condition is an
award band or better, a rank range, a minimum score and/or a group; the action a target grade
(one grade up when already there, with ``plus_one``) or ``one_up``, with a cap. The grade a
person starts from is the higher of the grade declared at registration and any granted
promotion in the same occupation, so a promotion follows the person to the next competition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.awards import Award
from ...domain.errors import Conflict, InvalidInput
from ...domain.grades import GRADE_LABELS, Grade
from ...domain.promotion import (
    ONE_UP,
    PromotionRule,
    decide_promotion,
    promotions_within_limit,
)
from ...extensions import db
from ...models import AwardGrant, Event, GrantStatus, Person, PromotionGrant
from .titles import (
    MAX_REF,
    MAX_SOURCE,
    MemberResult,
    award_value,
    check_approval,
    clean_reason,
    local_day,
    record_decision,
)

_PRIZE_LADDER = (Award.FIRST, Award.SECOND, Award.THIRD)
_MEDAL_LADDER = (Award.GOLD, Award.SILVER, Award.BRONZE)

# "min_award X" in a promotion rule: the awards that count as X or better.
AT_LEAST: Mapping[str, frozenset[Award | str]] = {
    "first": frozenset(_PRIZE_LADDER[:1]),
    "second": frozenset(_PRIZE_LADDER[:2]),
    "third": frozenset(_PRIZE_LADDER),
    "gold": frozenset(_MEDAL_LADDER[:1]),
    "silver": frozenset(_MEDAL_LADDER[:2]),
    "bronze": frozenset(_MEDAL_LADDER),
    "medallion": frozenset({*_MEDAL_LADDER, Award.MEDALLION}),
    "merit": frozenset(
        {*_PRIZE_LADDER, *_MEDAL_LADDER, Award.MERIT, Award.EXCELLENCE, Award.MEDALLION}
    ),
    "band_1": frozenset({"band_1"}),
    "band_2": frozenset({"band_1", "band_2"}),
}


def grade_text(value: int | None) -> str:
    return "" if value is None else GRADE_LABELS.get(Grade(value), str(value))


def promotion_rules(params: Mapping[str, Any]) -> tuple[PromotionRule, ...]:
    """The engine's rules from ``promotion_rules`` (validated by ``domain.rules``)."""
    default_cap = Grade[params.get("promotion_cap") or "L1"]
    rules = []
    for raw in params.get("promotion_rules") or ():
        target = raw["target"]
        ranks = None
        if raw.get("min_rank") is not None or raw.get("max_rank") is not None:
            ranks = (int(raw.get("min_rank") or 1), int(raw.get("max_rank") or 10**6))
        cap = Grade[raw["cap"]] if raw.get("cap") else default_cap
        rules.append(
            PromotionRule(
                target=ONE_UP if target == ONE_UP else Grade[target],
                plus_one=bool(raw.get("plus_one", False)),
                awards=AT_LEAST[raw["min_award"]] if raw.get("min_award") else None,
                ranks=ranks,
                min_score=(
                    Decimal(str(raw["min_score"])) if raw.get("min_score") is not None else None
                ),
                groups=frozenset({raw["group"]}) if raw.get("group") else None,
                cap=min(cap, default_cap),
            )
        )
    return tuple(rules)


def granted_history(
    person_ids: Iterable[int], *, exclude_event_id: int | None = None
) -> dict[int, list[PromotionGrant]]:
    """Granted promotions per person (any competition, or recorded by hand)."""
    ids = set(person_ids)
    out: dict[int, list[PromotionGrant]] = {pid: [] for pid in ids}
    if not ids:
        return out
    rows = db.session.scalars(
        select(PromotionGrant).where(
            PromotionGrant.person_id.in_(ids), PromotionGrant.status == GrantStatus.GRANTED
        )
    )
    for row in rows:
        if exclude_event_id is None or row.event_id != exclude_event_id:
            out[row.person_id].append(row)
    return out


def effective_grade(
    declared: int | None, history: Iterable[PromotionGrant], occupation: str
) -> Grade | None:
    """The grade held in ``occupation``: the declared one or a granted promotion, the higher."""
    grades = [declared] if declared is not None else []
    grades += [row.to_grade for row in history if row.occupation == occupation]
    return Grade(max(grades)) if grades else None


def event_promotions(event: Event) -> list[PromotionGrant]:
    rows = db.session.scalars(
        select(PromotionGrant).where(PromotionGrant.event_id == event.id)
    ).all()
    ranks = {
        g.entry_id: g.rank
        for g in db.session.scalars(
            select(AwardGrant).where(AwardGrant.event_id == event.id, AwardGrant.is_current)
        )
    }
    return sorted(
        rows, key=lambda p: (ranks.get(p.entry_id) is None, ranks.get(p.entry_id) or 0, p.id)
    )


def sync_event_promotions(
    actor,
    event: Event,
    members: Sequence[MemberResult],
    *,
    held_before: frozenset[int],
    title_now: frozenset[int],
    now: datetime,
    check_granted: bool,
) -> None:
    """Propose each member's promotion from the preset's rule table (first matching rule).

    A proposed row that no longer matches is replaced; decided rows stay. With
    ``check_granted`` a granted promotion the awards no longer support refuses the change.
    """
    params = event.rules
    rules = promotion_rules(params)
    occupation = event.occupation
    history = granted_history((m.person_id for m in members), exclude_event_id=event.id)
    existing = {
        row.person_id: row
        for row in db.session.scalars(
            select(PromotionGrant).where(PromotionGrant.event_id == event.id)
        )
    }
    per_year = params.get("promotions_per_year_max")
    desired: dict[int, tuple[MemberResult, Grade | None, Grade]] = {}
    for m in members:
        current = effective_grade(m.member.current_grade, history[m.person_id], occupation)
        decision = decide_promotion(
            rules,
            award=award_value(m.grant.award),
            rank=m.grant.rank,
            final=None if m.score is None else m.score.final,
            group=m.group,
            current=current,
            holds_title=m.person_id in held_before,
            title_granted_now=m.person_id in title_now,
            senior_step_requires_title=bool(params.get("senior_step_requires_title", True)),
            passed=bool(m.score is not None and m.score.passed),
            earlier_promotions=[
                row.granted_on for row in history[m.person_id] if row.granted_on is not None
            ],
            on=local_day(now),
            promotions_per_year_max=None if per_year is None else int(per_year),
        )
        if decision.new_grade is not None:
            desired[m.person_id] = (m, current, decision.new_grade)
    added, removed = [], []
    for person_id, row in existing.items():
        wanted = desired.get(person_id)
        same = wanted is not None and (
            wanted[2] == row.to_grade
            and (None if wanted[1] is None else int(wanted[1])) == row.from_grade
        )
        if row.status is GrantStatus.PROPOSED and not same:
            removed.append(person_id)
            db.session.delete(row)
            existing[person_id] = None
        elif row.status is GrantStatus.GRANTED and not same and check_granted:
            raise Conflict(
                N_(
                    "%(name)s's promotion from this event is already approved and the new awards "
                    "no longer support it: revoke it first. Nothing was changed."
                ),
                name=row.person.name,
            )
    for person_id, (m, current, new) in sorted(desired.items()):
        if existing.get(person_id) is not None:
            continue
        db.session.add(
            PromotionGrant(
                person_id=person_id,
                event_id=event.id,
                entry_id=m.entry.id,
                occupation=occupation,
                from_grade=None if current is None else int(current),
                to_grade=int(new),
                status=GrantStatus.PROPOSED,
                created_by_id=getattr(actor, "id", None),
                created_at=now,
            )
        )
        added.append(person_id)
    db.session.flush()
    if added or removed:
        audit.record(
            actor,
            "promotions.proposed",
            event,
            after={"occupation": occupation, "added": added, "removed": removed},
            event_id=event.id,
        )


# ---------------------------------------------------------------- decisions


def approve_promotions(
    actor,
    event: Event,
    grant_ids: Sequence[int],
    *,
    approval_ref: str,
    granted_on: date | None,
    now: datetime,
) -> list[PromotionGrant]:
    """The authority approved these proposed promotions under one reference and date.

    All or nothing: refused when a row is not this event's or not proposed, when the person
    meanwhile holds the new grade in the occupation, or when the yearly limit is reached.
    """
    ref = check_approval(approval_ref, granted_on, now=now)
    if not grant_ids:
        raise InvalidInput(N_("Select at least one promotion to approve."), field="grant_ids")
    per_year = event.rules.get("promotions_per_year_max")
    rows = []
    for grant_id in grant_ids:
        grant = db.session.get(PromotionGrant, grant_id)
        if grant is None or grant.event_id != event.id:
            raise InvalidInput(
                N_("A selected promotion is not one of this event's."), field="grant_ids"
            )
        if grant.status is not GrantStatus.PROPOSED:
            raise Conflict(
                N_("The promotion for %(name)s is not waiting for approval."),
                name=grant.person.name,
            )
        history = granted_history([grant.person_id])[grant.person_id]
        held = effective_grade(None, history, grant.occupation)
        if held is not None and held >= grant.to_grade:
            raise Conflict(
                N_("%(name)s already holds %(grade)s in this occupation."),
                name=grant.person.name,
                grade=grade_text(int(held)),
            )
        if per_year is not None and not promotions_within_limit(
            [row.granted_on for row in history if row.granted_on],
            on=granted_on,
            per_year_max=int(per_year),
        ):
            raise Conflict(
                N_("%(name)s has reached the limit of promotions per year."),
                name=grant.person.name,
            )
        rows.append(grant)
    for grant in rows:
        grant.approval_ref = ref
        grant.granted_on = granted_on
        record_decision(
            actor,
            grant,
            action="promotion.granted",
            status=GrantStatus.GRANTED,
            now=now,
            after={
                "person_id": grant.person_id,
                "occupation": grant.occupation,
                "from_grade": grant.from_grade,
                "to_grade": grant.to_grade,
                "approval_ref": ref,
                "granted_on": granted_on,
            },
            event_id=event.id,
        )
    return rows


def decline_promotion(actor, grant: PromotionGrant, *, reason: str, now: datetime):
    reason = clean_reason(reason)
    if grant.status is not GrantStatus.PROPOSED:
        raise Conflict(
            N_("The promotion for %(name)s is not waiting for approval."), name=grant.person.name
        )
    return record_decision(
        actor,
        grant,
        action="promotion.declined",
        status=GrantStatus.DECLINED,
        after={"person_id": grant.person_id},
        now=now,
        reason=reason,
    )


def revoke_promotion(actor, grant: PromotionGrant, *, reason: str, now: datetime):
    reason = clean_reason(reason)
    if grant.status is not GrantStatus.GRANTED:
        raise Conflict(N_("Only an approved promotion can be revoked."))
    return record_decision(
        actor,
        grant,
        action="promotion.revoked",
        status=GrantStatus.REVOKED,
        after={"person_id": grant.person_id, "to_grade": grant.to_grade},
        now=now,
        reason=reason,
    )


def record_promotion(
    actor,
    person: Person,
    *,
    occupation: str,
    from_grade: int | None,
    to_grade: int | None,
    granted_on: date | None,
    source: str,
    approval_ref: str = "",
    now: datetime,
) -> PromotionGrant:
    """Record a grade the person reached before this system (by hand, with its source)."""
    occupation = (occupation or "").strip()
    if not occupation or len(occupation) > 100:
        raise InvalidInput(N_("Give the occupation."), field="occupation")
    if to_grade is None:
        raise InvalidInput(N_("Choose the grade reached."), field="to_grade")
    to = Grade(to_grade)
    start = None if from_grade is None else Grade(from_grade)
    if start is not None and start >= to:
        raise InvalidInput(
            N_("The grade reached must be above the grade before."), field="to_grade"
        )
    source = (source or "").strip()
    if not source:
        raise InvalidInput(
            N_("Say where the record comes from (e.g. the approval document)."), field="source"
        )
    if len(source) > MAX_SOURCE:
        raise InvalidInput(N_("The source is too long."), field="source")
    if granted_on is None:
        raise InvalidInput(N_("Give the date of the promotion."), field="granted_on")
    if granted_on > local_day(now):
        raise InvalidInput(N_("The date cannot be in the future."), field="granted_on")
    ref = (approval_ref or "").strip()
    if len(ref) > MAX_REF:
        raise InvalidInput(N_("The approval reference is too long."), field="approval_ref")
    grant = PromotionGrant(
        person_id=person.id,
        event_id=None,
        entry_id=None,
        occupation=occupation,
        from_grade=None if start is None else int(start),
        to_grade=int(to),
        status=GrantStatus.GRANTED,
        source=source,
        granted_on=granted_on,
        approval_ref=ref,
        created_by_id=getattr(actor, "id", None),
        created_at=now,
        decided_by_id=getattr(actor, "id", None),
        decided_at=now,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        actor,
        "promotion.recorded",
        grant,
        after={
            "person_id": person.id,
            "occupation": occupation,
            "from_grade": grant.from_grade,
            "to_grade": grant.to_grade,
            "granted_on": granted_on,
            "source": source,
        },
    )
    return grant
