"""Every model, re-exported so Alembic and the app see the whole schema."""

from .accounts import LoginSession, Role, RoleAssignment, User
from .api import ApiToken
from .audit import AuditEntry
from .awards import (
    AwardGrant,
    Certificate,
    CertificateKind,
    CertificateStatus,
    GrantStatus,
    PromotionGrant,
    TitleGrant,
)
from .competitions import Competition, Event, EventTransition, SelectionLink
from .jobs import Job, JobStatus
from .judging import (
    Judge,
    JudgeConflict,
    MarkEvent,
    MarkKind,
    PanelMember,
    PanelRole,
    ReviewCode,
    TabletPairing,
    UnlockConsent,
)
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
from .results import (
    Appeal,
    AppealStatus,
    CheckOutcome,
    EntryInput,
    EntryScore,
    Holiday,
    InputKind,
    Publication,
    ResultReview,
    ReviewCheck,
)
from .schemes import MarkingScheme, SchemeCriterion, SchemeModule
from .units import Unit, UnitKind
from .unsealing import Unsealing

__all__ = [
    "ApiToken",
    "Appeal",
    "AppealStatus",
    "AuditEntry",
    "AwardGrant",
    "Certificate",
    "CertificateKind",
    "CertificateStatus",
    "CheckIn",
    "CheckOutcome",
    "Competition",
    "Draw",
    "DrawKind",
    "Entry",
    "EntryInput",
    "EntryMember",
    "EntryScore",
    "EntryStatus",
    "Event",
    "EventTransition",
    "GrantStatus",
    "Holiday",
    "InputKind",
    "Job",
    "JobStatus",
    "Judge",
    "JudgeConflict",
    "LoginSession",
    "MarkEvent",
    "MarkKind",
    "MarkingScheme",
    "PanelMember",
    "PanelRole",
    "Person",
    "PromotionGrant",
    "Publication",
    "ResultReview",
    "ReviewCheck",
    "ReviewCode",
    "Role",
    "RoleAssignment",
    "RulePreset",
    "RulePresetVersion",
    "SchemeCriterion",
    "SchemeModule",
    "SelectionLink",
    "TabletPairing",
    "TitleGrant",
    "Unit",
    "UnitKind",
    "UnitQuota",
    "UnlockConsent",
    "Unsealing",
    "User",
]
