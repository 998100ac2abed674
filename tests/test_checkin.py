"""The patient's check-in pages: report from a phone, be told what to do, nothing typed is lost."""

from datetime import date, datetime

import pytest
from django.urls import reverse

from recovery.clinical.triage import SYMPTOM_CODES
from recovery.models import Alert, SymptomReport
from recovery.services.audit import AuditContext
from recovery.services.symptoms import record_symptom_report
from tests.factories import transplant

NOW = "2026-11-20 09:30:00+00:00"  # 10:30 in Stockholm
DAY0 = date(2026, 11, 15)  # the patient is on Day +5


@pytest.fixture
def on_day_five(patient, time_machine):
    time_machine.move_to(NOW, tick=False)
    transplant(patient, DAY0)
    return patient


def _temperature(client, value, unit="C", at="2026-11-20T10:15"):
    return client.post(reverse("recovery:temperature"), {"temperature": value, "unit": unit, "recorded_at": at})


def test_fever_on_day_five_says_call_the_unit_now_with_the_number(client_for, on_day_five):
    """38.4 °C on Day +5 is urgent: the patient is told at once to call the unit, with its 24-hour number."""
    client = client_for(on_day_five.user)
    response = _temperature(client, "38.4")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Call the unit now" in page
    assert 'href="tel:+46 18 611 00 00"' in page
    assert "38.4 °C" in page
    assert "101.1 °F" in page
    assert "Fri 20 Nov, 10:15" in page  # shown in the patient's own time, stored in UTC
    report = SymptomReport.objects.get()
    assert (report.day, report.phase, report.triage_level) == (5, "aplasia", "urgent")
    assert report.recorded_at.isoformat() == "2026-11-20T09:15:00+00:00"  # 10:15 in Stockholm, stored in UTC
    alert = Alert.objects.get()
    assert (alert.severity, alert.rule) == ("urgent", "fever.high_risk_window")


def test_fahrenheit_is_converted_and_shown_in_both(client_for, on_day_five):
    """101.1 °F is stored as 38.4 °C and shown in both units."""
    client = client_for(on_day_five.user)
    page = client.get(_temperature(client, "101.1", unit="F")["Location"]).content.decode()
    assert str(SymptomReport.objects.get().temperature_c) == "38.4"
    assert "38.4 °C" in page
    assert "101.1 °F" in page


def test_normal_temperature_thanks_the_patient(client_for, on_day_five):
    """36.8 °C raises nothing and says thank you."""
    client = client_for(on_day_five.user)
    page = client.get(_temperature(client, "36,8")["Location"]).content.decode()
    assert "Thank you" in page
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("value", "unit", "at", "message"),
    [
        ("50", "C", "2026-11-20T10:15", "A temperature of 50.0 °C is not possible"),
        ("33.9", "C", "2026-11-20T10:15", "between 34.0 and 43.0 °C"),
        ("122", "F", "2026-11-20T10:15", "You entered 122 °F (50.0 °C)"),
        ("hot", "C", "2026-11-20T10:15", "Enter the temperature as a number"),
        ("", "C", "2026-11-20T10:15", "Enter the temperature."),
        ("37.5", "C", "2026-11-20T11:45", "This time is in the future"),
        ("37.5", "C", "yesterday", "Enter a valid date/time"),
    ],
    ids=["50C", "too-low", "122F", "word", "empty", "future", "bad-time"],
)
def test_implausible_values_are_refused_and_kept(client_for, on_day_five, value, unit, at, message):
    """An implausible value is refused with a message, and what was typed stays on the form."""
    client = client_for(on_day_five.user)
    response = _temperature(client, value, unit, at)
    content = response.content.decode()
    assert response.status_code == 200
    assert message in content
    assert f'value="{value}"' in content
    assert f'value="{at}"' in content
    assert not SymptomReport.objects.exists()


def test_full_check_in_with_symptoms_notes_and_urgency(client_for, on_day_five):
    """Symptoms graded in plain words, notes and 'feels urgent' are all stored and triaged."""
    client = client_for(on_day_five.user)
    form = {
        "temperature": "37.2",
        "unit": "C",
        "recorded_at": "2026-11-20T10:00",
        "symptom_nausea": "3",
        "symptom_mouth_sores": "2",
        "notes": "Can't keep water down",
        "feels_urgent": "on",
    }
    response = client.post(reverse("recovery:checkin"), form)
    page = client.get(response["Location"]).content.decode()
    report = SymptomReport.objects.get()
    assert report.symptoms["nausea"] == 3
    assert report.symptoms["mouth_sores"] == 2
    assert report.notes == "Can't keep water down"
    assert report.feels_urgent
    assert report.triage_level == "urgent"  # "I feel this is urgent" on Day +5, in the high-risk window
    assert "Call the unit now" in page


def test_a_check_in_with_every_symptom_at_none_is_an_im_fine_answer(client_for, on_day_five):
    """Sending the form as it comes (every symptom "None", no temperature) is an answer, stored with every 0."""
    client = client_for(on_day_five.user)
    response = client.post(reverse("recovery:checkin"), {"unit": "C", "recorded_at": "2026-11-20T10:00"})
    assert response.status_code == 302
    report = SymptomReport.objects.get()
    assert report.symptoms == dict.fromkeys(SYMPTOM_CODES, 0)
    assert report.temperature_c is None
    assert report.triage_level == "none"
    assert "Your report is saved." in client.get(response["Location"]).content.decode()


def test_each_symptom_rises_from_its_last_graded_value(client_for, on_day_five):
    """ "I'm fine" (all 0) is the baseline; a report that leaves a symptom out does not reset it to 0."""

    def post(local_time: str, symptoms: dict[str, int]) -> str:
        recorded_at = datetime.fromisoformat(f"2026-11-20T{local_time}:00+01:00")
        outcome = record_symptom_report(
            context=AuditContext.system("tests"), patient=on_day_five, recorded_at=recorded_at, symptoms=symptoms
        )
        return outcome.result.level.value

    assert post("08:00", {"nausea": 0, "pain": 0}) == "none"
    assert post("08:30", {"pain": 2}) == "same_day"  # worse: from 0 to 2
    assert post("09:00", {"nausea": 1}) == "routine"
    assert post("09:30", {"fatigue": 1}) == "routine"
    # nausea was last graded 1 (not 0 because the 09:30 report left it out): a rise of 1 is routine
    assert post("10:00", {"nausea": 2}) == "routine"
    assert post("10:15", {"nausea": 0, "fatigue": 0}) == "none"
    assert post("10:20", {"nausea": 2}) == "same_day"  # from the 0 just before


def test_check_in_form_offers_every_symptom_in_plain_words(client_for, on_day_five):
    """The form lists the symptoms with grades from None to Very severe."""
    page = client_for(on_day_five.user).get(reverse("recovery:checkin")).content.decode()
    assert "Shortness of breath" in page
    assert "4 · Very severe" in page
    assert 'value="2026-11-20T10:30"' in page  # now, in the patient's own time


def test_history_shows_own_reports_and_the_fever_line(client_for, on_day_five, other_patient):
    """The history lists the patient's own reports with the chart data and the configured fever line."""
    client = client_for(on_day_five.user)
    _temperature(client, "37.9", at="2026-11-20T08:00")
    _temperature(client, "38.2", at="2026-11-20T09:00")
    page = client.get(reverse("recovery:my-history")).content.decode()
    assert "37.9 °C" in page
    assert "38.2 °C" in page
    assert 'id="fever-line" type="application/json">38.0<' in page
    other = client_for(other_patient.user).get(reverse("recovery:my-history")).content.decode()
    assert "38.2 °C" not in other


def test_a_patient_cannot_open_another_patients_result(client_for, on_day_five, other_patient):
    """Another patient's report id is not found."""
    client = client_for(on_day_five.user)
    location = _temperature(client, "36.9")["Location"]
    assert client_for(other_patient.user).get(location).status_code == 404


def test_staff_have_no_check_in_page(client_for, coordinator):
    """The check-in is the patient's own page; staff get 403."""
    assert client_for(coordinator).get(reverse("recovery:checkin")).status_code == 403


@pytest.mark.parametrize(
    ("form", "level", "rule"),
    [
        pytest.param({"symptom_chills": "1"}, "urgent", "red_flag.symptom", id="shivering_no_reading"),
        pytest.param({"symptom_line_site": "1"}, "urgent", "red_flag.symptom", id="line_site"),
        pytest.param({"temperature": "35.4"}, "urgent", "temperature.very_low", id="very_low"),
        pytest.param({"temperature": "35.9"}, "same_day", "temperature.low", id="low"),
        pytest.param({"feels_urgent": "on"}, "urgent", "patient.feels_urgent", id="feels_urgent"),
        pytest.param({"temperature": "38.0"}, "urgent", "fever.high_risk_window", id="fever"),
        pytest.param({}, "none", None, id="im_fine"),
    ],
)
def test_the_form_and_the_api_triage_alike(client_for, api_for, on_day_five, other_patient, form, level, rule):
    """The same report through the phone form (Pia) and the API (Olle, also on Day +5) gets the same triage."""
    transplant(other_patient, DAY0)
    client = client_for(on_day_five.user)
    response = client.post(reverse("recovery:checkin"), {"unit": "C", "recorded_at": "2026-11-20T10:00", **form})
    assert response.status_code == 302
    body = {"recorded_at": "2026-11-20T10:00:00+01:00", "symptoms": dict.fromkeys(SYMPTOM_CODES, 0)}
    for name, value in form.items():
        if name.startswith("symptom_"):
            body["symptoms"][name.removeprefix("symptom_")] = int(value)
        elif name == "temperature":
            body["temperature_c"] = float(value)
        else:
            body["feels_urgent"] = True
    url = f"/api/v1/patients/{other_patient.uuid}/symptom-reports/"
    api = api_for(other_patient.user).post(url, body, format="json")
    assert api.status_code == 201, api.json()
    by_form = SymptomReport.objects.get(patient=on_day_five)
    by_api = SymptomReport.objects.get(patient=other_patient)
    assert by_form.triage_level == by_api.triage_level == api.json()["triage"]["level"] == level
    assert [f["rule"] for f in by_form.findings] == [f["rule"] for f in by_api.findings] == ([rule] if rule else [])
    page = client.get(response["Location"]).content.decode()
    assert api.json()["triage"]["advice"] in page  # one wording: the rule's, on the page and in the API
