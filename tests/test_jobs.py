"""Jobs: the same job code runs in-process (sync or a thread) and records progress and failure."""

from __future__ import annotations

import time

import pytest

from compete import jobs
from compete.domain import N_
from compete.domain.errors import InvalidInput
from compete.extensions import db
from compete.models import Job, JobStatus

from .factories import make_user


@jobs.job("test.count")
def _count(record, *, upto: int):
    for n in range(1, upto + 1):
        jobs.progress(record, n, upto)
    return {"counted": upto}


@jobs.job("test.refuse")
def _refuse(record):
    raise InvalidInput(N_("The sample share must be between 0 and 100."), field="x")


def test_sync_job_runs_and_reports_its_result(app):
    with app.app_context():
        record = jobs.submit("test.count", upto=3)
        db.session.expire_all()
        stored = db.session.get(Job, record.id)
        assert stored.status is JobStatus.DONE
        assert (stored.done, stored.total, stored.percent) == (3, 3, 100)
        assert stored.result == {"counted": 3}


def test_a_failing_job_ends_failed_with_a_readable_reason(app):
    with app.app_context():
        record = jobs.submit("test.refuse")
        stored = db.session.get(Job, record.id)
        assert stored.status is JobStatus.FAILED
        assert stored.message and stored.finished_at is not None


def test_thread_mode_runs_the_job_outside_the_request(app, tmp_path):
    from .conftest import build_app

    threaded = build_app(
        JOBS_MODE="thread", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'jobs.db'}"
    )
    with threaded.app_context():
        db.create_all()
        record = jobs.submit("test.count", upto=5)
        job_id = record.id
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.get(Job, job_id).status is JobStatus.DONE:
                break
            time.sleep(0.05)
        assert db.session.get(Job, job_id).result == {"counted": 5}
        db.session.remove()
        db.engine.dispose()


def test_dedupe_reuses_a_job_not_started_yet(app):
    with app.app_context():
        waiting = Job(id="a" * 32, kind="test.count", params={"upto": 1}, event_id=None)
        db.session.add(waiting)
        db.session.commit()
        assert jobs.submit("test.count", dedupe=True, upto=1).id == waiting.id


@pytest.mark.parametrize("who", ["owner", "stranger"])
def test_job_page_shows_progress_only_to_whoever_may_see_it(app, client, auth, who):
    with app.app_context():
        owner = make_user(username="owner")
        make_user(username="stranger")
        db.session.commit()
        record = jobs.submit("test.count", actor=owner, upto=2)
        job_id = record.id
    auth.login(who)
    page = client.get(f"/jobs/{job_id}")
    if who == "owner":
        assert page.status_code == 200
        assert "100%" in page.get_data(as_text=True)
        data = client.get(f"/jobs/{job_id}?format=json").get_json()
        assert data["status"] == "done" and data["result"] == {"counted": 2}
    else:
        assert page.status_code == 404
