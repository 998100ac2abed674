"""Who has not reported: every patient in the high-risk window (with a login or not), overdue by the reminders'
own rule, and a reading entered by staff from a phone call that goes through the patient's own triage."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recovery.clinical.config import DEFAULT_REMINDER_CONFIG
from recovery.clinical.phases import EpisodeDates
from recovery.clinical.reminders import Slot, answers_checkin, checkin_slots, high_risk_window, missed_checkins
from recovery.clinical.triage import SYMPTOM_CODES
from recovery.models import Alert, AuditEvent, Patient, ReminderSettings, ReportVia, SymptomReport
from recovery.queries.reporting import Reporting, reporting_rows
from recovery.services.audit import AuditContext
from recovery.services.symptoms import record_symptom_report
from tests.factories import PatientFactory, patient_with_login, transplant

DAY0 = date(2026, 11, 16)
# Thu 19 Nov, Day +3, 13:00 in Stockholm: the 08:00 reading (07:00 UTC) is past its two hours' grace
NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    def move(at: datetime):
        time_machine.move_to(at, tick=False)

    move(NOW)
    return move


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def rows_by_name(response) -> dict[str, str]:
    """Each listed patient's row status, by last name."""
    html = response.content.decode()
    found = re.findall(r'data-testid="reporting-row" data-status="(\w+)">.*?>([^<,]+), ', html, flags=re.S)
    return {name: status for status, name in found}


@pytest.fixture
def cast(centre, other_centre, patient, clock):
    """Pia (login) and Nils (no login) in the window and silent; Olle (login) reported at 12:30 local; Eva
    engrafted long ago; Bo at another centre, in the window."""
    transplant(patient, DAY0)
    nils = PatientFactory(centre=centre, first_name="Nils", last_name="Nord")
    transplant(nils, DAY0)
    olle = patient_with_login(centre=centre, first_name="Olle", last_name="Berg")
    transplant(olle, DAY0)
    clock(NOW - timedelta(minutes=30))
    record_symptom_report(
        context=AuditContext.system("tests"),
        patient=olle,
        recorded_at=NOW - timedelta(minutes=35),
        temperature_c="37.1",
    )
    clock(NOW)
    eva = PatientFactory(centre=centre, first_name="Eva", last_name="Ek")
    transplant(eva, date(2026, 8, 1), engrafted=date(2026, 8, 12))
    bo = PatientFactory(centre=other_centre, first_name="Bo", last_name="Borg")
    transplant(bo, DAY0)
    return {"pia": patient, "nils": nils, "olle": olle, "eva": eva, "bo": bo}


# --- the pure rule ----------------------------------------------------------------------------------------------


def test_a_report_answers_a_checkin_from_the_lead_time_before_it_on():
    due = datetime(2026, 11, 19, 7, 0, tzinfo=UTC)
    lead = DEFAULT_REMINDER_CONFIG.answer_lead_minutes
    assert answers_checkin(due - timedelta(minutes=lead), due, lead)
    assert not answers_checkin(due - timedelta(minutes=lead + 1), due, lead)
    assert answers_checkin(due + timedelta(hours=3), due, lead)
    assert not answers_checkin(None, due, lead)


def test_a_checkin_is_missed_once_the_patients_reminder_step_is_due_and_unanswered():
    dates = EpisodeDates(None, None, None, DAY0, None)
    window = high_risk_window(DAY0, None)
    slots = checkin_slots(dates, date(2026, 11, 19), date(2026, 11, 19), "Europe/Stockholm")
    morning = [s for s in slots if s.due_at == datetime(2026, 11, 19, 7, 0, tzinfo=UTC)]
    grace = timedelta(minutes=DEFAULT_REMINDER_CONFIG.grace_high_risk_minutes)
    assert missed_checkins(morning, window, None, None, morning[0].due_at + grace - timedelta(minutes=1)) == []
    assert missed_checkins(morning, window, None, None, morning[0].due_at + grace) == morning
    answered_early = morning[0].due_at - timedelta(minutes=30)
    assert missed_checkins(morning, window, answered_early, answered_early, morning[0].due_at + grace) == []
    # "I feel fine" (a report, no temperature) answers the red-flag check-in, not the temperature
    assert [s.kind for s in missed_checkins(morning, window, answered_early, None, morning[0].due_at + grace)] == [
        "temperature_checkin"
    ]
    assert all(isinstance(s, Slot) for s in morning)


# --- the page -----------------------------------------------------------------------------------------------------


def test_lists_the_centres_patients_in_the_window_overdue_first_with_and_without_a_login(client_for, coordinator, cast):
    response = client_for(coordinator).get(reverse("recovery:reporting"))
    assert response.status_code == 200
    statuses = rows_by_name(response)
    assert statuses == {"Holmgren": "overdue", "Nord": "overdue", "Berg": "reported"}
    assert list(statuses) == ["Holmgren", "Nord", "Berg"]  # overdue first, then by name
    text = text_of(response)
    assert "Ek" not in statuses  # out of the window
    assert "Borg" not in text  # another centre
    assert "Missed 3 readings, the first due Wed 18 Nov 08:00 CET." in text  # yesterday's two and today's
    assert "2 of 3 patients overdue now" in text
    assert "Last temperature: 37.1 °C, taken Thu 19 Nov 12:25 CET." in text
    assert "No temperature recorded yet." in text


def test_a_patient_without_a_login_is_marked_and_told_to_get_no_tasks(client_for, clinician, cast):
    html = client_for(clinician).get(reverse("recovery:reporting")).content.decode()
    assert html.count('data-testid="no-login"') == 1
    assert "temperature reminders go by text message or email only, and no task is made" in html


def test_a_patient_without_a_login_or_contact_details_is_said_to_get_no_reminders(client_for, clinician, cast):
    cast["nils"].phone = ""
    cast["nils"].email = ""
    cast["nils"].save()
    text = text_of(client_for(clinician).get(reverse("recovery:reporting")))
    assert "No login and no mobile number or email on record: this patient gets no reminders" in text


def test_a_held_patient_is_still_overdue_and_shown_as_getting_no_reminders(client_for, coordinator, cast):
    ReminderSettings.objects.create(patient=cast["pia"], on_hold=True, hold_reason="in hospital")
    response = client_for(coordinator).get(reverse("recovery:reporting"))
    assert rows_by_name(response)["Holmgren"] == "overdue"
    assert "Gets no reminders: Reminders are on hold: in hospital" in text_of(response)


def test_a_reading_is_due_not_overdue_while_its_grace_runs(client_for, coordinator, cast, clock):
    evening = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)  # yesterday's 20:00 reading, answered
    clock(evening)
    record_symptom_report(
        context=AuditContext.system("tests"), patient=cast["pia"], recorded_at=evening, temperature_c="36.9"
    )
    clock(datetime(2026, 11, 19, 7, 30, tzinfo=UTC))  # 08:30 local: due at 08:00, missed at 10:00
    response = client_for(coordinator).get(reverse("recovery:reporting"))
    assert rows_by_name(response)["Holmgren"] == "due"
    assert "Reading due Thu 19 Nov 08:00 CET, not received yet." in text_of(response)
    clock(datetime(2026, 11, 19, 9, 0, tzinfo=UTC))  # 10:00 local: the grace has run out
    assert rows_by_name(client_for(coordinator).get(reverse("recovery:reporting")))["Holmgren"] == "overdue"


def test_the_other_centres_staff_see_only_their_own_patient(client_for, other_centre_coordinator, cast):
    statuses = rows_by_name(client_for(other_centre_coordinator).get(reverse("recovery:reporting")))
    assert statuses == {"Borg": "overdue"}


def test_viewing_the_list_is_audited_for_each_patient_shown(client_for, coordinator, cast):
    client_for(coordinator).get(reverse("recovery:reporting"))
    read = AuditEvent.objects.filter(action="reporting.view", actor=coordinator)
    assert set(read.values_list("patient_id", flat=True)) == {cast["pia"].pk, cast["nils"].pk, cast["olle"].pk}


def test_the_query_finds_the_same_rows_as_the_page(coordinator, cast):
    from recovery import access

    rows = reporting_rows(access.visible_patients(coordinator))
    assert [(r.patient.last_name, r.status) for r in rows] == [
        ("Holmgren", Reporting.OVERDUE),
        ("Nord", Reporting.OVERDUE),
        ("Berg", Reporting.REPORTED),
    ]


def test_the_query_count_does_not_grow_with_patients(client_for, clinician, centre, clock):
    def in_window(count):
        for _ in range(count):
            person = PatientFactory(centre=centre)
            transplant(person, DAY0)
            record_symptom_report(
                context=AuditContext.system("tests"),
                patient=person,
                recorded_at=NOW - timedelta(hours=1),
                temperature_c="36.9",
                symptoms={"chills": 0},
            )

    client = client_for(clinician)
    in_window(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("recovery:reporting")).status_code == 200
    in_window(28)
    with CaptureQueriesContext(connection) as many:
        html = client.get(reverse("recovery:reporting")).content.decode()
    assert html.count('data-testid="reporting-row"') == 25
    assert len(many.captured_queries) == len(few.captured_queries)


# --- a reading from a phone call -----------------------------------------------------------------------------------


def reading_url(patient):
    return reverse("recovery:phone-reading", args=[patient.uuid])


def test_a_phone_reading_is_stored_as_entered_by_staff_by_phone_and_answers_the_checkin(client_for, coordinator, cast):
    nils = cast["nils"]
    client = client_for(coordinator)
    response = client.post(
        reading_url(nils),
        {"temperature": "36,8", "unit": "C", "recorded_at": "2026-11-19T12:50", "next": reverse("recovery:reporting")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("recovery:reporting")
    report = SymptomReport.objects.get(patient=nils)
    assert str(report.temperature_c) == "36.8"
    assert report.entered_by == coordinator
    assert report.entered_via == ReportVia.PHONE
    assert report.recorded_at == datetime(2026, 11, 19, 11, 50, tzinfo=UTC)  # 12:50 in Stockholm
    audit = AuditEvent.objects.get(action="symptoms.report", patient=nils)
    assert audit.actor == coordinator
    assert audit.detail["entered_via"] == "phone"
    page = client.get(reverse("recovery:reporting"))
    assert rows_by_name(page)["Nord"] == "reported"
    assert "(entered by staff from a phone call)" in text_of(page)


def test_a_fever_by_phone_raises_the_same_alert_as_the_patients_own_entry(client_for, coordinator, cast):
    response = client_for(coordinator).post(
        reading_url(cast["nils"]), {"temperature": "38.6", "unit": "C", "recorded_at": "2026-11-19T12:50"}
    )
    by_phone = Alert.objects.get(patient=cast["nils"])
    assert response.status_code == 302
    assert response["Location"] == reverse("recovery:alert-detail", args=[by_phone.uuid])
    client_for(cast["pia"].user).post(
        reverse("recovery:temperature"), {"temperature": "38.6", "unit": "C", "recorded_at": "2026-11-19T12:50"}
    )
    own = Alert.objects.get(patient=cast["pia"])
    assert (by_phone.kind, by_phone.severity, by_phone.rule, by_phone.neutropenic_fever) == (
        own.kind,
        own.severity,
        own.rule,
        own.neutropenic_fever,
    )
    assert by_phone.severity == "urgent"


def test_an_implausible_phone_reading_is_refused_in_words_and_the_input_kept(client_for, coordinator, cast):
    response = client_for(coordinator).post(
        reading_url(cast["nils"]), {"temperature": "45", "unit": "C", "recorded_at": "2026-11-19T12:50"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not possible" in text_of(response)
    assert 'value="45"' in html
    assert 'value="2026-11-19T12:50"' in html
    assert not SymptomReport.objects.filter(patient=cast["nils"]).exists()


def test_a_phone_reading_without_a_temperature_is_refused(client_for, coordinator, cast):
    response = client_for(coordinator).post(
        reading_url(cast["nils"]), {"temperature": "", "unit": "C", "recorded_at": "2026-11-19T12:50"}
    )
    assert response.status_code == 200
    assert "Enter the temperature the patient gave." in text_of(response)


def test_the_form_offers_the_patients_own_time_and_is_audited(client_for, clinician, cast):
    response = client_for(clinician).get(reading_url(cast["nils"]))
    assert 'value="2026-11-19T13:00"' in response.content.decode()
    assert AuditEvent.objects.filter(action="symptoms.phone_form", patient=cast["nils"], actor=clinician).exists()


def test_an_outside_next_address_is_ignored(client_for, coordinator, cast):
    response = client_for(coordinator).post(
        reading_url(cast["nils"]),
        {"temperature": "36.8", "unit": "C", "recorded_at": "2026-11-19T12:50", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("recovery:reporting")


# --- the task list's empty state ------------------------------------------------------------------------------------


def test_no_open_tasks_never_claims_that_everyone_has_reported(client_for, coordinator, cast):
    response = client_for(coordinator).get(reverse("recovery:tasks"))
    text = text_of(response)
    assert "No open tasks." in text
    assert "Every patient has checked in" not in text
    assert "this does not mean that every patient has reported" in text
    assert reverse("recovery:reporting") in response.content.decode()


def test_a_patient_in_conditioning_is_listed_with_no_reading_due_before_day_0(client_for, coordinator, centre, clock):
    conditioning = PatientFactory(centre=centre, first_name="Cai", last_name="Cederlund")
    transplant(conditioning, date(2026, 11, 21))  # conditioning began 16 Nov
    response = client_for(coordinator).get(reverse("recovery:reporting"))
    assert rows_by_name(response) == {"Cederlund": "none_due"}
    assert "No readings are asked for before Day 0." in text_of(response)


def test_after_follow_up_no_reading_is_asked_for_as_no_reminder_is_planned(client_for, coordinator, centre, clock):
    """Engraftment never recorded keeps the window open, but reminders stop at the end of follow-up."""
    long_ago = PatientFactory(centre=centre, first_name="Gun", last_name="Gran")
    transplant(long_ago, date(2012, 1, 10))  # follow-up (10 years of labs) ended in 2022
    response = client_for(coordinator).get(reverse("recovery:reporting"))
    assert rows_by_name(response) == {"Gran": "none_due"}
    assert "No more readings are asked for: follow-up has ended." in text_of(response)


# --- what counts as an answer (hazard H-40) --------------------------------------------------------------------------


def _row(patient):
    (row,) = [r for r in reporting_rows(Patient.objects.filter(pk=patient.pk), NOW) if r.patient.pk == patient.pk]
    return row


def test_i_feel_fine_does_not_answer_the_temperature_reading(cast):
    """A report without a temperature answers the red-flag check-in; the 08:00 reading is still overdue."""
    pia = cast["pia"]
    record_symptom_report(
        context=AuditContext.system("tests"), patient=pia, recorded_at=NOW, symptoms=dict.fromkeys(SYMPTOM_CODES, 0)
    )
    row = _row(pia)
    assert row.status == Reporting.OVERDUE  # not "Up to date" with no reading
    assert {s.kind for s in row.missed} == {"temperature_checkin"}
    assert row.missed[-1].due_at == datetime(2026, 11, 19, 7, 0, tzinfo=UTC)  # today's 08:00
    assert row.temperature_c is None
    record_symptom_report(context=AuditContext.system("tests"), patient=pia, recorded_at=NOW, temperature_c="36.9")
    assert _row(pia).status == Reporting.REPORTED


def test_a_phone_reading_counts_when_it_was_taken_not_when_it_was_typed_in(client_for, coordinator, cast):
    """Entered now by staff, taken at 05:00 (before the 08:00 reading was due): the 08:00 reading is still missed."""
    nils = cast["nils"]
    response = client_for(coordinator).post(
        reading_url(nils), {"temperature": "36,8", "unit": "C", "recorded_at": "2026-11-19T05:00"}
    )
    assert response.status_code == 302
    assert SymptomReport.objects.get(patient=nils).created_at == NOW
    row = _row(nils)
    assert row.status == Reporting.OVERDUE
    assert row.missed[-1].due_at == datetime(2026, 11, 19, 7, 0, tzinfo=UTC)  # today's 08:00
    page = client_for(coordinator).get(reverse("recovery:reporting"))
    assert rows_by_name(page)["Nord"] == "overdue"
