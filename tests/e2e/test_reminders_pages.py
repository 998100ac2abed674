"""Reminders in the browser: a patient on a phone reads the inbox and sets their reminders; a coordinator on a
desktop works the task list and reads a patient's delivery log.

Screenshots are saved under var/screenshots/ (my-inbox, my-reminders, tasks, reminders-log) at phone and desktop
sizes.

What has been missed depends on the hour: both tests run at 13:00 Stockholm time (`fixed_time_of_day`), when this
morning's 08:00 check-in has been missed long enough (two hours' grace, then two more) to be a coordinator's task.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from recovery.models import Channel, Notification, NotificationKind
from recovery.queries.timeline import patient_today
from recovery.services.audit import AuditContext
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.symptoms import record_symptom_report
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_per_role import PASSWORD, UNIT_PHONE, open_login, sign_in
from tests.e2e.test_patient_home import call_bar_in_place
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e


@pytest.fixture
def centre(transactional_db):
    return CentreFactory(name="Uppsala Transplant Centre", phone_24h=UNIT_PHONE)


@pytest.fixture
def cora(centre):
    return UserFactory(username="cora", first_name="Cora", role=Role.COORDINATOR, centres=[centre], password=PASSWORD)


@pytest.fixture
def pia(centre, cora, fixed_time_of_day):
    """Pia, on Day +5, whose reminders were planned 26 hours ago: she answered one check-in and missed the next.

    At 13:00 (Stockholm, as every time here) that is: planned yesterday at 11:00, so the first check-in is
    yesterday's 20:00, which she answered; this morning's 08:00 one she missed, and four hours later (twice the
    high-risk grace) it became a task for the coordinator. At other hours the outcome differs (between 10:00 and
    12:00, and 22:00 and midnight, the only missed check-in is not yet a task), hence the fixed time of day.
    """
    user = UserFactory(username="pia", first_name="Pia", role=Role.PATIENT, password=PASSWORD)
    patient = PatientFactory(
        user=user, centre=centre, first_name="Pia", last_name="Holmgren", hospital_number="UAS-1042"
    )
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=1, hours=2), tick=False):
        transplant(patient, patient_today(patient) - timedelta(days=4))
    answered = (
        Notification.objects.filter(
            patient=patient, kind=NotificationKind.TEMPERATURE_CHECKIN, channel=Channel.IN_APP, due_at__lte=now
        )
        .order_by("due_at")
        .first()
    )
    with time_machine.travel(answered.due_at + timedelta(minutes=12), tick=False):
        dispatch_due(now=timezone.now())
        record_symptom_report(
            context=AuditContext.system("e2e"), patient=patient, recorded_at=timezone.now(), temperature_c="36.9"
        )
    dispatch_due(now=now)
    return patient


def test_a_patient_on_a_phone_reads_the_inbox_and_changes_reminder_settings(phone, live_server, pia):
    """The bell shows the unread count; the inbox lists the reminders; quiet hours need both ends."""
    open_login(phone)
    sign_in(phone, "pia", PASSWORD)
    phone.goto("/my/reminders/")
    bell = phone.get_by_test_id("bell")
    expect(bell).to_be_visible()  # outside the collapsed menu, on a phone too
    expect(phone.get_by_test_id("unread-count")).to_have_text(re.compile(r"^\d+$"))

    bell.click()
    expect(phone).to_have_url(f"{live_server.url}/inbox/")
    expect(phone.get_by_test_id("inbox")).to_contain_text("Time to take your temperature")
    screenshot(phone, "my-inbox", then=call_bar_in_place)
    phone.get_by_role("button", name="Mark all read").click()
    expect(phone.get_by_test_id("unread")).to_have_count(0)
    expect(phone.get_by_test_id("unread-count")).to_have_count(0)

    phone.goto("/my/reminders/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("My reminders")
    expect(phone.get_by_test_id("upcoming-reminders")).to_contain_text("Take your temperature")
    expect(phone.get_by_text(re.compile("21:30\N{EN DASH}07:30"))).to_be_visible()
    screenshot(phone, "my-reminders", then=call_bar_in_place)

    phone.get_by_label("Text message (SMS)").uncheck()
    phone.get_by_label("Quiet from").fill("22:15")
    phone.get_by_role("button", name="Save").click()
    quiet_error = "Give both the start and the end of quiet hours"
    expect(phone.get_by_test_id("error-summary").get_by_text(quiet_error)).to_be_visible()
    expect(phone.locator("main form").get_by_text(quiet_error)).to_be_visible()
    expect(phone.get_by_label("Quiet from")).to_have_value("22:15")
    expect(phone.get_by_label("Text message (SMS)")).not_to_be_checked()

    phone.get_by_label("Quiet until").fill("07:00")
    phone.get_by_role("button", name="Save").click()
    expect(phone.get_by_text("Saved.")).to_be_visible()
    expect(phone.get_by_label("Quiet from")).to_have_value("22:15")


def test_a_coordinator_works_the_task_list_and_reads_the_delivery_log(page, live_server, pia, cora):
    """The missed check-in is a task; "Done" closes it; the patient's log shows what was sent and answered."""
    open_login(page)
    sign_in(page, "cora", PASSWORD)
    expect(page.get_by_test_id("unread-count")).to_have_text(re.compile(r"^[1-9]"))  # messages about missed check-ins
    page.get_by_role("link", name="Tasks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tasks")
    tasks = page.get_by_test_id("task")
    expect(tasks.first).to_contain_text("Pia Holmgren")
    expect(tasks.first.get_by_test_id("high-risk")).to_be_visible()
    screenshot(page, "tasks")
    count = tasks.count()
    tasks.first.get_by_placeholder("Note (optional)").fill("Phoned Pia: thermometer broken, new one sent")
    tasks.first.get_by_role("button", name="Done").click()
    expect(page.get_by_text("Task for Pia Holmgren marked done.")).to_be_visible()
    expect(page.get_by_test_id("task")).to_have_count(count - 1)

    page.goto(f"/patients/{pia.uuid}/")
    page.get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reminders and messages")
    log = page.get_by_test_id("reminder-log")
    expect(log).to_contain_text("Temperature check-in")
    expect(log.get_by_test_id("answered").first).to_be_visible()
    expect(log.get_by_test_id("missed").first).to_be_visible()
    screenshot(page, "reminders-log")

    page.get_by_placeholder("Reason, e.g. readmitted to the ward").fill("Readmitted to ward 30")
    page.get_by_role("button", name="Put on hold").click()
    expect(page.get_by_test_id("stopped")).to_have_text("Reminders are on hold: Readmitted to ward 30")
    page.get_by_role("button", name="Lift the hold").click()
    expect(page.get_by_test_id("stopped")).to_have_count(0)
