from .audit import AuditEvent
from .outcomes import MS_DOMAINS, EDSSAssessment, MRIScan, Relapse
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
    "MS_DOMAINS",
    "OPEN_STATUSES",
    "Alert",
    "AlertEvent",
    "AlertSeverity",
    "AlertStatus",
    "ApheresisSession",
    "AuditEvent",
    "CentreConfiguration",
    "EDSSAssessment",
    "EligibilityDecision",
    "EligibilityReview",
    "Heartbeat",
    "MRIScan",
    "MSType",
    "Patient",
    "PatientStatus",
    "ProtocolEvent",
    "ProtocolTemplate",
    "Relapse",
    "ResolutionAction",
    "Sex",
    "SymptomReport",
    "TimelineEvent",
    "TransplantEpisode",
]
