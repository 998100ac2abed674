"""A real Celery worker (and beat) in separate processes, talking to a real Redis and to the test database.

The data must be committed for the worker to see it, hence `transactional_db`. The worker is pointed at the
very database this test process uses, so a Heartbeat row it writes is visible here.
"""

import json
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
import redis

from recovery.celery import app as celery_app
from recovery.models import (
    Heartbeat,
    Notification,
    NotificationKind,
    Patient,
    PatientOutcomeSummary,
    ProtocolTemplate,
)
from recovery.queries.timeline import patient_today
from recovery.services.audit import AuditContext
from recovery.services.outcomes import record_edss
from recovery.services.timeline import save_episode
from tests.celery_processes import outputs, start_celery_fixture, start_worker, wait_for  # noqa: F401 (a fixture)
from tests.factories import CentreFactory, PatientFactory

pytestmark = pytest.mark.services(needs="a real Redis and Celery worker and beat processes")

HEARTBEAT_TASK = "recovery.tasks.record_heartbeat"


def test_a_heartbeat_task_sent_through_redis_is_run_by_a_worker(start_celery, redis_url):
    """A record_heartbeat task published to Redis waits in the queue, and a real worker then runs it:
    the "beat" Heartbeat row appears, written by that worker."""
    assert not Heartbeat.objects.filter(name="beat").exists()

    with celery_app.connection_for_write(redis_url) as conn:
        result = celery_app.send_task(HEARTBEAT_TASK, connection=conn)
    queue = redis.Redis.from_url(redis_url)
    assert queue.llen("celery") == 1, "the task message is not waiting in Redis's default queue"

    worker = start_worker(start_celery)
    heartbeat = wait_for(
        lambda: Heartbeat.objects.filter(name="beat").first(), worker, what="The worker recording the heartbeat"
    )

    assert heartbeat.worker.startswith("celery@"), outputs(worker)
    assert queue.llen("celery") == 0, outputs(worker)
    wait_for(lambda: result.id in worker.output(), worker, what="The worker logging the task id")


def test_beat_schedules_heartbeats_that_the_worker_records(start_celery, tmp_path):
    """With HEARTBEAT_INTERVAL_SECONDS=1, beat publishes record_heartbeat every second and the worker runs each:
    the heartbeat time moves on at least twice."""
    worker = start_worker(start_celery)
    beat = start_celery(
        "beat", f"--schedule={tmp_path / 'celerybeat-schedule'}", "--loglevel=INFO", HEARTBEAT_INTERVAL_SECONDS="1"
    )
    seen = set()

    def two_distinct_heartbeats() -> bool:
        beat_at = Heartbeat.objects.filter(name="beat").values_list("beat_at", flat=True).first()
        if beat_at is not None:
            seen.add(beat_at)
        return len(seen) >= 2

    wait_for(two_distinct_heartbeats, worker, beat, what="Two heartbeats scheduled by beat and run by the worker")
    assert HEARTBEAT_TASK in beat.output(), outputs(beat)


# --- re-planning after commit (recovery/services/reminders/replan.py) ----------------------------------------


@contextmanager
def publishing_to(url: str):
    """This test process publishes to `url` (the worker's Redis) instead of the settings' broker."""
    before = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    celery_app._pool = None  # forget the pooled connections to the other broker
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        celery_app.conf.broker_url = before
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def _transplanted_without_planning(centre) -> Patient:
    """A patient whose Day 0 was three days ago, saved through the service (which only marks the patient)."""
    patient = PatientFactory(centre=centre)
    day0 = patient_today(patient) - timedelta(days=3)
    fields = {
        "protocol": ProtocolTemplate.objects.get(code="cy_atg"),
        "conditioning_start_date": day0 - timedelta(days=5),
        "reinfusion_date": day0,
    }
    save_episode(context=AuditContext.system("tests"), patient=patient, fields=fields)
    return patient


def _temperature_reminders(patient):
    return Notification.objects.filter(patient=patient, kind=NotificationKind.TEMPERATURE_CHECKIN)


def test_a_committed_write_wakes_a_real_worker_that_plans_the_patients_reminders(start_celery, redis_url):
    """Saving the transplant plans nothing itself; its commit publishes one wake-up, and a real worker plans."""
    centre = CentreFactory()
    with publishing_to(redis_url):
        patient = _transplanted_without_planning(centre)
    assert not _temperature_reminders(patient).exists()
    assert Patient.objects.get(pk=patient.pk).reminders_stale_since is not None
    # after commit, one wake-up each: the reminder planner, the stored outcome's and the vaccination plan's refresh
    queued = [json.loads(m)["headers"]["task"] for m in redis.Redis.from_url(redis_url).lrange("celery", 0, -1)]
    assert sorted(queued) == [
        "recovery.tasks.plan_patient_reminders",
        "recovery.tasks.refresh_patient_outcome",
        "recovery.tasks.refresh_patient_vaccinations",
    ]

    worker = start_worker(start_celery)
    wait_for(lambda: _temperature_reminders(patient).exists(), worker, what="The worker planning the reminders")
    wait_for(lambda: Patient.objects.get(pk=patient.pk).reminders_stale_since is None, worker, what="The mark cleared")


def test_the_sweep_plans_a_patient_whose_wake_up_was_lost(start_celery, redis_url):
    """With the wake-up lost, beat's sweep task (sent here as beat sends it) plans the marked patient."""
    with publishing_to("memory://"):  # an in-process broker that no worker reads: the wake-up is lost
        patient = _transplanted_without_planning(CentreFactory())
    assert redis.Redis.from_url(redis_url).llen("celery") == 0
    assert Patient.objects.get(pk=patient.pk).reminders_stale_since is not None
    with celery_app.connection_for_write(redis_url) as conn:
        celery_app.send_task("recovery.tasks.plan_stale_reminders", connection=conn)
    worker = start_worker(start_celery)
    wait_for(lambda: _temperature_reminders(patient).exists(), worker, what="The sweep planning the reminders")


def test_a_committed_edss_wakes_a_real_worker_that_refreshes_the_stored_outcome(start_celery, redis_url):
    """An EDSS score only marks the patient; its commit wakes the refresh, and a real worker stores the outcome
    (services/outcome_summaries.py); a lost wake-up is made good by beat's sweep."""
    with publishing_to("memory://"):
        patient = _transplanted_without_planning(CentreFactory())
    day0 = patient.episode.reinfusion_date
    with publishing_to(redis_url):
        record_edss(context=AuditContext.system("tests"), patient=patient, assessed_on=day0, score=Decimal("3.5"))
    assert not PatientOutcomeSummary.objects.filter(patient=patient).exists()
    assert redis.Redis.from_url(redis_url).llen("celery") == 1
    worker = start_worker(start_celery)
    wait_for(
        lambda: PatientOutcomeSummary.objects.filter(patient=patient, baseline_edss=Decimal("3.5")).exists(),
        worker,
        what="The worker storing the outcome",
    )
    wait_for(lambda: Patient.objects.get(pk=patient.pk).outcomes_stale_since is None, worker, what="The mark cleared")

    with publishing_to("memory://"):  # the wake-up is lost
        record_edss(context=AuditContext.system("tests"), patient=patient, assessed_on=day0, score=Decimal("4.0"))
    with celery_app.connection_for_write(redis_url) as conn:
        celery_app.send_task("recovery.tasks.refresh_stale_outcomes", connection=conn)
    wait_for(
        lambda: PatientOutcomeSummary.objects.filter(patient=patient, baseline_edss=Decimal("4.0")).exists(),
        worker,
        what="The sweep storing the outcome",
    )


# --- the lab CSV import (recovery/services/lab_import.py) ------------------------------------------------------


def test_a_queued_lab_import_is_imported_by_a_real_worker(start_celery, redis_url):
    """The upload's commit publishes the import task; a real worker checks and saves the file (all of it)."""
    from django.utils import timezone

    from accounts.models import Role
    from recovery.models import LabImport, LabImportStatus, LabResult
    from recovery.services.lab_import import queue_lab_import
    from tests.factories import UserFactory

    centre = CentreFactory()
    coordinator = UserFactory(role=Role.COORDINATOR, centres=[centre])
    patient = PatientFactory(centre=centre, hospital_number="W-1")
    taken = timezone.localtime(timezone.now() - timedelta(hours=2), patient.tz)
    data = f"hospital_number,test,value,unit,collected_at\nW-1,anc,0.6,x10^9/L,{taken:%Y-%m-%d %H:%M}\n"
    with publishing_to(redis_url):
        queued = queue_lab_import(
            context=AuditContext(actor=coordinator), centre=centre, filename="w.csv", data=data.encode()
        )
    assert LabImport.objects.get(pk=queued.pk).status == LabImportStatus.QUEUED
    assert redis.Redis.from_url(redis_url).llen("celery") == 1, "one wake-up for the import, after commit"
    worker = start_worker(start_celery)
    wait_for(
        lambda: LabImport.objects.get(pk=queued.pk).status == LabImportStatus.DONE,
        worker,
        what="The worker importing the file",
    )
    assert LabResult.objects.filter(patient=patient, lab_import=queued).count() == 1
