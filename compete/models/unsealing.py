"""Unsealing (解密) of the anonymisation layers: two people per layer, in reverse order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class Unsealing(db.Model):
    """One layer of one event: requested by an encryption judge, opened by a supervisor."""

    __tablename__ = "unsealings"
    __table_args__ = (UniqueConstraint("event_id", "layer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    layer: Mapped[str] = mapped_column(String(20))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_open(self) -> bool:
        return self.confirmed_at is not None
