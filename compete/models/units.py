"""Participating units (参赛单位) and delegations (代表队)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow


class UnitKind(StrEnum):
    ENTERPRISE = "enterprise"
    SCHOOL = "school"
    DELEGATION = "delegation"  # a city's or province's team
    OTHER = "other"


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str] = mapped_column(String(50), default="", server_default="")
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind), default=UnitKind.ENTERPRISE)
    region: Mapped[str] = mapped_column(String(100), default="", server_default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name}>"
