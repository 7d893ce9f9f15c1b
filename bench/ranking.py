"""Benchmark: results of an event of 500 contestants × 5 judges × 50 criteria.

Builds the event in a temporary SQLite database through the app's models (scheme of 5 modules ×
10 criteria, 500 approved entries with marking codes, theory scores and times, 125,000 marks
inserted in bulk), then measures in one run on this machine:
- the baseline: the pure engine alone (``score_entry`` for every entry, then
  ``rank_entries``) on the same marks already in memory (``engine_full_ms``);
- the first computation through the service, writing all 500 rows (``first_compute_ms``);
- one changed mark (a correction appended to the chain) followed by the incremental
  recompute the job runs, committed (``one_change_ms``, median of several changes);
- a full recompute through the service, committed: every mark read, every entry scored and
  ranked, compared with the stored rows (``recompute_ms``, median of several runs).
Prints name=value lines, ``one_change_ms`` and then ``recompute_ms`` last.
Targets: recompute <= 300 ms, one change <= 50 ms.

    python bench/ranking.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COMPETE_SECRET_KEY", "bench-only")

from sqlalchemy import insert, select  # noqa: E402

from compete import create_app  # noqa: E402
from compete.extensions import db  # noqa: E402

CONTESTANTS = 500
JUDGES = 5
MODULES = 5
CRITERIA_PER_MODULE = 10  # 50 criteria of 2 marks each: a scheme of 100
NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)


def build(rng: random.Random):
    """The event, its 50 criteria and 500 entries, and 125,000 marks (one per cell)."""
    from compete.blueprints.competitions.presets import default_preset
    from compete.blueprints.competitions.schemes import add_criterion, add_module
    from compete.blueprints.competitions.services import create_competition, create_event
    from compete.domain.lifecycle import EventState
    from compete.models import (
        Entry,
        EntryInput,
        EntryStatus,
        InputKind,
        MarkEvent,
        MarkKind,
        ReviewCode,
        Unit,
        User,
    )

    competition = create_competition(None, name="基准测试", tier="provincial_2", year=2026)
    event = create_event(
        None,
        competition,
        code="B1",
        name="基准",
        occupation="电工",
        standard_grade=3,
        group="employee",
        preset_version=default_preset().latest,
    )
    for m in range(MODULES):
        module = add_module(None, event, code=f"M{m + 1}", name=f"模块{m + 1}")
        for c in range(CRITERIA_PER_MODULE):
            add_criterion(
                None,
                event,
                module,
                code=f"M{m + 1}C{c + 1:02d}",
                description="",
                kind="judgement",
                max_mark=Decimal(2),
                step=Decimal("0.5"),
                judges=JUDGES,
                aggregation=None,
                tolerance=None,
            )
    event.state = EventState.IN_PROGRESS
    judges = []
    for j in range(JUDGES):
        user = User(username=f"bench-judge-{j + 1}", display_name=f"裁判{j + 1}")
        user.set_password(uuid.uuid4().hex)
        db.session.add(user)
        judges.append(user)
    units = [Unit(name=f"单位{n:03d}", region="广州市") for n in range(CONTESTANTS)]
    db.session.add_all(units)
    db.session.flush()
    entries = []
    for n, unit in enumerate(units):
        entry = Entry(
            event_id=event.id,
            unit_id=unit.id,
            status=EntryStatus.APPROVED,
            entry_number=f"{n + 1:03d}",
            admission_no=f"B{n + 1:05d}",
        )
        entries.append(entry)
    db.session.add_all(entries)
    db.session.flush()
    db.session.add_all(
        ReviewCode(event_id=event.id, entry_id=entry.id, code=f"R{n + 1:03d}")
        for n, entry in enumerate(entries)
    )
    db.session.execute(
        insert(EntryInput),
        [
            {
                "event_id": event.id,
                "entry_id": entry.id,
                "kind": kind,
                "value": value,
                "recorded_at": NOW,
            }
            for entry in entries
            for kind, value in (
                (InputKind.THEORY, Decimal(rng.randrange(120, 200)) / 2),
                (InputKind.TIME, Decimal(rng.randrange(80, 120))),
            )
        ],
    )
    criteria = [c for m in event.scheme.modules for c in m.criteria]
    rows, marks, seq = [], {}, 0
    for entry in entries:
        for criterion in criteria:
            for judge in judges:
                seq += 1
                value = Decimal(rng.randrange(0, 5)) / 2
                marks.setdefault(entry.id, {}).setdefault(criterion.code, {})[judge.id] = value
                rows.append(
                    {
                        "event_id": event.id,
                        "seq": seq,
                        "judge_user_id": judge.id,
                        "entry_id": entry.id,
                        "criterion_id": criterion.id,
                        "kind": MarkKind.MARK,
                        "value": value,
                        "client_id": f"b{seq}",
                        "device": "bench",
                        "recorded_at": NOW,
                        "prev_hash": "0" * 64,  # the benchmark does not verify the chain
                        "hash": "0" * 64,
                    }
                )
    db.session.execute(insert(MarkEvent), rows)
    event.mark_seq = seq
    db.session.commit()
    theory = {
        row.entry_id: row.value
        for row in db.session.scalars(select(EntryInput).where(EntryInput.kind == InputKind.THEORY))
    }
    return event, entries, judges, criteria, marks, theory


def engine_alone(event, marks, theory, runs: int) -> float:
    """The pure engine on marks already in memory: score every entry, rank them."""
    from compete.blueprints.results.services import scoring_rules, tie_settings
    from compete.domain.ranking import rank_entries
    from compete.domain.scoring import score_entry

    spec = event.scheme.spec()
    rules = scoring_rules(event.rules)
    chain, strict = tie_settings(event.rules)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        results = [
            score_entry(spec, by_criterion, entry_id=str(e), theory=theory[e], rules=rules)
            for e, by_criterion in marks.items()
        ]
        rank_entries(results, module_order=spec.module_weights(), tie_chain=chain, strict=strict)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def change_one_mark(event, entry, judge, criterion, rng: random.Random) -> None:
    """A judge's correction: the next link of the chain with another value and a reason."""
    from compete.models import MarkEvent, MarkKind

    current = db.session.scalar(
        select(MarkEvent.value)
        .where(
            MarkEvent.event_id == event.id,
            MarkEvent.entry_id == entry.id,
            MarkEvent.criterion_id == criterion.id,
            MarkEvent.judge_user_id == judge.id,
        )
        .order_by(MarkEvent.seq.desc())
        .limit(1)
    )
    value = Decimal(rng.choice([v for v in range(5) if Decimal(v) / 2 != current])) / 2
    event.mark_seq += 1
    db.session.add(
        MarkEvent(
            event_id=event.id,
            seq=event.mark_seq,
            judge_user_id=judge.id,
            entry_id=entry.id,
            criterion_id=criterion.id,
            kind=MarkKind.CORRECTION,
            value=value,
            client_id=uuid.uuid4().hex,
            device="bench",
            recorded_at=NOW,
            reason="录入错误",
            prev_hash="0" * 64,
            hash="0" * 64,
        )
    )
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": os.environ.get(
                    "BENCH_DATABASE_URL", f"sqlite:///{tmp}/bench.db"
                ),
            }
        )
        with app.app_context():
            from compete.blueprints.results.services import recompute_results
            from compete.models import EntryScore

            db.create_all()
            start = time.perf_counter()
            event, entries, judges, criteria, marks, theory = build(rng)
            build_s = time.perf_counter() - start
            engine_ms = engine_alone(event, marks, theory, args.runs)

            start = time.perf_counter()
            first = recompute_results(event, now=NOW, full=True)
            db.session.commit()
            first_ms = (time.perf_counter() - start) * 1000
            assert first.rows == CONTESTANTS, first

            full_times, full_cpu = [], []
            for _ in range(args.runs):
                start, cpu = time.perf_counter(), time.process_time()
                outcome = recompute_results(event, now=NOW, full=True)
                db.session.commit()
                full_times.append(time.perf_counter() - start)
                full_cpu.append(time.process_time() - cpu)
                assert (outcome.rescored, outcome.changed) == (CONTESTANTS, 0), outcome

            change_times, rows_written = [], []
            for _ in range(args.runs):
                entry = rng.choice(entries)
                change_one_mark(event, entry, rng.choice(judges), rng.choice(criteria), rng)
                start = time.perf_counter()
                outcome = recompute_results(event, now=NOW)
                db.session.commit()
                change_times.append(time.perf_counter() - start)
                assert outcome.rescored == 1, outcome
                rows_written.append(outcome.changed)
            stored = db.session.scalar(
                select(db.func.count(EntryScore.id)).where(EntryScore.event_id == event.id)
            )
            db.session.remove()
            db.engine.dispose()
    print(f"contestants={CONTESTANTS}")
    print(f"judges={JUDGES}")
    print(f"criteria={MODULES * CRITERIA_PER_MODULE}")
    print(f"marks={CONTESTANTS * JUDGES * MODULES * CRITERIA_PER_MODULE}")
    print(f"stored_rows={stored}")
    print(f"build_s={build_s:.1f}")
    print(f"engine_full_ms={engine_ms:.0f}")
    print(f"first_compute_ms={first_ms:.0f}")
    # CPU time of this process: less disturbed by other work on a shared machine.
    print(f"recompute_cpu_ms={statistics.median(full_cpu) * 1000:.0f}")
    print(f"one_change_rows_written_median={statistics.median(rows_written):.0f}")
    print(f"one_change_ms={statistics.median(change_times) * 1000:.0f}")
    print(f"recompute_ms={statistics.median(full_times) * 1000:.0f}")


if __name__ == "__main__":
    main()
