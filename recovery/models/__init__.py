from .audit import AuditEvent
from .patients import MSType, Patient, Sex
from .system import Heartbeat

__all__ = ["AuditEvent", "Heartbeat", "MSType", "Patient", "Sex"]
