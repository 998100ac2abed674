"""Reminder pages: a patient's delivery log and hold, the patient's own settings, the task list, the inbox, the bell."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recovery.models import (
    Audience,
    AuditEvent,
    CareTask,
    CareTaskStatus,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    ReminderSettings,
)
from recovery.services.audit import AuditContext
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.reminders.planning import plan_reminders, set_reminder_hold
from recovery.services.symptoms import record_symptom_report
from tests.factories import PatientFactory, replanned, transplant

PLANNED_AT = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)  # 07:00 in Stockholm, Day +3
AFTER_TASKS = PLANNED_AT + timedelta(hours=6)  # the 08:00 check-in was missed; its task and messages are out


@pytest.fixture
def clock(time_machine):
    """Move "now"; starts at PLANNED_AT."""

    def move(at: datetime):
        time_machine.move_to(at, tick=False)

    move(PLANNED_AT)
    return move


@pytest.fixture
def planned(patient, clock):
    """Pia on Day +3 (in the high-risk window) with her reminders planned."""
    transplant(patient, date(2026, 11, 16))
    return patient


@pytest.fixture
def missed(planned, coordinator, clinician, clock):
    """Pia did not answer the 08:00 check-in: reminders sent, a task for the coordinator, messages to staff."""
    clock(AFTER_TASKS)
    dispatch_due()
    return planned


def text_of(response) -> str:
    """The page's text without tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def log_url(patient, query=""):
    return reverse("recovery:patient-reminders", args=[patient.uuid]) + query


def hold_url(patient):
    return reverse("recovery:reminder-hold", args=[patient.uuid])


# --- the delivery log ---------------------------------------------------------------------------------------------


def test_delivery_log_shows_each_message_in_the_patients_local_time_with_status(client_for, coordinator, missed):
    response = client_for(coordinator).get(log_url(missed))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Thu 19 Nov 08:00 CET" in text_of(response)  # due 07:00 UTC
    assert "Temperature check-in" in content
    assert "Text message (SMS)" in content
    assert '<span class="badge text-bg-success">Sent</span>' in content
    # a staff message fanned out to the coordinator, in the recipient column (the navbar also names the viewer)
    assert f'<td class="d-none d-md-table-cell text-nowrap">{coordinator.display_name}</td>' in content
    assert AuditEvent.objects.filter(action="reminders.view", patient=missed, actor=coordinator).exists()


def test_delivery_log_marks_a_checkin_missed_when_the_missed_reminder_went_out(client_for, coordinator, missed):
    content = client_for(coordinator).get(log_url(missed)).content.decode()
    assert 'data-testid="missed"' in content
    assert 'data-testid="answered"' not in content


def test_delivery_log_marks_a_checkin_answered_by_a_report(client_for, coordinator, planned, clock):
    clock(PLANNED_AT + timedelta(hours=1, minutes=10))  # 08:10 local, just after the 08:00 check-in
    dispatch_due()
    record_symptom_report(
        context=AuditContext.system("tests"), patient=planned, recorded_at=timezone.now(), temperature_c="36.8"
    )
    content = client_for(coordinator).get(log_url(planned)).content.decode()
    assert 'data-testid="answered"' in content
    assert "answered 08:10" in content
    assert 'data-testid="missed"' not in content


def test_delivery_log_filters_by_status(client_for, coordinator, missed):
    Notification.objects.filter(patient=missed, channel=Channel.SMS, status=NotificationStatus.SENT).update(
        status=NotificationStatus.FAILED, status_reason="Provider said no"
    )
    content = client_for(coordinator).get(log_url(missed, "?status=failed")).content.decode()
    assert 'data-status="failed"' in content
    assert 'data-status="sent"' not in content
    assert "Provider said no" in content


def test_planned_tab_lists_future_reminders_in_time_order(client_for, coordinator, planned):
    response = client_for(coordinator).get(log_url(planned, "?show=planned"))
    content, text = response.content.decode(), text_of(response)
    first, later = text.find("Thu 19 Nov 08:00 CET"), text.find("Thu 19 Nov 20:00 CET")
    assert -1 < first < later
    assert 'data-status="pending"' in content


def test_another_centres_coordinator_gets_404_for_the_log_and_the_hold(client_for, other_centre_coordinator, planned):
    client = client_for(other_centre_coordinator)
    assert client.get(log_url(planned)).status_code == 404
    assert client.post(hold_url(planned), {"action": "hold", "hold_reason": "x"}).status_code == 404
    assert not ReminderSettings.objects.filter(patient=planned, on_hold=True).exists()


def test_a_clinician_sees_the_log_but_may_not_hold_reminders(client_for, clinician, planned):
    client = client_for(clinician)
    content = client.get(log_url(planned)).content.decode()
    assert "Put on hold" not in content
    assert client.post(hold_url(planned), {"action": "hold", "hold_reason": "readmitted"}).status_code == 403
    assert not ReminderSettings.objects.filter(patient=planned, on_hold=True).exists()


def test_the_patient_may_not_see_their_delivery_log(client_for, planned):
    assert client_for(planned.user).get(log_url(planned)).status_code == 403


# --- the hold ---------------------------------------------------------------------------------------------------


def test_hold_cancels_pending_reminders_and_shows_why(client_for, coordinator, planned):
    pending = Notification.objects.filter(patient=planned, status=NotificationStatus.PENDING)
    assert pending.exists()
    client = client_for(coordinator)
    response = client.post(hold_url(planned), {"action": "hold", "hold_reason": "Readmitted to ward 30"})
    assert response.status_code == 302
    assert response["Location"] == log_url(planned)
    assert Patient.objects.get(pk=planned.pk).reminders_stale_since is not None  # marked for re-planning
    assert replanned() == 1  # what the worker does once the hold is committed
    assert Patient.objects.get(pk=planned.pk).reminders_stale_since is None
    assert not pending.exists()
    assert Notification.objects.filter(patient=planned, status=NotificationStatus.CANCELLED).exists()
    content = client.get(log_url(planned)).content.decode()
    assert "Reminders are on hold: Readmitted to ward 30" in content
    assert "Lift the hold" in content
    assert AuditEvent.objects.filter(action="reminders.hold", patient=planned, actor=coordinator).exists()


def test_lifting_the_hold_restores_future_reminders_only(client_for, coordinator, planned, clock):
    client_for(coordinator).post(hold_url(planned), {"action": "hold", "hold_reason": "Readmitted"})
    replanned()
    clock(PLANNED_AT + timedelta(days=1))
    response = client_for(coordinator).post(hold_url(planned), {"action": "release"})  # a new day's sign-in
    replanned()
    assert response["Location"] == log_url(planned)
    assert not ReminderSettings.objects.get(patient=planned).on_hold
    pending = Notification.objects.filter(patient=planned, status=NotificationStatus.PENDING)
    assert pending.exists()
    assert not pending.filter(due_at__lt=PLANNED_AT + timedelta(days=1)).exists()
    assert Notification.objects.filter(
        patient=planned, status=NotificationStatus.CANCELLED, due_at__lt=PLANNED_AT + timedelta(days=1)
    ).exists()


def test_a_hold_without_a_reason_is_refused_beside_the_field(client_for, coordinator, planned):
    response = client_for(coordinator).post(hold_url(planned), {"action": "hold", "hold_reason": "  "})
    assert response.status_code == 200
    assert "Say why reminders are on hold" in response.content.decode()
    assert not ReminderSettings.objects.filter(patient=planned, on_hold=True).exists()
    assert Notification.objects.filter(patient=planned, status=NotificationStatus.PENDING).exists()


def test_an_unknown_hold_action_changes_nothing(client_for, coordinator, planned):
    set_reminder_hold(context=AuditContext.system("tests"), patient=planned, on_hold=True, reason="Readmitted")
    response = client_for(coordinator).post(hold_url(planned), {"action": "toggle"})
    assert response.status_code == 400
    assert ReminderSettings.objects.get(patient=planned).on_hold


def test_log_says_why_a_withdrawn_patient_gets_no_reminders(client_for, coordinator, planned):
    planned.status = "withdrawn"
    planned.save(update_fields=["status"])
    content = client_for(coordinator).get(log_url(planned)).content.decode()
    assert "The patient is withdrawn." in content


def _log_rows(patient, recipient, count: int, now: datetime) -> None:
    """`count` check-in rows due before `now`, each with a sent missed-check-in reminder for every other one."""
    rows = []
    for i in range(count):
        due = now - timedelta(hours=i + 1)
        moment = f"{due:%Y-%m-%dT%H:%M}"
        for kind, status in ((NotificationKind.TEMPERATURE_CHECKIN, NotificationStatus.SENT),) + (
            ((NotificationKind.MISSED_CHECKIN, NotificationStatus.SENT),) if i % 2 else ()
        ):
            key = f"{kind}:{moment}"
            rows.append(
                Notification(
                    patient=patient,
                    recipient=recipient,
                    audience=Audience.PATIENT,
                    kind=kind,
                    channel=Channel.IN_APP,
                    key=key,
                    dedupe_key=f"test|{patient.pk}|{key}",
                    due_at=due,
                    next_attempt_at=due,
                    status=status,
                    sent_at=due,
                    attempts=1,
                )
            )
    Notification.objects.bulk_create(rows)


def test_delivery_log_query_count_does_not_grow_with_rows(
    client_for, coordinator, patient, clock, django_assert_max_num_queries
):
    """A patient with 2 check-ins, another with 60 (more than a page): the same number of queries."""
    other = PatientFactory(centre=patient.centre)
    _log_rows(patient, patient.user, 2, PLANNED_AT)
    _log_rows(other, coordinator, 60, PLANNED_AT)
    client = client_for(coordinator)
    client.get(log_url(patient))  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(log_url(patient)).status_code == 200
    few_queries = len(few.captured_queries)  # read now: the next request empties the log
    assert few_queries <= 12
    with django_assert_max_num_queries(few_queries):
        response = client.get(log_url(other))
    assert response.content.decode().count("<tr data-status=") == 50


# --- the patient's own settings ---------------------------------------------------------------------------------


def test_my_reminders_lists_the_next_reminders_in_local_time_and_the_default_quiet_hours(client_for, planned):
    response = client_for(planned.user).get(reverse("recovery:my-reminders"))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="upcoming-reminders"' in content
    assert "Take your temperature" in content
    assert "08:00" in content  # 07:00 UTC
    assert "21:30\N{EN DASH}07:30" in content
    assert "never held back" in content
    assert content.count('<li class="d-flex gap-3 py-2') == 5


def test_changed_settings_are_saved_and_replanned(client_for, planned):
    response = client_for(planned.user).post(
        reverse("recovery:my-reminders"),
        {"email_enabled": "on", "quiet_start": "22:00", "quiet_end": "06:30"},
    )
    assert response.status_code == 302
    replanned()  # after the change commits
    prefs = ReminderSettings.objects.get(patient=planned)
    assert (prefs.email_enabled, prefs.sms_enabled) == (True, False)
    assert (prefs.quiet_start, prefs.quiet_end) == (time(22, 0), time(6, 30))
    assert not Notification.objects.filter(
        patient=planned, channel=Channel.SMS, status=NotificationStatus.PENDING
    ).exists()
    assert AuditEvent.objects.filter(action="reminders.settings", patient=planned).exists()


@pytest.mark.parametrize(
    ("form", "message", "typed"),
    [
        ({"quiet_start": "22:15", "quiet_end": ""}, "Give both the start and the end", 'value="22:15"'),
        ({"quiet_start": "", "quiet_end": "06:45"}, "Give both the start and the end", 'value="06:45"'),
        ({"quiet_start": "25:99", "quiet_end": "07:00"}, "Enter a time such as 22:00", 'value="25:99"'),
    ],
)
def test_bad_quiet_hours_are_explained_and_keep_what_was_typed(client_for, planned, form, message, typed):
    response = client_for(planned.user).post(reverse("recovery:my-reminders"), {"sms_enabled": "on", **form})
    content = response.content.decode()
    assert response.status_code == 200
    assert message in content
    assert typed in content
    assert re.search(r'<input[^>]*name="sms_enabled"[^>]*checked', content)
    assert not re.search(r'<input[^>]*name="email_enabled"[^>]*checked', content)
    assert not ReminderSettings.objects.filter(patient=planned).exists()


def test_a_patient_on_hold_is_told_their_reminders_are_paused(client_for, planned):
    set_reminder_hold(context=AuditContext.system("tests"), patient=planned, on_hold=True, reason="Readmitted")
    content = client_for(planned.user).get(reverse("recovery:my-reminders")).content.decode()
    assert 'data-testid="paused"' in content
    assert "Readmitted" not in content


# --- the task list ----------------------------------------------------------------------------------------------


def test_task_list_shows_open_tasks_high_risk_first_with_the_local_time(client_for, coordinator, missed, centre):
    calm = PatientFactory(centre=centre, first_name="Calm", last_name="Later")
    CareTask.objects.create(
        patient=calm, key="2026-11-18T10:00", checkin_due_at=PLANNED_AT - timedelta(days=1), created_at=PLANNED_AT
    )
    response = client_for(coordinator).get(reverse("recovery:tasks"))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('data-testid="task"') == 2
    assert content.find("Pia Holmgren") < content.find("Calm Later")  # high risk first, though newer
    assert "Thu 19 Nov 08:00 CET" in content
    assert AuditEvent.objects.filter(action="task.list", patient=missed, actor=coordinator).exists()


def test_another_centres_coordinator_neither_sees_nor_closes_the_task(client_for, other_centre_coordinator, missed):
    task = CareTask.objects.get(patient=missed)
    client = client_for(other_centre_coordinator)
    assert 'data-testid="task"' not in client.get(reverse("recovery:tasks")).content.decode()
    assert client.post(reverse("recovery:task-done", args=[task.uuid])).status_code == 404
    task.refresh_from_db()
    assert task.status == CareTaskStatus.OPEN


def test_a_patient_may_not_close_their_own_task(client_for, missed):
    task = CareTask.objects.get(patient=missed)
    assert client_for(missed.user).post(reverse("recovery:task-done", args=[task.uuid])).status_code == 403
    task.refresh_from_db()
    assert task.status == CareTaskStatus.OPEN


def test_done_closes_the_task_with_the_note_and_returns_to_the_list(client_for, coordinator, missed):
    task = CareTask.objects.get(patient=missed)
    client = client_for(coordinator)
    response = client.post(
        reverse("recovery:task-done", args=[task.uuid]), {"note": "Spoke to Pia, all well", "next": "/tasks/?page=1"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/tasks/?page=1"
    task.refresh_from_db()
    assert (task.status, task.closed_by, task.closed_reason) == (
        CareTaskStatus.DONE,
        coordinator,
        "Spoke to Pia, all well",
    )
    assert 'data-testid="task"' not in client.get(reverse("recovery:tasks")).content.decode()
    done = client.get(reverse("recovery:tasks") + "?status=done").content.decode()
    assert "Spoke to Pia, all well" in done


def test_done_refuses_to_send_the_user_to_another_site(client_for, coordinator, missed):
    task = CareTask.objects.get(patient=missed)
    response = client_for(coordinator).post(
        reverse("recovery:task-done", args=[task.uuid]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("recovery:tasks")


def test_task_list_query_count_does_not_grow_with_tasks(
    client_for, clinician, centre, clock, django_assert_max_num_queries
):
    def tasks(count):
        for i in range(count):
            person = PatientFactory(centre=centre)
            CareTask.objects.create(
                patient=person,
                key=f"2026-11-1{i % 9}T08:00",
                checkin_due_at=PLANNED_AT - timedelta(hours=i),
                high_risk=bool(i % 2),
                created_at=PLANNED_AT,
            )

    client = client_for(clinician)
    tasks(2)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("recovery:tasks"))
    tasks(28)
    with django_assert_max_num_queries(len(few.captured_queries)):
        content = client.get(reverse("recovery:tasks")).content.decode()
    assert content.count('data-testid="task"') == 25


# --- the inbox and the bell -------------------------------------------------------------------------------------


def test_the_patient_reads_delivered_reminders_in_the_inbox_unread_first_highlighted(client_for, missed):
    content = client_for(missed.user).get(reverse("recovery:inbox")).content.decode()
    assert "Time to take your temperature" in content
    assert "We have not heard from you" in content
    assert 'data-testid="unread"' in content
    assert "Mark all read" in content
    assert 'data-testid="call-unit"' in content


def test_staff_read_their_messages_about_patients_and_the_read_is_audited(client_for, coordinator, missed):
    content = client_for(coordinator).get(reverse("recovery:inbox")).content.decode()
    assert f"Missed check-in: Pia Holmgren ({missed.hospital_number})" in content
    assert AuditEvent.objects.filter(action="inbox.view", patient=missed, actor=coordinator).exists()


def test_mark_all_read_marks_every_message_read_and_clears_the_bell(client_for, missed):
    client = client_for(missed.user)
    unread = Notification.objects.filter(recipient=missed.user, channel=Channel.IN_APP, status="sent")
    count = unread.count()
    assert count == 3  # the temperature and red-flag check-ins and the missed check-in, in the app
    before = client.get(reverse("recovery:my-reminders")).content.decode()
    assert f'data-testid="unread-count">{count}</span>' in before
    response = client.post(reverse("recovery:inbox-read"))
    assert response.status_code == 302
    assert not unread.filter(read_at__isnull=True).exists()
    after = client.get(reverse("recovery:inbox")).content.decode()
    assert 'data-testid="unread-count"' not in after
    assert 'data-testid="read"' in after
    assert 'data-testid="unread"' not in after


def test_marking_read_is_a_post(client_for, missed):
    assert client_for(missed.user).get(reverse("recovery:inbox-read")).status_code == 405


def test_the_bell_counts_only_the_users_own_unread_in_app_messages(client_for, coordinator, clinician, missed):
    client = client_for(coordinator)
    content = client.get(reverse("recovery:tasks")).content.decode()
    mine = Notification.objects.filter(recipient=coordinator, channel=Channel.IN_APP, status="sent").count()
    assert mine == 1
    assert 'data-testid="unread-count">1</span>' in content
    assert 'aria-label="Inbox, 1 unread"' in content


def test_the_bell_costs_one_count_query(client_for, coordinator, missed):
    client = client_for(coordinator)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("recovery:patient-list"))
    counts = [q["sql"] for q in queries.captured_queries if "recovery_notification" in q["sql"]]
    assert len(counts) == 1
    assert "COUNT(" in counts[0]


def test_inbox_query_count_does_not_grow_with_messages(client_for, patient, clock, django_assert_max_num_queries):
    transplant(patient, date(2026, 11, 16))
    clock(PLANNED_AT + timedelta(hours=1, minutes=5))
    dispatch_due()
    with CaptureQueriesContext(connection) as few:
        client_for(patient.user).get(reverse("recovery:inbox"))
    few_queries = len(few.captured_queries)  # read now: the next request empties the log
    for hours in range(12, 12 * 10, 12):  # five days of reminders, most of them delivered
        clock(PLANNED_AT + timedelta(hours=hours, minutes=5))
        plan_reminders(patient)
        dispatch_due()
    assert Notification.objects.filter(recipient=patient.user, channel=Channel.IN_APP, status="sent").count() > 20
    client = client_for(patient.user)  # signed in afresh, as for the first measurement
    with django_assert_max_num_queries(few_queries):
        content = client.get(reverse("recovery:inbox")).content.decode()
    assert content.count('data-testid="unread"') == 20
