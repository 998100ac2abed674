"""Reminder delivery throughput through a real Celery worker, next to the bare Celery task rate.

    .venv/bin/python bench/reminders.py [--count 100000] [--noop-count 20000]

Uses DATABASE_URL and CELERY_BROKER_URL from the environment; by default the PostgreSQL database
`recovery_bench` on 127.0.0.1 (created and migrated if needed; its reminder rows are replaced) and Redis
database 14 (emptied). It creates `--count` due in-app reminders in bulk (in-app delivery is the no-op
channel: it only marks the row sent), starts `celery -A recovery worker` (prefork, concurrency 2), wakes
the dispatcher as beat would and times the run until every row is sent. Then, on the same worker, it times
`--noop-count` `recovery.tasks.noop` tasks already waiting in the queue, which is the most this machine's
Celery setup can do. Both rates are printed.
"""

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/recovery_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
# DEBUG off: with it on, Django keeps every query of a worker in memory and slows it down.
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-to-serve-anything-0123456789")
# No message leaves the bench: text messages and e-mail are switched off (DEBUG off asks for a choice).
os.environ.setdefault("SMS_BACKEND", "disabled")
os.environ.setdefault("EMAIL_BACKEND", "disabled")
os.environ.setdefault("RESEARCH_PSEUDONYM_KEY", "bench-only-pseudonym-key-0123456789abcdef")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")
os.environ.pop("CELERY_BROKER_WRITE_URL", None)
os.environ.pop("CELERY_BROKER_READ_URL", None)

import django  # noqa: E402 (the environment above comes first)

django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Centre, Role, User  # noqa: E402
from recovery.celery import app  # noqa: E402
from recovery.models import Audience, Channel, Notification, NotificationKind, NotificationStatus, Patient  # noqa: E402
from recovery.queries.reminders import dedupe_key  # noqa: E402

PATIENTS = 200
WAKE_EVERY_SECONDS = 5
DEADLINE_SECONDS = 1800


def ensure_database() -> None:
    """Create the bench database if it does not exist, then migrate it."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    params = {"host": db["HOST"] or "localhost", "port": db["PORT"] or 5432, "user": db["USER"], "dbname": "postgres"}
    if db["PASSWORD"]:
        params["password"] = db["PASSWORD"]
    with psycopg.connect(**params, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0, interactive=False)


def create_due_reminders(count: int) -> None:
    """`count` in-app temperature check-ins due now, spread over PATIENTS patients with logins."""
    with connection.cursor() as cursor:  # the bench database's own rows: TRUNCATE is much faster than DELETE
        cursor.execute(f"TRUNCATE {Notification._meta.db_table}")
    centre, _ = Centre.objects.get_or_create(name="Benchmark Centre")
    Patient.objects.filter(centre=centre).delete()
    User.objects.filter(username__startswith="bench-patient-").delete()
    users = User.objects.bulk_create(
        User(username=f"bench-patient-{n}", role=Role.PATIENT, password="!") for n in range(PATIENTS)
    )
    patients = Patient.objects.bulk_create(
        Patient(
            centre=centre,
            user=user,
            first_name="Bench",
            last_name=f"Patient {n}",
            date_of_birth=date(1980, 1, 1),
            hospital_number=f"B{n:06d}",
        )
        for n, user in enumerate(users)
    )
    now = timezone.now()
    rows = []
    for n in range(count):
        patient = patients[n % PATIENTS]
        key = f"{NotificationKind.TEMPERATURE_CHECKIN}:bench-{n}"
        rows.append(
            Notification(
                patient=patient,
                recipient_id=patient.user_id,
                audience=Audience.PATIENT,
                kind=NotificationKind.TEMPERATURE_CHECKIN,
                channel=Channel.IN_APP,
                key=key,
                dedupe_key=dedupe_key(patient.pk, key, Channel.IN_APP, "patient"),
                due_at=now,
                next_attempt_at=now,
                local_date=now.date(),
                safety_critical=True,
            )
        )
    Notification.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE recovery_notification")


def start_worker(log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "recovery", "worker", "--pool=prefork", "--concurrency=2"]
    command += ["--without-mingle", "--without-gossip", "--loglevel=WARNING"]
    log = log_path.open("wb")
    worker = subprocess.Popen(command, cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"The worker did not start; see {log_path}.")
    return worker


def pending() -> int:
    return Notification.objects.filter(status=NotificationStatus.PENDING).count()


def dispatch_all(count: int, worker: subprocess.Popen) -> float:
    """Wake the dispatcher every WAKE_EVERY_SECONDS (as beat would) until every row is sent; the seconds taken."""
    started = time.monotonic()
    woken = float("-inf")
    while pending():
        if worker.poll() is not None:
            sys.exit("The worker died.")
        if time.monotonic() - woken >= WAKE_EVERY_SECONDS:
            app.send_task("recovery.tasks.wake_dispatcher", expires=WAKE_EVERY_SECONDS)
            woken = time.monotonic()
        if time.monotonic() - started > DEADLINE_SECONDS:
            sys.exit(f"Not done within {DEADLINE_SECONDS} s.")
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    sent = Notification.objects.filter(status=NotificationStatus.SENT, sent_at__isnull=False).count()
    if sent != count:
        sys.exit(f"{sent} of {count} reminders sent.")
    return elapsed


def run_noops(count: int, broker: redis.Redis) -> float:
    """Queue `count` no-op tasks while the worker does not consume, then time it emptying the queue."""
    app.control.cancel_consumer("celery", reply=True)
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            app.send_task("recovery.tasks.noop", producer=producer)
    started = time.monotonic()
    app.control.add_consumer("celery", reply=True)
    # Late acknowledgement: a task leaves the "unacked" hash only when it has run.
    while broker.llen("celery") or broker.hlen("unacked"):
        time.sleep(0.05)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="due reminders to send")
    parser.add_argument("--noop-count", type=int, default=20_000, help="no-op tasks for the bare Celery rate")
    options = parser.parse_args()

    load_before = os.getloadavg()[0]
    broker = redis.Redis.from_url(app.conf.broker_url)
    broker.flushdb()
    ensure_database()
    created = time.monotonic()
    create_due_reminders(options.count)
    print(f"Created {options.count} due in-app reminders in {time.monotonic() - created:.1f} s.")

    log_path = ROOT / "var" / "bench-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    worker = start_worker(log_path)
    try:
        reminders_seconds = dispatch_all(options.count, worker)
        noop_seconds = run_noops(options.noop_count, broker)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        broker.flushdb()

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Load average at the start and at the end: {load_before:.1f} and {os.getloadavg()[0]:.1f}")
    print("Worker: celery prefork, concurrency 2; PostgreSQL and Redis on the same machine")
    print(
        f"Reminders: {options.count} sent in {reminders_seconds:.1f} s = {options.count / reminders_seconds:,.0f} "
        "reminders/s"
    )
    print(
        f"Bare Celery no-op tasks: {options.noop_count} in {noop_seconds:.1f} s = "
        f"{options.noop_count / noop_seconds:,.0f} tasks/s"
    )


if __name__ == "__main__":
    main()
