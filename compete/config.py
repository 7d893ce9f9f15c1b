"""Configuration: safe defaults, overridden by ``COMPETE_*`` environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import ClassVar


class Config:
    # Database: SQLite in the instance folder unless DATABASE_URL names another (PostgreSQL).
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {"pool_pre_ping": True}

    # No secret in code: create_app refuses to start without COMPETE_SECRET_KEY unless testing.
    SECRET_KEY: str | None = None

    # Sessions: a server-side login session row backs every cookie (see auth.sessions).
    SESSION_COOKIE_NAME = "__Host-session"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    # Judges at tablets stay signed in through a marking day; their sessions idle longer.
    SESSION_IDLE_TIMEOUT_TABLET = timedelta(hours=4)
    # The cookie only carries the session token; idle and absolute limits live in the row, so
    # the cookie need not be signed and sent again on every answer.
    SESSION_REFRESH_EACH_REQUEST = False

    # Forms: tablets replay queued marks late, so CSRF tokens do not expire with time.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = False
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # Login throttling: per address through Flask-Limiter, per account in the database.
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # A venue's tablets share one address: keep this above the start-of-day burst; the
    # per-account lockout below stops guessing at one account.
    LOGIN_RATE_LIMIT = "300 per minute"
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT = timedelta(minutes=15)

    # Passwords
    PASSWORD_MIN_LENGTH = 10

    # Redis (sessions, cache, rate limits, job queue) when configured; in-process otherwise.
    REDIS_URL: str | None = os.environ.get("REDIS_URL")
    # Jobs: "rq" (a queue on REDIS_URL, run by `flask compete worker`), "thread" (in-process,
    # the embedded default) or "sync" (run before the request returns; tests). Empty: rq when
    # REDIS_URL is set, thread otherwise.
    JOBS_MODE: str = os.environ.get("COMPETE_JOBS_MODE", "")

    # Results are recomputed off the request path: a job waits this many seconds for a burst
    # of marks to settle, and waits at most RESULTS_RECOMPUTE_WAIT for an earlier one.
    RESULTS_RECOMPUTE_DELAY = 1.0
    # While the event is open for marking the marks never settle, and the results are only
    # provisional (the chief judge's console counts marks itself): they are refreshed at most
    # this often, so a day of marking is not also a day of recomputing.
    RESULTS_RECOMPUTE_DELAY_MARKING = 10.0
    RESULTS_RECOMPUTE_WAIT = 120
    # Public pages: Redis when REDIS_URL is set, unless PAGE_CACHE = "memory".
    PAGE_CACHE: str | None = None
    # Guessing limits on public look-ups (valid look-ups are never limited).
    QR_MISS_RATE_LIMIT = "30 per minute"
    CERTIFICATE_LOOKUP_RATE_LIMIT = "20 per minute"
    # Where bulk certificate ZIPs are kept (a shared folder when several servers run);
    # default: instance/certificates.
    CERTIFICATE_BATCH_DIR: str | None = None

    # Languages
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES: ClassVar[dict[str, str]] = {"zh_CN": "中文", "en": "English"}

    # The address QR codes point to (e.g. https://results.example.gov.cn); default: the
    # address the request came in on.
    PUBLIC_BASE_URL: str | None = None

    # Demo data is loaded only by `flask compete seed-demo`.
    DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (the published demo password)
