"""What each kind of message says: every kind renders, in the patient's language, with local times and links."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.template.loader import get_template

from recovery.models import Audience, Channel, Notification, NotificationKind
from recovery.queries.reminders import PATIENT_REMINDER_KINDS, inbox
from recovery.services.audit import AuditContext
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.reminders.messages import RENDERERS, render
from recovery.services.symptoms import record_symptom_report
from tests.factories import transplant

NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)  # 13:00 in Stockholm (CET)
DUE = datetime(2026, 11, 19, 7, 0, tzinfo=UTC)  # 08:00 in Stockholm
# The reminder and escalation kinds (issue 5); labs, prophylaxis and vaccination messages are tested with them.
REMINDER_KINDS = sorted(
    {
        NotificationKind.TEMPERATURE_CHECKIN,
        NotificationKind.RED_FLAG_CHECKIN,
        NotificationKind.CHECKIN,
        NotificationKind.APPOINTMENT_EVE,
        NotificationKind.APPOINTMENT_MORNING,
        NotificationKind.MISSED_CHECKIN,
        NotificationKind.MISSED_CHECKIN_TASK,
        NotificationKind.MISSED_CHECKIN_CLINICIAN,
        NotificationKind.ALERT_RESEND,
        NotificationKind.ALERT_ON_CALL,
        NotificationKind.ALERT_END_OF_DAY,
    }
)
PATIENT_KINDS = sorted(PATIENT_REMINDER_KINDS | {NotificationKind.MISSED_CHECKIN})
STAFF_KINDS = sorted(set(REMINDER_KINDS) - set(PATIENT_KINDS))
ALERT_KINDS = {NotificationKind.ALERT_RESEND, NotificationKind.ALERT_ON_CALL, NotificationKind.ALERT_END_OF_DAY}
APPOINTMENT_KINDS = {NotificationKind.APPOINTMENT_EVE, NotificationKind.APPOINTMENT_MORNING}


@pytest.fixture
def transplanted(patient, time_machine):
    """Pia on Day +3, with an open urgent fever alert."""
    time_machine.move_to(NOW, tick=False)
    patient.last_name = "O'Brien"  # an apostrophe: plain-text messages must not HTML-escape it
    patient.save(update_fields=["last_name"])
    transplant(patient, date(2026, 11, 16))
    return patient


@pytest.fixture
def alert(transplanted):
    outcome = record_symptom_report(
        context=AuditContext.system("tests"), patient=transplanted, recorded_at=NOW, temperature_c="38.6"
    )
    return outcome.alert


def message_for(patient, kind, *, alert=None, recipient=None):
    """An unsaved notification of this kind about `patient`, as the dispatcher would render it."""
    audience = Audience.PATIENT if kind in PATIENT_KINDS else Audience.STAFF
    event = patient.episode.events.order_by("planned_date").first() if kind in APPOINTMENT_KINDS else None
    return Notification(
        patient=patient,
        recipient=recipient if audience == Audience.STAFF else patient.user,
        audience=audience,
        kind=kind,
        channel=Channel.IN_APP,
        key=f"{kind}:test",
        due_at=DUE,
        next_attempt_at=DUE,
        about_at=DUE if kind not in PATIENT_REMINDER_KINDS else None,
        alert=alert if kind in ALERT_KINDS else None,
        event=event,
    )


def test_every_kind_has_its_own_english_templates():
    """Each reminder kind has a renderer and a subject, text and HTML template of its own in English."""
    assert set(REMINDER_KINDS) <= set(RENDERERS)
    for kind in REMINDER_KINDS:
        for name in ("subject.txt", "body.txt", "body.html"):
            assert get_template(f"notifications/en/{kind}/{name}")


@pytest.mark.parametrize("kind", PATIENT_KINDS)
def test_every_patient_facing_kind_has_a_swedish_translation(kind):
    for name in ("subject.txt", "body.txt", "body.html"):
        assert get_template(f"notifications/sv/{kind}/{name}")


@pytest.mark.parametrize("kind", REMINDER_KINDS)
def test_every_kind_renders_in_english(transplanted, alert, coordinator, kind):
    """Subject on one line, a text body, and an HTML body from the shared base; nothing left unrendered."""
    message = render(message_for(transplanted, kind, alert=alert, recipient=coordinator))
    assert message.subject
    assert "\n" not in message.subject
    assert message.text
    assert message.html.lstrip().startswith("<!doctype html>")
    assert transplanted.centre.name in message.html
    for part in (message.subject, message.text, message.html):
        assert "{{" not in part
        assert "{%" not in part
    assert "&#x27;" not in message.text + message.subject  # plain text is not HTML-escaped


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_staff_messages_name_the_patient_and_link_to_them(transplanted, alert, coordinator, kind):
    message = render(message_for(transplanted, kind, alert=alert, recipient=coordinator))
    assert "Pia O'Brien" in message.subject
    assert transplanted.hospital_number in message.subject
    if kind in ALERT_KINDS:
        assert f"/alerts/{alert.uuid}/" in message.text
        assert alert.reason in message.text
        assert "Urgent" in message.text
    else:
        assert f"/patients/{transplanted.uuid}/" in message.text
        assert "Thu 19 Nov 08:00 CET" in message.text  # the missed check-in, in the patient's local time


def test_the_temperature_checkin_says_what_to_do_and_whom_to_call(transplanted):
    message = render(message_for(transplanted, NotificationKind.TEMPERATURE_CHECKIN))
    assert "take your temperature now" in message.text
    assert "http://localhost:8000/my/temperature/" in message.text
    assert "38.0 °C or higher or below 35.5 °C, call the unit now: +46 18 611 00 00" in message.text
    assert 'href="http://localhost:8000/my/temperature/"' in message.html


def test_the_red_flag_checkin_lists_the_red_flags(transplanted):
    text = render(message_for(transplanted, NotificationKind.RED_FLAG_CHECKIN)).text
    for flag in ("38.0 °C", "bleeding", "shortness of breath", "confusion", "diarrhoea"):
        assert flag in text


def test_a_missed_checkin_names_the_local_time_not_utc(transplanted):
    text = render(message_for(transplanted, NotificationKind.MISSED_CHECKIN)).text
    assert "from Thursday 08:00" in text


def test_a_swedish_speaking_patient_gets_swedish_and_their_care_team_english(transplanted, coordinator):
    transplanted.preferred_language = "sv"
    transplanted.save(update_fields=["preferred_language"])
    to_patient = render(message_for(transplanted, NotificationKind.TEMPERATURE_CHECKIN))
    assert to_patient.subject == "Dags att ta tempen"
    assert "38,0 °C eller högre eller under 35,5 °C, ring avdelningen direkt: +46 18 611 00 00" in to_patient.text
    assert '<html lang="sv">' in to_patient.html
    to_staff = render(message_for(transplanted, NotificationKind.MISSED_CHECKIN_TASK, recipient=coordinator))
    assert to_staff.subject.startswith("Missed check-in:")
    assert '<html lang="en">' in to_staff.html


@pytest.mark.parametrize("kind", PATIENT_KINDS)
def test_every_patient_facing_kind_is_in_swedish_for_a_swedish_patient(transplanted, kind):
    transplanted.preferred_language = "sv"
    transplanted.save(update_fields=["preferred_language"])
    message = render(message_for(transplanted, kind))
    assert message.text.startswith("Hej Pia!")
    assert "ring avdelningen" in message.text


def test_dispatched_in_app_reminders_render_from_the_database(transplanted):
    """The rows the planner made render as they are stored (event and alert loaded by the inbox's query)."""
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        dispatch_due()
        rows = list(inbox(transplanted.user)[:20])
    assert rows
    for row in rows:
        assert render(row).subject
