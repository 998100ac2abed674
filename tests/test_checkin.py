"""The patient's check-in pages: report from a phone, be told what to do, nothing typed is lost."""

from datetime import date, datetime

import pytest
from django.urls import reverse

from recovery.clinical.symptom_questions import QUESTIONS
from recovery.clinical.triage import SYMPTOM_CODES
from recovery.models import Alert, AuditEvent, SymptomReport
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


PICKER = "/my/check-in/"
DETAILS = "/my/check-in/more/"
ANSWERS = "/my/check-in/answers/"


def _question(code: str) -> str:
    return f"/my/check-in/symptom/{code}/"


def _details(**fields) -> dict:
    return {"temperature": "", "unit": "C", "recorded_at": "2026-11-20T10:00", "notes": "", **fields}


def _check_in(client, grades: dict[str, int], **details):
    """Walk the check-in as a patient does: choose, answer each question, the last step, check, send."""
    response = client.post(PICKER, {"symptoms": list(grades)})
    for code, grade in grades.items():
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response["Location"] == _question(code)
        response = client.post(_question(code), {"grade": str(grade)})
    assert response["Location"] == DETAILS
    response = client.post(DETAILS, _details(**details))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == ANSWERS
    return client.post(ANSWERS)


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


def test_i_feel_fine_is_one_tap_and_records_every_symptom_at_none(client_for, on_day_five):
    """ "I feel fine" sends at once: a check-in now, every symptom graded 0 (the baseline), no temperature."""
    client = client_for(on_day_five.user)
    page = client.get(PICKER).content.decode()
    assert "Is anything new or worse since you last told us?" in page
    assert '<input type="hidden" name="fine" value="1">' in page
    response = client.post(PICKER, {"fine": "1"})
    assert response.status_code == 302
    report = SymptomReport.objects.get()
    assert report.symptoms == dict.fromkeys(SYMPTOM_CODES, 0)
    assert report.temperature_c is None
    assert report.recorded_at.isoformat() == "2026-11-20T09:30:00+00:00"  # now
    assert report.triage_level == "none"
    assert "Your report is saved." in client.get(response["Location"]).content.decode()


def test_picker_offers_every_symptom_grouped_in_plain_words(client_for, on_day_five):
    """Every configured symptom is a checkbox, under a plain group; the MS symptoms under their own."""
    page = client_for(on_day_five.user).get(PICKER).content.decode()
    for code, question in QUESTIONS.items():
        assert f'id="symptom-{code}"' in page
        assert question.name in page
    assert page.count('type="checkbox" name="symptoms"') == len(SYMPTOM_CODES)
    assert "Breathing, chest and feeling faint" in page
    assert "MS symptoms, new or worse than usual" in page
    assert AuditEvent.objects.filter(action="symptoms.checkin_form", patient=on_day_five).count() == 1


def test_choose_answer_check_change_and_send(client_for, on_day_five):
    """Picker, one question per symptom with its progress, the last step, the answers with Change links, send."""
    client = client_for(on_day_five.user)
    response = client.post(PICKER, {"symptoms": ["mouth_sores", "nausea"]})
    assert response["Location"] == _question("nausea")  # in the picker's order, not the order sent
    page = client.get(_question("nausea")).content.decode()
    assert "How bad has the feeling sick (nausea) been at its worst?" in page
    assert "Question 1 of 3" in page
    assert '<progress class="rt-progress" max="3" value="1" aria-labelledby="progress-label">' in page
    assert f'href="{PICKER}"' in page  # Back
    for word, example in [("None", "No nausea"), ("Moderate", "Eating less because of it")]:
        assert word in page
        assert example in page
    assert client.post(_question("nausea"), {"grade": "3"})["Location"] == _question("mouth_sores")
    page = client.get(_question("mouth_sores")).content.decode()
    assert "Question 2 of 3" in page
    assert f'href="{_question("nausea")}"' in page
    assert client.post(_question("mouth_sores"), {"grade": "2"})["Location"] == DETAILS
    assert "Question 3 of 3" in client.get(DETAILS).content.decode()
    response = client.post(DETAILS, _details(temperature="37,2", notes="Can't keep water down", feels_urgent="on"))
    assert response["Location"] == ANSWERS
    page = client.get(ANSWERS).content.decode()
    assert "Check your answers" in page
    assert "Hardly eating or drinking because of it" in page  # nausea 3, in words
    assert "Painful: soft food only" in page  # mouth sores 2
    assert "37.2 °C" in page
    assert "Fri 20 Nov, 10:00" in page  # the patient's own time
    assert "Can&#x27;t keep water down" in page
    assert f'href="{_question("nausea")}?change=1"' in page
    assert not SymptomReport.objects.exists()  # nothing is sent before Send

    # Change nausea from the answers page: back to the answers, not through the other questions.
    page = client.get(f"{_question('nausea')}?change=1").content.decode()
    assert 'value="3" id="grade-3" aria-describedby="grade-3-example" checked' in page
    assert f'href="{ANSWERS}"' in page  # Back goes to the answers
    assert client.post(f"{_question('nausea')}?change=1", {"grade": "4"})["Location"] == ANSWERS
    assert "Cannot eat or drink at all" in client.get(ANSWERS).content.decode()

    response = client.post(ANSWERS)
    assert response.status_code == 302
    report = SymptomReport.objects.get()
    assert report.symptoms == {"nausea": 4, "mouth_sores": 2}  # only what was chosen: the rest keep their last grade
    assert str(report.temperature_c) == "37.2"
    assert report.notes == "Can't keep water down"
    assert report.feels_urgent
    assert report.recorded_at.isoformat() == "2026-11-20T09:00:00+00:00"  # 10:00 in Stockholm
    assert report.triage_level == "urgent"  # "I feel this is urgent" on Day +5, in the high-risk window
    assert "Call the unit now" in client.get(response["Location"]).content.decode()


def test_something_else_with_symptoms_and_a_temperature_still_needs_words(client_for, on_day_five):
    """Ticked with a listed symptom too: the grades do not say what the something else is."""
    client = client_for(on_day_five.user)
    client.post(PICKER, {"symptoms": ["nausea"], "other": "on"})
    client.post(_question("nausea"), {"grade": "1"})
    response = client.post(DETAILS, _details(temperature="37.0"))
    assert response.status_code == 200
    assert "You chose Something else: tell us in a few words what it is." in response.content.decode()
    assert not SymptomReport.objects.exists()
    assert client.post(DETAILS, _details(temperature="37.0", notes="My left eye is blurred"))["Location"] == ANSWERS
    client.post(ANSWERS)
    assert SymptomReport.objects.get().notes == "My left eye is blurred"
    # The flow is over: sending again (a double tap, the Back button) makes no second report.
    assert client.post(ANSWERS)["Location"] == PICKER
    assert SymptomReport.objects.count() == 1


def test_something_else_that_feels_urgent_goes_through_without_words(client_for, on_day_five):
    """An urgent report is never held back for want of words: the team calls the patient back and asks."""
    client = client_for(on_day_five.user)
    client.post(PICKER, {"other": "on"})
    assert client.post(DETAILS, _details(feels_urgent="on"))["Location"] == ANSWERS
    client.post(ANSWERS)
    report = SymptomReport.objects.get()
    assert report.feels_urgent
    assert report.notes == ""


def test_adding_a_symptom_from_the_answers_asks_only_the_new_question(client_for, on_day_five):
    """Change on the symptoms: the picker comes back ticked; a symptom added is asked, then the answers again."""
    client = client_for(on_day_five.user)
    client.post(PICKER, {"symptoms": ["rash"]})
    client.post(_question("rash"), {"grade": "1"})
    assert client.post(DETAILS, _details())["Location"] == ANSWERS
    page = client.get(f"{PICKER}?change=1").content.decode()
    assert 'value="rash" id="symptom-rash" checked' in page
    response = client.post(f"{PICKER}?change=1", {"symptoms": ["rash", "cough"]})
    assert response["Location"] == f"{_question('cough')}?change=1"
    assert client.post(response["Location"], {"grade": "2"})["Location"] == ANSWERS
    client.post(ANSWERS)
    assert SymptomReport.objects.get().symptoms == {"cough": 2, "rash": 1}


def test_back_keeps_every_answer_and_a_reload_loses_nothing(client_for, on_day_five):
    client = client_for(on_day_five.user)
    client.post(PICKER, {"symptoms": ["fatigue", "pain"]})
    client.post(_question("fatigue"), {"grade": "2"})
    client.post(_question("pain"), {"grade": "1"})
    client.post(DETAILS, _details(temperature="37.9", notes="Sore knees"))
    # Back, step by step, to the start: each page shows what was answered.
    assert 'value="37.9"' in client.get(DETAILS).content.decode()
    assert "Sore knees</textarea>" in client.get(DETAILS).content.decode()
    assert (
        'value="1" id="grade-1" aria-describedby="grade-1-example" checked'
        in client.get(_question("pain")).content.decode()
    )
    page = client.get(_question("fatigue")).content.decode()
    assert page.count(" checked") == 1
    assert 'value="2" id="grade-2" aria-describedby="grade-2-example" checked' in page
    page = client.get(PICKER).content.decode()
    assert 'value="fatigue" id="symptom-fatigue" checked' in page
    assert 'value="pain" id="symptom-pain" checked' in page
    # Continue again from the start, unchanged: the answers are still there at the end.
    client.post(PICKER, {"symptoms": ["fatigue", "pain"]})
    assert client.get(ANSWERS).status_code == 200
    client.post(ANSWERS)
    report = SymptomReport.objects.get()
    assert (report.symptoms, str(report.temperature_c), report.notes) == (
        {"fatigue": 2, "pain": 1},
        "37.9",
        "Sore knees",
    )


def test_unticking_a_symptom_drops_its_answer(client_for, on_day_five):
    client = client_for(on_day_five.user)
    client.post(PICKER, {"symptoms": ["fatigue", "pain"]})
    client.post(_question("fatigue"), {"grade": "2"})
    client.post(_question("pain"), {"grade": "3"})
    assert client.post(PICKER, {"symptoms": ["fatigue"]})["Location"] == _question("fatigue")
    assert client.get(_question("pain"))["Location"] == PICKER  # no longer asked
    client.post(_question("fatigue"), {"grade": "2"})
    client.post(DETAILS, _details())
    client.post(ANSWERS)
    assert SymptomReport.objects.get().symptoms == {"fatigue": 2}


def test_nothing_chosen_is_an_error_in_words_at_the_top_and_by_the_field(client_for, on_day_five):
    response = client_for(on_day_five.user).post(PICKER, {})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Check in" in page
    assert 'data-testid="error-summary"' in page
    message = "Choose the symptoms that are new or worse, or choose I feel fine."
    assert page.count(message) == 2  # in the summary, linked to the first checkbox, and by the checkboxes
    assert f'href="#symptom-shortness_of_breath" data-error-link="symptom-shortness_of_breath">{message}</a>' in page
    assert 'aria-describedby="symptoms-hint symptoms-error"' in page
    assert not SymptomReport.objects.exists()


def test_a_question_without_an_answer_is_an_error_and_asks_again(client_for, on_day_five):
    client = client_for(on_day_five.user)
    client.post(PICKER, {"symptoms": ["cough"]})
    for data in ({}, {"grade": "5"}, {"grade": "x"}):
        response = client.post(_question("cough"), data)
        page = response.content.decode()
        assert response.status_code == 200
        assert "<title>Error: Cough" in page
        assert 'href="#grade-0" data-error-link="grade-0">Choose how bad it has been' in page
    assert client.get(ANSWERS)["Location"] == f"{_question('cough')}?change=1"  # unanswered: not yet to check


def test_an_implausible_temperature_is_refused_on_its_step_and_kept(client_for, on_day_five):
    client = client_for(on_day_five.user)
    client.post(PICKER, {"symptoms": ["cough"]})
    client.post(_question("cough"), {"grade": "1"})
    for data, message in [
        (_details(temperature="50"), "A temperature of 50.0 °C is not possible"),
        (_details(temperature="122", unit="F"), "You entered 122 °F (50.0 °C)"),
        (_details(temperature="hot"), "Enter the temperature as a number"),
        (_details(recorded_at="2026-11-20T11:45"), "This time is in the future"),
    ]:
        response = client.post(DETAILS, data)
        page = response.content.decode()
        assert response.status_code == 200
        assert message in page
        assert f'value="{data["temperature"]}"' in page
        assert f'value="{data["recorded_at"]}"' in page
        # Kept while going Back and forth, but the answers cannot be sent before it is right.
        assert f'value="{data["temperature"]}"' in client.get(DETAILS).content.decode()
        assert client.get(ANSWERS)["Location"] == f"{DETAILS}?change=1"
    assert not SymptomReport.objects.exists()


def test_an_abandoned_check_in_records_nothing(client_for, on_day_five):
    client = client_for(on_day_five.user)
    client.post(PICKER, {"symptoms": ["chest_pain"]})
    client.post(_question("chest_pain"), {"grade": "2"})
    client.post(DETAILS, _details())
    client.get(ANSWERS)
    assert not SymptomReport.objects.exists()
    assert not Alert.objects.exists()


def test_steps_without_a_check_in_in_progress_go_to_its_start(client_for, on_day_five):
    client = client_for(on_day_five.user)
    for url in (_question("cough"), _question("no-such-symptom"), DETAILS, ANSWERS):
        assert client.get(url)["Location"] == PICKER
        assert client.post(url, {"grade": "1"})["Location"] == PICKER
    client.post(PICKER, {"symptoms": ["cough"]})
    assert client.get(_question("rash"))["Location"] == PICKER  # not chosen
    assert client.get(DETAILS).status_code == 200  # reachable by address; the answers still need the cough's grade
    assert client.get(ANSWERS)["Location"] == f"{_question('cough')}?change=1"


def test_a_tampered_session_is_cleaned_not_a_500(client_for, on_day_five):
    client = client_for(on_day_five.user)
    session = client.session
    session["checkin"] = {"chosen": ["cough", "bogus", 3], "grades": {"cough": 9, "bogus": 1}, "details": [1]}
    session.save()
    page = client.get(_question("cough")).content.decode()
    assert " checked" not in page
    assert client.get(ANSWERS)["Location"] == f"{_question('cough')}?change=1"


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
    """The check-in is the patient's own page; staff get 403 on every step."""
    client = client_for(coordinator)
    for url in (PICKER, _question("cough"), DETAILS, ANSWERS):
        assert client.get(url).status_code == 403
        assert client.post(url, {"fine": "1"}).status_code == 403


TRIAGE_CASES = [
    pytest.param({"chills": 1}, {}, "urgent", ["red_flag.symptom"], id="shivering_no_reading"),
    pytest.param({"line_site": 1}, {}, "urgent", ["red_flag.symptom"], id="line_site"),
    pytest.param({"nausea": 3, "mouth_sores": 2}, {}, "same_day", ["symptom.severe"], id="severe"),
    pytest.param({"fatigue": 1}, {}, "routine", ["symptom.routine"], id="routine"),
    pytest.param({"weakness": 0}, {"temperature": "35.4"}, "urgent", ["temperature.very_low"], id="very_low"),
    pytest.param({"pain": 0}, {"temperature": "35.9"}, "same_day", ["temperature.low"], id="low"),
    pytest.param({"cough": 1}, {"feels_urgent": "on"}, "urgent", ["patient.feels_urgent"], id="feels_urgent"),
    pytest.param(
        {"chills": 2},
        {"temperature": "38.0"},
        "urgent",
        ["fever.high_risk_window", "red_flag.fever_with_chills", "red_flag.symptom"],
        id="fever_chills",
    ),
    pytest.param(
        {"vision": 2},
        {"temperature": "38.3"},
        "urgent",
        ["fever.high_risk_window", "ms.pseudo_relapse"],
        id="pseudo_relapse",
    ),
    pytest.param({"rash": 0}, {}, "none", [], id="none_graded"),
]


@pytest.mark.parametrize(("grades", "details", "level", "rules"), TRIAGE_CASES)
def test_the_steps_and_the_api_triage_alike(
    client_for, api_for, on_day_five, other_patient, grades, details, level, rules
):
    """The same answers through the steps (Pia) and the API as before, every symptom sent (Olle, also on Day +5),
    get the same triage, alerts and advice: the steps send only the chosen symptoms, which triage alike."""
    transplant(other_patient, DAY0)
    client = client_for(on_day_five.user)
    response = _check_in(client, grades, **details)
    assert response.status_code == 302
    body = {"recorded_at": "2026-11-20T10:00:00+01:00", "symptoms": {**dict.fromkeys(SYMPTOM_CODES, 0), **grades}}
    if "temperature" in details:
        body["temperature_c"] = float(details["temperature"])
    body["feels_urgent"] = "feels_urgent" in details
    api = api_for(other_patient.user).post(
        f"/api/v1/patients/{other_patient.uuid}/symptom-reports/", body, format="json"
    )
    assert api.status_code == 201, api.json()
    by_steps = SymptomReport.objects.get(patient=on_day_five)
    by_api = SymptomReport.objects.get(patient=other_patient)
    assert by_steps.symptoms == grades
    assert by_steps.triage_level == by_api.triage_level == api.json()["triage"]["level"] == level
    assert sorted(f["rule"] for f in by_steps.findings) == sorted(f["rule"] for f in by_api.findings) == sorted(rules)
    assert sorted(Alert.objects.filter(patient=on_day_five).values_list("kind", "severity")) == sorted(
        Alert.objects.filter(patient=other_patient).values_list("kind", "severity")
    )
    page = client.get(response["Location"]).content.decode()
    assert api.json()["triage"]["advice"] in page  # one wording: the rule's, on the page and in the API


def test_i_feel_fine_triages_as_the_api_s_im_fine_answer(client_for, api_for, on_day_five, other_patient):
    transplant(other_patient, DAY0)
    client_for(on_day_five.user).post(PICKER, {"fine": "1"})
    body = {"recorded_at": "2026-11-20T10:30:00+01:00", "symptoms": dict.fromkeys(SYMPTOM_CODES, 0)}
    api = api_for(other_patient.user).post(
        f"/api/v1/patients/{other_patient.uuid}/symptom-reports/", body, format="json"
    )
    by_steps = SymptomReport.objects.get(patient=on_day_five)
    assert by_steps.symptoms == SymptomReport.objects.get(patient=other_patient).symptoms
    assert by_steps.triage_level == api.json()["triage"]["level"] == "none"


def test_something_not_in_the_list_is_asked_in_words_on_the_last_step(client_for, on_day_five):
    """ "Something else": no symptom question, the last step needs words (a temperature is not enough), unless it
    feels urgent (test_something_else_that_feels_urgent_goes_through_without_words)."""
    client = client_for(on_day_five.user)
    assert client.post(PICKER, {"other": "on"})["Location"] == DETAILS
    page = client.get(DETAILS).content.decode()
    assert "Question 1 of 1" in page
    assert f'href="{PICKER}"' in page  # Back
    response = client.post(DETAILS, _details())
    assert "Tell us in a few words what is wrong, or go back and choose I feel fine." in response.content.decode()
    for typed in ({"temperature": "37.0"}, {"temperature": "37.0", "notes": "   "}):
        response = client.post(DETAILS, _details(**typed))
        assert response.status_code == 200, typed  # not sent without words: symptoms={} and no notes says nothing
        assert "You chose Something else: tell us in a few words what it is." in response.content.decode()
        assert 'value="37.0"' in response.content.decode() or "temperature" not in typed  # nothing typed is lost
        assert client.get(ANSWERS)["Location"] == f"{DETAILS}?change=1"  # and the answers page will not send it
    assert client.post(DETAILS, _details(notes="A bad headache", feels_urgent="on"))["Location"] == ANSWERS
    page = client.get(ANSWERS).content.decode()
    assert 'data-testid="answer-other"' in page
    assert 'data-testid="answer"' not in page
    response = client.post(ANSWERS)
    report = SymptomReport.objects.get()
    assert (report.symptoms, report.notes, report.feels_urgent) == ({}, "A bad headache", True)
    assert report.triage_level == "urgent"  # feels urgent, in the high-risk window
    assert "Call the unit now" in client.get(response["Location"]).content.decode()


def test_a_swedish_patient_reads_the_refusals_in_swedish_with_a_decimal_comma(client_for, on_day_five):
    """The temperature form and the check-in's last step refuse in the patient's language, numbers as Swedish writes."""
    on_day_five.preferred_language = "sv"
    on_day_five.save(update_fields=["preferred_language"])
    client = client_for(on_day_five.user)
    page = _temperature(client, "45").content.decode()
    assert "En temperatur på 45,0 °C är inte möjlig" in page
    assert "(mellan 34,0 och 43,0 °C)" in page
    assert "is not possible" not in page
    assert "45.0" not in page
    assert 'value="45"' in page  # what was typed stays
    page = _temperature(client, "37.5", at="2026-11-20T11:45").content.decode()
    assert "Den tiden har inte varit än. Skriv när du tog temperaturen eller märkte symtomen." in page
    assert "in the future" not in page

    client.post(PICKER, {"symptoms": ["cough"]})
    client.post(_question("cough"), {"grade": "1"})
    page = client.post(DETAILS, _details(temperature="45")).content.decode()
    assert "En temperatur på 45,0 °C är inte möjlig" in page
    assert not SymptomReport.objects.exists()


def test_i_feel_fine_in_the_high_risk_window_asks_for_the_temperature_too(client_for, on_day_five):
    """The fine report is saved as it is; the page then asks for the reading the twice-daily reminder wants."""
    client = client_for(on_day_five.user)
    response = client.post(PICKER, {"fine": "1"})
    assert SymptomReport.objects.get().temperature_c is None  # saved, not blocked
    page = client.get(response["Location"]).content.decode()
    assert "Your report is saved." in page
    assert 'data-testid="ask-temperature"' in page
    assert "Now take your temperature" in page
    assert f'href="{reverse("recovery:temperature")}" data-testid="ask-temperature-link"' in page
    page = client.get(_temperature(client, "36.9")["Location"]).content.decode()
    assert 'data-testid="ask-temperature"' not in page  # a reading: nothing more to ask


def test_i_feel_fine_after_the_high_risk_window_asks_for_nothing_more(client_for, patient, time_machine):
    time_machine.move_to(NOW, tick=False)
    transplant(patient, date(2026, 8, 1), engrafted=date(2026, 8, 12))  # Day +111: check-ins, no temperatures
    client = client_for(patient.user)
    page = client.get(client.post(PICKER, {"fine": "1"})["Location"]).content.decode()
    assert "Your report is saved." in page
    assert 'data-testid="ask-temperature"' not in page
