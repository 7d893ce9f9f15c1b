"""A real gunicorn server on a free port and Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TABLET = {"viewport": {"width": 768, "height": 1024}, "is_mobile": True, "has_touch": True}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
ARTEFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The default ``page`` is a judge's tablet."""
    return {**browser_context_args, **TABLET, "locale": "zh-CN"}


@pytest.fixture
def phone_page(browser):
    ctx = browser.new_context(**PHONE, locale="zh-CN")
    yield ctx.new_page()
    ctx.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _database_url(tmp: Path):
    """SQLite in a temporary folder, or on PostgreSQL a schema of the live server's own
    (the test session's schema already holds tables made by create_all), dropped after."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not (url and url.startswith("postgresql")):
        yield f"sqlite:///{tmp}/e2e.db"
        return
    base = url.split("?")[0]
    schema = "e2e_" + os.urandom(4).hex()
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(scope="session")
def live_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    with _database_url(tmp) as database_url:
        env = {
            **os.environ,
            "COMPETE_SECRET_KEY": "test-only-" + os.urandom(8).hex(),
            "DATABASE_URL": database_url,
            "COMPETE_DEMO_PASSWORD": "Demo-pass-2026",
        }
        env.pop("REDIS_URL", None)
        yield env


def flask_cli(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def live_server(live_env):
    """gunicorn with sync workers on a migrated database holding the demo data."""
    env = live_env
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "compete", "seed-demo")
    port = _free_port()
    proc = subprocess.Popen(
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
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            assert proc.poll() is None, "gunicorn exited"
            time.sleep(0.1)
    else:
        proc.terminate()
        raise RuntimeError("live server not ready")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def shot(request):
    """Save a screenshot as a test artefact: shot(page, "step-name")."""
    ARTEFACTS.mkdir(exist_ok=True)

    def _shot(page, name: str) -> Path:
        path = ARTEFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot
