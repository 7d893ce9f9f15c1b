"""Stored results: each entry's derived figures and provisional place, recomputed from marks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


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
    passed: Mapped[bool] = mapped_column(default=False, server_default="0")
    rank: Mapped[int | None] = mapped_column(Integer)
    tie_note: Mapped[str | None] = mapped_column(Text)  # JSON: why it sits below the entry above
    needs_decision: Mapped[bool] = mapped_column(default=False, server_default="0")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    marks_seq: Mapped[int] = mapped_column(Integer)  # Event.mark_seq the figures come from

    def __repr__(self) -> str:
        return f"<EntryScore {self.event_id}/{self.entry_id} {self.final}>"
