"""Re-planning after commit: a write records that the patient's reminders need planning again, and the planner
is woken once the transaction commits, once per patient however many writes the transaction makes.

The record is the state and the wake-up is only a wake-up (style rules 8-10): `Patient.reminders_stale_since` is
set in the write's own transaction, so a lost wake-up (Redis or the worker down at that moment) is repaired by
the planner's sweep (`recovery.tasks.plan_stale_reminders`, every minute from beat), and a rolled-back write
neither records nor wakes anything.
"""

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone

from recovery.celery import app
from recovery.models import Patient

logger = logging.getLogger(__name__)
PLAN_TASK = "recovery.tasks.plan_patient_reminders"


def _wake_planner(patient_id: int) -> None:
    try:
        app.send_task(PLAN_TASK, args=[patient_id])
    except Exception as exc:  # the broker is down: the sweep plans the patient within a minute of its return
        logger.warning("Could not wake the planner for patient %s: %s", patient_id, exc)


def request_replan(patient: Patient) -> None:
    """Record that `patient`'s reminders need planning again, and wake the planner after commit (coalesced)."""
    marked = Patient.objects.filter(pk=patient.pk, reminders_stale_since__isnull=True).update(
        reminders_stale_since=timezone.now()
    )
    connection = transaction.get_connection()
    if not marked and any(getattr(func, "replans", None) == patient.pk for _, func, _ in connection.run_on_commit):
        return  # already marked, and this transaction already wakes the planner for this patient
    wake = partial(_wake_planner, patient.pk)
    wake.replans = patient.pk
    transaction.on_commit(wake)
