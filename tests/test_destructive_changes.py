"""Issue 14 item 8: clearing or moving the dates the phase depends on, for a patient on or after Day 0 (or any
change that deletes timeline events), is confirmed first; the dates before every change are kept and can be
restored. The page shows a confirmation step, the API a 409 unless the request says `confirm: true`."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from recovery.clinical.episode import DATE_FIELDS
from recovery.models import (
    AuditEvent,
    Notification,
    NotificationStatus,
    ProtocolTemplate,
    TimelineEvent,
    TransplantDateChange,
    TransplantEpisode,
)
from recovery.services.reminders.planning import plan_reminders
from tests.factories import transplant

TODAY = date(2026, 11, 20)
DAY0 = TODAY - timedelta(days=9)  # the patient is on Day +9, as in the issue


@pytest.fixture
def now(time_machine):
    time_machine.move_to("2026-11-20 09:00:00+00:00", tick=False)


@pytest.fixture
def day9(patient, now):
    """A Day +9 patient with a generated timeline and planned reminders."""
    transplant(patient, DAY0)
    plan_reminders(patient)
    return patient


def _counts(patient):
    return (
        TimelineEvent.objects.filter(episode__patient=patient).count(),
        Notification.objects.filter(patient=patient, status=NotificationStatus.PENDING).count(),
    )


def _blank_form():
    """What a transplant form submitted with every field emptied posts."""
    return dict.fromkeys(("protocol", *DATE_FIELDS, "cd34_dose"), "")


def _seen(page: str) -> str:
    """The version of the dates a confirmation page was worked out for (sent back with Confirm)."""
    return re.search(r'name="seen" value="([^"]*)"', page).group(1)


def _confirmed(client, url, data):
    """Post `data`, then press Confirm on the confirmation step it shows."""
    asked = client.post(url, data)
    assert asked.status_code == 200
    return client.post(url, {**data, "confirm": "yes", "seen": _seen(asked.content.decode())})


def _form_of(episode: TransplantEpisode, **changes):
    form = {"protocol": episode.protocol_id or ""}
    for name in (*DATE_FIELDS, "cd34_dose"):
        value = getattr(episode, name)
        form[name] = "" if value is None else str(value)
    return {**form, **changes}


def test_a_blank_form_asks_for_confirmation_and_changes_nothing(client_for, coordinator, day9):
    """The blank form of the issue shows what it would do (phase, events, reminders) and saves nothing."""
    events, reminders = _counts(day9)
    assert events > 50
    assert reminders > 0
    url = reverse("recovery:episode-edit", args=[day9.uuid])
    response = client_for(coordinator).post(url, _blank_form())
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing has changed yet" in page
    assert "from the phase <strong>Aplasia</strong> to <strong>Evaluation</strong>" in page
    assert f"in the timeline: remove <strong>{events}</strong> events" in page
    assert f"in the reminders: cancel <strong>{reminders}</strong> pending reminders" in page
    assert 'name="confirm" value="yes"' in page
    assert 'name="go_back"' in page
    assert _counts(day9) == (events, reminders)
    assert TransplantEpisode.objects.get(patient=day9).reinfusion_date == DAY0
    assert not AuditEvent.objects.filter(patient=day9, action="transplant.update").exists()


def test_go_back_returns_to_the_form_with_what_was_typed(client_for, coordinator, day9):
    """The confirmation carries the submitted values; Go back shows them in the form again, unsaved."""
    episode = TransplantEpisode.objects.get(patient=day9)
    typed = _form_of(episode, reinfusion_date="2026-11-14", conditioning_start_date="2026-11-09")
    url = reverse("recovery:episode-edit", args=[day9.uuid])
    client = client_for(coordinator)
    confirm_page = client.post(url, typed).content.decode()
    assert 'name="reinfusion_date" value="2026-11-14"' in confirm_page  # carried as a hidden field
    back = client.post(url, {**typed, "go_back": "1"})
    assert back.status_code == 200
    assert 'value="2026-11-14"' in back.content.decode()
    assert TransplantEpisode.objects.get(patient=day9).reinfusion_date == DAY0


def test_a_confirmed_change_is_saved_kept_in_the_history_and_audited(client_for, coordinator, day9):
    """Confirming saves the change; the dates before it are in the history, and the audit has old and new values."""
    url = reverse("recovery:episode-edit", args=[day9.uuid])
    response = _confirmed(client_for(coordinator), url, _blank_form())
    assert response.status_code == 302
    episode = TransplantEpisode.objects.get(patient=day9)
    assert episode.reinfusion_date is None
    assert _counts(day9)[0] == 0
    change = TransplantDateChange.objects.filter(episode=episode).first()
    assert change.kind == "update"
    assert change.changed_by == coordinator
    assert change.before["reinfusion_date"] == DAY0.isoformat()
    assert change.after["reinfusion_date"] is None
    assert change.before["protocol"] == "cy_atg"
    audit = AuditEvent.objects.get(patient=day9, action="transplant.update")
    assert audit.detail["changes"]["reinfusion_date"]["old"] == DAY0.isoformat()
    assert audit.detail["changes"]["reinfusion_date"]["new"] is None
    assert audit.detail["history"] == str(change.uuid)


def test_restore_brings_back_the_dates_the_phase_and_the_timeline(
    client_for, coordinator, day9, django_capture_on_commit_callbacks
):
    """Restoring an earlier version goes through the same confirmation, puts the dates and the phase back,
    regenerates the timeline and re-plans the reminders."""
    client = client_for(coordinator)
    events, _ = _counts(day9)
    _confirmed(client, reverse("recovery:episode-edit", args=[day9.uuid]), _blank_form())
    plan_reminders(day9)  # what the planner does once that change is committed
    assert _counts(day9) == (0, 0)
    change = TransplantDateChange.objects.filter(episode__patient=day9, kind="update").get()

    history = client.get(reverse("recovery:episode-edit", args=[day9.uuid])).content.decode()
    restore_url = reverse("recovery:episode-restore", args=[day9.uuid, change.uuid])
    assert restore_url in history
    assert "Restore these dates" in history

    preview = client.get(restore_url).content.decode()
    assert "from the phase <strong>Evaluation</strong> to <strong>Aplasia</strong>" in preview
    assert TransplantEpisode.objects.get(patient=day9).reinfusion_date is None  # a preview changes nothing

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(restore_url, {"confirm": "yes", "seen": _seen(preview)})
    assert response.status_code == 302
    episode = TransplantEpisode.objects.get(patient=day9)
    assert episode.reinfusion_date == DAY0
    assert episode.protocol.code == "cy_atg"
    assert _counts(day9)[0] == events
    assert any(getattr(callback, "replans", None) == day9.pk for callback in callbacks)  # reminders re-planned
    day9.refresh_from_db()
    assert day9.reminders_stale_since is not None
    plan_reminders(day9)
    assert _counts(day9)[1] > 0  # the reminders are planned again
    page = client.get(reverse("recovery:patient-detail", args=[day9.uuid])).content.decode()
    assert "Aplasia" in page
    restored = TransplantDateChange.objects.get(episode=episode, kind="restore")
    assert restored.restored_from == change
    audit = AuditEvent.objects.get(patient=day9, action="transplant.restore")
    assert audit.detail["restored_from"] == str(change.uuid)
    assert audit.detail["changes"]["reinfusion_date"]["new"] == DAY0.isoformat()


def test_a_change_before_day0_that_removes_nothing_needs_no_confirmation(client_for, coordinator, patient, now):
    """Planning dates before the transplant saves at once (only moves events: nothing to lose)."""
    transplant(patient, TODAY + timedelta(days=20))
    episode = TransplantEpisode.objects.get(patient=patient)
    url = reverse("recovery:episode-edit", args=[patient.uuid])
    later = _form_of(
        episode,
        reinfusion_date=str(TODAY + timedelta(days=22)),
        conditioning_start_date=str(TODAY + timedelta(days=17)),
    )
    assert client_for(coordinator).post(url, later).status_code == 302
    assert TransplantEpisode.objects.get(patient=patient).reinfusion_date == TODAY + timedelta(days=22)


def test_removing_events_before_day0_also_needs_confirmation(client_for, coordinator, patient, now):
    """A change that would delete timeline events (another regimen here) is confirmed even before Day 0."""
    transplant(patient, TODAY + timedelta(days=20))
    episode = TransplantEpisode.objects.get(patient=patient)
    beam = ProtocolTemplate.objects.get(code="beam_atg")
    url = reverse("recovery:episode-edit", args=[patient.uuid])
    response = client_for(coordinator).post(url, _form_of(episode, protocol=beam.pk))
    assert response.status_code == 200
    assert "Nothing has changed yet" in response.content.decode()
    assert TransplantEpisode.objects.get(patient=patient).protocol.code == "cy_atg"


def test_api_answers_409_naming_what_would_be_removed(api_for, coordinator, day9):
    """A PATCH with nulls is a 409 that names the phase change and the counts; nothing changes."""
    events, reminders = _counts(day9)
    url = f"/api/v1/patients/{day9.uuid}/transplant/"
    nulls = {"reinfusion_date": None, "conditioning_start_date": None, "regimen": None}
    response = api_for(coordinator).patch(url, nulls, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["confirm_required"] is True
    assert (body["phase_before"], body["phase_after"]) == ("aplasia", "collection")
    assert body["timeline_events_removed"] == events
    assert body["reminders_cancelled"] == reminders
    assert set(body["dates_cleared"]) == {"reinfusion_date", "conditioning_start_date"}
    assert '"confirm": true' in body["detail"]
    assert _counts(day9) == (events, reminders)
    assert TransplantEpisode.objects.get(patient=day9).reinfusion_date == DAY0


def test_api_with_confirm_true_proceeds_and_keeps_history(api_for, coordinator, day9):
    """With `confirm: true` the same PATCH is saved; the previous dates are in the history."""
    url = f"/api/v1/patients/{day9.uuid}/transplant/"
    nulls = {"reinfusion_date": None, "conditioning_start_date": None, "regimen": None, "confirm": True}
    response = api_for(coordinator).patch(url, nulls, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["phase"] == "collection"
    assert "confirm" not in response.json()
    change = TransplantDateChange.objects.filter(episode__patient=day9).first()
    assert change.before["reinfusion_date"] == DAY0.isoformat()


def test_api_moving_day0_after_day0_needs_confirmation(api_for, coordinator, day9):
    """Moving Day 0 of a patient past Day 0 is a 409 too, though it deletes nothing (the phase clock moves)."""
    url = f"/api/v1/patients/{day9.uuid}/transplant/"
    response = api_for(coordinator).patch(url, {"reinfusion_date": str(DAY0 + timedelta(days=1))}, format="json")
    assert response.status_code == 409
    assert response.json()["dates_moved"] == ["reinfusion_date"]
    assert response.json()["timeline_events_removed"] == 0


def test_the_restored_message_gives_the_change_s_time_in_the_centre_s_zone(client_for, coordinator, day9):
    """The change was saved at 12:00 UTC: the coordinator in Stockholm reads 13:00."""
    client = client_for(coordinator)
    _confirmed(client, reverse("recovery:episode-edit", args=[day9.uuid]), _blank_form())
    change = TransplantDateChange.objects.filter(episode__patient=day9, kind="update").get()
    TransplantDateChange.objects.filter(pk=change.pk).update(changed_at=datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    restore_url = reverse("recovery:episode-restore", args=[day9.uuid, change.uuid])
    preview = client.get(restore_url).content.decode()
    page = client.post(restore_url, {"confirm": "yes", "seen": _seen(preview)}, follow=True).content.decode()
    assert "The dates as they were before 18 Nov 2026 13:00 are back." in page


def test_restore_of_another_patients_change_is_404(client_for, coordinator, day9, other_patient):
    """A history row is found only through its own patient."""
    change = TransplantDateChange.objects.filter(episode__patient=day9).first()
    url = reverse("recovery:episode-restore", args=[other_patient.uuid, change.uuid])
    assert client_for(coordinator).get(url).status_code == 404


def test_a_confirmation_given_for_dates_changed_since_is_asked_again(client_for, coordinator, clinician, day9):
    """When someone else saved the dates after the confirmation was shown, Confirm shows the new numbers first."""
    client = client_for(coordinator)
    url = reverse("recovery:episode-edit", args=[day9.uuid])
    asked = client.post(url, _blank_form())
    seen = _seen(asked.content.decode())
    episode = TransplantEpisode.objects.get(patient=day9)
    episode.discharge_date = TODAY  # meanwhile (any save of the episode)
    episode.save()
    again = client.post(url, {**_blank_form(), "confirm": "yes", "seen": seen})
    assert again.status_code == 200
    assert "saved by someone else since you looked" in again.content.decode()
    assert TransplantEpisode.objects.get(patient=day9).reinfusion_date == DAY0
    done = client.post(url, {**_blank_form(), "confirm": "yes", "seen": _seen(again.content.decode())})
    assert done.status_code == 302
    assert TransplantEpisode.objects.get(patient=day9).reinfusion_date is None


def test_the_admin_shows_the_transplant_dates_but_does_not_change_them(client, day9):
    """An admin form would change the dates without the confirmation, the history or the timeline: read only."""
    from tests.factories import UserFactory

    admin_user = UserFactory(username="root", role="", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    episode = TransplantEpisode.objects.get(patient=day9)
    url = reverse("admin:recovery_transplantepisode_change", args=[episode.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="reinfusion_date"' not in page.content.decode()  # shown, not editable
    before = _counts(day9)
    assert client.post(url, {"reinfusion_date": ""}).status_code == 403
    episode.refresh_from_db()
    assert episode.reinfusion_date == DAY0
    assert _counts(day9) == before
