"""Every model, re-exported so Alembic and the app see the whole schema."""

from .accounts import LoginSession, Role, RoleAssignment, User
from .audit import AuditEntry
from .competitions import Competition, Event, EventTransition, SelectionLink
from .presets import RulePreset, RulePresetVersion
from .schemes import MarkingScheme, SchemeCriterion, SchemeModule
from .units import Unit, UnitKind

__all__ = [
    "AuditEntry",
    "Competition",
    "Event",
    "EventTransition",
    "LoginSession",
    "MarkingScheme",
    "Role",
    "RoleAssignment",
    "RulePreset",
    "RulePresetVersion",
    "SchemeCriterion",
    "SchemeModule",
    "SelectionLink",
    "Unit",
    "UnitKind",
    "User",
]
