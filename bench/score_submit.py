"""Benchmark: 100 judges submitting marks at once to gunicorn, on SQLite and on PostgreSQL.

For each database: migrate, load the demo, put 100 judge accounts on the 电工 panel (and add
marking codes so every judge has thousands of cells to mark), start gunicorn (sync workers),
sign every judge in through the login form, then with wrk (100 connections, the load generator
in C so it does not starve the server) measure in the same run against the same server:
- the hello-world route (/healthz), and
- mark submissions: batches of marks with client ids unique to the run, every 10th request
  sent twice (bench/score_submit.lua);
each after an unrecorded warm-up. Afterwards it counts in the database what the server
acknowledged but did not store (lost) and what it stored twice (duplicated), and checks the
hash chain with ``flask compete verify-scores``. Prints name=value lines, ``submit_p95_ms``
last. Targets: p95 <= 50 ms, >= 30% of hello throughput, 0 lost, 0 duplicated.

    python bench/score_submit.py [--workers 2] [--batch 5] [--seconds 10] [--sqlite-only]
                                 [--without-recompute]

``--without-recompute`` runs the app with ``schedule_recompute`` switched off
(bench/wsgi_without_recompute.py), to show what the results recomputation costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
JUDGES = 100
EXTRA_CODES = 300  # marking codes added to the demo's, so judges never run out of cells
PASSWORD = "Bench-pass-2026"  # noqa: S105 (a throwaway benchmark database)
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WARM_UP_SECONDS = 3

SETUP = """
import json
from compete import create_app
from compete.blueprints.judging import services
from compete.extensions import db
from compete.models import (Entry, EntryStatus, Event, Judge, PanelMember, PanelRole,
                            ReviewCode, Role, RoleAssignment, Unit, User)
from sqlalchemy import select
app = create_app()
with app.app_context():
    event = db.session.scalar(select(Event).where(Event.code == "E01"))
    unit = db.session.scalar(select(Unit).order_by(Unit.id))
    for n in range({extra}):
        entry = Entry(event_id=event.id, unit_id=unit.id, status=EntryStatus.APPROVED)
        db.session.add(entry)
        db.session.flush()
        db.session.add(ReviewCode(event_id=event.id, entry_id=entry.id, code=f"B{{n:04d}}"))
    users = []
    for n in range({judges}):
        user = User(username=f"bench{{n}}", display_name=f"bench{{n}}")
        user.set_password("{password}")
        db.session.add(user)
        db.session.flush()
        db.session.add(RoleAssignment(user_id=user.id, role=Role.JUDGE, event_id=event.id))
        judge = Judge(name=f"评分裁判{{n}}", user_id=user.id)
        db.session.add(judge)
        db.session.flush()
        db.session.add(PanelMember(event_id=event.id, judge_id=judge.id, role=PanelRole.MARKING,
                                   is_manual=True, reason="benchmark"))
        users.append(user)
    db.session.commit()
    assignment = services.assignment_for(users[0], event)
    print(json.dumps({{"event": event.id, "codes": sorted(assignment.codes),
                      "criteria": [c.id for c in assignment.criteria]}}))
"""

COUNT = """
import json
from compete import create_app
from compete.extensions import db
from sqlalchemy import text
app = create_app()
with app.app_context():
    rows = db.session.execute(text(
        "SELECT m.client_id, count(*) FROM mark_events m JOIN users u ON u.id = m.judge_user_id"
        " WHERE u.username LIKE 'bench%' GROUP BY m.client_id")).all()
    twice = db.session.execute(text(
        "SELECT count(*) FROM (SELECT judge_user_id, entry_id, criterion_id FROM mark_events"
        " WHERE kind = 'mark' GROUP BY judge_user_id, entry_id, criterion_id"
        " HAVING count(*) > 1) AS cells")).scalar()
    print(json.dumps({"ids": {r[0]: r[1] for r in rows}, "cells_twice": twice}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _python(env, code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _flask(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


class Client:
    """One browser: a keep-alive connection and its cookies."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def _csrf(html: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        rb'name="csrf-token" content="([^"]+)"', html
    )
    return match.group(1).decode()


def _sign_in(port: int, username: str, event_id: int) -> tuple[str, str]:
    """Sign a judge in through the login form; the cookie and the tablet page's CSRF token."""
    client = Client(port)
    _, page = client.request("GET", "/login")
    status, _ = client.request(
        "POST",
        "/login",
        urlencode({"username": username, "password": PASSWORD, "csrf_token": _csrf(page)}),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 302, (username, status)
    status, page = client.request("GET", f"/tablet/events/{event_id}")
    assert status == 200, (username, status)
    return client.cookie_header(), _csrf(page)


def _wait_for(port: int) -> None:
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def _wrk(url: str, seconds: int, script: Path, *args: str) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{JUDGES}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    command += [url]
    if args:
        command += ["--", *args]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, v in re.findall(r"^(\w+)=([-\d.]+)$", out, re.MULTILINE)}


def run(label: str, database_url: str, options) -> dict[str, float]:
    env = {
        **os.environ,
        "COMPETE_SECRET_KEY": "bench-only",
        "DATABASE_URL": database_url,
        "COMPETE_DEMO_PASSWORD": PASSWORD,
    }
    env.pop("REDIS_URL", None)
    for args in (("db", "upgrade"), ("compete", "seed-demo")):
        done = _flask(env, *args)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
    info = json.loads(
        _python(env, SETUP.format(judges=JUDGES, extra=EXTRA_CODES, password=PASSWORD))
    )
    event_id = info["event"]
    cells = [f"{code}:{criterion}" for code in info["codes"] for criterion in info["criteria"]]
    port = _free_port()
    app = "wsgi_without_recompute:app" if options.without_recompute else "wsgi:app"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "sync",
            "-w",
            str(options.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--pythonpath",
            f"{ROOT},{BENCH}",
            "--log-level",
            "warning",
            app,
        ],
        env=env,
        cwd=ROOT,
    )
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            _wait_for(port)
            with ThreadPoolExecutor(8) as pool:
                signed_in = list(
                    pool.map(lambda n: _sign_in(port, f"bench{n}", event_id), range(JUDGES))
                )
            rng = random.Random(2026)
            judges_file = tmp / "judges.tsv"
            with judges_file.open("w") as f:
                for cookie, token in signed_in:
                    mine = cells[:]
                    rng.shuffle(mine)  # judges spread over the entries, as on a marking day
                    path = f"/tablet/events/{event_id}/marks"
                    f.write(f"{path}\t{cookie}\t{token}\t{','.join(mine)}\n")
            base = f"http://127.0.0.1:{port}"
            lua = BENCH / "score_submit.lua"
            hello = BENCH / "hello.lua"

            def submit(seconds, order, tag):
                return _wrk(
                    base,
                    seconds,
                    lua,
                    str(judges_file),
                    str(options.batch),
                    order,
                    str(tmp / f"acked-{tag}"),
                    "2",
                    tag,
                )

            _wrk(f"{base}/healthz", WARM_UP_SECONDS, hello)
            submit(WARM_UP_SECONDS, "backward", "w")
            hello_run = _wrk(f"{base}/healthz", options.seconds, hello)
            submit_run = submit(options.seconds, "forward", "m")
        finally:
            server.terminate()
            server.wait(timeout=30)
        acked = set()
        for path in tmp.glob("acked-*"):
            acked.update(path.read_text().split())
    counted = json.loads(_python(env, COUNT))
    stored = counted["ids"]
    verify = _flask(env, "compete", "verify-scores", str(event_id))
    if verify.returncode:
        print(
            f"{label}: verify-scores: {verify.stdout[-500:]}{verify.stderr[-1500:]}",
            file=sys.stderr,
        )
    results.update(
        {
            f"{label}_hello_rps": hello_run["rps"],
            f"{label}_hello_p95_ms": hello_run["p95_ms"],
            f"{label}_submit_rps": submit_run["rps"],
            f"{label}_answered_marks_per_s": submit_run["rps"] * options.batch,
            f"{label}_submit_p50_ms": submit_run["p50_ms"],
            f"{label}_submit_p99_ms": submit_run["p99_ms"],
            f"{label}_submit_vs_hello": submit_run["rps"] / hello_run["rps"],
            f"{label}_non_200": submit_run["non_200"] + hello_run["non_200"],
            f"{label}_refused": submit_run.get("refused", 0) + submit_run.get("conflicts", 0),
            f"{label}_exhausted": submit_run.get("exhausted", 0),
            f"{label}_acknowledged": len(acked),
            f"{label}_stored": len(stored),
            f"{label}_lost": len(acked - set(stored)),
            f"{label}_duplicated": sum(n - 1 for n in stored.values()) + counted["cells_twice"],
            f"{label}_chain_ok": int(verify.returncode == 0),
            f"{label}_submit_p95_ms": submit_run["p95_ms"],
        }
    )
    return results


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc", sql],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--batch", type=int, default=5, help="marks per request")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--without-recompute", action="store_true")
    options = parser.parse_args()
    results: dict[str, float] = {}
    if not options.postgres_only:
        with tempfile.TemporaryDirectory() as tmp:
            results.update(run("sqlite", f"sqlite:///{tmp}/bench.db", options))
    ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0
    if ready and not options.sqlite_only:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        _psql(f"CREATE SCHEMA {schema}")
        try:
            results.update(run("postgres", f"{PG}?options=-csearch_path%3D{schema}", options))
        finally:
            if not os.environ.get("BENCH_KEEP_SCHEMA"):
                _psql(f"DROP SCHEMA {schema} CASCADE")
    headline = [k for k in results if k.endswith("submit_p95_ms")]
    print(f"workers={options.workers}")
    print(f"batch={options.batch}")
    print(f"recompute={int(not options.without_recompute)}")
    for key, value in results.items():
        if key not in headline:
            print(f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}")

    def worst(suffix, pick=max):
        return pick(v for k, v in results.items() if k.endswith(suffix))

    print(f"submit_rps={worst('_submit_rps', min):.2f}")
    print(f"hello_rps={worst('_hello_rps', min):.2f}")
    print(f"submit_p50_ms={worst('_submit_p50_ms'):.2f}")
    print(f"lost={sum(v for k, v in results.items() if k.endswith('_lost'))}")
    print(f"duplicated={sum(v for k, v in results.items() if k.endswith('_duplicated'))}")
    for key in headline:
        print(f"{key}={results[key]:.2f}")
    print(f"submit_p95_ms={max(results[k] for k in headline):.2f}")


if __name__ == "__main__":
    main()
