"""One hourly reminder-planning pass through real Celery workers, at scale.

    .venv/bin/python bench/planning.py [--patients 50000] [--concurrency 2]

Uses DATABASE_URL and CELERY_BROKER_URL from the environment; by default the PostgreSQL database
`recovery_bench_planning_<N>` on 127.0.0.1 (created, migrated and seeded with `seed_demo --patients N
--transplanted` when it holds none) and Redis database 7 (emptied). It then makes every
patient need planning at once (the worst hour: no horizon stored, as after a first deployment), starts
`celery -A recovery worker` (prefork, `--concurrency` processes), runs the planning dispatcher once, as beat does
every hour (here in the bench's process; its batches go to the workers), and times until every patient it handed
out has a new horizon. It prints the time, the rate, how many patients the batches released unplanned (they would
wait for the next pass) and how many patients who need planning the pass did not reach (starved). Target (issue
15): the pass completes within 10 minutes on 2 worker processes at 50,000 transplanted patients, and nobody is
starved.
"""

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=50_000, help="transplanted patients in the data set")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--deadline", type=int, default=1800, help="give up after this many seconds")
    return parser.parse_args()


OPTIONS = _options()
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/recovery_bench_planning_{OPTIONS.patients}")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/7")
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
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from recovery.celery import app  # noqa: E402
from recovery.models import Patient  # noqa: E402
from recovery.services.reminders.horizon import needs_planning  # noqa: E402
from recovery.tasks import plan_reminders_due  # noqa: E402

POLL_SECONDS = 1.0


def ensure_data_set(patients: int) -> None:
    """Create the bench database if needed, migrate it and seed it up to `patients` transplanted patients."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("The benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    params = {"host": db["HOST"] or "localhost", "port": db["PORT"] or 5432, "user": db["USER"], "dbname": "postgres"}
    if db["PASSWORD"]:
        params["password"] = db["PASSWORD"]
    with psycopg.connect(**params, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0, interactive=False)
    have = Patient.objects.filter(episode__reinfusion_date__isnull=False).count()
    if have and have < patients:
        sys.exit(f"{db['NAME']} holds {have} transplanted patients, fewer than {patients}: drop it or name another.")
    if not have:
        print(f"Seeding {patients} transplanted patients ...", flush=True)
        started = time.monotonic()
        call_command("seed_demo", patients=patients, transplanted=True, force=True)
        print(f"Seeded in {time.monotonic() - started:.0f} s.", flush=True)


def start_worker(concurrency: int, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "recovery", "worker", "--pool=prefork"]
    command += [f"--concurrency={concurrency}", "--without-mingle", "--without-gossip", "--loglevel=WARNING"]
    log = log_path.open("wb")
    worker = subprocess.Popen(command, cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"The worker did not start; see {log_path}.")
    return worker


def main() -> None:
    load_before = os.getloadavg()[0]
    broker = redis.Redis.from_url(app.conf.broker_url)
    broker.flushdb()
    ensure_data_set(OPTIONS.patients)
    total = Patient.objects.count()
    # The worst hour: nobody has a horizon, nobody is claimed.
    Patient.objects.update(reminders_planned_until=None, reminders_plan_claimed_until=None)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE recovery_patient")
    mark = timezone.now()
    eligible = needs_planning(mark).count()
    print(f"{total} patients, of whom {eligible} in follow-up need planning (the rest are past follow-up).")

    log_path = ROOT / "var" / "bench-planning-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    worker = start_worker(OPTIONS.concurrency, log_path)
    try:
        started = time.monotonic()
        # The dispatcher's body, run here rather than by the worker (no result backend to learn its count from);
        # the batches it queues go to the worker processes, as in production.
        handed_out = plan_reminders_due()
        dispatched = time.monotonic() - started
        print(f"The dispatcher handed out {handed_out} patients in {dispatched:.1f} s.", flush=True)
        planned = 0
        while True:
            if worker.poll() is not None:
                sys.exit(f"The worker died; see {log_path}.")
            planned = Patient.objects.filter(reminders_planned_until__gt=mark).count()
            claimed = Patient.objects.filter(reminders_plan_claimed_until__gt=timezone.now()).count()
            queued = broker.llen("celery") + broker.hlen("unacked")
            if not claimed and not queued:
                break
            if time.monotonic() - started > OPTIONS.deadline:
                sys.exit(f"Not done within {OPTIONS.deadline} s: {planned} of {handed_out} planned.")
            print(f"\r  {planned} of {handed_out} planned, {time.monotonic() - started:.0f} s", end="", flush=True)
            time.sleep(POLL_SECONDS)
        elapsed = time.monotonic() - started
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=120)
        broker.flushdb()
    print()
    starved = needs_planning(timezone.now()).count()
    soft_limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Load average at the start and at the end: {load_before:.1f} and {os.getloadavg()[0]:.1f}")
    print(
        f"Worker: celery prefork, concurrency {OPTIONS.concurrency}; batches of {settings.REMINDER_PLAN_BATCH_SIZE}, "
        f"soft limit {soft_limit} s; PostgreSQL and Redis on the same machine"
    )
    print(f"Planning pass: {planned} of {handed_out} patients planned in {elapsed:.0f} s = {planned / elapsed:,.0f}/s")
    print(f"Not reached by the pass (starved until the next): {starved}")
    verdict = "PASS" if elapsed <= 600 and not starved and planned == handed_out == eligible else "FAIL"
    print(f"Target: the pass within 600 s on 2 workers, nobody starved: {verdict}")


if __name__ == "__main__":
    main()
