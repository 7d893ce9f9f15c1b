"""Rule presets as data: an organiser copies and edits them; versions never change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class RulePreset(db.Model):
    __tablename__ = "rule_presets"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_builtin: Mapped[bool] = mapped_column(default=False, server_default="0")
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("rule_presets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    versions: Mapped[list[RulePresetVersion]] = relationship(
        back_populates="preset", order_by="RulePresetVersion.version"
    )

    @property
    def latest(self) -> RulePresetVersion:
        return self.versions[-1]


class RulePresetVersion(db.Model):
    """One immutable set of parameters; editing a preset adds a version."""

    __tablename__ = "rule_preset_versions"
    __table_args__ = (UniqueConstraint("preset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    preset_id: Mapped[int] = mapped_column(ForeignKey("rule_presets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    preset: Mapped[RulePreset] = relationship(back_populates="versions")
