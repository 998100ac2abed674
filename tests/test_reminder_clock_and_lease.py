"""The dispatcher through a week across each clock change, and a batch that outlives its lease (issue 5).

In-process (time_machine moves the clock; no worker processes), against PostgreSQL, whose row locks
(`SELECT ... FOR UPDATE SKIP LOCKED`) the dispatcher claims with in production. Split from
tests/test_reminder_faults.py so that the two files run in parallel.
"""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail

from recovery.models import Channel, Notification, NotificationKind, NotificationStatus
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.reminders.planning import plan_all_reminders
from recovery.sms import FileBackend
from tests.factories import patient_with_login, transplant
from tests.test_reminder_faults import PHONES, assert_sent_exactly_once, make_due, sms_references

pytestmark = pytest.mark.services(needs="PostgreSQL")


# --- a week across a clock change ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz_name", "change"),
    [
        ("Europe/Stockholm", date(2026, 10, 25)),
        ("Europe/Stockholm", date(2027, 3, 28)),
        ("America/New_York", date(2026, 11, 1)),
        ("America/New_York", date(2027, 3, 14)),
    ],
)
def test_a_week_across_a_clock_change_sends_one_reminder_per_slot_at_08_and_20_local(
    require_postgres, centre, settings, tmp_path, tz_name, change
):
    """The dispatcher runs every 5 minutes (and planning every 6 hours) through the week around the change:
    each twice-daily temperature check-in goes once on each channel, within 5 minutes after 08:00 or
    20:00 local time, on both sides of the change; no SMS or email is sent twice."""
    settings.SMS_BACKEND = "recovery.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    zone = ZoneInfo(tz_name)
    day0 = change - timedelta(days=3)
    start = datetime.combine(day0, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day0 + timedelta(days=7), datetime.min.time(), tzinfo=zone)
    patient = patient_with_login(centre=centre, timezone=tz_name)

    with time_machine.travel(start, tick=False) as clock:
        transplant(patient, day0)
        moment = start
        while moment < end:
            clock.move_to(moment)
            if moment.minute == 0 and moment.hour % 6 == 0:
                plan_all_reminders()
            dispatch_due()
            moment += timedelta(minutes=5)

    week = Notification.objects.filter(
        patient=patient, kind=NotificationKind.TEMPERATURE_CHECKIN, local_date__gte=day0, local_date__lt=end.date()
    )
    for channel in (Channel.IN_APP, Channel.EMAIL, Channel.SMS):
        slots = list(week.filter(channel=channel).order_by("due_at"))
        local = [row.due_at.astimezone(zone) for row in slots]
        assert [(t.hour, t.minute) for t in local] == [(8, 0), (20, 0)] * 7, channel
        assert [t.date() for t in local] == [day0 + timedelta(days=i // 2) for i in range(14)]
        assert {row.status for row in slots} == {NotificationStatus.SENT}
        assert all(timedelta(0) <= row.sent_at - row.due_at < timedelta(minutes=5) for row in slots)
        assert len({t.utcoffset() for t in local}) == 2  # the clocks changed within the week

    sms_rows = Notification.objects.filter(channel=Channel.SMS, status=NotificationStatus.SENT)
    received = sms_references(Path(settings.SMS_FILE_PATH))
    assert received == Counter({str(u): 1 for u in sms_rows.values_list("uuid", flat=True)})
    email_rows = Notification.objects.filter(channel=Channel.EMAIL, status=NotificationStatus.SENT)
    message_ids = Counter(message.extra_headers["Message-ID"] for message in mail.outbox)
    assert message_ids == Counter({f"<{u}@recovery-tracker>": 1 for u in email_rows.values_list("uuid", flat=True)})
    assert not Notification.objects.filter(status=NotificationStatus.PENDING, next_attempt_at__lt=end).exists()


# --- a batch that outlives its lease -----------------------------------------------------------------------


class ProviderSlowerThanTheLease(FileBackend):
    """Each message takes most of a lease (100 of 120 s: one send never outlives the lease it renews), so a
    batch of them does; after the second message another dispatcher runs."""

    answered = 0
    traveller = None
    other_dispatcher_running = False

    def send(self, *, to: str, text: str, reference: str) -> None:
        cls = type(self)
        if not cls.other_dispatcher_running:  # the other dispatcher's sends take no time
            cls.answered += 1
            cls.traveller.shift(timedelta(seconds=django_settings.NOTIFY_LEASE_SECONDS * 5 // 6))
            if cls.answered == 2:
                cls.other_dispatcher_running = True
                try:
                    dispatch_due()  # the rest of the first batch's claims have run out by now
                finally:
                    cls.other_dispatcher_running = False
        super().send(to=to, text=text, reference=reference)


def test_a_batch_that_outlives_its_lease_does_not_send_what_another_dispatcher_claimed_again(
    require_postgres, centre, settings, tmp_path
):
    """The provider is slow: two SMS of a batch take longer than the lease, so another dispatcher claims the
    batch's remaining rows (their lease ran out) and sends them. The first dispatcher renews each row's claim
    just before sending it, finds those claimed by the other and leaves them: each SMS reaches the provider
    once. (A single send never outlives its lease: SMS_HTTP_TIMEOUT_SECONDS is far below NOTIFY_LEASE_SECONDS.)"""
    settings.SMS_BACKEND = "tests.test_reminder_clock_and_lease.ProviderSlowerThanTheLease"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    ProviderSlowerThanTheLease.answered = 0
    ProviderSlowerThanTheLease.other_dispatcher_running = False
    patients = [patient_with_login(centre=centre, phone=phone) for phone in PHONES]
    with time_machine.travel(datetime(2026, 11, 19, 7, 0, tzinfo=UTC), tick=False) as traveller:
        ProviderSlowerThanTheLease.traveller = traveller
        make_due(patients, 10)
        dispatch_due()

    assert_sent_exactly_once(Path(settings.SMS_FILE_PATH), 10)
