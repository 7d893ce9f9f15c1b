"""Background jobs (recomputes, bulk certificates, big imports) and their progress."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Integer, String, Text, and_, or_
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow

RECOMPUTE_JOB = "results.recompute"
# A queued or running job older than this is taken for dead (its process went away).
DEAD_JOB_AFTER = timedelta(minutes=10)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(db.Model):
    """One unit of long work: what, for whom, how far along, and what came out."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_lookup", "kind", "event_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4 hex
    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus), default=JobStatus.QUEUED, server_default="queued"
    )
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)  # the error, for a failed job
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def percent(self) -> int:
        if self.status is JobStatus.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


def recompute_waiting(event_id, alive_since) -> ColumnElement[bool]:
    """A recompute of the event that has not started reading the chain: queued, or running and
    still waiting for a burst to settle (``done`` stays 0 until it reads); dead ones (queued or
    started before ``alive_since``) do not count. Values or bound parameters both do."""
    return and_(
        Job.kind == RECOMPUTE_JOB,
        Job.event_id == event_id,
        or_(
            and_(Job.status == JobStatus.QUEUED, Job.created_at > alive_since),
            and_(
                Job.status == JobStatus.RUNNING,
                Job.done == 0,
                or_(Job.started_at.is_(None), Job.started_at > alive_since),
            ),
        ),
    )
