"""Benchmark: 100 judges submitting marks at once to gunicorn, on SQLite and on PostgreSQL.

For each database: migrate, load the demo, put 100 judge accounts on the 电工 panel, start
gunicorn (sync workers), sign every judge in, then measure in the same run
- the server's hello-world route (/healthz) under 100 concurrent clients, and
- mark submissions: each judge posts its marks one per request, 10% of them sent twice;
then count in the database what was lost or stored twice. Prints name=value lines,
``submit_p95_ms`` last. Targets: p95 <= 50 ms, >= 30% of hello throughput, 0 lost, 0 duplicated.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
JUDGES = 100
MARKS_PER_JUDGE = 20
RESEND_EVERY = 10
PASSWORD = "Bench-pass-2026"  # noqa: S105 (a throwaway benchmark database)
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(env, *args):
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


SETUP = """
from compete import create_app
from compete.extensions import db
from compete.models import Event, Judge, PanelMember, PanelRole, Role, RoleAssignment, User
from sqlalchemy import select
app = create_app()
with app.app_context():
    event = db.session.scalar(select(Event).where(Event.code == "E01"))
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
    db.session.commit()
    print(event.id)
"""

COUNT = """
from compete import create_app
from compete.extensions import db
from sqlalchemy import text
app = create_app()
with app.app_context():
    rows = db.session.execute(text(
        "SELECT count(*), count(DISTINCT client_id) FROM mark_events")).one()
    print(rows[0], rows[1])
"""


class Session:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data


def _csrf(html: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        rb'name="csrf-token" content="([^"]+)"', html
    )
    return match.group(1).decode()


def _login(port, username, event_id):
    s = Session(port)
    _, page = s.request("GET", "/login")
    token = _csrf(page)
    status, _ = s.request(
        "POST",
        "/login",
        urlencode({"username": username, "password": PASSWORD, "csrf_token": token}),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 302, status
    status, page = s.request("GET", f"/tablet/events/{event_id}")
    assert status == 200, status
    codes = sorted(set(re.findall(rb"/sheet/([A-Z0-9]+)", page)))
    status, sheet = s.request("GET", f"/tablet/events/{event_id}/sheet/{codes[0].decode()}")
    criteria = [int(c) for c in re.findall(rb'data-criterion-id="(\d+)"', sheet)]
    return s, _csrf(page), [c.decode() for c in codes], criteria


def _load(concurrency: int, work) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i, latencies, lock)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start


def _pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def run(label: str, database_url: str) -> dict[str, float]:
    env = {
        **os.environ,
        "COMPETE_SECRET_KEY": "bench-only",
        "DATABASE_URL": database_url,
        "COMPETE_DEMO_PASSWORD": PASSWORD,
    }
    env.pop("REDIS_URL", None)
    _flask(env, "db", "upgrade")
    _flask(env, "compete", "seed-demo")
    setup = SETUP.format(judges=JUDGES, password=PASSWORD)
    event_id = int(
        subprocess.run(
            [sys.executable, "-c", setup],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "sync",
            "-w",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        sessions = [_login(port, f"bench{n}", event_id) for n in range(JUDGES)]

        def hello(i, latencies, lock):
            s = Session(port)
            for _ in range(MARKS_PER_JUDGE):
                t = time.perf_counter()
                status, _ = s.request("GET", "/healthz")
                assert status == 200
                with lock:
                    latencies.append(time.perf_counter() - t)

        sent: list[str] = []

        def submit(i, latencies, lock):
            s, token, codes, criteria = sessions[i]
            for n in range(MARKS_PER_JUDGE):
                # A new cell each time: marking code n, criterion n // codes.
                mark = {
                    "client_id": str(uuid.uuid4()),
                    "code": codes[n % len(codes)],
                    "criterion_id": criteria[(n // len(codes)) % len(criteria)],
                    "value": "5",
                    "base": None,
                }
                times = 2 if n % RESEND_EVERY == 0 else 1
                for _ in range(times):
                    t = time.perf_counter()
                    status, body = s.request(
                        "POST",
                        f"/tablet/events/{event_id}/marks",
                        json.dumps({"marks": [mark]}),
                        {"Content-Type": "application/json", "X-CSRFToken": token},
                    )
                    assert status == 200, (status, body[:200])
                    result = json.loads(body)["results"][0]
                    assert result["status"] in ("stored", "duplicate"), result
                    with lock:
                        latencies.append(time.perf_counter() - t)
                with lock:
                    sent.append(mark["client_id"])

        hello_lat, hello_s = _load(JUDGES, hello)
        submit_lat, submit_s = _load(JUDGES, submit)
    finally:
        server.terminate()
        server.wait(timeout=10)
    stored, distinct = map(
        int,
        subprocess.run(
            [sys.executable, "-c", COUNT],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split(),
    )
    return {
        f"{label}_hello_rps": len(hello_lat) / hello_s,
        f"{label}_submit_rps": len(submit_lat) / submit_s,
        f"{label}_submit_p50_ms": statistics.median(submit_lat) * 1000,
        f"{label}_lost": len(set(sent)) - distinct,
        f"{label}_duplicated": stored - distinct,
        f"{label}_submit_vs_hello": (len(submit_lat) / submit_s) / (len(hello_lat) / hello_s),
        f"{label}_submit_p95_ms": _pct(submit_lat, 95),
    }


def main() -> None:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results.update(run("sqlite", f"sqlite:///{tmp}/bench.db"))
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-qc",
                f"CREATE SCHEMA {schema}",
            ],
            check=True,
        )
        try:
            results.update(run("postgres", f"{PG}?options=-csearch_path%3D{schema}"))
        finally:
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "test",
                    "-qc",
                    f"DROP SCHEMA {schema} CASCADE",
                ],
                check=True,
            )
    headline = [k for k in results if k.endswith("submit_p95_ms")]
    for key, value in results.items():
        if key not in headline:
            print(f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}")
    lost = sum(v for k, v in results.items() if k.endswith("_lost"))
    duplicated = sum(v for k, v in results.items() if k.endswith("_duplicated"))
    print(f"submit_rps={min(v for k, v in results.items() if k.endswith('submit_rps')):.2f}")
    print(f"hello_rps={min(v for k, v in results.items() if k.endswith('hello_rps')):.2f}")
    print(f"submit_p50_ms={max(v for k, v in results.items() if k.endswith('p50_ms')):.2f}")
    print(f"lost={lost}")
    print(f"duplicated={duplicated}")
    for key in headline:
        print(f"{key}={results[key]:.2f}")
    print(f"submit_p95_ms={max(results[k] for k in headline):.2f}")


if __name__ == "__main__":
    main()
