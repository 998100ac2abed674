"""The one mechanism that records who read or changed which patient's data.

Features call `record_event` (one patient) or `record_reads` (a page that lists many).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.http import HttpRequest

from accounts.models import User
from recovery.models import AuditEvent, Patient


@dataclass(frozen=True)
class AuditContext:
    """Where a request came from, carried into services so they need not know about HTTP."""

    actor: User | None
    request_id: str = ""
    ip: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: HttpRequest) -> "AuditContext":
        request = getattr(request, "_request", request)  # a DRF Request wraps Django's
        user = request.user if request.user.is_authenticated else None
        return cls(
            actor=user, request_id=getattr(request, "request_id", ""), ip=request.META.get("REMOTE_ADDR") or None
        )

    @classmethod
    def system(cls, process: str) -> "AuditContext":
        return cls(actor=None, extra={"process": process})


def _event(context: AuditContext, action: str, patient: Patient | None, detail: dict | None) -> AuditEvent:
    actor = context.actor
    return AuditEvent(
        actor=actor,
        actor_username=actor.get_username() if actor else context.extra.get("process", "system"),
        patient=patient,
        action=action,
        request_id=context.request_id,
        ip=context.ip,
        detail={**context.extra, **(detail or {})},
    )


def record_event(
    *, context: AuditContext, action: str, patient: Patient | None = None, detail: dict | None = None
) -> AuditEvent:
    event = _event(context, action, patient, detail)
    event.save()
    return event


def record_reads(*, context: AuditContext, action: str, patients: Iterable[Patient]) -> None:
    """One row per patient shown, written in a single query."""
    AuditEvent.objects.bulk_create([_event(context, action, patient, None) for patient in patients])
