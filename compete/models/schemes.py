"""Marking schemes (评分标准): modules (模块) of criteria (评分项)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.aggregation import Aggregation
from ..domain.scheme import AspectKind, CriterionSpec, ModuleSpec, SchemeSpec
from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow


class MarkingScheme(db.Model):
    __tablename__ = "marking_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    modules: Mapped[list[SchemeModule]] = relationship(
        back_populates="scheme", order_by="SchemeModule.position", cascade="all, delete-orphan"
    )

    @property
    def max_mark(self) -> Decimal:
        return sum((m.max_mark for m in self.modules), Decimal(0))

    def spec(self) -> SchemeSpec:
        """The scheme as the pure rules see it."""
        return SchemeSpec(modules=tuple(m.spec() for m in self.modules))


class SchemeModule(db.Model):
    __tablename__ = "scheme_modules"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(
        ForeignKey("marking_schemes.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)

    scheme: Mapped[MarkingScheme] = relationship(back_populates="modules")
    criteria: Mapped[list[SchemeCriterion]] = relationship(
        back_populates="module",
        order_by="SchemeCriterion.position",
        cascade="all, delete-orphan",
    )

    @property
    def max_mark(self) -> Decimal:
        return sum((c.max_mark for c in self.criteria), Decimal(0))

    def spec(self) -> ModuleSpec:
        return ModuleSpec(
            code=self.code, name=self.name, criteria=tuple(c.spec() for c in self.criteria)
        )


class SchemeCriterion(db.Model):
    __tablename__ = "scheme_criteria"
    __table_args__ = (UniqueConstraint("module_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(
        ForeignKey("scheme_modules.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    kind: Mapped[AspectKind] = mapped_column(str_enum(AspectKind))
    max_mark: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    step: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    judges: Mapped[int] = mapped_column(Integer)
    aggregation: Mapped[Aggregation] = mapped_column(str_enum(Aggregation))
    tolerance: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    double_entry: Mapped[bool] = mapped_column(default=False, server_default="0")
    position: Mapped[int] = mapped_column(Integer)

    module: Mapped[SchemeModule] = relationship(back_populates="criteria")

    def spec(self) -> CriterionSpec:
        return CriterionSpec(
            code=self.code,
            max_mark=Decimal(self.max_mark),
            step=Decimal(self.step),
            kind=self.kind,
            aggregation=self.aggregation,
            judges=self.judges,
            tolerance=Decimal(self.tolerance) if self.tolerance is not None else None,
        )
