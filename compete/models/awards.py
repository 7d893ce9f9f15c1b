"""Awards, titles, skill-grade promotions and certificates: what contestants compete for."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow
from .registration import Entry, Person


class AwardGrant(db.Model):
    """One entry's award from one allocation (``domain.awards.Award`` value, or None).

    A reallocation marks the earlier rows ``is_current=False``; rows are never edited in place
    except for the boundary decision (``decision_reason``), which is logged.
    """

    __tablename__ = "award_grants"
    __table_args__ = (Index("ix_award_grants_event", "event_id", "is_current"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    rank: Mapped[int | None] = mapped_column(Integer)
    award: Mapped[str | None] = mapped_column(String(20))
    flagged: Mapped[bool] = mapped_column(default=False, server_default="0")  # tie at a line
    decision_reason: Mapped[str | None] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(default=True, server_default="1")
    preset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("rule_preset_versions.id", ondelete="SET NULL")
    )
    allocated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    entry: Mapped[Entry] = relationship()


class GrantStatus(StrEnum):
    PROPOSED = "proposed"  # 拟: waiting for the approving authority
    GRANTED = "granted"  # 核准
    DECLINED = "declined"  # the authority did not confirm it
    REVOKED = "revoked"  # withdrawn later, with a reason


class TitleGrant(db.Model):
    """A title (e.g. 广东省技术能手) held or proposed for a person.

    From an event (``event_id``) or recorded from earlier history (``event_id`` None, with
    ``source``); the "not twice" rule reads every granted row of the person.
    """

    __tablename__ = "title_grants"
    __table_args__ = (Index("ix_title_grants_person", "person_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(60))
    status: Mapped[GrantStatus] = mapped_column(
        str_enum(GrantStatus), default=GrantStatus.PROPOSED, server_default="proposed"
    )
    source: Mapped[str] = mapped_column(String(200), default="", server_default="")
    granted_on: Mapped[date | None] = mapped_column(Date)
    approval_ref: Mapped[str] = mapped_column(String(100), default="", server_default="")  # 文号
    reason: Mapped[str | None] = mapped_column(Text)  # why declined or revoked
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()


class PromotionGrant(db.Model):
    """A skill-grade promotion (晋升) for a person in an occupation: from → to, proposed → approved."""

    __tablename__ = "promotion_grants"
    __table_args__ = (Index("ix_promotion_grants_person", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))
    occupation: Mapped[str] = mapped_column(String(100))
    from_grade: Mapped[int | None] = mapped_column(Integer)  # domain.grades.Grade
    to_grade: Mapped[int] = mapped_column(Integer)
    status: Mapped[GrantStatus] = mapped_column(
        str_enum(GrantStatus), default=GrantStatus.PROPOSED, server_default="proposed"
    )
    source: Mapped[str] = mapped_column(String(200), default="", server_default="")
    granted_on: Mapped[date | None] = mapped_column(Date)
    approval_ref: Mapped[str] = mapped_column(String(100), default="", server_default="")
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()


class CertificateKind(StrEnum):
    AWARD = "award"  # 获奖证书
    TITLE = "title"  # 荣誉称号证书
    PROMOTION = "promotion"  # 晋级证明


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


class Certificate(db.Model):
    """An issued certificate: a unique number people can type, and an unguessable QR token."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("number"),
        UniqueConstraint("token"),
        Index("ix_certificates_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    token: Mapped[str] = mapped_column(String(64))
    kind: Mapped[CertificateKind] = mapped_column(str_enum(CertificateKind))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))
    award_grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("award_grants.id", ondelete="SET NULL")
    )
    title_grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("title_grants.id", ondelete="SET NULL")
    )
    promotion_grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("promotion_grants.id", ondelete="SET NULL")
    )
    wording: Mapped[str] = mapped_column(String(200))  # what it certifies, e.g. 一等奖
    issuer: Mapped[str] = mapped_column(String(200))
    status: Mapped[CertificateStatus] = mapped_column(
        str_enum(CertificateStatus), default=CertificateStatus.VALID, server_default="valid"
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    person: Mapped[Person] = relationship()
