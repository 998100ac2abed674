"""A real Celery worker (and beat) in separate processes, talking to a real Redis and to the test database.

The data must be committed for the worker to see it, hence `transactional_db`. The worker is pointed at the
very database this test process uses, so a Heartbeat row it writes is visible here.
"""

import pytest
import redis

from recovery.celery import app as celery_app
from recovery.models import Heartbeat
from tests.celery_processes import outputs, start_celery_fixture, start_worker, wait_for  # noqa: F401 (a fixture)

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
