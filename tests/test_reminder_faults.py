"""Faults that must neither lose a reminder nor send one twice (issue 5).

Real PostgreSQL, a real redis-server of each test's own (so that it may be killed and restarted without
touching anyone else's) and real `celery -A recovery worker/beat` processes. Each test commits due
reminder rows (in-app, and SMS through a test double of the provider, `tests/fault_backends.py`) and then
checks that every one of them is recorded as sent exactly once:

* every row is `sent` with `sent_at` set (but for the one whose sending always fails: `failed`), and there
  is no row besides those the test made;
* in-app delivery *is* the row's UPDATE to `sent`, conditional on its claim, so it cannot happen twice;
* the provider received every SMS reference. Only a worker killed between the provider's answer and the
  database's record of it can cause a repeat; that repeat carries the same reference, which the HTTP
  backend sends as the `Idempotency-Key` header, so a real provider drops it.

The dispatcher runs with short timings so that each fault plays out in seconds: a 5 s lease, 1 s backoff,
3 attempts, a wake-up every 2 s, batches of 20 and tasks that stop after 1 s of work (so that the work
is spread over many tasks, and a lost task or a dead worker matters).

The week across each clock change and the batch that outlives its lease are in
tests/test_reminder_clock_and_lease.py.
"""

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from recovery.models import Audience, Channel, Notification, NotificationKind, NotificationStatus, Patient
from recovery.queries.reminders import dedupe_key
from tests.celery_processes import Launcher, PrivateRedis, Service, outputs, start_worker, wait_for
from tests.factories import CentreFactory, patient_with_login
from tests.fault_backends import UNREACHABLE_NUMBER

pytestmark = [pytest.mark.services(needs="real worker, beat and Redis processes and PostgreSQL"), pytest.mark.faults]

PHONES = ["+46700000001", "+46700000002", "+46700000003"]
DISPATCH_ENV = {
    "NOTIFY_LEASE_SECONDS": "5",
    "SMS_HTTP_TIMEOUT_SECONDS": "2",
    "EMAIL_TIMEOUT": "2",
    "NOTIFY_BACKOFF_SECONDS": "1",
    "NOTIFY_MAX_ATTEMPTS": "3",
    "NOTIFY_DISPATCH_INTERVAL_SECONDS": "2",
    "NOTIFY_BATCH_SIZE": "20",
    "NOTIFY_TASK_BUDGET_SECONDS": "1",
    "SMS_BACKEND": "tests.fault_backends.SlowFileBackend",
}
PREFORK = ("--pool=prefork", "--concurrency=2")
DONE_SECONDS = 90


# --- the cast and the due rows -----------------------------------------------------------------------------


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server on a free port with no persistence: killing it loses everything queued."""
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery(redis_server, transactional_db, tmp_path):
    """Start worker or beat processes against the private Redis and the test database, with DISPATCH_ENV."""
    launcher = Launcher(redis_server.url, tmp_path)
    sms_path = tmp_path / "sms.jsonl"

    def start(*args: str, **extra_env: str) -> Service:
        return launcher(*args, **{**DISPATCH_ENV, "SMS_FILE_PATH": str(sms_path), **extra_env})

    start.sms_path = sms_path
    start.tmp_path = tmp_path
    yield start
    launcher.stop_all(kill=True)


@pytest.fixture
def patients(transactional_db) -> list[Patient]:
    centre = CentreFactory(name="Uppsala Transplant Centre")
    return [patient_with_login(centre=centre, phone=phone) for phone in PHONES]


def make_due(patients: list[Patient], count: int, *, due_at: datetime | None = None, tag: str = "fault") -> None:
    """`count` due temperature check-ins, alternately in-app and SMS, spread over the patients.

    Claimed in id order, so every batch of 20 ends with an SMS: a batch is never over in an instant.
    """
    due_at = due_at or timezone.now()
    rows = []
    for n in range(count):
        patient = patients[n % len(patients)]
        channel = Channel.IN_APP if n % 2 == 0 else Channel.SMS
        key = f"{NotificationKind.TEMPERATURE_CHECKIN}:{tag}-{n}"
        rows.append(
            Notification(
                patient=patient,
                recipient=patient.user,
                audience=Audience.PATIENT,
                kind=NotificationKind.TEMPERATURE_CHECKIN,
                channel=channel,
                key=key,
                dedupe_key=dedupe_key(patient.pk, key, channel, "patient"),
                due_at=due_at,
                next_attempt_at=due_at,
                local_date=due_at.astimezone(patient.tz).date(),
                safety_critical=True,
            )
        )
    Notification.objects.bulk_create(rows)


def sms_references(path: Path) -> Counter:
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["reference"] for line in path.read_text().splitlines())


def pending() -> int:
    return Notification.objects.filter(status=NotificationStatus.PENDING).count()


def wait_until_all_done(*services: Service, timeout: float = DONE_SECONDS) -> None:
    wait_for(lambda: pending() == 0, *services, what="Every due reminder handled", timeout=timeout, every=0.5)


def assert_sent_exactly_once(sms_path: Path, expected: int, *, failed=frozenset(), may_repeat=frozenset()):
    """Every row sent once (except those in `failed`); an SMS repeated only if in `may_repeat`, and only once."""
    rows = list(Notification.objects.values("uuid", "channel", "status", "sent_at", "attempts"))
    assert len(rows) == expected
    not_sent = {r["uuid"] for r in rows if r["status"] != NotificationStatus.SENT}
    assert not_sent == set(failed)
    assert all(r["sent_at"] is not None for r in rows if r["status"] == NotificationStatus.SENT)
    received = sms_references(sms_path)
    sms_sent = {str(r["uuid"]) for r in rows if r["channel"] == Channel.SMS and r["status"] == NotificationStatus.SENT}
    assert set(received) == sms_sent
    repeated = {reference for reference, times in received.items() if times > 1}
    assert repeated <= {str(u) for u in may_repeat}, f"{repeated} repeated: only a dead worker's in-flight SMS may be"
    assert all(received[reference] == 2 for reference in repeated)
    return repeated


# --- the faults ------------------------------------------------------------------------------------------


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing_and_repeats_at_most_what_was_in_flight(
    celery, patients
):
    """kill -9 of a prefork worker (both pool processes) while dispatchers hold claimed rows: after a
    restart, the rows of the dead claims are claimed again when their lease ends and every row is sent.
    An SMS can be received twice only if the provider took it and the worker died before the row was
    recorded as sent; such a row was claimed at the kill, there is at most one per pool process, and the
    repeat carries the same Idempotency-Key. In-app rows are never repeated."""
    make_due(patients, 400)
    worker = start_worker(celery, *PREFORK)
    beat = celery("beat", f"--schedule={celery.tmp_path / 'beat-schedule'}", "--loglevel=INFO")

    def mid_batch() -> bool:
        claimed = Notification.objects.filter(status=NotificationStatus.PENDING, claim_token__isnull=False)
        return len(sms_references(celery.sms_path)) >= 40 and claimed.exists()

    in_flight: set = set()
    for _ in range(5):
        wait_for(mid_batch, worker, beat, what="Dispatchers in the middle of a batch", every=0.01)
        worker.kill()
        in_flight = set(
            Notification.objects.filter(status=NotificationStatus.PENDING, claim_token__isnull=False).values_list(
                "uuid", flat=True
            )
        )
        if in_flight:
            break
        # The kill fell in the gap between two batches (a batch took less time than the check and the kill):
        # nothing was claimed, so nothing was lost; start again and kill the next batch.
        worker = start_worker(celery, *PREFORK)
    assert in_flight, "the kill never landed while rows were claimed"
    assert pending() > 0

    restarted = start_worker(celery, *PREFORK)
    wait_until_all_done(restarted, beat)

    repeated = assert_sent_exactly_once(celery.sms_path, 400, may_repeat=in_flight)
    assert len(repeated) <= 2  # one per pool process
    reclaimed = Notification.objects.filter(uuid__in=in_flight)
    assert all(row.attempts >= 2 for row in reclaimed)  # claimed by the dead worker, then again


def test_a_redis_restart_without_persistence_loses_the_queued_tasks_but_no_reminder(celery, patients, redis_server):
    """Redis is killed while reminders are due and dispatcher tasks are queued, and stays down until beat
    has failed to publish a wake-up; started again empty, it has lost every queued task. That does not
    matter, since the rows say what is due: the worker reconnects, beat's next wake-up starts new
    dispatchers and every reminder is sent once."""
    make_due(patients, 400)
    worker = start_worker(celery, *PREFORK)
    beat = celery("beat", f"--schedule={celery.tmp_path / 'beat-schedule'}", "--loglevel=INFO")
    wait_for(lambda: len(sms_references(celery.sms_path)) >= 40, worker, beat, what="Sending under way", every=0.05)
    old_run = redis_server.run_id()

    redis_server.kill()
    wait_for(lambda: "Connection to broker lost" in worker.output(), worker, beat, what="The worker losing Redis")
    wait_for(lambda: "Couldn't apply scheduled task" in beat.output(), worker, beat, what="A wake-up lost with Redis")
    assert pending() > 0
    redis_server.start()

    assert redis_server.run_id() != old_run  # a new, empty server
    wait_until_all_done(worker, beat)
    assert_sent_exactly_once(celery.sms_path, 400)


def test_after_beat_was_down_for_ten_minutes_every_overdue_reminder_goes_within_two_minutes_of_its_restart(
    celery, patients
):
    """Reminders 10 minutes overdue (beat was down: nothing woke the dispatcher) wait for beat; beat
    started again with the default 60 s interval and a fresh schedule (its first wake-up a full interval
    later, the worst case) gets every one of them sent within 2 minutes."""
    make_due(patients, 200, due_at=timezone.now() - timedelta(minutes=10))
    worker = start_worker(celery, *PREFORK)
    wait_for(lambda: " ready." in worker.output(), worker, what="The worker ready")
    assert pending() == 200  # the worker alone sends nothing: beat wakes it

    beat_started = timezone.now()
    beat = celery(
        "beat",
        f"--schedule={celery.tmp_path / 'beat-schedule'}",
        "--loglevel=INFO",
        NOTIFY_DISPATCH_INTERVAL_SECONDS="60",
    )
    wait_until_all_done(worker, beat, timeout=150)

    assert_sent_exactly_once(celery.sms_path, 200)
    last_sent = Notification.objects.order_by("-sent_at").values_list("sent_at", flat=True).first()
    assert last_sent - beat_started < timedelta(minutes=2), outputs(worker, beat)


def test_two_beats_at_once_only_start_more_dispatchers_and_nothing_is_sent_twice(celery, patients):
    """Two beats (each its own schedule file) publish every wake-up twice: the dispatchers they start
    claim different rows, so every reminder is sent once and no SMS is repeated."""
    make_due(patients, 400)
    worker = start_worker(celery, *PREFORK)
    beats = [celery("beat", f"--schedule={celery.tmp_path / f'beat-schedule-{n}'}", "--loglevel=INFO") for n in (1, 2)]
    wait_until_all_done(worker, *beats)

    assert_sent_exactly_once(celery.sms_path, 400)
    for beat in beats:
        assert "Sending due task wake-dispatcher" in beat.output(), outputs(beat)


def test_a_reminder_whose_sending_always_fails_ends_failed_and_the_others_still_go(celery, patients):
    """The provider refuses every message to one number: that SMS is tried NOTIFY_MAX_ATTEMPTS (3) times
    with backoff and ends `failed` with the reason; the same reminder in the app, and every other
    reminder, is sent once."""
    make_due(patients, 200)
    unreachable = patient_with_login(centre=patients[0].centre, phone=UNREACHABLE_NUMBER)
    make_due([unreachable], 2, tag="unreachable")
    doomed = Notification.objects.get(patient=unreachable, channel=Channel.SMS)
    worker = start_worker(celery, *PREFORK, SMS_BACKEND="tests.fault_backends.AlwaysFailingBackend")
    beat = celery("beat", f"--schedule={celery.tmp_path / 'beat-schedule'}", "--loglevel=INFO")
    wait_until_all_done(worker, beat)

    assert_sent_exactly_once(celery.sms_path, 202, failed={doomed.uuid})
    doomed.refresh_from_db()
    assert doomed.status == NotificationStatus.FAILED
    assert doomed.attempts == 3
    assert "unreachable" in doomed.status_reason
    assert "gave up after 3 attempts" in doomed.status_reason
    assert Notification.objects.get(patient=unreachable, channel=Channel.IN_APP).status == NotificationStatus.SENT
