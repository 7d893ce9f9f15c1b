"""Judge pool, panels, marking codes (评审号) and the append-only chain of marks."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from .accounts import User
    from .units import Unit


class Judge(db.Model):
    """A vetted judge in the pool (裁判库); panels are drawn from here."""

    __tablename__ = "judges"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str] = mapped_column(String(1), default="", server_default="")
    id_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    employer: Mapped[str] = mapped_column(String(200), default="", server_default="")
    occupations: Mapped[list[str]] = mapped_column(JSON, default=list)
    grade: Mapped[int | None] = mapped_column(Integer)  # domain.grades.Grade
    title: Mapped[str] = mapped_column(String(20), default="", server_default="")  # 中级/副高/正高
    is_assessor: Mapped[bool] = mapped_column(default=False, server_default="0")  # 考评员
    certificate_no: Mapped[str] = mapped_column(String(50), default="", server_default="")
    years_in_occupation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    birth_date: Mapped[date | None] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    is_active: Mapped[bool] = mapped_column(default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit | None] = relationship()
    user: Mapped[User | None] = relationship()


class JudgeConflict(db.Model):
    """A declared tie (回避): the judge stands aside for this person or unit."""

    __tablename__ = "judge_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # relative, coach, teacher, colleague, other
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PanelRole(StrEnum):
    CHIEF = "chief"  # 裁判长
    MARKING = "marking"  # 评分裁判
    ONSITE = "onsite"  # 现场裁判
    ENCRYPTION = "encryption"  # 加密裁判
    RECORDER = "recorder"  # 计分裁判
    SUPERVISOR = "supervisor"  # 监督仲裁


class PanelMember(db.Model):
    """A judge on an event's panel; a manual change carries a reason."""

    __tablename__ = "panel_members"
    __table_args__ = (Index("ix_panel_members_event", "event_id", "removed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("judges.id"))
    role: Mapped[PanelRole] = mapped_column(str_enum(PanelRole))
    module_code: Mapped[str | None] = mapped_column(String(20))  # None: every module
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"))
    is_manual: Mapped[bool] = mapped_column(default=False, server_default="0")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_reason: Mapped[str | None] = mapped_column(Text)

    judge: Mapped[Judge] = relationship()


class ReviewCode(db.Model):
    """Layer 3 of anonymisation: the code on submitted work; judges see only this."""

    __tablename__ = "review_codes"
    __table_args__ = (UniqueConstraint("event_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str] = mapped_column(String(20))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"))


class MarkKind(StrEnum):
    MARK = "mark"  # a first mark
    CORRECTION = "correction"  # a later value for the same cell, with a reason
    VOID = "void"  # the judge's mark withdrawn (recusal), with a reason


class MarkEvent(db.Model):
    """One append-only mark: who, which device, when, what value, why; chained by hash.

    Each row holds the hash of the row before it in the same event (``prev_hash``) and its own
    (``hash``); ``(event_id, seq)`` is unique, so the chain cannot fork. A tablet's retry of the
    same ``client_id`` finds the first row instead of adding one.
    """

    __tablename__ = "mark_events"
    __table_args__ = (
        UniqueConstraint("event_id", "seq"),
        UniqueConstraint("judge_user_id", "client_id"),
        Index("ix_mark_events_cell", "event_id", "entry_id", "criterion_id", "judge_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    judge_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("scheme_criteria.id"))
    kind: Mapped[MarkKind] = mapped_column(str_enum(MarkKind))
    value: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    client_id: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(120), default="", server_default="")
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # on the tablet
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("mark_events.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def payload(self) -> dict:
        """What the hash covers: everything but the hashes and the row ids.

        ``supersedes_id`` is left out because it follows from the chain (the previous link of
        the same judge, entry and criterion; ``verify_marks`` checks that), so a chain carried
        to another server, where the rows get new ids, still verifies.
        """
        return {
            "event": self.event_id,
            "seq": self.seq,
            "judge": self.judge_user_id,
            "entry": self.entry_id,
            "criterion": self.criterion_id,
            "kind": self.kind.value,
            "value": None if self.value is None else f"{Decimal(self.value):.2f}",
            "client_id": self.client_id,
            "device": self.device,
            "entered_at": self.entered_at.isoformat() if self.entered_at else None,
            "recorded_at": self.recorded_at.isoformat(),
            "reason": self.reason,
        }


class TabletPairing(db.Model):
    """A one-time code the chief judge shows as a QR: scanning it signs a tablet in as one judge
    for one event. Only the SHA-256 of the code is stored; it expires and works once."""

    __tablename__ = "tablet_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    judge_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    device: Mapped[str] = mapped_column(String(120), default="", server_default="")


class UnlockConsent(db.Model):
    """A supervisor's consent to reopen locked scoring, with the reason; used by one unlock."""

    __tablename__ = "unlock_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
