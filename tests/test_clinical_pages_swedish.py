"""The staff's clinical pages in Swedish (issue 16, part 1): with Swedish active, the alert's pages, the patient's
page and review, MS outcomes, labs and immune reconstitution, and eligibility are in Swedish, as are the words the
views build in Python (the NEDA-3 line, the alert's history, the engraftment rules, messages after a change); the
English they replace is gone.
The Swedish is the committed catalogue (locale/sv, built from locale/fragments/), asked for by the browser
(Accept-Language) or by the patient's own setting."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from recovery.clinical.triage import AlertKind, Severity
from recovery.models import EDSSAssessment, TransplantEpisode
from recovery.queries.configuration import DEFAULT_CONFIG
from recovery.queries.timeline import patient_today
from recovery.services.alerts import acknowledge_alert, raise_alert
from recovery.services.audit import AuditContext
from tests.factories import transplant
from tests.test_labs import _counts

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # a Monday, 12:00 in Stockholm
DAY0 = date(2024, 1, 10)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)


def _main(response) -> str:
    """The page's own content (in <main>; the navigation is base.html's), whitespace collapsed."""
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "sv"
    html = response.content.decode()
    return " ".join(html[html.index('<main id="main"') : html.index("</main>")].split())


def page(client_for, user, name: str, *args) -> str:
    return _main(client_for(user).get(reverse(name, args=args), HTTP_ACCEPT_LANGUAGE="sv"))


def _check(text: str, swedish_words, english_words) -> None:
    for words in swedish_words:
        assert words in text, words
    for words in english_words:
        assert words not in text, words


def _alert(patient):
    alert, _ = raise_alert(
        patient=patient,
        kind=AlertKind.FEVER,
        severity=Severity.URGENT,
        rule="tests",
        message="Internal reason",
        config=DEFAULT_CONFIG,
    )
    return alert


def test_the_alert_pages_are_in_swedish(client_for, clinician, patient, now):
    alert = _alert(patient)
    _check(
        page(client_for, clinician, "recovery:alert-acknowledge", alert.uuid),
        ["Kvittera larmet", "När du kvitterar larmet ser teamet att du har sett det", "Avbryt"],
        ["Acknowledge this alert", "Acknowledging tells the team", "Cancel"],
    )
    _check(
        page(client_for, clinician, "recovery:alert-resolve", alert.uuid),
        ["Markera larmet som åtgärdat", "Råd givna per telefon", "Skickad till akuten", "Annat (se anteckning)"],
        ["Resolve this alert", "Advice given by phone", "Other (see note)"],
    )
    acknowledge_alert(context=AuditContext(actor=clinician), alert=alert)
    _check(
        page(client_for, clinician, "recovery:alert-detail", alert.uuid),
        ["Utlöst", "Kvitterat", "Akut"],
        ["<strong>Raised</strong>", "<strong>Acknowledged</strong>"],
    )
    _check(
        page(client_for, clinician, "recovery:alert-acknowledge", alert.uuid),
        [f"Larmet är redan kvitterat (kvitterat av {clinician.display_name}).", "Tillbaka"],
        ["This alert is already", "Back"],
    )


def test_resolving_an_alert_says_so_in_swedish(client_for, clinician, patient, now):
    alert = _alert(patient)
    response = client_for(clinician).post(
        reverse("recovery:alert-resolve", args=[alert.uuid]),
        {"action": "advice", "note": ""},
        HTTP_ACCEPT_LANGUAGE="sv",
        follow=True,
    )
    text = _main(response)
    assert "Råd givna per telefon" in text
    assert "Advice given by phone" not in text


def test_the_review_and_the_patient_page_are_in_swedish(client_for, clinician, patient, now):
    transplant(patient, patient_today(patient) - timedelta(days=40))
    _alert(patient)
    _check(
        page(client_for, clinician, "recovery:patient-review", patient.uuid),
        [
            "Genomgång",
            "Öppna larm",
            "Infektionsrisk:",
            "väntat",
            f"{patient.first_name} har inte skickat någon rapport",
        ],
        ["Open alerts", "Infection risk", "has not sent any report yet", "waiting"],
    )
    _check(
        page(client_for, clinician, "recovery:patient-detail", patient.uuid),
        ["Symtom och larm", "Infektionsrisk:", "planerad"],
        ["Symptoms and alerts", "Infection risk:", ">planned<"],
    )


def test_ms_outcomes_are_in_swedish(client_for, clinician, patient, now):
    TransplantEpisode.objects.create(
        patient=patient, conditioning_start_date=DAY0 - timedelta(days=5), reinfusion_date=DAY0
    )
    for on, score in ((DAY0 - timedelta(days=30), "3.5"), (DAY0 + timedelta(days=200), "3.0")):
        EDSSAssessment.objects.create(patient=patient, assessed_on=on, score=Decimal(score))
    _check(
        page(client_for, clinician, "recovery:patient-outcomes", patient.uuid),
        [
            "MS-utfall",
            "månader sedan dag 0",
            "NEDA-3: inget skov, ingen bekräftad progression av funktionsnedsättning och ingen ny MR-aktivitet.",
            "Senaste EDSS",
            "Skov sedan dag 0",
            "MR-aktivitet",
            "Ingen MR sedan dag 0",
            "Progressionsgräns",
            "EDSS-bedömningar (2)",
            "Lägg till en registrering",
            "Dag -30",
            "Månad 6",
        ],
        ["NEDA-3 for", "Last EDSS", "Relapses since Day 0", "No scan since Day 0", "Add a record", "Month 6"],
    )


def test_adding_an_edss_assessment_says_so_in_swedish(client_for, clinician, patient, now):
    TransplantEpisode.objects.create(
        patient=patient, conditioning_start_date=DAY0 - timedelta(days=5), reinfusion_date=DAY0
    )
    data = {"form": "edss", "assessed_on": "2025-01-10", "score": "3.5"}
    response = client_for(clinician).post(
        reverse("recovery:outcome-add", args=[patient.uuid, "edss"]), data, HTTP_ACCEPT_LANGUAGE="sv", follow=True
    )
    text = _main(response)
    assert re.search(r"EDSS 3,5 den 10 \w+ 2025 tillagd\.", text)
    assert "added." not in text


def test_labs_and_immune_pages_are_in_swedish(client_for, clinician, patient, now):
    day0 = patient_today(patient) - timedelta(days=14)
    transplant(patient, day0)
    _counts(patient, day0, {3: 0.3, 5: 0.05, 11: 0.6, 12: 0.9, 13: 1.4}, {3: 40, 5: 15, 11: 25, 12: 31, 13: 40})
    _check(
        page(client_for, clinician, "recovery:patient-labs", patient.uuid),
        [
            "Labb &amp; engraftment",
            "Neutrofiler",
            "första av",
            "resultat i rad, olika dagar, med ANC ≥ 0,5 efter lägsta punkten",
            "väntar på bekräftelse",
            "provtillfällen",
            "Registrera dagens resultat",
            "Registrera en transfusion",
        ],
        ["Engrafted on", "awaiting confirmation", "sample times", "Enter the day's results", "Record a transfusion"],
    )
    _check(
        page(client_for, clinician, "recovery:patient-immune", patient.uuid),
        ["Immunrekonstitution", "Inget CD4-värde registrerat än", "Ingen EBV-PCR registrerad än"],
        ["Immune reconstitution", "No CD4 count recorded yet", "No EBV PCR recorded yet"],
    )


def test_the_eligibility_review_is_in_swedish(client_for, clinician, patient, now):
    _check(
        page(client_for, clinician, "recovery:eligibility", patient.uuid),
        ["Lämplighet", "En rådgivande checklista", "Checklista", "Beslut", 'aria-label="Du är här"'],
        ["Eligibility review", "An advisory checklist", ">Checklist<", ">Decision<", 'aria-label="breadcrumb"'],
    )


def test_english_stays_english(client_for, clinician, patient, now):
    """Without Swedish asked for, the same pages read as before."""
    alert = _alert(patient)
    response = client_for(clinician).get(reverse("recovery:alert-acknowledge", args=[alert.uuid]))
    assert "Acknowledging tells the team that you have seen this alert" in response.content.decode()
    response = client_for(clinician).get(reverse("recovery:patient-review", args=[patient.uuid]))
    assert "Infection risk:" in response.content.decode()
