"""Scaling out: two gunicorn servers and a job worker on one PostgreSQL database and one Redis,
behind one address. A mark written through one server is read through the other once the
worker has recomputed the results; a session opened on one server is valid on the other; the
rate limit on guessed QR tokens is counted across both."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DB = 11  # a database index of its own, emptied before and after

pytestmark = pytest.mark.postgres


def _reachable(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RoundRobin:
    """One address in front of several servers: each new connection goes to the next one."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.turn = 0
        self.served: list[int] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            backend = self.backends[self.turn % len(self.backends)]
            self.turn += 1
            self.served.append(backend)
            upstream = socket.create_connection(("127.0.0.1", backend))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        src.close()  # each direction closes the socket it read from

    def close(self) -> None:
        self.listener.close()


@contextmanager
def _schema():
    schema = "scale_" + uuid.uuid4().hex[:8]
    engine = create_engine(PG)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _flask(env, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _wait(url: str, proc: subprocess.Popen) -> None:
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return
        except OSError:
            assert proc.poll() is None, "server exited"
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def _call(url: str, *, token: str | None = None, body=None, cookie: str | None = None):
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie:
        headers["Cookie"] = cookie
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("runs in the PostgreSQL pass of the suite (.ci/run)")
    if not (_reachable("127.0.0.1", 5432) and _reachable("127.0.0.1", 6379)):
        pytest.skip("PostgreSQL and Redis are needed for the scale-out test")
    from redis import Redis

    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    Redis.from_url(redis_url).flushdb()
    with _schema() as database_url:
        env = {
            **os.environ,
            "COMPETE_SECRET_KEY": "scale-out-" + uuid.uuid4().hex,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "COMPETE_DEMO_PASSWORD": "Demo-pass-2026",
            "COMPETE_QR_MISS_RATE_LIMIT": "5 per minute",
            "COMPETE_RESULTS_RECOMPUTE_DELAY": "0",
        }
        _flask(env, "db", "upgrade")
        _flask(env, "compete", "seed-demo")
        tokens = {
            name: _flask(env, "compete", "create-token", name, "scale", *extra).split()[-1]
            for name, extra in (("judge1", ("--write",)), ("organiser", ()))
        }
        ports = [_free_port(), _free_port()]
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-k",
                    "sync",
                    "-w",
                    "2",
                    "-b",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                    "wsgi:app",
                ],
                env=env,
                cwd=ROOT,
            )
            for port in ports
        ]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "compete", "worker"],
                env=env,
                cwd=ROOT,
            )
        )
        try:
            for port, proc in zip(ports, procs, strict=False):
                _wait(f"http://127.0.0.1:{port}", proc)
            proxy = RoundRobin(ports)
            yield {
                "a": f"http://127.0.0.1:{ports[0]}",
                "b": f"http://127.0.0.1:{ports[1]}",
                "proxy": proxy,
                "front": f"http://127.0.0.1:{proxy.port}",
                "tokens": tokens,
                "database_url": database_url,
            }
            proxy.close()
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=10)
            Redis.from_url(redis_url).flushdb()


def _e01_assignment(database_url: str) -> tuple[int, str, list[int]]:
    """E01's id, one marking code and the scheme's criterion ids, read straight from the
    database (setup only); E01 is set to have no theory part."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            event_id = conn.execute(text("SELECT id FROM events WHERE code = 'E01'")).scalar_one()
            # No theory paper in this test: the final is the practical score.
            conn.execute(
                text("UPDATE events SET overrides = :o WHERE id = :e"),
                {"o": json.dumps({"theory_weight": "0"}), "e": event_id},
            )
            code = conn.execute(
                text("SELECT code FROM review_codes WHERE event_id = :e ORDER BY code LIMIT 1"),
                {"e": event_id},
            ).scalar_one()
            criteria = conn.execute(
                text(
                    "SELECT c.id FROM scheme_criteria c JOIN scheme_modules m ON c.module_id = m.id"
                    " JOIN marking_schemes s ON m.scheme_id = s.id WHERE s.event_id = :e"
                    " ORDER BY m.position, c.position"
                ),
                {"e": event_id},
            ).scalars()
            return event_id, code, list(criteria)
    finally:
        engine.dispose()


def test_a_mark_written_through_one_server_is_read_through_the_other(cluster):
    event_id, code, criteria = _e01_assignment(cluster["database_url"])
    marks = [
        {
            "client_id": str(uuid.uuid4()),
            "code": code,
            "criterion_id": criterion,
            "value": "5.00",
            "entered_at": "2026-12-27T09:00:00+08:00",
        }
        for criterion in criteria
    ]
    status, body, _ = _call(
        f"{cluster['a']}/api/v1/events/{event_id}/marks",
        token=cluster["tokens"]["judge1"],
        body={"marks": marks},
    )
    assert status == 200, body
    assert {r["status"] for r in json.loads(body)["results"]} == {"stored"}
    # The worker recomputes off the request path; server B then reads the stored result.
    deadline = time.monotonic() + 30
    rows = []
    while time.monotonic() < deadline:
        status, body, _ = _call(
            f"{cluster['b']}/api/v1/events/{event_id}/results",
            token=cluster["tokens"]["organiser"],
        )
        assert status == 200, body
        rows = [r for r in json.loads(body)["items"] if r.get("code") == code]
        if rows:
            break
        time.sleep(0.3)
    assert rows, "server B never saw the result of the mark written through server A"
    assert rows[0]["final"] == f"{5 * len(criteria):.2f}"


def test_a_session_opened_on_one_server_is_valid_on_the_other(cluster):
    from .factories import csrf_from

    login = urllib.request.urlopen(f"{cluster['a']}/login", timeout=10)
    cookie = login.headers["Set-Cookie"].split(";")[0]
    form = csrf_from(login.read().decode())
    request = urllib.request.Request(
        f"{cluster['a']}/login",
        data=urllib.parse.urlencode(
            {"username": "organiser", "password": "Demo-pass-2026", "csrf_token": form}
        ).encode(),
        headers={"Cookie": cookie},
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request, timeout=10)
    except urllib.error.HTTPError as answer:
        assert answer.code == 302
        cookie = answer.headers["Set-Cookie"].split(";")[0]
    status, page, _ = _call(f"{cluster['b']}/", cookie=cookie)
    assert status == 200
    assert "省人社厅组委会".encode() in page  # the organiser's display name: signed in on B


def test_guessing_qr_tokens_is_limited_across_both_servers(cluster):
    statuses = [
        _call(f"{cluster[side]}/r/not-a-token-{n}")[0]
        for n, side in enumerate(("a", "b", "a", "b", "a", "b", "a"))
    ]
    # 5 misses per minute per address in all: the sixth, wherever it lands, is refused.
    assert statuses[:5] == [404] * 5
    assert statuses[5:] == [429, 429]


def test_one_address_spreads_requests_over_both_servers(cluster):
    proxy = cluster["proxy"]
    before = len(proxy.served)
    for _ in range(4):
        assert _call(f"{cluster['front']}/healthz")[0] == 200
    assert set(proxy.served[before:]) == set(proxy.backends)
