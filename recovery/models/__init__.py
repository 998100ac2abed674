from .audit import AuditEvent
from .patients import MSType, Patient, PatientStatus, Sex
from .symptoms import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertSeverity,
    AlertStatus,
    ResolutionAction,
    SymptomReport,
)
from .system import Heartbeat
from .transplant import (
    ApheresisSession,
    CentreConfiguration,
    EligibilityDecision,
    EligibilityReview,
    ProtocolEvent,
    ProtocolTemplate,
    TimelineEvent,
    TransplantEpisode,
)

__all__ = [
    "OPEN_STATUSES",
    "Alert",
    "AlertEvent",
    "AlertSeverity",
    "AlertStatus",
    "ApheresisSession",
    "AuditEvent",
    "CentreConfiguration",
    "EligibilityDecision",
    "EligibilityReview",
    "Heartbeat",
    "MSType",
    "Patient",
    "PatientStatus",
    "ProtocolEvent",
    "ProtocolTemplate",
    "ResolutionAction",
    "Sex",
    "SymptomReport",
    "TimelineEvent",
    "TransplantEpisode",
]
