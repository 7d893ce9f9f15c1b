"""Long work as jobs: the same job code runs on an RQ queue (Redis) or in-process.

A job function is registered with ``@job("kind")`` and called as ``fn(job, **params)`` inside
an app context; it returns a JSON-able dict (the job's result) or raises. ``progress(job, n,
total)`` records how far it is and commits the session, so a job that reports progress must
be safe to run again (skip what is already done). ``submit`` stores a ``Job`` row first, so
the page that started it can show its progress whatever runs it:

- ``rq``: ``flask compete worker`` takes jobs from Redis (several servers share one queue);
- ``thread``: a thread of the app process (embedded default, no Redis);
- ``sync``: before ``submit`` returns (tests, CLI).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select

from .domain.errors import DomainError
from .extensions import db, redis_client
from .models import Job, JobStatus
from .models.base import utcnow

log = logging.getLogger(__name__)

QUEUE_NAME = "compete"
JobFn = Callable[..., dict[str, Any] | None]
JOBS: dict[str, JobFn] = {}


def job(kind: str) -> Callable[[JobFn], JobFn]:
    """Register ``fn`` as the job ``kind``."""

    def register(fn: JobFn) -> JobFn:
        JOBS[kind] = fn
        return fn

    return register


def mode() -> str:
    configured = current_app.config.get("JOBS_MODE") or ""
    if configured:
        return configured
    if current_app.testing:
        return "sync"
    return "rq" if current_app.config.get("REDIS_URL") else "thread"


def queued(kind: str, event_id: int | None) -> Job | None:
    """A job of ``kind`` for ``event_id`` that has not started yet, if there is one."""
    stmt = select(Job).where(
        Job.kind == kind, Job.event_id == event_id, Job.status == JobStatus.QUEUED
    )
    return db.session.scalars(stmt.limit(1)).first()


def submit(
    kind: str,
    *,
    actor=None,
    event_id: int | None = None,
    dedupe: bool = False,
    **params: Any,
) -> Job:
    """Store and start a job; with ``dedupe``, a queued one of the same kind and event is reused.

    Commits the session (the job row must be visible to whoever runs it).
    """
    if kind not in JOBS:
        raise KeyError(kind)
    if dedupe and (earlier := queued(kind, event_id)) is not None:
        return earlier
    record = Job(
        id=uuid.uuid4().hex,
        kind=kind,
        params=params,
        event_id=event_id,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(record)
    db.session.commit()
    how = mode()
    if how == "sync":
        run_job(record.id)
    elif how == "rq":
        _queue().enqueue("compete.jobs.run_job", record.id, job_timeout=3600)
    else:
        app = current_app._get_current_object()
        thread = threading.Thread(target=_run_in_app, args=(app, record.id), daemon=True)
        thread.start()
    return record


def _queue():
    from rq import Queue

    return Queue(QUEUE_NAME, connection=redis_client(current_app.config["REDIS_URL"]))


def _run_in_app(app, job_id: str) -> None:
    with app.app_context():
        run_job(job_id)
        db.session.remove()


def run_job(job_id: str) -> JobStatus | None:
    """Run one stored job (the entry point the RQ worker calls)."""
    if not has_app_context():
        from . import create_app

        with create_app().app_context():
            return run_job(job_id)
    record = db.session.get(Job, job_id)
    if record is None or record.status is not JobStatus.QUEUED:
        return None if record is None else record.status
    record.status = JobStatus.RUNNING
    record.started_at = utcnow()
    db.session.commit()
    try:
        result = JOBS[record.kind](record, **record.params)
    except Exception as exc:  # a job must always end, failed or done
        db.session.rollback()
        record = db.session.get(Job, job_id)
        record.status = JobStatus.FAILED
        if isinstance(exc, DomainError):
            # Kept untranslated; the job page shows it in the reader's language.
            record.message = str(exc)
            record.result = {"error": {"message": exc.message, "params": _plain(exc.params)}}
        else:
            record.message = type(exc).__name__
            log.exception("job %s (%s) failed", job_id, record.kind)
    else:
        record.status = JobStatus.DONE
        record.result = result or {}
        record.done = record.total or record.done
    record.finished_at = utcnow()
    db.session.commit()
    return record.status


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | float | str) else str(v) for k, v in params.items()}


def failure_text(record: Job) -> str:
    """Why ``record`` failed, in the current language."""
    from flask_babel import gettext

    error = (record.result or {}).get("error")
    if error:
        return gettext(error["message"], **error["params"])
    return gettext("An unexpected error stopped the work; it has been logged.")


def progress(record: Job, done: int, total: int | None = None) -> None:
    """Record how far ``record`` is; commits the session."""
    record.done = done
    if total is not None:
        record.total = total
    db.session.commit()


def run_worker(*, burst: bool = False) -> None:
    """Work the queue in this process (``flask compete worker``); one job at a time, no fork."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(current_app.config["REDIS_URL"])
    worker = SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
    worker.work(burst=burst)
