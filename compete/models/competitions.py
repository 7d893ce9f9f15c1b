"""Competitions, their events (赛项), lifecycle transitions and selection links."""

from __future__ import annotations

from datetime import date, datetime
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

from ..domain.lifecycle import EventState
from ..domain.tiers import Group, Tier
from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from .accounts import User
    from .presets import RulePresetVersion
    from .schemes import MarkingScheme


class Competition(db.Model):
    """A contest at one level of the national system, with one or more events."""

    __tablename__ = "competitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[Tier] = mapped_column(str_enum(Tier))
    region: Mapped[str] = mapped_column(String(100), default="", server_default="")
    year: Mapped[int] = mapped_column(Integer)
    organiser: Mapped[str] = mapped_column(String(200), default="", server_default="")  # 主办
    host: Mapped[str] = mapped_column(String(200), default="", server_default="")  # 承办
    co_organisers: Mapped[str] = mapped_column(Text, default="", server_default="")  # 协办
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    venue: Mapped[str] = mapped_column(String(200), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    events: Mapped[list[Event]] = relationship(
        back_populates="competition", order_by="Event.code", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Competition {self.id} {self.name}>"


class Event(db.Model):
    """A 赛项: one occupation, one group, ranked on its own; rules from a preset version."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("competition_id", "code"),
        CheckConstraint("team_size BETWEEN 1 AND 3", name="team_size_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    occupation: Mapped[str] = mapped_column(String(100))  # 职业（工种）
    occupation_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    standard_grade: Mapped[int] = mapped_column(Integer)  # domain.grades.Grade
    group: Mapped[Group] = mapped_column(str_enum(Group))
    team_size: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    max_coaches: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    state: Mapped[EventState] = mapped_column(
        str_enum(EventState), default=EventState.DRAFT, server_default=EventState.DRAFT.value
    )
    preset_version_id: Mapped[int] = mapped_column(ForeignKey("rule_preset_versions.id"))
    # Event-level changes to the preset's parameters; the preset version itself never changes.
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    registration_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    venue: Mapped[str] = mapped_column(String(200), default="", server_default="")
    public_code: Mapped[str] = mapped_column(String(32), unique=True)
    # Head of the append-only mark chain: its length and the hash of its last link.
    mark_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mark_head: Mapped[str] = mapped_column(String(64), default="0" * 64, server_default="0" * 64)
    # Bumped whenever stored results, publication or awards change: caches key on it.
    results_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    competition: Mapped[Competition] = relationship(back_populates="events")
    preset_version: Mapped[RulePresetVersion] = relationship()
    scheme: Mapped[MarkingScheme | None] = relationship(
        cascade="all, delete-orphan", single_parent=True
    )
    transitions: Mapped[list[EventTransition]] = relationship(
        back_populates="event", order_by="EventTransition.id", cascade="all, delete-orphan"
    )

    @property
    def rules(self) -> dict[str, Any]:
        """The parameters in force: the preset version's, with this event's overrides."""
        return {**self.preset_version.params, **(self.overrides or {})}

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.code}>"


class EventTransition(db.Model):
    """One step of an event's lifecycle: who moved it, when, and why (going back needs a why)."""

    __tablename__ = "event_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[EventState] = mapped_column(str_enum(EventState))
    to_state: Mapped[EventState] = mapped_column(str_enum(EventState))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)

    event: Mapped[Event] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()


class SelectionLink(db.Model):
    """A lower-tier event feeding a higher one: the top entries by rank fill the quota."""

    __tablename__ = "selection_links"
    __table_args__ = (
        UniqueConstraint("source_event_id", "target_event_id"),
        CheckConstraint("quota >= 1", name="quota_positive"),
        CheckConstraint("source_event_id <> target_event_id", name="not_self"),
        Index("ix_selection_links_target", "target_event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    target_event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    quota: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    source_event: Mapped[Event] = relationship(foreign_keys=[source_event_id])
    target_event: Mapped[Event] = relationship(foreign_keys=[target_event_id])
