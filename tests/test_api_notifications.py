"""GET /api/v1/patients/{id}/notifications/: the patient's reminders and messages (api.md)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from recovery.models import AuditEvent, Notification, NotificationStatus
from recovery.services.reminders.dispatch import dispatch_due
from tests.factories import transplant

PLANNED_AT = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)


@pytest.fixture
def planned(patient, coordinator):
    with time_machine.travel(PLANNED_AT, tick=False):
        transplant(patient, date(2026, 11, 16))
    return patient


def url(patient, query=""):
    return f"/api/v1/patients/{patient.uuid}/notifications/{query}"


def test_staff_see_the_patients_reminders_with_the_contracts_fields(api_for, coordinator, planned):
    response = api_for(coordinator).get(url(planned))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == Notification.objects.filter(patient=planned).count() > 0
    first = body["results"][0]
    assert {"id", "kind", "channel", "due_at", "status", "sent_at"} <= set(first)
    dues = [row["due_at"] for row in body["results"]]
    assert dues == sorted(dues, reverse=True)
    assert AuditEvent.objects.filter(patient=planned, action="notifications.view", actor=coordinator).exists()


def test_the_patient_sees_their_own_reminders_but_not_the_care_teams_steps(api_for, planned):
    rows = api_for(planned.user).get(url(planned, "?page_size=100")).json()
    assert rows["count"] == Notification.objects.filter(patient=planned, audience="patient").count()
    assert Notification.objects.filter(patient=planned, audience="care_team").exists()
    assert {row["audience"] for row in rows["results"]} == {"patient"}


def test_status_filter_returns_only_that_status(api_for, coordinator, planned):
    with time_machine.travel(PLANNED_AT + timedelta(hours=1, minutes=1), tick=False):
        dispatch_due()
    sent = Notification.objects.filter(patient=planned, status=NotificationStatus.SENT).count()
    assert sent > 0
    body = api_for(coordinator).get(url(planned, "?status=sent")).json()
    assert body["count"] == sent
    assert {row["status"] for row in body["results"]} == {"sent"}


def test_an_unknown_status_is_a_400_that_lists_the_statuses(api_for, coordinator, planned):
    response = api_for(coordinator).get(url(planned, "?status=lost"))
    assert response.status_code == 400
    assert "pending" in str(response.json())


@pytest.mark.parametrize("days", [1, 14])
def test_query_count_does_not_grow_with_rows(
    api_for, coordinator, patient, settings, django_assert_max_num_queries, days
):
    settings.REMINDER_PLAN_AHEAD_DAYS = days
    with time_machine.travel(PLANNED_AT, tick=False):
        transplant(patient, date(2026, 11, 16))
    api = api_for(coordinator)
    with django_assert_max_num_queries(12):
        response = api.get(url(patient, "?page_size=100"))
    assert response.status_code == 200
