"""Stored outcome summaries (`PatientOutcomeSummary`): each transplanted patient's outcome as the cohort views
use it, computed by the same rules as a live computation (`recovery.queries.cohort.analysis_rows`, which calls
`recovery.clinical.outcomes` and `recovery.clinical.febrile_neutropenia`), so that a cohort view reads rows.

When they are computed again (the pattern of reminder re-planning, `services/reminders/replan.py`):

* A write that changes what a patient's outcome depends on (an EDSS score, a relapse or its classification, an
  MRI scan, the transplant dates, the patient's status, a temperature or an ANC result) calls
  `request_outcome_refresh` in its own transaction: it sets `Patient.outcomes_stale_since` and wakes the
  refresh once the transaction commits. A rolled-back write neither marks nor wakes anything.
* The sweep (`refresh_stale_outcome_summaries`, every minute from beat) refreshes every marked patient, so a
  wake-up lost with the broker or a worker is made good within a minute.
* Once a day every transplanted patient is refreshed in batches (`outcome_refresh_batches`): the date a
  summary is computed for moves on (a Day 0 reached, a febrile-neutropenia window closed).

A refresh locks the patients' rows, so a write that marks a patient while it computes waits for it and leaves
the mark for the next refresh; the mark is cleared only if it is the one read under the lock.

A refresh marks the stored cohort figures of the patients' centres stale (services/analytics.py).
"""

import logging
from datetime import date
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recovery.celery import app
from recovery.models import Patient, PatientOutcomeSummary
from recovery.queries.cohort_rows import CohortRow, analysis_rows
from recovery.queries.configuration import active_configs
from recovery.services.analytics import mark_snapshots_stale

logger = logging.getLogger(__name__)
REFRESH_TASK = "recovery.tasks.refresh_patient_outcome"
SWEEP_TASK = "recovery.tasks.refresh_stale_outcomes"

# The stored fields, each one a CohortRow field of the same name (besides the bookkeeping ones).
STORED_FIELDS = (
    "day0",
    "follow_up_end",
    "follow_up_months",
    "neda3_lost_on",
    "neda3_months",
    "progression_date",
    "progression_months",
    "first_relapse",
    "relapse_months",
    "mri_activity_date",
    "baseline_edss",
    "last_edss",
    "fn_status",
)
UPDATED_FIELDS = (*STORED_FIELDS, "neda3", "edss_category", "as_of", "config_version", "computed_at")


# --- marking ----------------------------------------------------------------------------------------------------


def _wake(task: str, args: list) -> None:
    try:
        app.send_task(task, args=args)
    except Exception as exc:  # the broker is down: the sweep refreshes the patients within a minute of its return
        logger.warning("Could not wake the outcome refresh (%s %s): %s", task, args, exc)


def request_outcome_refresh(patient: Patient | int) -> None:
    """Record that the patient's stored outcome needs computing again, and wake the refresh after commit
    (once per patient and transaction)."""
    patient_id = patient if isinstance(patient, int) else patient.pk
    marked = Patient.objects.filter(pk=patient_id, outcomes_stale_since__isnull=True).update(
        outcomes_stale_since=timezone.now()
    )
    connection = transaction.get_connection()
    if not marked and any(getattr(f, "refreshes", None) == patient_id for _, f, _ in connection.run_on_commit):
        return  # already marked, and this transaction already wakes the refresh for this patient
    wake = partial(_wake, REFRESH_TASK, [patient_id])
    wake.refreshes = patient_id
    transaction.on_commit(wake)


def request_outcome_refresh_many(patient_ids) -> int:
    """Mark many patients at once (a lab import, a configuration change) and wake the sweep after commit."""
    ids = sorted(set(patient_ids))
    if not ids:
        return 0
    marked = Patient.objects.filter(pk__in=ids, outcomes_stale_since__isnull=True).update(
        outcomes_stale_since=timezone.now()
    )
    transaction.on_commit(partial(_wake, SWEEP_TASK, []))
    return marked


# --- computing --------------------------------------------------------------------------------------------------


def _summary(row: CohortRow, on: date, config_version: int, now) -> PatientOutcomeSummary:
    return PatientOutcomeSummary(
        patient=row.patient,
        neda3=not row.neda3_event,
        edss_category=row.edss_category or "",
        as_of=on,
        config_version=config_version,
        computed_at=now,
        **{name: getattr(row, name) for name in STORED_FIELDS},
    )


def _store(patient_ids: list[int], on: date) -> int:
    """Compute and store the summaries of `patient_ids` as of `on` (a fixed number of queries); patients without
    a Day 0 on or before `on` have none. Returns how many were stored."""
    patients = list(
        Patient.objects.filter(pk__in=patient_ids, episode__reinfusion_date__isnull=False).select_related(
            "centre", "episode__protocol"
        )
    )
    configs = active_configs({p.centre_id for p in patients})
    rows = analysis_rows(patients, on, configs)
    now = timezone.now()
    summaries = [_summary(row, on, configs[row.patient.centre_id].version, now) for row in rows]
    PatientOutcomeSummary.objects.bulk_create(
        summaries, update_conflicts=True, unique_fields=["patient"], update_fields=list(UPDATED_FIELDS)
    )
    stored = {s.patient_id for s in summaries}
    PatientOutcomeSummary.objects.filter(patient_id__in=patient_ids).exclude(patient_id__in=stored).delete()
    # the cohort figures stored for these centres may have changed: their next view refreshes them
    mark_snapshots_stale(Patient.objects.filter(pk__in=patient_ids).values_list("centre_id", flat=True).distinct())
    return len(summaries)


def refresh_outcome_summaries(patient_ids, *, on: date | None = None) -> int:
    """Compute the stored summaries of these patients again, clearing their marks; returns how many are stored."""
    on = on or timezone.localdate()
    with transaction.atomic():
        locked = Patient.objects.select_for_update().filter(pk__in=list(patient_ids)).order_by("pk")
        marks = dict(locked.values_list("pk", "outcomes_stale_since"))
        for pk, since in marks.items():
            if since is not None:
                Patient.objects.filter(pk=pk, outcomes_stale_since=since).update(outcomes_stale_since=None)
        return _store(list(marks), on)


def refresh_outcome_summary(patient: Patient, *, on: date | None = None) -> PatientOutcomeSummary | None:
    """The patient's stored summary computed again now (None without a Day 0 that has happened)."""
    refresh_outcome_summaries([patient.pk], on=on)
    return PatientOutcomeSummary.objects.filter(patient_id=patient.pk).first()


def refresh_stale_outcome_summaries(*, limit: int | None = None) -> int:
    """The sweep: refresh the patients a write marked, oldest mark first (at most `limit`); returns how many."""
    limit = limit or settings.OUTCOME_REFRESH_BATCH_SIZE
    ids = list(
        Patient.objects.filter(outcomes_stale_since__isnull=False)
        .order_by("outcomes_stale_since", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        refresh_outcome_summaries(ids)
    return len(ids)


def outcome_refresh_batches(batch_size: int | None = None) -> list[list[int]]:
    """Every patient with a Day 0 or a stored summary, in batches of ids (the daily refresh of all)."""
    size = batch_size or settings.OUTCOME_REFRESH_BATCH_SIZE
    ids = sorted(
        set(Patient.objects.filter(episode__reinfusion_date__isnull=False).values_list("pk", flat=True))
        | set(PatientOutcomeSummary.objects.values_list("patient_id", flat=True))
    )
    return [ids[start : start + size] for start in range(0, len(ids), size)]
