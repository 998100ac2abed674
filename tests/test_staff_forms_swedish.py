"""Staff pages and forms in Swedish (issue 16, part 1): with Swedish active, the prophylaxis and vaccination pages,
the patient form, deactivation and the reminder log are Swedish, with their form labels, choices and error
messages, and the reason a patient gets no reminders; with English active they read as before. The Swedish is
the committed catalogue (locale/sv, built from locale/fragments/), asked for by the browser (Accept-Language)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from recovery.models import Patient
from recovery.queries.reminders import receives_reminders, reminder_settings
from recovery.services.audit import AuditContext
from recovery.services.reminders.planning import set_reminder_hold
from tests.factories import transplant

DAY0 = date(2026, 8, 31)
NOW = datetime(2027, 9, 10, 10, tzinfo=UTC)  # just after month 12: the prophylaxis stop prompt shows


@pytest.fixture
def transplanted(patient):
    with time_machine.travel(NOW, tick=False):
        transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
        yield patient


def main_of(response, language: str = "sv") -> str:
    """The page's own content (in <main>: the navigation is base.html's), whitespace collapsed."""
    assert response.status_code == 200
    assert response.headers["Content-Language"] == language
    html = response.content.decode()
    return " ".join(html[html.index('<main id="main"') : html.index("</main>")].split())


def get(client, name: str, patient: Patient, language: str = "sv") -> str:
    response = client.get(reverse(name, args=[patient.uuid]), HTTP_ACCEPT_LANGUAGE=language)
    return main_of(response, language)


def test_the_prophylaxis_page_and_its_stop_form_are_in_swedish(client_for, clinician, transplanted):
    html = get(client_for(clinician), "recovery:patient-prophylaxis", transplanted)
    for words in [
        "Profylax ·",
        "· Dag 0 31 ",
        " · i dag 10 ",
        "Behandlingar",
        "Senaste CD4: inget sedan dag 0",
        "slutdatum nått, CD4 ännu inte återhämtat.",
        "Registrera utsättning",
        "Protokollets regler",
        "Aciklovir från konditioneringen till minst månad 12",
        "Krävs vid utsättning innan protokollet tillåter det.",
        "Registrera utsättningen",
        "Välj …",
    ]:
        assert words in html, words
    for words in ["Courses", "Record a stop", "The protocol's rules", "stop date reached", "Stopped on"]:
        assert words not in html, words


def test_a_vaccination_form_error_is_in_swedish_and_keeps_what_was_typed(client_for, clinician, transplanted):
    response = client_for(clinician).post(
        reverse("recovery:patient-vaccinations", args=[transplanted.uuid]),
        {"vaccine": "pcv13", "dose": "99", "given_date": "2027-09-01", "note": "batch AB12"},
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    html = main_of(response)
    assert "Inte registrerat: se meddelandet nedan." in html
    assert "Inget vaccin i schemat har fler än 20 doser." in html
    assert 'value="99"' in html
    assert 'value="batch AB12"' in html
    assert "Får patienten immunhämmande behandling nu?" in html
    assert "Registrera en given dos" in html
    assert "Om schemat" in html
    assert "No vaccine in the schedule" not in html
    assert "About the schedule" not in html


def test_the_patient_form_labels_and_choices_are_in_swedish(client_for, coordinator, patient):
    html = get(client_for(coordinator), "recovery:patient-edit", patient)
    for words in [
        "Förnamn",
        "Journalnummer",
        "Kön",
        ">Kvinna<",
        "Skovvis förlöpande (RRMS)",
        "Närstående/kontaktperson",
    ]:
        assert words in html, words
    for words in ["First name", "Hospital number", ">Female<", "Relapsing-remitting"]:
        assert words not in html, words


def test_deactivation_refuses_in_swedish(client_for, coordinator, patient):
    client = client_for(coordinator)
    html = get(client, "recovery:patient-deactivate", patient)
    assert "Patienter raderas aldrig: journalen sparas enligt lag." in html
    assert "Jag förstår: patienten försvinner från alla listor" in html
    response = client.post(
        reverse("recovery:patient-deactivate", args=[patient.uuid]), {"reason": ""}, HTTP_ACCEPT_LANGUAGE="sv"
    )
    html = main_of(response)
    assert "Skriv varför patienten inaktiveras (t.ex. flyttat till ett annat center)." in html
    assert "Kryssa i rutan för att bekräfta." in html
    assert "Tick the box" not in html
    assert Patient.objects.get(pk=patient.pk).deactivated_at is None


def test_the_reminder_log_tells_the_hold_in_swedish_and_in_english(client_for, coordinator, patient):
    set_reminder_hold(context=AuditContext.system("tests"), patient=patient, on_hold=True, reason="Inlagd på avd 30")
    client = client_for(coordinator)
    html = get(client, "recovery:patient-reminders", patient)
    assert "Påminnelser och meddelanden" in html
    assert "Påminnelserna är pausade: Inlagd på avd 30" in html
    assert "Häv pausen" in html
    assert "Reminders are on hold" not in html
    english = get(client, "recovery:patient-reminders", patient, language="en")
    assert "Reminders are on hold: Inlagd på avd 30" in english
    assert "Lift the hold" in english
    assert "Påminnelser" not in english


def test_why_a_patient_gets_no_reminders_in_swedish(patient):
    prefs = reminder_settings(patient)
    patient.status = "deceased"
    with translation.override("sv"):
        assert receives_reminders(patient, prefs) == "Patienten har avlidit."
    assert receives_reminders(patient, prefs) == "The patient is deceased."
