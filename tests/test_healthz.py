"""/healthz: the database, the broker and the age of the last heartbeat, as JSON; 200 only when all are healthy.

The test settings use kombu's filesystem broker, which is always reachable, so a fresh heartbeat is what
decides between 200 and 503 unless a test points the Celery app at a broker that is not there.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from recovery.celery import app as celery_app
from recovery.models import Heartbeat
from recovery.services.system import record_heartbeat

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def unreachable_broker(monkeypatch):
    """Point the Celery app's broker at a port where nothing listens; restore it afterwards."""
    # Celery reads these environment variables before its own configuration.
    for name in ("CELERY_BROKER_URL", "CELERY_BROKER_WRITE_URL"):
        monkeypatch.delenv(name, raising=False)
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = UNREACHABLE_BROKER
    try:
        yield UNREACHABLE_BROKER
    finally:
        celery_app.conf.broker_url = original


def test_it_is_healthy_with_a_working_database_broker_and_fresh_heartbeat(client, db):
    """With the database up, the broker reachable and a heartbeat 10 s old, /healthz says 200 and "ok" for each."""
    Heartbeat.objects.create(name="beat", beat_at=timezone.now() - timedelta(seconds=10), worker="celery@test")

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert 10 <= body["heartbeat_age_seconds"] < 60
    assert body["heartbeat_max_age_seconds"] == 300


def test_it_is_not_cached(client, db):
    """A proxy or browser must never serve a stale health answer: the response forbids caching."""
    record_heartbeat()

    response = client.get("/healthz")

    assert "no-cache" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


def test_it_is_unhealthy_without_any_heartbeat(client, db):
    """Before beat and a worker have ever run, /healthz says 503 with no heartbeat age, though the rest is fine."""
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["heartbeat_age_seconds"] is None


def test_it_ignores_heartbeats_under_other_names(client, db):
    """Only the heartbeat named "beat" (the one beat schedules) counts; a fresh one under another name does not."""
    record_heartbeat(name="something-else")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["heartbeat_age_seconds"] is None


def test_it_is_healthy_with_a_heartbeat_exactly_at_the_maximum_age(client, db, settings):
    """A heartbeat exactly HEARTBEAT_MAX_AGE_SECONDS old is still acceptable: the limit is inclusive."""
    settings.HEARTBEAT_MAX_AGE_SECONDS = 120
    with time_machine.travel(timezone.now(), tick=False) as clock:
        record_heartbeat()
        clock.shift(timedelta(seconds=120))

        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["heartbeat_age_seconds"] == 120.0


def test_it_is_unhealthy_with_a_heartbeat_older_than_the_maximum_age(client, db, settings):
    """One second past HEARTBEAT_MAX_AGE_SECONDS, the heartbeat is stale: 503, reporting its age and the limit."""
    settings.HEARTBEAT_MAX_AGE_SECONDS = 120
    with time_machine.travel(timezone.now(), tick=False) as clock:
        record_heartbeat()
        clock.shift(timedelta(seconds=121))

        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["heartbeat_age_seconds"] == 121.0
    assert body["heartbeat_max_age_seconds"] == 120


def test_it_is_unhealthy_when_the_broker_cannot_be_reached(client, db, unreachable_broker):
    """With a fresh heartbeat but no broker listening, /healthz says 503 and broker "unavailable"."""
    record_heartbeat()

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["broker"] == "unavailable"
    assert body["database"] == "ok"
    assert body["heartbeat_age_seconds"] is not None


def test_it_answers_only_get(client, db):
    """/healthz is read-only: a POST is refused with 405."""
    response = client.post("/healthz")

    assert response.status_code == 405


def test_healthz_counts_messages_overdue_by_more_than_five_minutes(client, patient):
    from datetime import timedelta

    from django.utils import timezone

    from recovery.models import Notification

    now = timezone.now()
    for minutes, key in ((10, "late"), (1, "just-due")):
        Notification.objects.create(
            patient=patient,
            audience="patient",
            kind="checkin",
            channel="in_app",
            key=key,
            dedupe_key=key,
            due_at=now - timedelta(minutes=minutes),
            next_attempt_at=now - timedelta(minutes=minutes),
        )
    assert client.get("/healthz").json()["messages_overdue"] == 1
