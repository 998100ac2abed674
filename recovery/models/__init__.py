from .audit import AuditEvent
from .patients import MSType, Patient, PatientStatus, Sex
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
    "Sex",
    "TimelineEvent",
    "TransplantEpisode",
]
