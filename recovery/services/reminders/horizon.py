"""Planning that scales out: the planning dispatcher and its batch tasks.

Each patient's planning horizon is stored (`Patient.reminders_planned_until`, set by `plan_reminders` to now +
`REMINDER_PLAN_AHEAD_DAYS`), so the database says who needs planning, and no single task has to plan
everyone:

* **The dispatcher** (`claim_patients_to_plan`, every `REMINDER_PLAN_INTERVAL_SECONDS` from beat) selects
  the patients whose horizon needs extending - never planned, or planned more than
  `REMINDER_PLAN_REFRESH_HOURS` ago - soonest horizon first (never planned first), so whoever waits longest
  is planned first and nobody is starved however large the population. It claims them for
  `REMINDER_PLAN_LEASE_SECONDS` (`Patient.reminders_plan_claimed_until`) in one conditional UPDATE, so two
  dispatcher runs at once never hand out the same patient; the task then enqueues batches of
  `REMINDER_PLAN_BATCH_SIZE` patient ids, which any number of workers share.
* **A batch** (`plan_batch`) plans its patients one by one, each in its own transaction: planning records the
  new horizon and ends the claim. A patient whose planning fails keeps the old horizon (and is logged); a
  batch that dies leaves its patients' horizons as they were, so the next run after the lease hands them
  out again. The database is the source of truth; planning is idempotent per slot anyway.
* **Past follow-up**: patients whose Day 0 is so long ago that nothing follows from it any more
  (`recovery/clinical/follow_up.py`, from the centre's configuration) are not handed out, unless they have
  a planned appointment ahead. Withdrawn, deceased and deactivated patients are not handed out either (a
  change of status re-plans the patient at once, which cancels what was pending).

The dispatcher's queries do not grow with the number of patients: one for the centres, one for their
configuration, one UPDATE and one SELECT.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from recovery.models import Patient
from recovery.services.reminders.planning import PlanResult, patients_to_plan, plan_reminders

logger = logging.getLogger(__name__)

# soonest horizon first; never planned before anyone; then by id, so the order is total
NEED_ORDER = (F("reminders_planned_until").asc(nulls_first=True), "pk")


def needs_planning(now: datetime | None = None) -> QuerySet:
    """`planning.patients_to_plan` whose horizon needs extending and who are not claimed by a batch, most
    needed first."""
    now = now or timezone.now()
    refresh_by = now + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS, hours=-settings.REMINDER_PLAN_REFRESH_HOURS)
    return (
        patients_to_plan(now)
        .filter(Q(reminders_planned_until__isnull=True) | Q(reminders_planned_until__lte=refresh_by))
        .filter(_unclaimed(now))
        .order_by(*NEED_ORDER)
    )


def _unclaimed(now: datetime) -> Q:
    return Q(reminders_plan_claimed_until__isnull=True) | Q(reminders_plan_claimed_until__lte=now)


def claim_patients_to_plan(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Claim up to `limit` (`REMINDER_PLAN_MAX_PER_RUN`) of the patients who need planning most, for
    `REMINDER_PLAN_LEASE_SECONDS`; returns their ids, most needed first. A patient claimed by another run
    whose lease has not ended is never returned."""
    now = now or timezone.now()
    limit = settings.REMINDER_PLAN_MAX_PER_RUN if limit is None else limit
    lease = now + timedelta(seconds=settings.REMINDER_PLAN_LEASE_SECONDS)
    wanted = needs_planning(now).values("pk")[:limit]
    # The lease condition again, in the UPDATE itself: a patient another run claimed meanwhile no longer matches
    # (on PostgreSQL the UPDATE re-checks it on the row it waited for). The exact lease moment is this run's mark.
    Patient.objects.filter(pk__in=wanted).filter(_unclaimed(now)).update(reminders_plan_claimed_until=lease)
    return list(
        Patient.objects.filter(reminders_plan_claimed_until=lease).order_by(*NEED_ORDER).values_list("pk", flat=True)
    )


def batches(ids: list[int], size: int | None = None) -> list[list[int]]:
    size = size or settings.REMINDER_PLAN_BATCH_SIZE
    return [ids[start : start + size] for start in range(0, len(ids), size)]


@dataclass
class BatchResult(PlanResult):
    planned: int = 0
    failed: int = 0
    released: int = 0


def plan_batch(
    patient_ids: list[int], *, now: datetime | None = None, budget_seconds: float | None = None
) -> BatchResult:
    """Plan these patients, most needed first, each in its own transaction (planning records the horizon and
    ends the claim). Stops when the time budget (half the task's soft time limit) is spent, after one patient at
    least, and releases the claim of the rest, so the next dispatcher run hands them out at once."""
    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT / 2 if budget_seconds is None else budget_seconds
    started = time.monotonic()
    result = BatchResult()
    patients = Patient.objects.filter(pk__in=list(patient_ids)).select_related("centre").order_by(*NEED_ORDER)
    left = list(patients)
    while left:
        if (result.planned or result.failed) and time.monotonic() - started > budget:
            result.released = Patient.objects.filter(pk__in=[p.pk for p in left]).update(
                reminders_plan_claimed_until=None
            )
            break
        patient = left.pop(0)
        try:
            planned = plan_reminders(patient, now=now)
        except Exception:  # one patient's failure must not starve the rest of the batch; they are planned again
            logger.exception("Planning the reminders of patient %s failed; the next run tries again.", patient.pk)
            result.failed += 1
            continue
        result.planned += 1
        result.created += planned.created
        result.updated += planned.updated
        result.cancelled += planned.cancelled
        result.restored += planned.restored
    return result
