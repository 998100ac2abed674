"""The facts the retention rule (recovery/clinical/retention.py) needs about a patient, and who is due for erasure."""

from datetime import date, datetime

from django.db.models import Count, Max, Model, Q
from django.utils import timezone

from recovery.clinical.episode import DATE_FIELDS
from recovery.clinical.retention import RecordFacts
from recovery.clinical.timeline import EventStatus
from recovery.models import (
    Alert,
    EDSSAssessment,
    EligibilityReview,
    EngraftmentConfirmation,
    LabResult,
    MRIScan,
    Patient,
    ProphylaxisStop,
    Relapse,
    SymptomReport,
    TimelineEvent,
    Transfusion,
    TransplantEpisode,
    VaccinationDose,
)

# The entries of the patient record (patientdatalagen: "journalhandling") and when each was written. Reminders,
# tasks, settings and the login are outside the record; the access log is kept by its own rule.
CLINICAL_ENTRIES: tuple[tuple[type[Model], str, str, Q], ...] = (
    (EligibilityReview, "patient", "created_at", Q()),
    (SymptomReport, "patient", "created_at", Q()),
    (Alert, "patient", "updated_at", Q()),
    (LabResult, "patient", "created_at", Q()),
    (Transfusion, "patient", "created_at", Q()),
    (EngraftmentConfirmation, "patient", "created_at", Q()),
    (VaccinationDose, "patient", "created_at", Q()),
    (ProphylaxisStop, "patient", "created_at", Q()),
    (EDSSAssessment, "patient", "created_at", Q()),
    (Relapse, "patient", "created_at", Q()),
    (MRIScan, "patient", "created_at", Q()),
    (TimelineEvent, "episode__patient", "updated_at", ~Q(status=EventStatus.PLANNED)),  # done or cancelled
)

EPISODE_DATES = DATE_FIELDS  # every date of the transplant episode


def _as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return timezone.localdate(value)
    return value


def record_facts(patient: Patient) -> RecordFacts:
    """Whether the patient started treatment, how many entries their record has and when the last was written
    (one query per kind of entry)."""
    entries, latest = 0, [_as_date(patient.created_at)]  # enrolment is the record's first entry
    for model, path, written, condition in CLINICAL_ENTRIES:
        found = model.objects.filter(condition, **{path: patient}).aggregate(n=Count("pk"), last=Max(written))
        entries += found["n"]
        if found["last"] is not None:
            latest.append(_as_date(found["last"]))
    episode = TransplantEpisode.objects.filter(patient=patient).values(*EPISODE_DATES, "updated_at").first()
    has_dates = bool(episode) and any(episode[name] for name in EPISODE_DATES)
    if has_dates:
        entries += 1
        latest.append(_as_date(episode["updated_at"]))
    return RecordFacts(
        deactivated=patient.deactivated_at is not None,
        erased=patient.erased_at is not None,
        has_transplant_dates=has_dates,
        clinical_entries=entries,
        last_entry=max(latest),
        has_login=patient.user_id is not None,
    )


def retention_candidates():
    """Deactivated patients not yet erased: the retention job asks the rule about each."""
    return Patient.objects.filter(deactivated_at__isnull=False, erased_at__isnull=True).order_by("pk")
