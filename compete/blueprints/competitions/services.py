"""Competitions and events: create, edit, link for selection."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput
from ...domain.lifecycle import EventState
from ...domain.rules import validate_params
from ...domain.tiers import Group, Tier
from ...extensions import db
from ...models import (
    CheckIn,
    Competition,
    Entry,
    EntryStatus,
    Event,
    Role,
    RoleAssignment,
    RulePresetVersion,
    SelectionLink,
)

COMPETITION_FIELDS = (
    "name",
    "tier",
    "region",
    "year",
    "organiser",
    "host",
    "co_organisers",
    "start_date",
    "end_date",
    "venue",
    "description",
)


def create_competition(actor, **fields: Any) -> Competition:
    """A new competition; its creator becomes one of its organisers."""
    data = {k: v for k, v in fields.items() if k in COMPETITION_FIELDS}
    data["tier"] = Tier(data["tier"])
    _check_dates(data.get("start_date"), data.get("end_date"))
    competition = Competition(**data, created_by_id=getattr(actor, "id", None))
    db.session.add(competition)
    db.session.flush()
    if actor is not None and not actor.is_admin:
        db.session.add(
            RoleAssignment(
                user_id=actor.id,
                role=Role.ORGANISER,
                competition_id=competition.id,
                created_by_id=actor.id,
            )
        )
    audit.record(
        actor, "competition.created", competition, after=data, competition_id=competition.id
    )
    return competition


def _check_dates(start, end) -> None:
    if start and end and end < start:
        raise InvalidInput(N_("The end date is before the start date."), field="end_date")


def create_event(
    actor, competition: Competition, *, preset_version: RulePresetVersion, **fields: Any
) -> Event:
    """A new event (赛项) in draft, using ``preset_version``'s rules."""
    code = fields.pop("code").strip()
    if any(e.code == code for e in competition.events):
        raise InvalidInput(
            N_("The event code %(code)s is already used in this competition."),
            field="code",
            code=code,
        )
    event = Event(
        competition=competition,
        code=code,
        group=Group(fields.pop("group")),
        preset_version=preset_version,
        state=EventState.DRAFT,
        public_code=secrets.token_urlsafe(12),
        overrides=fields.pop("overrides", None) or {},
        **fields,
    )
    db.session.add(event)
    db.session.flush()
    audit.record(
        actor,
        "event.created",
        event,
        after={"code": code, "name": event.name},
        competition_id=competition.id,
        event_id=event.id,
    )
    return event


EVENT_FIELDS = (
    "name",
    "occupation",
    "occupation_code",
    "standard_grade",
    "group",
    "team_size",
    "max_coaches",
    "registration_deadline",
    "start_at",
    "end_at",
    "venue",
)


def _frozen_basics(event: Event) -> bool:
    order = list(EventState)
    return event.state is EventState.CANCELLED or order.index(event.state) >= order.index(
        EventState.DRAWN
    )


def update_competition(actor, competition: Competition, **fields: Any) -> None:
    data = {k: v for k, v in fields.items() if k in COMPETITION_FIELDS}
    data["tier"] = Tier(data.get("tier", competition.tier))
    _check_dates(
        data.get("start_date", competition.start_date), data.get("end_date", competition.end_date)
    )
    before = {k: getattr(competition, k) for k in data}
    for key, value in data.items():
        setattr(competition, key, value)
    db.session.flush()
    audit.record(
        actor,
        "competition.updated",
        competition,
        before=before,
        after=data,
        competition_id=competition.id,
    )


def update_event(actor, event: Event, **fields: Any) -> None:
    """Edit an event's basics; group and team size only while it is a draft."""
    if _frozen_basics(event):
        raise Conflict(N_("The event's basics are fixed once the draw is made."))
    data = {k: v for k, v in fields.items() if k in EVENT_FIELDS}
    if event.state is not EventState.DRAFT:
        for key in ("group", "team_size"):
            if key in data and data[key] != getattr(event, key):
                raise Conflict(N_("Group and team size change only while the event is a draft."))
    if "group" in data:
        data["group"] = Group(data["group"])
    if data.get("start_at") and data.get("end_at") and data["end_at"] < data["start_at"]:
        raise InvalidInput(N_("The end is before the start."), field="end_at")
    before = {k: getattr(event, k) for k in data}
    for key, value in data.items():
        setattr(event, key, value)
    db.session.flush()
    audit.record(actor, "event.updated", event, before=before, after=data, event_id=event.id)


def set_rules(
    actor, event: Event, *, preset_version: RulePresetVersion, overrides: dict[str, Any]
) -> None:
    """Choose the event's preset version and its own changes; only while it is a draft."""
    if event.state is not EventState.DRAFT:
        raise Conflict(N_("The rules are fixed once registration opens."))
    # Check the overrides together with the preset (a changed value may depend on unchanged
    # ones), then keep only the normalised values that really differ from the preset.
    params = validate_params({**preset_version.params, **overrides})
    clean = {k: params[k] for k in overrides if preset_version.params.get(k) != params[k]}
    before = {"preset_version_id": event.preset_version_id, "overrides": event.overrides}
    event.preset_version = preset_version
    event.overrides = clean
    db.session.flush()
    audit.record(
        actor,
        "event.rules_set",
        event,
        before=before,
        after={"preset_version_id": preset_version.id, "overrides": clean},
        event_id=event.id,
    )


def link_selection(actor, source: Event, target: Event, *, quota: int) -> SelectionLink:
    """Let ``source``'s ranking feed ``target`` with ``quota`` places."""
    if source.id == target.id:
        raise InvalidInput(N_("An event cannot feed itself."), field="target_event_id")
    if quota < 1:
        raise InvalidInput(N_("The quota must be at least 1."), field="quota")
    if target.competition.tier.level <= source.competition.tier.level:
        raise InvalidInput(
            N_("A selection feeds a higher-level competition; %(target)s is not above %(source)s."),
            field="target_event_id",
            target=target.competition.name,
            source=source.competition.name,
        )
    if source.group is not target.group:
        raise InvalidInput(N_("The two events are for different groups."), field="target_event_id")
    existing = db.session.scalar(
        select(SelectionLink).where(
            SelectionLink.source_event_id == source.id, SelectionLink.target_event_id == target.id
        )
    )
    if existing is not None:
        before = existing.quota
        existing.quota = quota
        audit.record(
            actor,
            "selection.quota_changed",
            existing,
            before={"quota": before},
            after={"quota": quota},
            event_id=source.id,
            competition_id=source.competition_id,
        )
        return existing
    link = SelectionLink(source_event_id=source.id, target_event_id=target.id, quota=quota)
    db.session.add(link)
    db.session.flush()
    audit.record(
        actor,
        "selection.linked",
        link,
        after={"target": target.id, "quota": quota},
        event_id=source.id,
        competition_id=source.competition_id,
    )
    return link


def unlink_selection(actor, link: SelectionLink) -> None:
    before = {"target": link.target_event_id, "quota": link.quota}
    source = link.source_event
    db.session.delete(link)
    db.session.flush()
    audit.record(actor, "selection.unlinked", source, before=before, event_id=source.id)


def event_counts(event: Event) -> dict[str, int]:
    """Figures shown per event on the competition overview."""
    scheme = event.scheme
    statuses = dict(
        db.session.execute(
            select(Entry.status, func.count(Entry.id))
            .where(Entry.event_id == event.id)
            .group_by(Entry.status)
        ).all()
    )
    return {
        "modules": len(scheme.modules) if scheme else 0,
        "criteria": sum(len(m.criteria) for m in scheme.modules) if scheme else 0,
        "registered": sum(n for s, n in statuses.items() if s is not EntryStatus.WITHDRAWN),
        "approved": statuses.get(EntryStatus.APPROVED, 0),
        "returned": statuses.get(EntryStatus.RETURNED, 0),
        "waiting": statuses.get(EntryStatus.SUBMITTED, 0),
        "checked_in": db.session.scalar(
            select(func.count(CheckIn.id)).where(CheckIn.event_id == event.id)
        )
        or 0,
    }


def competition_summary(competition: Competition) -> dict[str, int]:
    events = competition.events
    return {
        "events": len(events),
        "drafts": sum(e.state is EventState.DRAFT for e in events),
        "open": sum(e.state is EventState.REGISTRATION_OPEN for e in events),
        "final": sum(e.state in (EventState.FINAL, EventState.AWARDS_ISSUED) for e in events),
    }
