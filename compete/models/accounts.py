"""Accounts, role assignments and login sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow


class Role(StrEnum):
    """Roles; each is granted permissions in ``compete.permissions`` and held within a scope."""

    ADMIN = "admin"  # system administrator, no scope
    ORGANISER = "organiser"  # 组委会/主办/承办: one competition (or none: may create competitions)
    CHIEF_JUDGE = "chief_judge"  # 裁判长, one event
    JUDGE = "judge"  # 现场/评分裁判, one event
    ENCRYPTION_JUDGE = "encryption_judge"  # 加密裁判, one event
    SCORE_RECORDER = "score_recorder"  # 计分裁判 / check-in staff, one event
    SUPERVISOR = "supervisor"  # 监督仲裁组, one event
    UNIT_CONTACT = "unit_contact"  # 参赛单位联系人, one unit
    CONTESTANT = "contestant"  # 选手, their own records

    @property
    def scope(self) -> str:
        return ROLE_SCOPE[self]


ROLE_SCOPE = {
    Role.ADMIN: "system",
    Role.ORGANISER: "competition",
    Role.CHIEF_JUDGE: "event",
    Role.JUDGE: "event",
    Role.ENCRYPTION_JUDGE: "event",
    Role.SCORE_RECORDER: "event",
    Role.SUPERVISOR: "event",
    Role.UNIT_CONTACT: "unit",
    Role.CONTESTANT: "person",
}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(default=True, server_default="1")
    locale: Mapped[str | None] = mapped_column(String(10))
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        foreign_keys="RoleAssignment.user_id",
        lazy="selectin",
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.password_changed_at = utcnow()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    @property
    def is_admin(self) -> bool:
        return any(a.role is Role.ADMIN for a in self.assignments)

    def roles(self) -> set[Role]:
        return {a.role for a in self.assignments}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


class RoleAssignment(db.Model):
    """One role held by one user within one scope (competition, event or unit)."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "competition_id", "event_id", "unit_id"),
        CheckConstraint("(competition_id IS NULL OR event_id IS NULL)", name="one_scope_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    competition_id: Mapped[int | None] = mapped_column(
        ForeignKey("competitions.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(back_populates="assignments", foreign_keys=[user_id])


class LoginSession(db.Model):
    """A server-side record behind each signed-in browser; logout revokes it for good."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_active", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(String(200))
    is_tablet: Mapped[bool] = mapped_column(default=False, server_default="0")

    user: Mapped[User] = relationship()
