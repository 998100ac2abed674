"""The Celery app. Beat only wakes tasks up; the database holds the state.

Every periodic task is declared here, in BEAT_SCHEDULE, and nowhere else.
"""

import os
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")

app = Celery("recovery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["recovery", "accounts"])

# Queues. The cohort dashboard's figures are computed on "analytics" (seconds at tens of thousands of patients),
# so that a deployment can give them workers of their own (`celery -A recovery worker -Q analytics`) and keep
# the default queue's reminders, alerts and imports moving; a worker started without -Q consumes both (as
# `make run` and the release smoke test start it).
DEFAULT_QUEUE = "celery"
ANALYTICS_QUEUE = "analytics"
app.conf.task_default_queue = DEFAULT_QUEUE
app.conf.task_queues = tuple(Queue(name, Exchange(name), routing_key=name) for name in (DEFAULT_QUEUE, ANALYTICS_QUEUE))
app.conf.task_routes = {"recovery.tasks.refresh_analytics_snapshot": {"queue": ANALYTICS_QUEUE}}


def _beat_schedule() -> dict:
    from django.conf import settings

    return {
        "record-heartbeat": {
            "task": "recovery.tasks.record_heartbeat",
            "schedule": timedelta(seconds=settings.HEARTBEAT_INTERVAL_SECONDS),
        },
        # Due reminders and messages: the rows say what is due; this only wakes the dispatcher.
        "wake-dispatcher": {
            "task": "recovery.tasks.wake_dispatcher",
            "schedule": timedelta(seconds=settings.NOTIFY_DISPATCH_INTERVAL_SECONDS),
            "options": {"expires": settings.NOTIFY_DISPATCH_INTERVAL_SECONDS},
        },
        # Patients whose reminders a write marked for re-planning (their after-commit wake-up was lost).
        "plan-stale-reminders": {
            "task": "recovery.tasks.plan_stale_reminders",
            "schedule": timedelta(seconds=settings.NOTIFY_DISPATCH_INTERVAL_SECONDS),
            "options": {"expires": settings.NOTIFY_DISPATCH_INTERVAL_SECONDS},
        },
        # Patients whose stored outcome summary a write marked (their after-commit wake-up was lost).
        "refresh-stale-outcomes": {
            "task": "recovery.tasks.refresh_stale_outcomes",
            "schedule": timedelta(minutes=1),
            "options": {"expires": 60},
        },
        # Every stored outcome summary, in batches: the date they are computed for moves on each day.
        "refresh-all-outcomes": {
            "task": "recovery.tasks.refresh_all_outcomes",
            "schedule": crontab(minute=15, hour=0),
            "options": {"expires": 12 * 3600},
        },
        # Patients whose stored vaccination plan a write marked (a lost wake-up), or who have none yet.
        "refresh-stale-vaccinations": {
            "task": "recovery.tasks.refresh_stale_vaccinations",
            "schedule": timedelta(minutes=1),
            "options": {"expires": 60},
        },
        # Lab CSV imports whose after-commit wake-up was lost, or whose worker died mid-way.
        "resume-lab-imports": {
            "task": "recovery.tasks.resume_lab_imports",
            "schedule": timedelta(minutes=1),
            "options": {"expires": 60},
        },
        # FHIR bulk exports whose wake-up was lost or whose worker died; exports past their retention deleted.
        "sweep-bulk-exports": {
            "task": "recovery.tasks.sweep_bulk_exports",
            "schedule": timedelta(minutes=1),
            "options": {"expires": 60},
        },
        # The planning dispatcher: the patients whose planning horizon needs extending, in batch tasks.
        "plan-reminders": {
            "task": "recovery.tasks.plan_reminders_due",
            "schedule": timedelta(seconds=settings.REMINDER_PLAN_INTERVAL_SECONDS),
            "options": {"expires": settings.REMINDER_PLAN_INTERVAL_SECONDS},
        },
        # The stored current phase of the patients whose phase may have moved since (a date reached, a new day,
        # a new centre configuration); the lists compute any row not yet refreshed exactly, only slower.
        "refresh-due-phases": {
            "task": "recovery.tasks.refresh_due_phases",
            "schedule": crontab(minute=5),
            "options": {"expires": 3600},
        },
        # Delayed engraftment (D+21) and possible graft failure (D+30): once a day; raising is idempotent.
        "check-engraftment": {
            "task": "recovery.tasks.check_engraftment",
            "schedule": crontab(minute=0, hour=5),
            "options": {"expires": 6 * 3600},
        },
        # Retention (docs/operations.md): erase deactivated patients whose record is past RETENTION_YEARS.
        # Audit rows are append-only and never deleted by it.
        "erase-expired-records": {
            "task": "recovery.tasks.erase_expired_records",
            "schedule": crontab(minute=30, hour=3),
            "options": {"expires": 12 * 3600},
        },
    }


@app.on_after_configure.connect
def _configure_beat(sender: Celery, **kwargs) -> None:
    sender.conf.beat_schedule = _beat_schedule()
