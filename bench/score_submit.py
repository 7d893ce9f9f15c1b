"""Benchmark: 100 judges submitting marks to gunicorn, on SQLite and on PostgreSQL.

For each database: migrate, load the demo, put 100 judge accounts on the 电工 panel (and add
marking codes so every judge has thousands of cells to mark), start gunicorn (sync workers),
sign every judge in through the login form, then with wrk (100 connections, the load generator
in C so it does not starve the server) measure in the same run against the same server:
- the hello-world route (/healthz) as fast as the server answers (``hello_rps``);
- mark submissions as fast as the server answers (``submit_rps``, ``submit_vs_hello``,
  ``saturated_submit_p95_ms``): batches of marks with client ids unique to the run, every
  10th request sent twice (bench/score_submit.lua);
- the same 100 judges at a pace, each sending a batch about every ``--pace-ms`` (1 s: a mark
  entered every 200 ms by every judge at once), a new connection per batch as a browser
  opens one to a server that closes each (an asyncio client in this script):
  ``submit_p50_ms`` and ``submit_p95_ms``, the time a judge waits for an answer;
each after an unrecorded warm-up. With 100 connections kept busy, a request waits behind the
others (latency = connections / throughput): that is why the saturated p95 of even the hello
route sits near 40 ms, and why the judges' wait is measured at a pace. PostgreSQL's planner
statistics are refreshed after the setup, as autovacuum keeps them in service. The SQLite run
is the embedded default (results recomputed in a thread of the web process); the PostgreSQL
run is the production setup when Redis answers at 127.0.0.1:6379 (recomputes queued in Redis
for a ``flask compete worker`` process). Afterwards it
counts in the database what the server acknowledged but did not store (lost) and what it
stored twice (duplicated), and checks the hash chain with ``flask compete verify-scores``.
Prints name=value lines, ``submit_p95_ms`` last. Targets: p95 <= 50 ms, >= 30% of hello
throughput, 0 lost, 0 duplicated.

    python bench/score_submit.py [--workers 2] [--batch 5] [--seconds 10] [--pace-ms 1000]
                                 [--sqlite-only | --postgres-only] [--without-recompute]

``--without-recompute`` runs the app with ``schedule_recompute`` switched off
(bench/wsgi_without_recompute.py), to show what the results recomputation costs.
"""

from __future__ import annotations

import argparse
import asyncio
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
REDIS = "redis://127.0.0.1:6379/13"  # a database of its own, emptied before and after
WARM_UP_SECONDS = 3
SETTLE_SECONDS = 3

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

ANALYZE = """
from compete import create_app
from compete.extensions import db
from sqlalchemy import text
app = create_app()
with app.app_context():
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
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


async def _paced(port: int, judges_file: Path, options, *, start: int, out: Path) -> dict:
    """Each judge sends a batch, waits about ``pace_ms`` (half to one and a half times), sends
    the next: a new connection per request, as a browser talks to a server that closes each
    one. Latency runs from opening the connection to the last byte of the answer."""
    rng = random.Random(7)
    deadline = time.monotonic() + options.seconds
    latencies: list[float] = []
    acked: list[str] = []
    counts = {"non_200": 0, "refused": 0, "conflicts": 0}

    async def judge(no: int, line: str) -> None:
        path, cookie, token, cells = line.rstrip("\n").split("\t")
        cells = cells.split(",")[start:]
        sent = 0
        await asyncio.sleep(rng.uniform(0, options.pace_ms / 1000))
        while time.monotonic() < deadline and (sent + 1) * options.batch <= len(cells):
            chunk = cells[sent * options.batch : (sent + 1) * options.batch]
            sent += 1
            marks = []
            for k, cell in enumerate(chunk):
                code, criterion = cell.split(":")
                client_id = f"p-{no}-{sent}-{k}"
                marks.append(
                    {
                        "client_id": client_id,
                        "code": code,
                        "criterion_id": int(criterion),
                        "value": "1",
                        "base": None,
                    }
                )
            body = json.dumps({"marks": marks}).encode()
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                f"X-CSRFToken: {token}\r\nContent-Type: application/json\r\n"
                f"Accept: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            began = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head + body)
            answer = await reader.read()  # the server closes the connection after answering
            latencies.append((time.perf_counter() - began) * 1000)
            writer.close()
            status = int(answer.split(b" ", 2)[1])
            if status != 200:
                counts["non_200"] += 1
            else:
                for item in json.loads(answer.split(b"\r\n\r\n", 1)[1])["results"]:
                    if item["status"] in ("stored", "duplicate"):
                        acked.append(item["client_id"])
                    elif item["status"] == "conflict":
                        counts["conflicts"] += 1
                    else:
                        counts["refused"] += 1
            await asyncio.sleep(rng.uniform(0.5, 1.5) * options.pace_ms / 1000)

    lines = judges_file.read_text().splitlines()
    began = time.monotonic()
    await asyncio.gather(*(judge(no, line) for no, line in enumerate(lines)))
    out.write_text("\n".join(acked))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))]

    return {
        "rps": len(latencies) / (time.monotonic() - began),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        **counts,
    }


def _wrk(url: str, seconds: int, script: Path, *args: str) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{JUDGES}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    command += [url]
    if args:
        command += ["--", *args]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, v in re.findall(r"^(\w+)=([-\d.]+)$", out, re.MULTILINE)}


def run(label: str, database_url: str, options, redis_url: str | None = None) -> dict[str, float]:
    """One database. With ``redis_url`` the production setup: jobs (the results recomputes) go
    to the RQ queue and a ``flask compete worker`` process runs them; without, the embedded
    default: they run in a thread of the web process."""
    env = {
        **os.environ,
        "COMPETE_SECRET_KEY": "bench-only",
        "DATABASE_URL": database_url,
        "COMPETE_DEMO_PASSWORD": PASSWORD,
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    for args in (("db", "upgrade"), ("compete", "seed-demo")):
        done = _flask(env, *args)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
    info = json.loads(
        _python(env, SETUP.format(judges=JUDGES, extra=EXTRA_CODES, password=PASSWORD))
    )
    if database_url.startswith("postgresql"):
        # Planner statistics for the tables just filled, as autovacuum keeps them in service.
        _python(env, ANALYZE)
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
    worker = (
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "compete", "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if redis_url
        else None
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
            # The same 100 judges at a pace, from the middle of their cells (which neither run
            # above reaches), once the server has answered what wrk left in flight.
            time.sleep(SETTLE_SECONDS)
            paced_run = asyncio.run(
                _paced(port, judges_file, options, start=len(cells) // 2, out=tmp / "acked-p")
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
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
            f"{label}_saturated_submit_p50_ms": submit_run["p50_ms"],
            f"{label}_saturated_submit_p95_ms": submit_run["p95_ms"],
            f"{label}_paced_submit_rps": paced_run["rps"],
            f"{label}_submit_p50_ms": paced_run["p50_ms"],
            f"{label}_submit_p99_ms": paced_run["p99_ms"],
            f"{label}_submit_vs_hello": submit_run["rps"] / hello_run["rps"],
            f"{label}_non_200": submit_run["non_200"] + hello_run["non_200"] + paced_run["non_200"],
            f"{label}_refused": sum(
                run.get("refused", 0) + run.get("conflicts", 0) for run in (submit_run, paced_run)
            ),
            f"{label}_exhausted": submit_run.get("exhausted", 0),
            f"{label}_acknowledged": len(acked),
            f"{label}_stored": len(stored),
            f"{label}_lost": len(acked - set(stored)),
            f"{label}_duplicated": sum(n - 1 for n in stored.values()) + counted["cells_twice"],
            f"{label}_chain_ok": int(verify.returncode == 0),
            f"{label}_submit_p95_ms": paced_run["p95_ms"],
        }
    )
    return results


def _redis() -> str | None:
    """The bench's own Redis database, emptied, when Redis answers; else None."""
    from redis.exceptions import RedisError

    try:
        _flush(REDIS)
    except (OSError, RedisError):  # no Redis: the PostgreSQL run keeps its jobs in threads
        return None
    return REDIS


def _flush(url: str) -> None:
    from redis import Redis

    Redis.from_url(url, socket_timeout=2).flushdb()


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
    parser.add_argument(
        "--pace-ms", type=int, default=1000, help="a paced judge's mean wait between batches"
    )
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
        redis_url = _redis()
        try:
            url = f"{PG}?options=-csearch_path%3D{schema}"
            results.update(run("postgres", url, options, redis_url))
        finally:
            if redis_url:
                _flush(redis_url)
            if not os.environ.get("BENCH_KEEP_SCHEMA"):
                _psql(f"DROP SCHEMA {schema} CASCADE")
    labels = [k.removesuffix("_hello_rps") for k in results if k.endswith("_hello_rps")]
    headline = [f"{label}_submit_p95_ms" for label in labels]
    print(f"workers={options.workers}")
    print(f"batch={options.batch}")
    print(f"recompute={int(not options.without_recompute)}")
    print(f"pace_ms={options.pace_ms}")
    for key, value in results.items():
        if key not in headline:
            print(f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}")

    def worst(name, pick=max):
        return pick(results[f"{label}_{name}"] for label in labels)

    print(f"submit_rps={worst('submit_rps', min):.2f}")
    print(f"hello_rps={worst('hello_rps', min):.2f}")
    print(f"submit_vs_hello={worst('submit_vs_hello', min):.2f}")
    print(f"saturated_submit_p95_ms={worst('saturated_submit_p95_ms'):.2f}")
    print(f"submit_p50_ms={worst('submit_p50_ms'):.2f}")
    print(f"lost={sum(results[f'{label}_lost'] for label in labels)}")
    print(f"duplicated={sum(results[f'{label}_duplicated'] for label in labels)}")
    for key in headline:
        print(f"{key}={results[key]:.2f}")
    print(f"submit_p95_ms={worst('submit_p95_ms'):.2f}")


if __name__ == "__main__":
    main()
