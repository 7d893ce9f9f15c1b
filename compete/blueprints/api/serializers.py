"""Models as JSON: decimals as strings, enums as their values, times in ISO 8601 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ...models import ApiToken, Competition, Entry, EntryScore, Event, MarkingScheme, User

CENT = Decimal("0.01")


def iso(value: datetime | date | None) -> str | None:
    """A time as ISO 8601 in UTC with its offset; a date as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat()


def mark(value: Decimal | None) -> str | None:
    """A mark (Numeric(6, 2)) as a string with two places, the same on every database."""
    return None if value is None else str(Decimal(value).quantize(CENT))


def plain(value: Any) -> Any:
    """Rule parameters as JSON: decimals as strings, enums as values, times as ISO text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return iso(value)
    return value


def competition_json(competition: Competition) -> dict[str, Any]:
    return {
        "id": competition.id,
        "name": competition.name,
        "tier": competition.tier.value,
        "region": competition.region,
        "year": competition.year,
        "organiser": competition.organiser,
        "host": competition.host,
        "co_organisers": competition.co_organisers,
        "venue": competition.venue,
        "description": competition.description,
        "start_date": iso(competition.start_date),
        "end_date": iso(competition.end_date),
        "created_at": iso(competition.created_at),
    }


def event_json(event: Event) -> dict[str, Any]:
    version = event.preset_version
    return {
        "id": event.id,
        "competition_id": event.competition_id,
        "code": event.code,
        "name": event.name,
        "occupation": event.occupation,
        "occupation_code": event.occupation_code,
        "standard_grade": event.standard_grade,
        "group": event.group.value,
        "team_size": event.team_size,
        "max_coaches": event.max_coaches,
        "state": event.state.value,
        "venue": event.venue,
        "registration_deadline": iso(event.registration_deadline),
        "start_at": iso(event.start_at),
        "end_at": iso(event.end_at),
        "preset": {"key": version.preset.key, "version": version.version},
        "rules": plain(event.rules),
        "created_at": iso(event.created_at),
    }


def scheme_json(event: Event) -> dict[str, Any]:
    """The event's marking scheme; an event without one has no modules yet."""
    scheme: MarkingScheme | None = event.scheme
    modules = scheme.modules if scheme is not None else []
    return {
        "event_id": event.id,
        "max_mark": mark(scheme.max_mark if scheme is not None else Decimal(0)),
        "updated_at": iso(scheme.updated_at) if scheme is not None else None,
        "modules": [
            {
                "code": module.code,
                "name": module.name,
                "position": module.position,
                "max_mark": mark(module.max_mark),
                "criteria": [
                    {
                        "code": c.code,
                        "description": c.description,
                        "kind": c.kind.value,
                        "max_mark": mark(c.max_mark),
                        "step": mark(c.step),
                        "judges": c.judges,
                        "aggregation": c.aggregation.value,
                        "tolerance": mark(c.tolerance),
                        "double_entry": c.double_entry,
                        "position": c.position,
                    }
                    for c in module.criteria
                ],
            }
            for module in modules
        ],
    }


def me_json(user: User, token: ApiToken | None) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "roles": [
            {
                "role": a.role.value,
                "scope": a.role.scope,
                "competition_id": a.competition_id,
                "event_id": a.event_id,
                "unit_id": a.unit_id,
            }
            for a in sorted(user.assignments, key=lambda a: a.id)
        ],
        "token": (
            {"name": token.name, "expires_at": iso(token.expires_at)} if token is not None else None
        ),
    }


# ---------------------------------------------------------------- registrations


def registration_json(entry: Entry, *, full: bool) -> dict[str, Any]:
    """One registration; ID numbers and phones masked unless ``full`` (the caller checks it)."""
    members = sorted(entry.members, key=lambda m: (not m.is_lead, m.position, m.id))
    return {
        "id": entry.id,
        "event_id": entry.event_id,
        "status": entry.status.value,
        "unit": {"id": entry.unit_id, "name": entry.unit.name},
        "entry_number": entry.entry_number,
        "station_number": entry.station_number,
        "decision_reason": entry.decision_reason,
        "coaches": [
            str(c.get("name") or "") if isinstance(c, dict) else str(c) for c in entry.coaches or []
        ],
        "members": [
            {
                "name": m.person.name,
                "gender": m.person.gender,
                "id_number": m.person.id_number if full else m.person.masked_id,
                "phone": m.person.phone if full else m.person.masked_phone,
                "is_lead": bool(m.is_lead),
                "position": m.position,
            }
            for m in members
        ],
        "created_at": iso(entry.created_at),
    }


# ---------------------------------------------------------------- results


def result_json(
    row: EntryScore,
    *,
    code: str | None,
    entry: Entry | None,
    award: str | None,
    show_entry_id: bool,
) -> dict[str, Any]:
    """One stored result; ``entry`` None keeps the identity hidden (sealed, or not for this
    reader), ``code`` None hides the marking code."""
    people = (
        [] if entry is None else sorted(entry.members, key=lambda m: (not m.is_lead, m.position))
    )
    return {
        "rank": row.rank,
        "code": code,
        "entry_id": row.entry_id if show_entry_id and entry is not None else None,
        "entry_number": None if entry is None else entry.entry_number,
        "names": [m.person.name for m in people],
        "unit": None if entry is None else entry.unit.name,
        "module_scores": {
            str(k): mark(Decimal(str(v))) for k, v in sorted((row.module_scores or {}).items())
        },
        "practical": mark(row.practical),
        "theory": mark(row.theory),
        "final": mark(row.final),
        "passed": bool(row.passed),
        "award": award or None,
    }


# ---------------------------------------------------------------- certificates


def certificate_json(view) -> dict[str, Any]:
    """What the public verification page shows (``awards.certificates.CertificateView``)."""
    return {
        "number": view.number,
        "kind": view.kind,
        "heading": view.heading,
        "masked_name": view.masked_name,
        "competition": view.competition,
        "event_code": view.event_code,
        "event_name": view.event_name,
        "occupation": view.occupation,
        "wording": view.wording,
        "issuer": view.issuer,
        "issued_on": iso(view.issued_on),
        "status": view.status,
        "revoked_on": iso(view.revoked_on),
    }
