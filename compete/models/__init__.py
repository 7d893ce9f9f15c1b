"""Every model, re-exported so Alembic and the app see the whole schema."""

from .accounts import LoginSession, Role, RoleAssignment, User
from .api import ApiToken
from .audit import AuditEntry
from .competitions import Competition, Event, EventTransition, SelectionLink
from .judging import Judge, JudgeConflict, MarkEvent, MarkKind, PanelMember, PanelRole, ReviewCode
from .presets import RulePreset, RulePresetVersion
from .registration import (
    CheckIn,
    Draw,
    DrawKind,
    Entry,
    EntryMember,
    EntryStatus,
    Person,
    UnitQuota,
)
from .results import EntryScore
from .schemes import MarkingScheme, SchemeCriterion, SchemeModule
from .units import Unit, UnitKind
from .unsealing import Unsealing

__all__ = [
    "ApiToken",
    "AuditEntry",
    "CheckIn",
    "Competition",
    "Draw",
    "DrawKind",
    "Entry",
    "EntryMember",
    "EntryScore",
    "EntryStatus",
    "Event",
    "EventTransition",
    "Judge",
    "JudgeConflict",
    "LoginSession",
    "MarkEvent",
    "MarkKind",
    "MarkingScheme",
    "PanelMember",
    "PanelRole",
    "Person",
    "ReviewCode",
    "Role",
    "RoleAssignment",
    "RulePreset",
    "RulePresetVersion",
    "SchemeCriterion",
    "SchemeModule",
    "SelectionLink",
    "Unit",
    "UnitKind",
    "UnitQuota",
    "Unsealing",
    "User",
]
