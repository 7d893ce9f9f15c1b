"""Record actions in the audit trail. Services call ``record``; the caller commits."""

from __future__ import annotations

import logging
from decimal import Decimal
from enum import Enum
from typing import Any

from .extensions import db
from .models.audit import AuditEntry

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """Make a snapshot JSON-safe: Decimals as strings, enums as values, dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def record(
    actor,
    action: str,
    target=None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    competition_id: int | None = None,
    event_id: int | None = None,
) -> AuditEntry:
    """Add one audit entry for ``action`` by ``actor`` on ``target`` (flushed, not committed)."""
    if target is not None:
        event_id = event_id or getattr(target, "event_id", None)
        competition_id = competition_id or getattr(target, "competition_id", None)
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        target_type=type(target).__name__ if target is not None else None,
        target_id=getattr(target, "id", None),
        competition_id=competition_id,
        event_id=event_id,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        reason=reason,
    )
    db.session.add(entry)
    db.session.flush()
    log.info(
        "audit %s by user %s on %s %s", action, entry.actor_id, entry.target_type, entry.target_id
    )
    return entry
