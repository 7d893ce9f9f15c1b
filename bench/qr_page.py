"""Benchmark: 200 phones reading their own QR result pages from gunicorn, against hello-world.

One run on this machine: migrate a temporary SQLite database (``flask db upgrade``), seed one
published event (公示) of 500 contestants with ``tests.scenario.ranked_event``, start gunicorn
with sync workers, then drive ``wrk`` with 200 connections
- at the same server's ``/hello`` route (no database, no template), and
- at ``/r/<token>``, a Lua script rotating over the 500 contestants' tokens (every page is
  someone else's: the cache never serves one token's page for another).
Each route gets an unrecorded warm-up first; the QR pages are read until the rate stops
rising, i.e. every worker has cached every page (in-process cache, no ``REDIS_URL``). With
``--redis`` the same is measured again with the page cache in Redis (printed as ``redis_*``).
Prints name=value lines, ``qr_vs_hello`` last. Target: qr_vs_hello >= 0.6, qr_p99_ms <= 100.

    python bench/qr_page.py [--contestants 500] [--seconds 10] [--workers 3] [--redis]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 200
REDIS = "redis://127.0.0.1:6379/0"

SEED = """
import sys
sys.path.insert(0, {root!r})
from compete import create_app
from compete.extensions import db
from tests.scenario import ranked_event
app = create_app()
with app.app_context():
    scenario = ranked_event({n}, state="publicity")
    db.session.commit()
    print("\\n".join(scenario.tokens))
"""

LUA = """
local tokens = {{{tokens}}}
local threads = {{}}
counter = 0
bad = 0  -- a global: done() reads it from each thread

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  counter = offset or 0
end

function request()
  counter = counter + 1
  return wrk.format("GET", "/r/" .. tokens[(counter % #tokens) + 1])
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("bad_responses=%d\\n", total))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, seconds: int, script: Path | None = None) -> dict[str, float]:
    """Run wrk (2 threads, 200 connections) and read req/s, p50, p99 and errors."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    run = subprocess.run([*command, url], check=False, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed: {run.stderr or run.stdout}")
    out = run.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s|m)\b", out)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s|m)\b", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = re.search(r"bad_responses=(\d+)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": rps,
        "p50_ms": _ms(*p50.groups()),
        "p99_ms": _ms(*p99.groups()),
        "errors": (int(non2xx.group(1)) if non2xx else 0)
        + (sum(int(g) for g in errors.groups()) if errors else 0)
        + (int(bad.group(1)) if bad else 0),
    }


def warm_up(base: str, script: Path, seconds: int, pages: int) -> None:
    """Read pages until every worker has cached every page (``pages`` = workers x tokens,
    read four times over) and the rate has stopped rising."""
    served, previous = 0, 0.0
    for _ in range(40):
        result = wrk(base + "/", seconds, script)
        served += result["requests"]
        if served >= 4 * pages and previous and result["rps"] < previous * 1.1:
            return
        previous = result["rps"]


def run(args, tmp: Path, *, redis: bool) -> dict[str, float]:
    env = {
        **os.environ,
        "COMPETE_SECRET_KEY": "bench-only",
        "DATABASE_URL": f"sqlite:///{tmp}/bench-{'redis' if redis else 'memory'}.db",
    }
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = REDIS
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    tokens = subprocess.run(
        [sys.executable, "-c", SEED.format(root=str(ROOT), n=args.contestants)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert len(tokens) == args.contestants, "seeding failed"
    script = tmp / "qr.lua"
    script.write_text(LUA.format(tokens=", ".join(f'"{t}"' for t in tokens)))

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "sync",
            "-w",
            str(args.workers),
            "--backlog",
            "2048",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/hello", timeout=1)
                break
            except OSError:
                assert server.poll() is None, "gunicorn exited"
                time.sleep(0.1)
        with urllib.request.urlopen(f"{base}/r/{tokens[0]}", timeout=5) as page:
            size = len(page.read())
        with urllib.request.urlopen(f"{base}/static/css/app.css", timeout=5) as css:
            size_css = len(css.read())
        wrk(base + "/hello", args.warmup)
        warm_up(base, script, args.warmup, args.workers * len(tokens))
        hello = wrk(base + "/hello", args.seconds)
        qr = wrk(base + "/", args.seconds, script)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {
        "page_bytes": size,
        "page_with_css_bytes": size + size_css,
        "hello_rps": hello["rps"],
        "hello_p50_ms": hello["p50_ms"],
        "hello_p99_ms": hello["p99_ms"],
        "hello_errors": hello["errors"],
        "qr_rps": qr["rps"],
        "qr_p50_ms": qr["p50_ms"],
        "qr_p99_ms": qr["p99_ms"],
        "qr_errors": qr["errors"],
        "qr_vs_hello": qr["rps"] / hello["rps"],
    }


def _redis_up() -> bool:
    try:
        ping = subprocess.run(["redis-cli", "-u", REDIS, "ping"], capture_output=True, text=True)
    except OSError:
        return False
    return ping.stdout.strip() == "PONG"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contestants", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 3)))
    parser.add_argument(
        "--redis", action="store_true", help="also measure with the page cache in Redis"
    )
    args = parser.parse_args()

    print(f"contestants={args.contestants}")
    print(f"workers={args.workers}")
    print(f"connections={CONNECTIONS}")
    with tempfile.TemporaryDirectory() as tmp:
        memory = run(args, Path(tmp), redis=False)
        redis = run(args, Path(tmp), redis=True) if args.redis and _redis_up() else None
    if redis is not None:
        for key, value in redis.items():
            print(
                f"redis_{key}={value:.2f}" if isinstance(value, float) else f"redis_{key}={value}"
            )
    for key, value in memory.items():
        print(f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}")


if __name__ == "__main__":
    main()
