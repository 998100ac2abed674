"""A real Celery worker (and beat) in separate processes, talking to a real Redis and to the test database.

The data must be committed for the worker to see it, hence `transactional_db`. The worker is pointed at the
very database this test process uses, so a Heartbeat row it writes is visible here.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from recovery.celery import app as celery_app
from recovery.models import Heartbeat

pytestmark = pytest.mark.services

DEADLINE_SECONDS = 30
HEARTBEAT_TASK = "recovery.tasks.record_heartbeat"


def database_url_of_test_db() -> str:
    """A DATABASE_URL for the test database this process uses (not the development one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return "sqlite:///" + str(Path(db["NAME"]).resolve())
    if connection.vendor == "postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "localhost"
        port = db["PORT"] or 5432
        return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"
    raise AssertionError(f"No DATABASE_URL recipe for {connection.vendor}")


class Service:
    """A `celery -A recovery ...` subprocess whose combined output goes to a file, for failure messages."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "recovery", *args],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def start_celery(redis_url, transactional_db, tmp_path) -> Callable[..., Service]:
    """Start `celery -A recovery <args>` against Redis and the test database; stopped at teardown."""
    started: list[Service] = []

    def start(*args: str, **extra_env: str) -> Service:
        env = {
            **os.environ,
            "CELERY_BROKER_URL": redis_url,
            "DATABASE_URL": database_url_of_test_db(),
            "DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
            "SECRET_KEY": os.environ["SECRET_KEY"],
            **extra_env,
        }
        env.pop("CELERY_BROKER_WRITE_URL", None)
        env.pop("CELERY_BROKER_READ_URL", None)
        service = Service(list(args), env, tmp_path / f"celery-{args[0]}-{len(started)}.log")
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        service.stop()


def start_worker(start_celery) -> Service:
    return start_celery("worker", "--pool=solo", "--without-mingle", "--without-gossip", "--loglevel=INFO")


def outputs(*services: Service) -> str:
    return "\n".join(f"----- {' '.join(s.process.args[3:])} -----\n{s.output()}" for s in services)


def wait_for(condition: Callable[[], object], *services: Service, what: str):
    """Poll until `condition()` is truthy; fail with the subprocesses' output at the deadline or if one dies."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        for service in services:
            if service.process.poll() is not None:
                pytest.fail(f"{what}: a Celery process exited with {service.process.returncode}.\n{outputs(*services)}")
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {DEADLINE_SECONDS} s.\n{outputs(*services)}")


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
