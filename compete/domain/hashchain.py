"""Append-only hash chain for audit records: each link hashes the previous hash and its payload.

Changing, removing or reordering any record breaks every later link, so :func:`verify_chain`
finds the first record that no longer fits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

from . import N_
from .errors import InvalidInput

GENESIS = "0" * 64


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise InvalidInput(
        N_("A %(type)s cannot be written into the audit chain."),
        field="payload",
        type=type(value).__name__,
    )


def _no_floats(value: object) -> None:
    if isinstance(value, float):
        raise InvalidInput(
            N_("Floats are not allowed in the audit chain; use Decimal."), field="payload"
        )
    if isinstance(value, Mapping):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _no_floats(item)


def canonical_json(payload: object) -> str:
    """One fixed text for a payload: sorted keys, no spaces, UTF-8 text kept.

    ``Decimal`` is written as its string (so ``1.50`` and ``1.5`` differ: store published
    figures already rounded), dates and datetimes as ISO 8601, UUIDs as strings, enums by
    value, sets sorted. Floats are refused.
    """
    _no_floats(payload)
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def link_hash(prev_hash: str, payload: object) -> str:
    """sha256 hex of ``prev_hash`` followed by the canonical JSON of ``payload``."""
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    """One record: its payload, its hash and (optionally stored) the previous hash."""

    payload: object
    hash: str
    prev_hash: str | None = None


def append(links: Sequence[Link], payload: object) -> Link:
    """The link that extends ``links`` with ``payload``."""
    previous = links[-1].hash if links else GENESIS
    return Link(payload, link_hash(previous, payload), previous)


def verify_chain(links: Sequence[Link] | Sequence[object]) -> int | None:
    """Index of the first link whose hash (or stored previous hash) does not fit; None if intact.

    Any objects with ``payload`` and ``hash`` attributes (and optionally ``prev_hash``) will do,
    e.g. audit rows.
    """
    previous = GENESIS
    for index, link in enumerate(links):
        stored_prev = getattr(link, "prev_hash", None)
        if stored_prev is not None and stored_prev != previous:
            return index
        try:
            expected = link_hash(previous, link.payload)
        except InvalidInput:
            return index
        if expected != link.hash:
            return index
        previous = link.hash
    return None
