"""The display words left in Python, in Swedish (issue 16, part 1): model choice labels, kind and flag labels,
the built-in timeline event titles (stored in English, translated when shown; a title typed by staff is shown as
typed), the calendar feed in the patient's language, the data export's titles and columns, and the API staying
English whatever the caller's language. The Swedish comes from the committed catalogue (locale/sv)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from recovery.clinical.timeline import DEFAULT_PROTOCOLS
from recovery.event_titles import event_title
from recovery.models import (
    Alert,
    AlertSeverity,
    Audience,
    Channel,
    LabTest,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    TimelineEvent,
)
from recovery.queries import export
from recovery.queries.calendar import render_ics
from recovery.services.audit import AuditContext
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.reminders.messages import render
from recovery.services.symptoms import record_symptom_report
from recovery.templatetags.recovery_tags import flag_label, kind_label
from tests.factories import transplant

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
DAY0 = date(2026, 11, 15)  # Day +3: aplasia
TYPED = "Physio with Anna (month 3)"  # looks like a built-in pattern, but "Physio with Anna" is not one


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def swedish_coordinator(coordinator):
    coordinator.language = "sv"
    coordinator.save(update_fields=["language"])
    return coordinator


@pytest.fixture
def episode_with_typed_event(patient, clock):
    episode = transplant(patient, DAY0)
    TimelineEvent.objects.create(episode=episode, kind="visit", title=TYPED, planned_date=DAY0 + timedelta(days=5))
    return episode


def _built_in_titles() -> set[str]:
    return {event.title for protocol in DEFAULT_PROTOCOLS.values() for event in protocol.events}


def test_every_built_in_title_is_swedish_in_swedish_and_unchanged_in_english():
    titles = _built_in_titles()
    with translation.override("en"):
        assert {title: event_title(title) for title in titles} == {title: title for title in titles}
    with translation.override("sv"):
        untranslated = sorted(title for title in titles if event_title(title) == title)
        assert untranslated == []
        assert event_title("Stem cell reinfusion (Day 0)") == "Återföring av stamceller (dag 0)"
        assert event_title("Conditioning: rabbit ATG (Day -5)") == "Konditionering: ATG (kanin) (dag -5)"
        assert event_title("Brain MRI (year 3)") == "MR av hjärnan (år 3)"
        assert event_title("EBV and CMV blood test (PCR), week 2") == "Blodprov för EBV och CMV (PCR), vecka 2"


@pytest.mark.parametrize("typed", [TYPED, "Bring the overnight bag", "Conditioning: something new (Day -5)", ""])
def test_a_typed_title_passes_unchanged(typed):
    with translation.override("sv"):
        assert event_title(typed) == typed


def test_choice_labels_and_kind_words_follow_the_language():
    with translation.override("sv"):
        assert str(AlertSeverity.URGENT.label) == "Akut"
        assert str(LabTest.HAEMOGLOBIN.label) == "Hemoglobin"
        assert str(NotificationStatus.SUPPRESSED.label) == "Inte skickad"
        assert kind_label("mri") == "MR"
        assert kind_label("red_flag") == "Varningstecken"
        assert flag_label("possible_graft_failure") == "Möjlig graftsvikt"
        assert kind_label("something_new") == "Something new"  # an unknown code, as itself in words
    with translation.override("en"):
        assert str(AlertSeverity.URGENT.label) == "Urgent"
        assert kind_label("red_flag") == "Red flag"
        assert flag_label("delayed_engraftment") == "Delayed engraftment"


def test_a_swedish_patient_page_shows_translated_event_titles_and_the_typed_one_as_typed(
    client_for, swedish_coordinator, patient, episode_with_typed_event
):
    page = client_for(swedish_coordinator).get(reverse("recovery:patient-detail", args=[patient.uuid]))
    content = page.content.decode()
    assert "Återföring av stamceller (dag 0)" in content
    # shown only as the title (the Change button's label is the other helper's line of _event_row.html)
    assert content.count("Stem cell reinfusion (Day 0)") == content.count('"Change Stem cell reinfusion (Day 0)"')
    assert TYPED in content


def test_the_patients_home_lists_upcoming_events_in_swedish(client_for, patient, episode_with_typed_event):
    Patient.objects.filter(pk=patient.pk).update(preferred_language="sv")
    content = client_for(patient.user).get(reverse("recovery:my-recovery")).content.decode()
    assert "Blodprov för EBV och CMV (PCR), vecka 1" in content
    assert "EBV and CMV blood test" not in content
    assert TYPED in content


def test_this_week_in_swedish(client_for, swedish_coordinator, patient, episode_with_typed_event):
    content = client_for(swedish_coordinator).get(reverse("recovery:this-week")).content.decode()
    assert TYPED in content
    assert "Blodprov för EBV och CMV (PCR), vecka 1" in content
    assert "EBV and CMV blood test" not in content


def test_a_swedish_page_shows_the_alerts_severity_in_swedish(client_for, swedish_coordinator, patient, clock):
    transplant(patient, DAY0)
    record_symptom_report(
        context=AuditContext.system("tests"), patient=patient, recorded_at=timezone.now(), temperature_c="38.6"
    )
    alert = Alert.objects.get(patient=patient)
    assert alert.severity == AlertSeverity.URGENT
    content = client_for(swedish_coordinator).get(reverse("recovery:alert-detail", args=[alert.uuid])).content
    assert "Akut" in content.decode()
    with translation.override("sv"):
        assert alert.get_severity_display() == "Akut"


def test_the_calendar_feed_is_in_the_patients_language(patient, episode_with_typed_event):
    events = TimelineEvent.objects.filter(episode=episode_with_typed_event)
    Patient.objects.filter(pk=patient.pk).update(preferred_language="sv")
    patient.refresh_from_db()
    with translation.override("en"):  # whoever fetches it
        feed = render_ics(patient, events, NOW.date(), NOW)
    unfolded = feed.replace("\r\n ", "")
    assert "X-WR-CALNAME:Mina besök efter transplantationen" in unfolded
    assert "SUMMARY:Återföring av stamceller (dag 0)" in unfolded
    assert f"SUMMARY:{TYPED}" in unfolded
    assert "Ditt team berättar tid och plats för dig." in unfolded
    Patient.objects.filter(pk=patient.pk).update(preferred_language="en")
    patient.refresh_from_db()
    with translation.override("sv"):
        english = render_ics(patient, events, NOW.date(), NOW).replace("\r\n ", "")
    assert "SUMMARY:Stem cell reinfusion (Day 0)" in english
    assert "X-WR-CALNAME:My recovery appointments" in english


def test_the_api_stays_english_for_a_swedish_caller(api_for, swedish_coordinator, patient, episode_with_typed_event):
    response = api_for(swedish_coordinator).get(f"/api/v1/patients/{patient.uuid}/timeline/", HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    titles = {event["title"] for event in response.json()["events"]}
    assert "Stem cell reinfusion (Day 0)" in titles
    assert TYPED in titles
    assert not any("dag" in title or "Blodprov" in title for title in titles)
    kinds = {event["kind"] for event in response.json()["events"]}
    assert {"procedure", "visit", "lab"} <= kinds  # codes, not words


def test_every_column_of_the_export_is_marked_for_translation(patient):
    labels = {export._english_label(name, section.model) for section in export.SECTIONS for name in section.fields}
    labels |= {export._english_label(name, Patient) for name in export.PROFILE_FIELDS}
    assert labels - set(export.COLUMN_WORDS) == set()


def test_the_data_export_in_swedish(patient, episode_with_typed_event):
    with translation.override("sv"):
        data = export.patient_export(patient)
        titles = [section.title for section in data["sections"]]
        timeline = next(section for section in data["sections"] if section.key == "timeline")
    assert "Provsvar" in titles
    assert "Lab results" not in titles
    assert "Planerat datum" in timeline.labels
    with translation.override("en"):
        assert "Lab results" in [section.title for section in export.patient_export(patient)["sections"]]


def test_an_appointment_reminder_names_the_event_in_the_patients_language(patient, episode_with_typed_event):
    Patient.objects.filter(pk=patient.pk).update(preferred_language="sv")
    patient.refresh_from_db()
    built_in = episode_with_typed_event.events.get(template_key="reinfusion-d0")
    typed = episode_with_typed_event.events.get(title=TYPED)
    for event, title in ((built_in, "Återföring av stamceller (dag 0)"), (typed, TYPED)):
        notification = Notification(
            patient=patient,
            recipient=patient.user,
            audience=Audience.PATIENT,
            kind=NotificationKind.APPOINTMENT_EVE,
            channel=Channel.IN_APP,
            key="appointment_eve:test",
            due_at=NOW,
            next_attempt_at=NOW,
            about_at=NOW,
            event=event,
        )
        with translation.override("en"):  # the dispatcher's own language does not matter
            message = render(notification)
        assert title in message.text
        assert "Stem cell reinfusion" not in message.text


def test_a_stored_status_reason_stays_english_whatever_the_language(patient, episode_with_typed_event):
    Patient.objects.filter(pk=patient.pk).update(status="withdrawn", preferred_language="sv")
    Notification.objects.create(
        patient=patient,
        recipient=patient.user,
        audience=Audience.PATIENT,
        kind=NotificationKind.CHECKIN,
        channel=Channel.IN_APP,
        key="checkin:test",
        due_at=NOW,
        next_attempt_at=NOW,
    )
    with translation.override("sv"):
        dispatch_due(now=NOW)
    stored = Notification.objects.get(key="checkin:test")
    assert stored.status == NotificationStatus.CANCELLED
    assert stored.status_reason == "The patient is withdrawn."
