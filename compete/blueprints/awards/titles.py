"""Honorary titles (技术能手): proposed from an event's awards, approved by the authority.

Who qualifies is the preset's title rule (``domain.titles``). A person who holds the title
already — granted in any competition, or recorded by hand from earlier history — is not
proposed again ("不再重复授予"); a revoked title no longer counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.awards import Award
from ...domain.errors import Conflict, InvalidInput
from ...domain.titles import (
    DEFAULT_TOP_N_BY_TEAM_SIZE,
    TitleCandidate,
    TitleRule,
    TitleScope,
    labour_medal_flag,
    propose_titles,
)
from ...extensions import db
from ...models import (
    AwardGrant,
    Entry,
    EntryMember,
    EntryScore,
    Event,
    GrantStatus,
    Person,
    RulePresetVersion,
    TitleGrant,
)

TITLE_LABELS: Mapping[str, str] = {
    "GD_TECH_EXPERT": N_("Guangdong Technical Expert"),
    "NATIONAL_TECH_EXPERT": N_("National Technical Expert"),
    "NANYUE_SKILL_MASTER": N_("South Guangdong Skill Master"),
    "CHINA_SKILLS_AWARD": N_("China Skills Award"),
    "LABOUR_MEDAL_NATIONAL": N_("National May Day Labour Medal"),
    "LABOUR_MEDAL_GD": N_("Guangdong May Day Labour Medal"),
}

STATUS_LABELS: Mapping[str, str] = {
    GrantStatus.PROPOSED.value: N_("Proposed"),
    GrantStatus.GRANTED.value: N_("Granted"),
    GrantStatus.DECLINED.value: N_("Declined"),
    GrantStatus.REVOKED.value: N_("Revoked"),
}

MAX_REF = 100
MAX_SOURCE = 200
MAX_REASON = 2000


def local_day(moment: datetime) -> date:
    """The day in the app's zone (Beijing time): approval documents carry local dates."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return moment.astimezone(ZoneInfo(name or "Asia/Shanghai")).date()


def title_label(value: str) -> str:
    return TITLE_LABELS.get(value, value)


def known_titles() -> list[str]:
    """Titles a person can hold here: the well-known ones, those any preset grants, and those
    already recorded."""
    keys = list(TITLE_LABELS)
    for params in db.session.scalars(select(RulePresetVersion.params)):
        if params.get("title") and params["title"] not in keys:
            keys.append(params["title"])
    for key in db.session.scalars(select(TitleGrant.title).distinct()):
        if key not in keys:
            keys.append(key)
    return keys


def award_value(value: str | None) -> Award | str | None:
    """An award as the engine knows it: an ``Award`` member, or a band name kept as text."""
    if value is None:
        return None
    try:
        return Award(value)
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class MemberResult:
    """One person of an allocated entry, with the entry's award row and stored figures."""

    entry: Entry
    member: EntryMember
    grant: AwardGrant
    score: EntryScore | None
    group: str

    @property
    def person_id(self) -> int:
        return self.member.person_id


@dataclass(frozen=True)
class TitleOutcome:
    held_before: frozenset[int]  # hold the preset's title from elsewhere (granted)
    title_now: frozenset[int]  # proposed or granted the title by this event


def title_rule(params: Mapping[str, Any]) -> TitleRule | None:
    """The engine's ``TitleRule`` from an event's parameters, or None when it grants no title.

    A score-threshold rule reads ``title_min_score`` (the pass mark when absent).
    """
    title = params.get("title")
    if not title:
        return None
    top = params.get("title_top_n") or {}
    top_n = {int(k): int(v) for k, v in top.items()} or dict(DEFAULT_TOP_N_BY_TEAM_SIZE)
    threshold = params.get("title_min_score", params.get("pass_mark"))
    return TitleRule(
        title=str(title),
        scope=TitleScope(params.get("title_scope") or TitleScope.PRIZE_WINNERS.value),
        top_n_by_team_size=top_n,
        min_score=None if threshold is None else Decimal(str(threshold)),
        requires_employee=bool(params.get("title_requires_employee", True)),
        needs_approval=bool(params.get("title_needs_approval", True)),
        regrant=bool(params.get("title_regrant", False)),
    )


def held_titles(
    person_ids: Iterable[int], title: str, *, exclude_event_id: int | None = None
) -> set[int]:
    """The people among ``person_ids`` holding ``title`` (granted, any competition or by hand)."""
    ids = set(person_ids)
    if not ids:
        return set()
    stmt = select(TitleGrant.person_id, TitleGrant.event_id).where(
        TitleGrant.person_id.in_(ids),
        TitleGrant.title == title,
        TitleGrant.status == GrantStatus.GRANTED,
    )
    return {
        person_id
        for person_id, event_id in db.session.execute(stmt)
        if exclude_event_id is None or event_id != exclude_event_id
    }


def event_titles(event: Event) -> list[TitleGrant]:
    rows = db.session.scalars(select(TitleGrant).where(TitleGrant.event_id == event.id)).all()
    ranks = {
        g.entry_id: g.rank
        for g in db.session.scalars(
            select(AwardGrant).where(AwardGrant.event_id == event.id, AwardGrant.is_current)
        )
    }
    return sorted(
        rows, key=lambda t: (ranks.get(t.entry_id) is None, ranks.get(t.entry_id) or 0, t.id)
    )


def sync_event_titles(
    actor, event: Event, members: Sequence[MemberResult], *, now: datetime, check_granted: bool
) -> TitleOutcome:
    """Propose the preset's title to everyone the rule reaches, once per person and event.

    Proposed rows no longer earned are removed; granted, declined and revoked rows stay. When
    the rule needs no approval the title is granted at once.
    """
    rule = title_rule(event.rules)
    existing = {
        row.person_id: row
        for row in db.session.scalars(select(TitleGrant).where(TitleGrant.event_id == event.id))
    }
    if rule is None:
        for row in existing.values():
            if row.status is GrantStatus.PROPOSED:
                db.session.delete(row)
        db.session.flush()
        return TitleOutcome(frozenset(), frozenset())
    held = held_titles((m.person_id for m in members), rule.title, exclude_event_id=event.id)
    candidates = [
        TitleCandidate(
            entry_id=str(m.entry.id),
            person_id=str(m.person_id),
            rank=m.grant.rank,
            award=award_value(m.grant.award),
            final=None if m.score is None else m.score.final,
            team_size=event.team_size,
            group=m.group,
            is_employee=m.group != "student",
            holds_title=m.person_id in held,
        )
        for m in members
    ]
    by_person = {m.person_id: m for m in members}
    proposals = propose_titles(rule, candidates)
    desired = {int(p.person_id) for p in proposals if p.granted}
    added, removed = [], []
    for person_id, row in existing.items():
        if person_id in desired:
            continue
        if row.status is GrantStatus.PROPOSED:
            removed.append(person_id)
            db.session.delete(row)
        elif row.status is GrantStatus.GRANTED and check_granted:
            raise Conflict(
                N_(
                    "%(name)s's title from this event is already granted and the new awards no "
                    "longer support it: revoke it first. Nothing was changed."
                ),
                name=row.person.name,
            )
    for person_id in sorted(desired):
        row = existing.get(person_id)
        if row is not None:
            if row.status is GrantStatus.PROPOSED:
                row.entry_id = by_person[person_id].entry.id
            continue
        granted = not rule.needs_approval
        db.session.add(
            TitleGrant(
                person_id=person_id,
                event_id=event.id,
                entry_id=by_person[person_id].entry.id,
                title=rule.title,
                status=GrantStatus.GRANTED if granted else GrantStatus.PROPOSED,
                granted_on=local_day(now) if granted else None,
                created_by_id=getattr(actor, "id", None),
                created_at=now,
                decided_at=now if granted else None,
            )
        )
        added.append(person_id)
    db.session.flush()
    if added or removed:
        audit.record(
            actor,
            "titles.proposed",
            event,
            after={"title": rule.title, "added": added, "removed": removed},
            event_id=event.id,
        )
    title_now = {
        person_id
        for person_id in desired
        if existing.get(person_id) is None
        or existing[person_id].status in (GrantStatus.PROPOSED, GrantStatus.GRANTED)
    }
    return TitleOutcome(frozenset(held), frozenset(title_now))


# ---------------------------------------------------------------- decisions


def clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("Give a reason."), field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(N_("The reason is too long (2,000 characters at most)."), field="reason")
    return reason


def check_approval(approval_ref: str | None, granted_on: date | None, *, now: datetime) -> str:
    """The approval reference (文号) and date an approval needs; returns the cleaned reference."""
    ref = (approval_ref or "").strip()
    if not ref:
        raise InvalidInput(
            N_("Give the approval reference (document number)."), field="approval_ref"
        )
    if len(ref) > MAX_REF:
        raise InvalidInput(N_("The approval reference is too long."), field="approval_ref")
    if granted_on is None:
        raise InvalidInput(N_("Give the approval date."), field="granted_on")
    if granted_on > local_day(now):
        raise InvalidInput(N_("The approval date cannot be in the future."), field="granted_on")
    return ref


def record_decision(
    actor,
    grant,
    *,
    action: str,
    status: GrantStatus,
    after: dict[str, Any],
    now: datetime,
    reason: str | None = None,
    event_id: int | None = None,
):
    """Set a title or promotion grant's decision (status, who, when, reason), flush and audit
    it as ``action`` with ``after`` (the status is added); the one way either kind changes."""
    before = {"status": grant.status}
    grant.status = status
    if reason is not None:
        grant.reason = reason
    grant.decided_by_id = getattr(actor, "id", None)
    grant.decided_at = now
    db.session.flush()
    audit.record(
        actor,
        action,
        grant,
        before=before,
        after={"status": status, **after},
        reason=reason,
        **({"event_id": event_id} if event_id is not None else {}),
    )
    return grant


def _holds_elsewhere(grant: TitleGrant) -> bool:
    return bool(
        db.session.scalar(
            select(TitleGrant.id).where(
                TitleGrant.person_id == grant.person_id,
                TitleGrant.title == grant.title,
                TitleGrant.status == GrantStatus.GRANTED,
                TitleGrant.id != grant.id,
            )
        )
    )


def approve_titles(
    actor,
    event: Event,
    grant_ids: Sequence[int],
    *,
    approval_ref: str,
    granted_on: date | None,
    now: datetime,
) -> list[TitleGrant]:
    """The authority confirmed these proposed titles (核准) under one reference and date.

    All or nothing: a row of another event, one not proposed, or a person who meanwhile holds
    the title (and the preset does not regrant) refuses the whole approval.
    """
    ref = check_approval(approval_ref, granted_on, now=now)
    if not grant_ids:
        raise InvalidInput(N_("Select at least one title to approve."), field="grant_ids")
    regrant = bool(event.rules.get("title_regrant", False))
    rows = []
    for grant_id in grant_ids:
        grant = db.session.get(TitleGrant, grant_id)
        if grant is None or grant.event_id != event.id:
            raise InvalidInput(
                N_("A selected title is not one of this event's."), field="grant_ids"
            )
        if grant.status is not GrantStatus.PROPOSED:
            raise Conflict(
                N_("The title for %(name)s is not waiting for approval."), name=grant.person.name
            )
        if not regrant and _holds_elsewhere(grant):
            raise Conflict(
                N_("%(name)s already holds this title: it is not granted twice."),
                name=grant.person.name,
            )
        rows.append(grant)
    for grant in rows:
        grant.approval_ref = ref
        grant.granted_on = granted_on
        record_decision(
            actor,
            grant,
            action="title.granted",
            status=GrantStatus.GRANTED,
            after={
                "person_id": grant.person_id,
                "title": grant.title,
                "approval_ref": ref,
                "granted_on": granted_on,
            },
            now=now,
            event_id=event.id,
        )
    return rows


def decline_title(actor, grant: TitleGrant, *, reason: str, now: datetime) -> TitleGrant:
    """The authority did not confirm a proposed title."""
    reason = clean_reason(reason)
    if grant.status is not GrantStatus.PROPOSED:
        raise Conflict(
            N_("The title for %(name)s is not waiting for approval."), name=grant.person.name
        )
    return record_decision(
        actor,
        grant,
        action="title.declined",
        status=GrantStatus.DECLINED,
        after={"person_id": grant.person_id},
        now=now,
        reason=reason,
    )


def revoke_title(actor, grant: TitleGrant, *, reason: str, now: datetime) -> TitleGrant:
    """Withdraw a granted title, with a reason; the row stays as history."""
    reason = clean_reason(reason)
    if grant.status is not GrantStatus.GRANTED:
        raise Conflict(N_("Only a granted title can be revoked."))
    return record_decision(
        actor,
        grant,
        action="title.revoked",
        status=GrantStatus.REVOKED,
        after={"person_id": grant.person_id, "title": grant.title},
        now=now,
        reason=reason,
    )


def record_title(
    actor,
    person: Person,
    *,
    title: str,
    granted_on: date | None,
    source: str,
    approval_ref: str = "",
    now: datetime,
) -> TitleGrant:
    """Record a title the person was granted before this system (by hand, with its source)."""
    title = (title or "").strip()
    if not title or len(title) > 60:
        raise InvalidInput(N_("Choose the title."), field="title")
    source = (source or "").strip()
    if not source:
        raise InvalidInput(
            N_("Say where the record comes from (e.g. the approval document)."), field="source"
        )
    if len(source) > MAX_SOURCE:
        raise InvalidInput(N_("The source is too long."), field="source")
    if granted_on is None:
        raise InvalidInput(N_("Give the date the title was granted."), field="granted_on")
    if granted_on > local_day(now):
        raise InvalidInput(N_("The date cannot be in the future."), field="granted_on")
    ref = (approval_ref or "").strip()
    if len(ref) > MAX_REF:
        raise InvalidInput(N_("The approval reference is too long."), field="approval_ref")
    if held_titles([person.id], title):
        raise Conflict(N_("%(name)s already holds this title."), name=person.name)
    grant = TitleGrant(
        person_id=person.id,
        event_id=None,
        entry_id=None,
        title=title,
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
        "title.recorded",
        grant,
        after={
            "person_id": person.id,
            "title": title,
            "granted_on": granted_on,
            "source": source,
            "approval_ref": ref,
        },
    )
    return grant


def labour_medal_flags(event: Event, members: Sequence[MemberResult]) -> dict[int, Any]:
    """People who may apply for the May Day Labour Medal (五一), by the preset's ranks."""
    ranks = int(event.rules.get("labour_medal_ranks") or 0)
    if ranks <= 0:
        return {}
    flags = {}
    for m in members:
        flag = labour_medal_flag(
            rank=m.grant.rank,
            is_lead=m.member.is_lead or len(m.entry.members) == 1,
            group=m.group,
            event_year=event.competition.year,
            labour_medal_ranks=ranks,
        )
        if flag.eligible:
            flags[m.person_id] = flag
    return flags
