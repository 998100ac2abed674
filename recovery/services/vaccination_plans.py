"""Stored vaccination plans (`VaccinationPlanState`, `PlannedVaccination`): each transplanted patient's open doses
(`recovery.clinical.vaccination.open_doses`, the output of the pure rule `vaccination_plan`), so that the
coordinators' list of doses due (`recovery.queries.vaccinations.doses_due`) reads rows through an index.

When they are computed again (the pattern of the stored outcome summaries, `services/outcome_summaries.py`):

* A write that changes what a plan depends on (a dose recorded, the transplant dates, the centre's configuration)
  calls `request_vaccination_refresh` in its own transaction: it sets `Patient.vaccinations_stale_since` and wakes
  the refresh once the transaction commits. A rolled-back write neither marks nor wakes anything.
* The sweep (`refresh_stale_vaccination_plans`, every minute from beat) refreshes every marked patient, and every
  patient with a Day 0 and no stored plan yet (written around the services: an upgrade, a seed, a restore), so a
  wake-up lost with the broker or a worker is made good within a minute.
* Nothing stored depends on today's date (a dose's status follows from its dates: `OpenDose.status_on`), so there
  is no daily refresh. The patient's status and deactivation are read live by the list, not stored.

Until a patient's plan is current (marked, missing, or from another Day 0 or configuration version), the list
computes that patient live: the stored rows are never shown out of date.
"""

import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recovery.celery import app
from recovery.models import Patient, PlannedVaccination, VaccinationDose, VaccinationPlanState
from recovery.queries.configuration import active_configs
from recovery.queries.vaccinations import due_summary, open_doses_from

logger = logging.getLogger(__name__)
REFRESH_TASK = "recovery.tasks.refresh_patient_vaccinations"
SWEEP_TASK = "recovery.tasks.refresh_stale_vaccinations"


# --- marking ----------------------------------------------------------------------------------------------------


def _wake(task: str, args: list) -> None:
    try:
        app.send_task(task, args=args)
    except Exception as exc:  # the broker is down: the sweep refreshes the patients within a minute of its return
        logger.warning("Could not wake the vaccination plan refresh (%s %s): %s", task, args, exc)


def request_vaccination_refresh(patient: Patient | int) -> None:
    """Record that the patient's stored vaccination plan needs computing again, and wake the refresh after commit
    (once per patient and transaction)."""
    patient_id = patient if isinstance(patient, int) else patient.pk
    marked = Patient.objects.filter(pk=patient_id, vaccinations_stale_since__isnull=True).update(
        vaccinations_stale_since=timezone.now()
    )
    connection = transaction.get_connection()
    if not marked and any(getattr(f, "refreshes_plan", None) == patient_id for _, f, _ in connection.run_on_commit):
        return  # already marked, and this transaction already wakes the refresh for this patient
    wake = partial(_wake, REFRESH_TASK, [patient_id])
    wake.refreshes_plan = patient_id
    transaction.on_commit(wake)


def request_vaccination_refresh_many(patient_ids) -> int:
    """Mark many patients at once (a configuration change) and wake the sweep after commit."""
    ids = sorted(set(patient_ids))
    if not ids:
        return 0
    marked = Patient.objects.filter(pk__in=ids, vaccinations_stale_since__isnull=True).update(
        vaccinations_stale_since=timezone.now()
    )
    transaction.on_commit(partial(_wake, SWEEP_TASK, []))
    return marked


# --- computing --------------------------------------------------------------------------------------------------


def _store(patient_ids: list[int]) -> int:
    """Compute and store the plans of `patient_ids` (a fixed number of queries); a patient without Day 0 has none.
    Returns how many plans were stored."""
    patients = list(
        Patient.objects.filter(pk__in=patient_ids, episode__reinfusion_date__isnull=False).select_related("episode")
    )
    given: dict[int, list] = {p.pk: [] for p in patients}
    for patient_id, vaccine, dose, on in VaccinationDose.objects.filter(patient_id__in=list(given)).values_list(
        "patient_id", "vaccine", "dose", "given_date"
    ):
        given[patient_id].append((vaccine, dose, on))
    configs = active_configs({p.centre_id for p in patients})
    now = timezone.now()
    states, rows = [], []
    for patient in patients:
        day0, config = patient.episode.reinfusion_date, configs[patient.centre_id]
        doses = open_doses_from(day0, given[patient.pk], config.vaccination)
        first_due, first_overdue = due_summary(doses)
        states.append(
            VaccinationPlanState(
                patient=patient,
                day0=day0,
                config_version=config.version,
                computed_at=now,
                done=not doses,
                first_due=first_due,
                first_overdue=first_overdue,
            )
        )
        rows += [
            PlannedVaccination(
                patient=patient,
                centre_id=patient.centre_id,
                vaccine=d.vaccine,
                dose=d.dose,
                due_date=d.due_date,
                due_until=d.due_until,
            )
            for d in doses
        ]
    PlannedVaccination.objects.filter(patient_id__in=patient_ids).delete()
    PlannedVaccination.objects.bulk_create(rows, batch_size=2000)
    VaccinationPlanState.objects.bulk_create(
        states,
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=["day0", "config_version", "computed_at", "done", "first_due", "first_overdue"],
        batch_size=2000,
    )
    VaccinationPlanState.objects.filter(patient_id__in=patient_ids).exclude(patient_id__in=list(given)).delete()
    return len(states)


def refresh_vaccination_plans(patient_ids) -> int:
    """Compute the stored plans of these patients again, clearing their marks; returns how many are stored.

    The patients' rows are locked, so a write that marks a patient while this computes waits for it and leaves the
    mark for the next refresh: a mark is cleared only if it is the one read under the lock."""
    with transaction.atomic():
        locked = Patient.objects.select_for_update().filter(pk__in=list(patient_ids)).order_by("pk")
        marks = dict(locked.values_list("pk", "vaccinations_stale_since"))
        for pk, since in marks.items():
            if since is not None:
                Patient.objects.filter(pk=pk, vaccinations_stale_since=since).update(vaccinations_stale_since=None)
        return _store(list(marks))


def patients_to_refresh(limit: int) -> list[int]:
    """The sweep's patients: the marked ones, oldest mark first, then those with a Day 0 and no stored plan."""
    ids = list(
        Patient.objects.filter(vaccinations_stale_since__isnull=False)
        .order_by("vaccinations_stale_since", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if len(ids) < limit:
        missing = Patient.objects.filter(episode__reinfusion_date__isnull=False, vaccination_plan__isnull=True)
        ids += list(missing.exclude(pk__in=ids).order_by("pk").values_list("pk", flat=True)[: limit - len(ids)])
    return ids


def refresh_stale_vaccination_plans(*, limit: int | None = None) -> int:
    """The sweep: refresh the patients `patients_to_refresh` names (at most `limit`); returns how many."""
    ids = patients_to_refresh(limit or settings.VACCINATION_REFRESH_BATCH_SIZE)
    if ids:
        refresh_vaccination_plans(ids)
    return len(ids)


def vaccination_refresh_batches(batch_size: int | None = None, *, patient_ids=None) -> list[list[int]]:
    """Every patient with a Day 0 or a stored plan (or those of `patient_ids`), in batches of ids (rebuild all)."""
    size = batch_size or settings.VACCINATION_REFRESH_BATCH_SIZE
    with_day0 = Patient.objects.filter(episode__reinfusion_date__isnull=False)
    stored = VaccinationPlanState.objects.all()
    if patient_ids is not None:
        with_day0, stored = with_day0.filter(pk__in=list(patient_ids)), stored.filter(patient_id__in=list(patient_ids))
    ids = sorted(set(with_day0.values_list("pk", flat=True)) | set(stored.values_list("patient_id", flat=True)))
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def rebuild_vaccination_plans(*, patient_ids=None, batch_size: int | None = None, progress=None) -> int:
    """Compute every stored plan now (or those of `patient_ids`), batch by batch; returns how many are stored."""
    stored = 0
    for ids in vaccination_refresh_batches(batch_size, patient_ids=patient_ids):
        stored += refresh_vaccination_plans(ids)
        if progress is not None:
            progress(len(ids))
    return stored
