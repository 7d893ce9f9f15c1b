"""People, unit quotas, registrations (entries), draws and check-in."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.idnumber import IdType
from ..domain.idnumber import mask_id_number as _mask_id
from ..domain.people import mask_phone as _mask_phone
from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from .accounts import User
    from .competitions import Event
    from .units import Unit


class Person(db.Model):
    """One person across competitions, identified by their ID number (never by name)."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("id_type", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    gender: Mapped[str] = mapped_column(String(1))  # M / F
    id_type: Mapped[IdType] = mapped_column(str_enum(IdType), default=IdType.RESIDENT_ID)
    id_number: Mapped[str] = mapped_column(String(32))
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    photo: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)
    photo_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def masked_id(self) -> str:
        return _mask_id(self.id_number)

    @property
    def masked_phone(self) -> str:
        return _mask_phone(self.phone) if self.phone else ""


class UnitQuota(db.Model):
    """How many entries a unit may send to an event (名额)."""

    __tablename__ = "unit_quotas"
    __table_args__ = (
        UniqueConstraint("event_id", "unit_id"),
        CheckConstraint("quota >= 0", name="quota_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    quota: Mapped[int] = mapped_column(Integer)
    team_leader: Mapped[str] = mapped_column(String(50), default="", server_default="")  # 领队
    team_leader_phone: Mapped[str] = mapped_column(String(20), default="", server_default="")

    unit: Mapped[Unit] = relationship()
    event: Mapped[Event] = relationship()


class EntryStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"  # sent back to the unit to fix
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Entry(db.Model):
    """One registration in an event: a contestant, or a team as one entry."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("event_id", "entry_number"),
        UniqueConstraint("event_id", "station_number"),
        UniqueConstraint("admission_no"),
        Index("ix_entries_event_status", "event_id", "status"),
        Index("ix_entries_unit", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[EntryStatus] = mapped_column(
        str_enum(EntryStatus), default=EntryStatus.SUBMITTED
    )
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    coaches: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # 指导教师
    entry_number: Mapped[str | None] = mapped_column(String(20))  # 参赛号 (first draw)
    station_number: Mapped[str | None] = mapped_column(String(20))  # 赛位号 (second draw)
    session_no: Mapped[int | None] = mapped_column(Integer)  # 场次
    run_order: Mapped[int | None] = mapped_column(Integer)  # 顺序号
    admission_no: Mapped[str | None] = mapped_column(String(32))  # 准考证号
    # Opaque token in the QR codes of ticket, result slip and certificate (>= 128 random bits).
    qr_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    source_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("entries.id", ondelete="SET NULL")
    )  # the lower-tier entry that qualified this one
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    unit: Mapped[Unit] = relationship()
    members: Mapped[list[EntryMember]] = relationship(
        back_populates="entry",
        order_by="EntryMember.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    check_in: Mapped[CheckIn | None] = relationship(back_populates="entry", uselist=False)

    @property
    def lead(self) -> EntryMember | None:
        return self.members[0] if self.members else None

    @property
    def display_name(self) -> str:
        return "、".join(m.person.name for m in self.members)


class EntryMember(db.Model):
    """A person in an entry; the first (``is_lead``) is the 主选手 of a team."""

    __tablename__ = "entry_members"
    __table_args__ = (
        UniqueConstraint("entry_id", "person_id"),
        # One person enters an event once, whatever the unit or team.
        UniqueConstraint("event_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    is_lead: Mapped[bool] = mapped_column(default=False, server_default="0")
    current_grade: Mapped[int | None] = mapped_column(Integer)  # domain.grades.Grade
    grade_certificate_no: Mapped[str] = mapped_column(String(50), default="", server_default="")
    employer: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The group the unit declared for this person (职工/学生/教师); None: the event's group.
    declared_group: Mapped[str | None] = mapped_column(String(10))

    entry: Mapped[Entry] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(lazy="joined")


class DrawKind(StrEnum):
    ENTRY_NUMBER = "entry_number"  # 参赛号
    STATION = "station"  # 赛位号 and 场次
    REVIEW_CODE = "review_code"  # 评审号
    PANEL = "panel"  # judges drawn from the pool


class Draw(db.Model):
    """A recorded random draw: the seed, the inputs and the result, replayable by anyone."""

    __tablename__ = "draws"
    __table_args__ = (Index("ix_draws_event_kind", "event_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[DrawKind] = mapped_column(str_enum(DrawKind))
    seed: Mapped[str] = mapped_column(String(128))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_current: Mapped[bool] = mapped_column(default=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # a redraw needs one
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class CheckIn(db.Model):
    """检录: an entry confirmed present, once; a repeat scan reads this row."""

    __tablename__ = "check_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(10))  # qr / manual

    entry: Mapped[Entry] = relationship(back_populates="check_in")
    by: Mapped[User | None] = relationship()
