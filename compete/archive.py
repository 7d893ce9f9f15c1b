"""Versioned JSON archives of one competition: backup, restore and transfer between servers.

``export_competition`` writes every row that belongs to the competition (its events and all
that hangs off them: registrations, draws, panels, the mark chain, results, reviews,
publications, appeals, awards, certificates, transitions and audit entries) plus the shared
rows they point at (units, people, judges, accounts, rule presets). Accounts travel without
their password hashes; sessions, API tokens, pairing codes and jobs never travel.

``import_competition`` inserts it into another database: shared rows are matched by their
natural keys (account by username, person by ID number, unit by name, judge by ID number,
preset by key and version) and created when missing (an imported account cannot sign in until
an administrator sets its password); owned rows get new ids, every reference is remapped. The
archive's mark chains are verified before anything is written and again after, so a tampered
archive is refused whole; an event already on the server (same public code) is refused too.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, LargeBinary, Numeric, Table, select
from sqlalchemy import Enum as SAEnum

from .domain import N_
from .domain.errors import Conflict, InvalidInput
from .extensions import db
from .models.base import UTCDateTime, utcnow

FORMAT = "compete-archive"
VERSION = 1

# Rows shared between competitions, matched on import by these natural keys.
SHARED_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("username",),
    "people": ("id_type", "id_number"),
    "units": ("name",),
    "judges": ("id_number",),
    "rule_presets": ("key",),
    "rule_preset_versions": ("preset_id", "version"),
}
# Never exported: secrets and ephemeral work.
SKIPPED = {"login_sessions", "api_tokens", "tablet_pairings", "jobs", "holidays"}
# Columns that never leave the server.
SECRET_COLUMNS = {"users": {"password_hash", "failed_logins", "locked_until"}}
# Links to another competition: dropped on import when the other end is not on the server.
OPTIONAL_ROWS = {"selection_links"}
UNUSABLE_PASSWORD = "!imported"  # noqa: S105 (no hash matches it: the account cannot sign in)


def _tables() -> list[Table]:
    return [t for t in db.metadata.sorted_tables if t.name not in SKIPPED]


def _encode(column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(column.type, LargeBinary):
        return base64.b64encode(value).decode("ascii")
    return value


def _decode(column, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, Numeric):
        return Decimal(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
        return kind.enum_class(value)
    return value


def _references(table: Table) -> dict[str, str]:
    """Foreign-key column → referenced table name."""
    return {
        column.name: next(iter(column.foreign_keys)).column.table.name
        for column in table.columns
        if column.foreign_keys
    }


def _rows(table: Table, where) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in db.session.execute(select(table).where(where))]


def export_competition(competition_id: int) -> dict[str, Any]:
    """The competition and everything it owns, with the shared rows they reference."""
    tables = {t.name: t for t in _tables()}
    competitions = tables["competitions"]
    rows: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    found = _rows(competitions, competitions.c.id == competition_id)
    if not found:
        raise InvalidInput(N_("There is no such competition."), field="competition")
    rows["competitions"] = {found[0]["id"]: found[0]}
    # Owned rows: anything referencing an owned row, table by table in dependency order.
    for table in _tables():
        if table.name in SHARED_KEYS or table.name in ("competitions", "audit_entries"):
            continue
        owners = [
            (column, target)
            for column, target in _references(table).items()
            if target in rows and target not in SHARED_KEYS and target != table.name
        ]
        for column, target in owners:
            ids = list(rows[target])
            if ids:
                for row in _rows(table, table.c[column].in_(ids)):
                    rows[table.name][row["id"]] = row
    events = list(rows["events"])
    audit = tables["audit_entries"]
    condition = audit.c.competition_id == competition_id
    if events:
        condition = condition | audit.c.event_id.in_(events)
    for row in _rows(audit, condition):
        rows["audit_entries"][row["id"]] = row
    # Shared rows the owned ones point at, and what those point at in turn.
    for table in reversed(_tables()):
        for column, target in _references(table).items():
            if target not in SHARED_KEYS:
                continue
            wanted = {r[column] for r in rows.get(table.name, {}).values() if r[column]}
            missing = wanted - set(rows[target])
            if missing:
                for row in _rows(tables[target], tables[target].c.id.in_(missing)):
                    rows[target][row["id"]] = row
    # A second pass catches shared rows referenced only by shared rows found above.
    for table in reversed(_tables()):
        if table.name not in SHARED_KEYS:
            continue
        for column, target in _references(table).items():
            if target not in SHARED_KEYS:
                continue
            wanted = {r[column] for r in rows.get(table.name, {}).values() if r[column]}
            missing = wanted - set(rows[target])
            if missing:
                for row in _rows(tables[target], tables[target].c.id.in_(missing)):
                    rows[target][row["id"]] = row
    payload = {
        name: [
            {
                column.name: _encode(column, row[column.name])
                for column in tables[name].columns
                if column.name not in SECRET_COLUMNS.get(name, ())
            }
            for _id, row in sorted(found_rows.items())
        ]
        for name, found_rows in rows.items()
        if found_rows
    }
    archive = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "competition_id": competition_id,
        "tables": payload,
    }
    archive["digest"] = digest(archive)
    return archive


def digest(archive: dict[str, Any]) -> str:
    """SHA-256 of the archive's tables in canonical JSON (detects accidental damage)."""
    canonical = json.dumps(archive["tables"], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_archive(archive: Any) -> None:
    """Refuse anything that is not a whole archive of a version this server reads."""
    if not isinstance(archive, dict) or archive.get("format") != FORMAT:
        raise InvalidInput(N_("This file is not a competition archive."), field="archive")
    if archive.get("version") != VERSION:
        raise InvalidInput(
            N_("Archive version %(version)s cannot be read here."),
            field="archive",
            version=archive.get("version"),
        )
    if not isinstance(archive.get("tables"), dict) or "competitions" not in archive["tables"]:
        raise InvalidInput(N_("The archive holds no competition."), field="archive")
    if archive.get("digest") != digest(archive):
        raise InvalidInput(
            N_("The archive has been changed since it was exported."), field="archive"
        )


def import_competition(archive: dict[str, Any], *, actor=None) -> int:
    """Insert an exported competition; returns the new competition id. The caller commits.

    Refused whole (nothing written) when the archive is damaged or tampered with, when one of
    its mark chains does not verify, or when one of its events is already on this server.
    """
    from . import audit

    check_archive(archive)
    data = archive["tables"]
    tables = {t.name: t for t in _tables()}
    for name in data:
        if name not in tables:
            raise InvalidInput(
                N_("The archive holds unknown data (%(name)s)."), field="archive", name=name
            )
    events = tables["events"]
    for row in data.get("events", []):
        taken = db.session.scalar(
            select(events.c.id).where(events.c.public_code == row["public_code"])
        )
        if taken is not None:
            raise Conflict(N_("Event %(code)s is already on this server."), code=row["public_code"])
    broken = verify_chain_rows(data)
    if broken:
        raise InvalidInput(
            N_(
                "The mark chain of event %(event)s is broken at link %(seq)s: the archive was tampered with."
            ),
            field="archive",
            event=broken[0],
            seq=broken[1],
        )
    ids: dict[str, dict[int, int]] = defaultdict(dict)
    for table in _tables():
        rows = data.get(table.name, [])
        if not rows:
            continue
        references = _references(table)
        for raw in sorted(rows, key=lambda r: r.get("id") or 0):
            values = {
                column.name: _decode(column, raw.get(column.name))
                for column in table.columns
                if column.name in raw
            }
            old_id = values.pop("id", None)
            dangling = False
            for column, target in references.items():
                if values.get(column) is None:
                    continue
                new = ids[target].get(values[column])
                if new is None:
                    if table.columns[column].nullable:
                        values[column] = None
                        continue
                    if table.name in OPTIONAL_ROWS:
                        dangling = True
                        break
                    raise InvalidInput(
                        N_("The archive is incomplete: %(table)s refers to a missing row."),
                        field="archive",
                        table=table.name,
                    )
                values[column] = new
            if dangling:
                continue
            if table.name == "audit_entries":
                values["competition_id"] = ids["competitions"].get(values.get("competition_id"))
                values["event_id"] = ids["events"].get(values.get("event_id"))
                values["target_id"] = None
            if table.name in SHARED_KEYS:
                existing = _match(table, values)
                if existing is not None:
                    ids[table.name][old_id] = existing
                    continue
                if table.name == "users":
                    values["password_hash"] = UNUSABLE_PASSWORD
                    values["is_active_account"] = False
            result = db.session.execute(table.insert().values(**values))
            ids[table.name][old_id] = result.inserted_primary_key[0]
    db.session.flush()
    new_id = ids["competitions"][data["competitions"][0]["id"]]
    audit.record(
        actor,
        "competition.import",
        competition_id=new_id,
        after={"events": len(data.get("events", [])), "marks": len(data.get("mark_events", []))},
    )
    return new_id


def _match(table: Table, values: dict[str, Any]) -> int | None:
    keys = SHARED_KEYS[table.name]
    if any(values.get(key) is None for key in keys):
        return None
    condition = [table.c[key] == values[key] for key in keys]
    return db.session.scalar(select(table.c.id).where(*condition))


def verify_chain_rows(data: dict[str, list[dict[str, Any]]]) -> tuple[str, int] | None:
    """(event public code, first broken link) for the first archived mark chain that does not
    verify, or None when every chain is whole and ends at its event's recorded head."""
    from .domain.hashchain import GENESIS, Link, verify_chain
    from .models import MarkEvent

    columns = MarkEvent.__table__.columns
    by_event: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for raw in data.get("mark_events", []):
        by_event[raw["event_id"]].append(raw)
    for event in data.get("events", []):
        raws = sorted(by_event.get(event["id"], []), key=lambda r: r["seq"])
        for expected, raw in enumerate(raws, start=1):
            if raw["seq"] != expected:
                return event["public_code"], expected
        links = [
            Link(
                payload=MarkEvent(
                    **{c.name: _decode(c, raw.get(c.name)) for c in columns}
                ).payload(),
                hash=raw["hash"],
                prev_hash=raw["prev_hash"],
            )
            for raw in raws
        ]
        broken = verify_chain(links)
        if broken is not None:
            return event["public_code"], raws[broken]["seq"]
        head = raws[-1]["hash"] if raws else GENESIS
        if event.get("mark_head", GENESIS) != head:
            return event["public_code"], len(raws) + 1
    return None
