"""Benchmark: import 5,000 registration rows from an .xlsx file, all or nothing.

Measures, in one run on this machine:
- the baseline: openpyxl alone reading the same file (what any import must pay);
- the whole import through the service: read, check every row, store people and entries.
Prints name=value lines, the headline figure (import_5000_s) last. Target: under 10 s.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path

from openpyxl import Workbook, load_workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("COMPETE_SECRET_KEY", "bench-only")

from compete import create_app  # noqa: E402
from compete.domain.idnumber import with_check_digit  # noqa: E402
from compete.extensions import db  # noqa: E402

ROWS = 5000
UNITS = 50


def build_file() -> bytes:
    rng = random.Random(7)
    wb = Workbook()
    ws = wb.active
    ws.title = "报名表"
    ws.append(["姓名", "证件号码", "手机号码", "参赛单位", "现职业技能等级", "指导教师"])
    seen = set()
    while len(seen) < ROWS:
        born = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 365 * 28))
        number = with_check_digit(f"440106{born:%Y%m%d}{rng.randrange(0, 1000):03d}")
        if number in seen:
            continue
        seen.add(number)
        ws.append(
            [
                "测试"
                + "甲乙丙丁戊己庚辛壬癸"[len(seen) % 10]
                + "一二三四五六七八九十"[len(seen) % 7],
                number,
                f"138{rng.randrange(0, 10**8):08d}",
                f"单位{len(seen) % UNITS:02d}",
                "高级工",
                "王老师",
            ]
        )
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def main() -> None:
    data = build_file()
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
            db.create_all()
            from compete.blueprints.competitions.presets import default_preset
            from compete.blueprints.competitions.services import (
                create_competition,
                create_event,
            )
            from compete.blueprints.registration import services
            from compete.domain.lifecycle import EventState
            from compete.models import Unit

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
                start_at=datetime(2026, 12, 1, tzinfo=UTC),
            )
            event.state = EventState.REGISTRATION_OPEN
            for n in range(UNITS):
                unit = Unit(name=f"单位{n:02d}")
                db.session.add(unit)
                db.session.flush()
                services.set_quota(None, event, unit, quota=ROWS // UNITS * 2)
            db.session.commit()

            start = time.perf_counter()
            wb = load_workbook(BytesIO(data), read_only=True)
            rows = sum(1 for _ in wb.active.iter_rows(values_only=True))
            baseline = time.perf_counter() - start

            start = time.perf_counter()
            outcome = services.import_entries(
                None, event, unit=None, data=data, filename="bench.xlsx", today=date(2026, 11, 23)
            )
            db.session.commit()
            elapsed = time.perf_counter() - start
            assert outcome.entries == ROWS, outcome
            db.session.remove()
            db.engine.dispose()
    print(f"rows={rows - 1}")
    print(f"openpyxl_read_s={baseline:.2f}")
    print(f"import_vs_read={elapsed / baseline:.1f}")
    print(f"import_5000_s={elapsed:.2f}")


if __name__ == "__main__":
    main()
