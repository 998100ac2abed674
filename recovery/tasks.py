"""Thin Celery tasks: take ids, call a service. Beat only wakes them (see recovery/celery.py)."""

import math

from celery import shared_task
from django.conf import settings

from recovery.models import Patient
from recovery.queries.reminders import due_count
from recovery.services.analytics import refresh_snapshot
from recovery.services.bulk_export import delete_expired_exports, exports_to_resume
from recovery.services.bulk_export import run_bulk_export as run_bulk_export_service
from recovery.services.data_protection import erase_expired_records
from recovery.services.engraftment import check_engraftment_alerts
from recovery.services.lab_import import imports_to_resume
from recovery.services.lab_import import run_lab_import as run_lab_import_service
from recovery.services.outcome_summaries import (
    outcome_refresh_batches,
    refresh_outcome_summaries,
    refresh_stale_outcome_summaries,
)
from recovery.services.phases import refresh_due_phases as refresh_due_phases_service
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.reminders.horizon import batches, claim_patients_to_plan, plan_batch
from recovery.services.reminders.planning import plan_reminders, plan_stale_reminders
from recovery.services.system import record_heartbeat as record_heartbeat_service
from recovery.services.vaccination_plans import refresh_stale_vaccination_plans, refresh_vaccination_plans


@shared_task(name="recovery.tasks.record_heartbeat", bind=True)
def record_heartbeat(self) -> None:
    record_heartbeat_service(worker=self.request.hostname or "")


@shared_task(name="recovery.tasks.wake_dispatcher")
def wake_dispatcher() -> int:
    """Start as many dispatchers as the due rows need (at most NOTIFY_MAX_PARALLEL); returns how many.

    Each dispatcher claims its own rows, so two beats (or a wake-up while the last one is still busy)
    only start dispatchers that find less to do.
    """
    due = due_count()
    if not due:
        return 0
    count = min(settings.NOTIFY_MAX_PARALLEL, math.ceil(due / settings.NOTIFY_BATCH_SIZE))
    for _ in range(count):
        dispatch_notifications.delay()
    return count


@shared_task(name="recovery.tasks.dispatch_notifications")
def dispatch_notifications() -> dict:
    result = dispatch_due()
    return {"claimed": result.claimed, "sent": result.sent, "failed": result.failed, "retried": result.retried}


@shared_task(name="recovery.tasks.plan_reminders_due")
def plan_reminders_due() -> int:
    """The planning dispatcher: claim the patients whose planning horizon needs extending (soonest first) and
    enqueue them in batches that any number of workers share; returns how many patients it handed out."""
    ids = claim_patients_to_plan()
    for batch in batches(ids):
        plan_reminder_batch.delay(batch)
    return len(ids)


@shared_task(name="recovery.tasks.plan_reminder_batch")
def plan_reminder_batch(patient_ids: list[int]) -> dict:
    """Plan a batch of patients and record their new horizons (a batch that dies is handed out again)."""
    result = plan_batch(patient_ids)
    return {"planned": result.planned, "failed": result.failed, "released": result.released}


@shared_task(name="recovery.tasks.plan_patient_reminders")
def plan_patient_reminders(patient_id: int) -> int:
    patient = Patient.objects.select_related("centre").filter(pk=patient_id).first()
    return plan_reminders(patient).created if patient else 0


@shared_task(name="recovery.tasks.plan_stale_reminders")
def plan_stale_reminders_task() -> int:
    """The sweep: plan every patient a write marked (a lost after-commit wake-up is made good here)."""
    return plan_stale_reminders()


@shared_task(name="recovery.tasks.refresh_patient_outcome")
def refresh_patient_outcome(patient_id: int) -> int:
    """The after-commit wake-up of one patient's stored outcome summary; returns 1 if one is stored."""
    return refresh_outcome_summaries([patient_id])


@shared_task(name="recovery.tasks.refresh_stale_outcomes")
def refresh_stale_outcomes() -> int:
    """The sweep: refresh the stored outcomes of the patients a write marked (a lost wake-up is made good here)."""
    return refresh_stale_outcome_summaries()


@shared_task(name="recovery.tasks.refresh_outcome_batch")
def refresh_outcome_batch(patient_ids: list[int]) -> int:
    return refresh_outcome_summaries(patient_ids)


@shared_task(name="recovery.tasks.refresh_all_outcomes")
def refresh_all_outcomes() -> int:
    """The daily refresh of every stored outcome (the date they are computed for moves on): one task per batch,
    so that any number of workers share it. Returns the number of batches."""
    batches = outcome_refresh_batches()
    for ids in batches:
        refresh_outcome_batch.delay(ids)
    return len(batches)


@shared_task(name="recovery.tasks.refresh_analytics_snapshot")
def refresh_analytics_snapshot(snapshot_id: int) -> bool:
    """Compute a cohort dashboard's stored figures again (routed to the "analytics" queue, recovery/celery.py);
    returns False when the snapshot was not claimed (already refreshed)."""
    return refresh_snapshot(snapshot_id=snapshot_id) is not None


@shared_task(name="recovery.tasks.refresh_patient_vaccinations")
def refresh_patient_vaccinations(patient_id: int) -> int:
    """The after-commit wake-up of one patient's stored vaccination plan; returns 1 if one is stored."""
    return refresh_vaccination_plans([patient_id])


@shared_task(name="recovery.tasks.refresh_stale_vaccinations")
def refresh_stale_vaccinations() -> int:
    """The sweep: refresh the stored vaccination plans a write marked, and those not computed yet."""
    return refresh_stale_vaccination_plans()


@shared_task(name="recovery.tasks.refresh_due_phases")
def refresh_due_phases() -> int:
    """Store the current phase again for the patients whose phase may have moved; returns how many."""
    return refresh_due_phases_service()


@shared_task(name="recovery.tasks.check_engraftment")
def check_engraftment() -> int:
    """Raise the delayed-engraftment and possible-graft-failure alerts that are due; returns how many."""
    return len(check_engraftment_alerts())


@shared_task(name="recovery.tasks.run_lab_import")
def run_lab_import(import_id: int, language: str | None = None) -> str:
    """Import a stored lab CSV (all or nothing), its report in `language`; returns its status ("" when another
    worker has it)."""
    lab_import = run_lab_import_service(import_id, language=language)
    return lab_import.status if lab_import else ""


@shared_task(name="recovery.tasks.resume_lab_imports")
def resume_lab_imports() -> int:
    """The sweep: start the imports whose wake-up was lost or whose worker died; returns how many."""
    ids = imports_to_resume()
    for import_id in ids:
        run_lab_import.delay(import_id)
    return len(ids)


@shared_task(name="recovery.tasks.run_bulk_export")
def run_bulk_export(export_id: int) -> str:
    """Write a FHIR bulk $export from its cursor; returns its status ("" when another worker holds it, or when
    out of time it handed itself on)."""
    export = run_bulk_export_service(export_id)
    return export.status if export else ""


@shared_task(name="recovery.tasks.sweep_bulk_exports")
def sweep_bulk_exports() -> int:
    """The sweep: start the exports whose wake-up was lost or whose worker died, and delete those past their
    retention; returns how many it started."""
    delete_expired_exports()
    ids = exports_to_resume()
    for export_id in ids:
        run_bulk_export.delay(export_id)
    return len(ids)


@shared_task(name="recovery.tasks.erase_expired_records")
def erase_expired_records_task() -> int:
    """The retention job: erase deactivated patients whose retention period has ended; returns how many."""
    return len(erase_expired_records())


@shared_task(name="recovery.tasks.noop")
def noop() -> None:
    """Does nothing: the benchmark's measure of the bare Celery task rate on this machine."""
