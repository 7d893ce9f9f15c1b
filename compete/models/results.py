"""Stored results: each entry's derived figures and provisional place, recomputed from marks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow


class EntryScore(db.Model):
    """One entry's figures as computed from the mark chain up to ``marks_seq``.

    Derived, never edited: a recomputation replaces the event's rows. Scores in the JSON
    columns are decimal strings (``{"A1": "8.50"}``) so no float ever touches them.
    """

    __tablename__ = "entry_scores"
    __table_args__ = (UniqueConstraint("event_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    criterion_scores: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    module_scores: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    practical: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    theory: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    final: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    time: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))  # completion minutes
    # Optional WorldSkills-style scale, stored beside the raw final with how it was made.
    standardised: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    standard_method: Mapped[str | None] = mapped_column(String(120))
    passed: Mapped[bool] = mapped_column(default=False, server_default="0")
    rank: Mapped[int | None] = mapped_column(Integer)
    tie_note: Mapped[str | None] = mapped_column(Text)  # JSON: why it sits below the entry above
    needs_decision: Mapped[bool] = mapped_column(default=False, server_default="0")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    marks_seq: Mapped[int] = mapped_column(Integer)  # Event.mark_seq the figures come from

    def __repr__(self) -> str:
        return f"<EntryScore {self.event_id}/{self.entry_id} {self.final}>"


class InputKind(StrEnum):
    THEORY = "theory"  # 理论成绩, out of 100
    TIME = "time"  # completion time in minutes (a tie-break key; missing = longest)


class EntryInput(db.Model):
    """A theory score or a completion time for an entry, append-only: the newest row is in force.

    A correction is a new row with a reason; ``value`` None withdraws the figure.
    """

    __tablename__ = "entry_inputs"
    __table_args__ = (Index("ix_entry_inputs_lookup", "event_id", "kind", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    kind: Mapped[InputKind] = mapped_column(str_enum(InputKind))
    value: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    source: Mapped[str] = mapped_column(String(20), default="form", server_default="form")
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ResultReview(db.Model):
    """A score review (复核): the sample drawn after lock, with its seed, and how it ended.

    ``entry_ids`` is the set to recheck in order (the top first, then the sample). When the error
    rate passes ``error_pct`` a new review with ``full`` set covers every entry.
    """

    __tablename__ = "result_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    seed: Mapped[str] = mapped_column(String(128))
    top_n: Mapped[int] = mapped_column(Integer)
    sample_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    error_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    entry_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    full: Mapped[bool] = mapped_column(default=False, server_default="0")
    is_current: Mapped[bool] = mapped_column(default=True, server_default="1")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    checks: Mapped[list[ReviewCheck]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewCheck.id"
    )


class CheckOutcome(StrEnum):
    CONFIRMED = "confirmed"
    CORRECTED = "corrected"  # an error found; the corrections are mark events with reasons


class ReviewCheck(db.Model):
    """One entry rechecked in a review: confirmed, or corrected through new mark events."""

    __tablename__ = "review_checks"
    __table_args__ = (UniqueConstraint("review_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("result_reviews.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    outcome: Mapped[CheckOutcome] = mapped_column(str_enum(CheckOutcome))
    note: Mapped[str | None] = mapped_column(Text)
    mark_event_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    review: Mapped[ResultReview] = relationship(back_populates="checks")


class Publication(db.Model):
    """Provisional results made public (公示): the window, the appeal deadline, the chain head.

    An upheld appeal withdraws it (the event returns to review); publishing again adds a row.
    ``finalised_at`` is set when the results become final.
    """

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    publicity_start: Mapped[date] = mapped_column(Date)
    publicity_end: Mapped[date] = mapped_column(Date)  # the last day of the window, inclusive
    appeal_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    chain_head: Mapped[str] = mapped_column(String(64))
    marks_seq: Mapped[int] = mapped_column(Integer)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def is_current(self) -> bool:
        return self.withdrawn_at is None


class AppealStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class Appeal(db.Model):
    """A written appeal (申诉) to the supervision and arbitration panel, and its decision."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    publication_id: Mapped[int | None] = mapped_column(
        ForeignKey("publications.id", ondelete="SET NULL")
    )
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(
        str_enum(AppealStatus), default=AppealStatus.OPEN, server_default="open"
    )
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Holiday(db.Model):
    """One day of the official calendar that differs from Monday–Friday working days.

    ``is_workday`` False: a public holiday; True: a weekend working day (调休). The organiser edits
    these; the publicity window counts working days against them.
    """

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool] = mapped_column(default=False, server_default="0")
    name: Mapped[str] = mapped_column(String(50), default="", server_default="")
