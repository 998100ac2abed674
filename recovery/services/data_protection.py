"""Deactivation, erasure and the retention job (docs/operations.md, "Retention and erasure").

Patients are never deleted: a coordinator deactivates them (they leave every list and worklist, their
reminders stop and their login and calendar address stop working). Erasure follows the rule in
recovery/clinical/retention.py: the whole record for a patient who never started treatment or whose retention
period has ended, else only the data outside the record. Erased records leave a pseudonymised `Patient` row
behind, the key of the access log, whose rows are append-only and are never deleted here.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts.models import User
from recovery.clinical.retention import ErasureDecision, Scope, erasure_decision, expired
from recovery.models import (
    OPEN_STATUSES,
    AuditEvent,
    CareTask,
    CareTaskStatus,
    LabImport,
    Patient,
    ReminderSettings,
    Sex,
)
from recovery.queries.research import pseudonym
from recovery.queries.retention import record_facts, retention_candidates
from recovery.services.audit import AuditContext, record_event
from recovery.services.reminders.replan import request_replan

ERASED_NAME = "Erased"
ERASED_BIRTH_DATE = date(1900, 1, 1)  # the column cannot be empty; the real date is gone


@transaction.atomic
def deactivate_patient(*, context: AuditContext, patient: Patient, reason: str) -> Patient:
    """Take the patient out of the centre's lists, worklists and reminders, and stop their login and calendar
    address. Refused while an alert about them is open: someone must look at it first."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the patient is deactivated (e.g. moved to another centre)."})
    patient = Patient.objects.select_for_update().select_related("centre").get(pk=patient.pk)
    if patient.deactivated_at is not None:
        raise ValidationError(f"{patient.full_name} was already deactivated on {patient.deactivated_at:%Y-%m-%d}.")
    open_alerts = patient.alerts.filter(status__in=OPEN_STATUSES).count()
    if open_alerts:
        raise ValidationError(
            f"{patient.full_name} has {open_alerts} open alert{'s' if open_alerts > 1 else ''}: acknowledge and "
            "resolve it first (Alerts), then deactivate."
        )
    now = timezone.now()
    Patient.objects.filter(pk=patient.pk).update(deactivated_at=now, deactivation_reason=reason, calendar_token=None)
    login_disabled = bool(patient.user_id) and User.objects.filter(pk=patient.user_id).update(is_active=False) > 0
    tasks_closed = CareTask.objects.filter(patient=patient, status=CareTaskStatus.OPEN).update(
        status=CareTaskStatus.DONE, closed_at=now, closed_by=context.actor, closed_reason="The patient was deactivated."
    )
    record_event(
        context=context,
        action="patient.deactivate",
        patient=patient,
        detail={"reason": reason, "login_disabled": login_disabled, "tasks_closed": tasks_closed},
    )
    # The planner cancels every pending reminder ("The patient is deactivated.") and plans no new one.
    request_replan(patient)
    patient.refresh_from_db()
    return patient


def erasure_answer(patient: Patient, *, today: date | None = None) -> ErasureDecision:
    """What the retention rule allows for this patient today, in words."""
    return erasure_decision(
        record_facts(patient), today=today or timezone.localdate(), retention_years=settings.RETENTION_YEARS
    )


@dataclass(frozen=True)
class ErasureResult:
    scope: Scope
    reason: str
    pseudonym: str
    rows_deleted: int


def _erase_login(user_id: int | None, alias: str) -> bool:
    """The login can always go: it is outside the record. The row stays (the access log names it) with nothing
    personal left in it, and it can never sign in again."""
    if user_id is None:
        return False
    user = User.objects.get(pk=user_id)
    user.username = f"erased-{alias}"
    user.email = user.first_name = user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    return True


def _patient_relations() -> list[models.ForeignObjectRel]:
    """Every model that hangs on a patient and goes with them (the access log stays: it is append-only)."""
    return [
        relation
        for relation in Patient._meta.related_objects
        if relation.related_model is not AuditEvent and relation.on_delete is models.CASCADE
    ]


def _scrub_lab_imports(patient: Patient, replacement: str) -> int:
    """Lab import reports keep each line's hospital number (and name it in messages): replace the patient's."""
    number = patient.hospital_number.strip()
    if not number:
        return 0
    scrubbed = 0
    for lab_import in LabImport.objects.filter(centre_id=patient.centre_id).only("pk", "report").iterator():
        changed = False
        for line in lab_import.report if isinstance(lab_import.report, list) else []:
            if not isinstance(line, dict) or str(line.get("hospital_number", "")).strip().lower() != number.lower():
                continue
            line["hospital_number"] = replacement
            if isinstance(line.get("message"), str):
                line["message"] = line["message"].replace(number, replacement)
            changed = True
        if changed:
            scrubbed += LabImport.objects.filter(pk=lab_import.pk).update(report=lab_import.report)
    return scrubbed


@transaction.atomic
def erase_patient(*, context: AuditContext, patient: Patient, today: date | None = None) -> ErasureResult:
    """Erase what the retention rule allows today; refused (ValidationError with the rule's reason) when it allows
    nothing. EVERYTHING: every clinical row and the personal data, the patient row kept under a pseudonym as the
    access log's key. OUTSIDE_RECORD: the login, the reminder settings and the calendar address."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    decision = erasure_answer(patient, today=today)
    if decision.scope == Scope.NOTHING:
        raise ValidationError(decision.reason)
    alias = pseudonym(patient.uuid)
    login_erased = _erase_login(patient.user_id, alias)
    deleted = ReminderSettings.objects.filter(patient=patient).delete()[0]
    changes: dict = {"calendar_token": None}
    if decision.scope == Scope.EVERYTHING:
        for relation in _patient_relations():
            deleted += relation.related_model.objects.filter(**{relation.field.name: patient}).delete()[0]
        _scrub_lab_imports(patient, f"ERASED-{alias}")
        changes.update(
            first_name=ERASED_NAME,
            last_name=alias,
            date_of_birth=ERASED_BIRTH_DATE,
            sex=Sex.UNKNOWN,
            hospital_number=f"ERASED-{alias}",
            email="",
            phone="",
            ms_type="",
            ms_onset_date=None,
            baseline_edss=None,
            previous_treatments="",
            contact_name="",
            contact_phone="",
            user=None,
            erased_at=timezone.now(),
            deactivated_at=patient.deactivated_at or timezone.now(),
        )
    Patient.objects.filter(pk=patient.pk).update(**changes)
    record_event(
        context=context,
        action="patient.erase",
        patient=patient,
        detail={"scope": decision.scope.value, "reason": decision.reason, "rows": deleted, "login": login_erased},
    )
    return ErasureResult(scope=decision.scope, reason=decision.reason, pseudonym=alias, rows_deleted=deleted)


def erase_expired_records(*, today: date | None = None) -> list[str]:
    """The daily retention job: erase every deactivated patient whose record the rule lets go entirely (the
    retention period has ended: never on the rule's "on request" answer alone). Audit rows are never deleted: they are
    append-only, kept by their own rule. Returns the pseudonyms erased."""
    context = AuditContext.system("retention")
    erased = []
    today = today or timezone.localdate()
    for patient in retention_candidates():
        if expired(erasure_answer(patient, today=today), today):
            erased.append(erase_patient(context=context, patient=patient, today=today).pseudonym)
    return erased
