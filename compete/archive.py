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

from sqlalchemy import Date, LargeBinary, Numeric, Table, select, text
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


def export_competition(competition_id: int, *, with_passwords: bool = False) -> dict[str, Any]:
    """The competition and everything it owns, with the shared rows they reference.

    ``with_passwords`` keeps the accounts' password hashes, for a venue copy whose judges
    must sign in at the venue; such an archive is as sensitive as the accounts themselves.
    """
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
                or (with_passwords and column.name == "password_hash")
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
        "with_passwords": with_passwords,
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


def import_competition(archive: dict[str, Any], *, actor=None, keep_ids: bool = False) -> int:
    """Insert an exported competition; returns the new competition id. The caller commits.

    Refused whole (nothing written) when the archive is damaged or tampered with, when one of
    its mark chains does not verify, or when one of its events is already on this server.

    ``keep_ids`` (venue mode): every row keeps its id, so the marks taken at the venue refer to
    the same entries, criteria and judges as on the central server; only into an empty
    database.
    """
    from . import audit

    check_archive(archive)
    data = archive["tables"]
    tables = {t.name: t for t in _tables()}
    empty = not any(
        db.session.scalar(select(tables[name].c.id).limit(1)) is not None
        for name in ("competitions", "users", "people")
    )
    if keep_ids and not empty:
        raise Conflict(N_("A venue copy can only be loaded into an empty database."))
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
    # The chain's hashes cover the rows' ids: a database holding nothing yet keeps them all
    # (a restore); one with other data would re-number the marks, so such an archive is refused.
    keep_ids = keep_ids or empty
    if not keep_ids and data.get("mark_events"):
        raise Conflict(
            N_(
                "An archive with marks can only be loaded into an empty database, where every id"
                " is kept and the mark chains still verify."
            )
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
            if table.name in SHARED_KEYS and not keep_ids:
                existing = _match(table, values)
                if existing is not None:
                    ids[table.name][old_id] = existing
                    continue
            if table.name == "users" and not values.get("password_hash"):
                values["password_hash"] = UNUSABLE_PASSWORD
                values["is_active_account"] = False
            if keep_ids:
                values["id"] = old_id
            result = db.session.execute(table.insert().values(**values))
            ids[table.name][old_id] = result.inserted_primary_key[0]
    db.session.flush()
    if keep_ids:
        _advance_sequences(data)
    _verify_imported_chains(data)
    new_id = ids["competitions"][data["competitions"][0]["id"]]
    audit.record(
        actor,
        "competition.import",
        competition_id=new_id,
        after={"events": len(data.get("events", [])), "marks": len(data.get("mark_events", []))},
    )
    return new_id


def _verify_imported_chains(data: dict[str, Any]) -> None:
    """Every imported event's mark chain verifies where it now lies, or nothing is kept."""
    from .blueprints.judging.services import verify_marks
    from .models import Event

    for row in data.get("events", []):
        event = db.session.scalar(select(Event).where(Event.public_code == row["public_code"]))
        if event is not None and verify_marks(event) is not None:
            raise InvalidInput(
                N_("The imported chain does not verify here: nothing imported."), field="archive"
            )


def _advance_sequences(data: dict[str, Any]) -> None:
    """PostgreSQL: move each id sequence past the ids inserted by hand (SQLite needs nothing)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in data:
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"  # noqa: S608 (table names from the schema)
                f" (SELECT MAX(id) FROM {name}))"
            )
        )


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


# ---------------------------------------------------------------- venue → central: one event

EVENT_FORMAT = "compete-event-archive"
# What the venue adds to an event during the day, besides the marks.
EVENT_TABLES = ("check_ins", "entry_inputs", "event_transitions", "unsealings")


def export_event(event_id: int) -> dict[str, Any]:
    """An event's day at the venue: its mark chain, check-ins, theory scores and times,
    lifecycle steps and unsealings, the stored results, and the accounts that acted."""
    tables = {t.name: t for t in _tables()}
    events = tables["events"]
    found = _rows(events, events.c.id == event_id)
    if not found:
        raise InvalidInput(N_("There is no such event."), field="event")
    event = found[0]
    data: dict[str, list[dict[str, Any]]] = {"events": found}
    for name in ("mark_events", *EVENT_TABLES, "entry_scores"):
        table = tables[name]
        data[name] = sorted(_rows(table, table.c.event_id == event_id), key=lambda r: r["id"])
    users = tables["users"]
    acting = {
        row[column]
        for name, rows in data.items()
        for row in rows
        for column, target in _references(tables[name]).items()
        if target == "users" and row[column]
    }
    data["users"] = _rows(users, users.c.id.in_(acting)) if acting else []
    payload = {
        name: [
            {
                c.name: _encode(c, row[c.name])
                for c in tables[name].columns
                if name != "users" or c.name in ("id", "username")
            }
            for row in rows
        ]
        for name, rows in data.items()
    }
    archive = {
        "format": EVENT_FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "event": event["public_code"],
        "tables": payload,
    }
    archive["digest"] = digest(archive)
    return archive


def import_event(archive: Any, *, actor=None) -> dict[str, int]:
    """Bring a venue's event day into this server's copy of the event. The caller commits.

    The event must be here with the same ids (the venue copy was loaded with ``keep_ids``).
    Refused whole when the archive is damaged, its chain does not verify, an account that
    acted is unknown here, or this server's chain is not a beginning of the venue's. New marks
    are appended with their hashes unchanged, the other rows added when not already here, the
    results recomputed from the marks and compared with the venue's.
    """
    from . import audit
    from .blueprints.judging.services import verify_marks
    from .blueprints.results import services as results
    from .models import Event

    if not isinstance(archive, dict) or archive.get("format") != EVENT_FORMAT:
        raise InvalidInput(N_("This file is not an event archive from a venue."), field="archive")
    if archive.get("version") != VERSION:
        raise InvalidInput(
            N_("Archive version %(version)s cannot be read here."),
            field="archive",
            version=archive.get("version"),
        )
    if archive.get("digest") != digest(archive):
        raise InvalidInput(
            N_("The archive has been changed since it was exported."), field="archive"
        )
    data = archive["tables"]
    venue_event = data["events"][0]
    event = db.session.get(Event, venue_event["id"])
    if event is None or event.public_code != archive["event"]:
        raise Conflict(
            N_(
                "Event %(code)s is not on this server with the same ids: load the venue copy from here."
            ),
            code=archive["event"],
        )
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
    tables = {t.name: t for t in _tables()}
    users = tables["users"]
    for row in data.get("users", []):
        here = db.session.scalar(select(users.c.username).where(users.c.id == row["id"]))
        if here != row["username"]:
            raise Conflict(
                N_("Account %(name)s acted at the venue but is not the same account here."),
                name=row["username"],
            )
    marks = tables["mark_events"]
    here = {
        seq: digest_
        for seq, digest_ in db.session.execute(
            select(marks.c.seq, marks.c.hash).where(marks.c.event_id == event.id)
        )
    }
    venue = sorted(data.get("mark_events", []), key=lambda r: r["seq"])
    if len(here) > len(venue) or any(
        here[row["seq"]] != row["hash"] for row in venue if row["seq"] in here
    ):
        raise Conflict(
            N_("This server holds marks of the event that the venue does not: nothing imported.")
        )
    mark_ids = {
        raw["id"]: db.session.scalar(
            select(marks.c.id).where(marks.c.event_id == event.id, marks.c.seq == raw["seq"])
        )
        for raw in venue
        if raw["seq"] in here
    }
    added = 0
    for raw in venue:
        if raw["seq"] in here:
            continue
        values = {c.name: _decode(c, raw.get(c.name)) for c in marks.columns if c.name in raw}
        old_id = values.pop("id")
        if values.get("supersedes_id") is not None:
            values["supersedes_id"] = mark_ids[values["supersedes_id"]]
        mark_ids[old_id] = db.session.execute(marks.insert().values(**values)).inserted_primary_key[
            0
        ]
        added += 1
    counts = {"marks": added}
    for name in EVENT_TABLES:
        counts[name] = _add_missing(tables[name], data.get(name, []), event.id)
    if venue:
        event.mark_seq, event.mark_head = venue[-1]["seq"], venue[-1]["hash"]
    event.state = _decode(tables["events"].c.state, venue_event["state"])
    db.session.flush()
    if verify_marks(event) is not None:
        raise InvalidInput(
            N_("The imported chain does not verify here: nothing imported."), field="archive"
        )
    rows = results.compute_results(event, now=utcnow(), full=True)
    mismatched = _results_differ(rows, data.get("entry_scores", []))
    results.bump_results_version(event)
    audit.record(
        actor,
        "event.import_from_venue",
        event,
        after={**counts, "mark_head": event.mark_head, "results_differ": mismatched},
        event_id=event.id,
    )
    counts["results_differ"] = mismatched
    return counts


NATURAL_KEYS = {
    "check_ins": ("entry_id",),
    "entry_inputs": ("entry_id", "kind", "recorded_at"),
    "event_transitions": ("at", "to_state"),
    "unsealings": ("layer",),
}


def _add_missing(table: Table, rows: list[dict[str, Any]], event_id: int) -> int:
    """Insert the venue's rows this server does not have yet (matched by natural key)."""
    added = 0
    for raw in rows:
        values = {c.name: _decode(c, raw.get(c.name)) for c in table.columns if c.name in raw}
        values.pop("id", None)
        keys = NATURAL_KEYS[table.name]
        condition = [table.c.event_id == event_id] + [table.c[k] == values[k] for k in keys]
        if db.session.scalar(select(table.c.id).where(*condition)) is not None:
            continue
        db.session.execute(table.insert().values(**values))
        added += 1
    return added


def _results_differ(rows, venue_rows: list[dict[str, Any]]) -> int:
    """How many entries' finals or ranks differ between this server's recomputation and the
    venue's stored results (0 when they agree)."""
    venue = {r["entry_id"]: (r["final"], r["rank"]) for r in venue_rows}
    here = {r.entry_id: (f"{r.final:.2f}", r.rank) for r in rows}
    keys = set(venue) | set(here)
    return sum(
        1
        for k in keys
        if (None if k not in venue else (f"{Decimal(venue[k][0]):.2f}", venue[k][1])) != here.get(k)
    )
