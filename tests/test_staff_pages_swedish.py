"""The staff pages in Swedish (issue 16, part 1): with Swedish active, the dashboard and its triage queue, This
week, the cohort page, the data export, the transplant dates and event forms and the lab import are Swedish, and
so are the words computed in Python for them (waiting times, acknowledgement targets, the alert burden formula,
the lab import's report).
The Swedish is the committed catalogue (locale/sv, built from locale/fragments/), asked for by the browser
(Accept-Language) or by the patient's own setting."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from recovery.clinical.episode import DATE_FIELDS
from recovery.models import Alert, LabImport
from recovery.queries.dashboard import BURDEN_FORMULA, duration_text, target_status
from recovery.services import lab_import
from recovery.services.audit import AuditContext
from recovery.services.symptoms import record_symptom_report
from tests.factories import transplant

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
DAY0 = date(2026, 11, 15)  # Day +3: aplasia, high infection risk


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def feverish(patient, clock):
    """Pia, on Day +3 (aplasia) with a fever reported now: an urgent, open alert."""
    transplant(patient, DAY0)
    record_symptom_report(
        context=AuditContext.system("tests"), patient=patient, recorded_at=timezone.now(), temperature_c="38.6"
    )
    return patient


def page(client, url: str) -> str:
    """The page's own content (in <main>), whitespace collapsed, asked for in Swedish."""
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "sv"
    html = response.content.decode()
    main = html[html.index('<main id="main"') : html.index("</main>")]
    return " ".join(main.split())


def test_the_dashboard_and_its_triage_queue_are_in_swedish(client_for, clinician, feverish):
    html = page(client_for(clinician), reverse("recovery:dashboard"))
    for words in (
        "Läkarens översikt",
        "Triagekö",
        "Allvarligast först, sedan längst väntetid",
        "Hög infektionsrisk nu",
        "Konditionering och aplasi",
        "Larmbelastning, senaste 28 dagarna",
        "larm per patientvecka",
        "Allvarlighetsgrad",
        "Utlöst",
        "Kvittera",
        "Åtgärda",
        "Väntat <strong",
        "Larm per patientvecka = utlösta larm",
    ):
        assert words in html, words
    assert "kvar" in html  # the acknowledgement target: "… left"
    for words in ("Clinician's dashboard", "Triage queue", "High infection risk now", "Acknowledge", "Waiting <"):
        assert words not in html, words
    queue = page(client_for(clinician), reverse("recovery:alert-queue"))
    assert '<h1 class="h3 mb-3">Triagekö</h1>' in queue
    assert "Översikt" in queue


def test_this_week_is_in_swedish(client_for, coordinator, feverish):
    html = page(client_for(coordinator), reverse("recovery:this-week"))
    assert "Den här veckan" in html
    assert "Planerade händelser till och med" in html
    assert "Planned events up to" not in html


def test_the_cohort_page_is_in_swedish(client_for, clinician, feverish):
    html = page(client_for(clinician), reverse("recovery:cohort"))
    for words in (
        "Kohortens utfall",
        "Ålder på Dag 0",
        "Alla mina center",
        "Skovfri överlevnad",
        "Progressionsfri överlevnad",
        "I riskgruppen",
        "Säkerhet och funktionsnedsättning, jämfört med publicerade siffror",
        "Febril neutropeni, alla regimer",
        "Hur siffrorna beräknas",
        "<strong>1</strong> patient med Dag 0;",
    ):
        assert words in html, words
    for words in ("Cohort outcomes", "Relapse-free survival", "How these figures are computed", "At risk"):
        assert words not in html, words


def test_the_data_export_is_in_swedish_for_staff_and_for_the_patient(client_for, coordinator, feverish):
    staff = page(client_for(coordinator), reverse("recovery:patient-data", args=[feverish.uuid]))
    assert f"Allt vi har sparat om {feverish.full_name}" in staff
    assert "har sparat om patienten i appen" in staff
    assert "Ladda ner (JSON)" in staff
    assert "Everything we hold" not in staff
    feverish.preferred_language = "sv"  # a patient's pages follow their own setting, whatever the browser asks
    feverish.save(update_fields=["preferred_language"])
    own = page(client_for(feverish.user), reverse("recovery:my-data"))
    assert "Mina uppgifter" in own
    assert "har sparat om dig i appen" in own
    assert "My data" not in own


def test_the_transplant_dates_and_event_forms_are_in_swedish(client_for, coordinator, feverish):
    client = client_for(coordinator)
    dates = page(client, reverse("recovery:episode-edit", args=[feverish.uuid]))
    assert "Ett datum i framtiden är en plan." in dates
    assert "Afereser" in dates
    assert "A date in the future is a plan" not in dates
    event = feverish.episode.events.first()
    change = page(client, reverse("recovery:event-change", args=[feverish.uuid, event.uuid]))
    assert "Ändra händelse" in change
    assert "planerad till" in change
    assert "En ändring som görs här finns kvar" in change
    add = page(client, reverse("recovery:event-add", args=[feverish.uuid]))
    assert "Lägg till händelse" in add


def test_the_lab_import_and_its_report_are_in_swedish(
    client_for, coordinator, patient, clock, monkeypatch, django_capture_on_commit_callbacks
):
    """The upload page, and a report written by the task in the uploader's language (sent with the task)."""
    patient.hospital_number = "UAS-1001"
    patient.save(update_fields=["hospital_number"])
    client = client_for(coordinator)
    form = page(client, reverse("recovery:lab-import"))
    assert "Importera provsvar" in form
    assert "Kontrollera och importera" in form
    assert "Import lab results" not in form

    sent = []
    monkeypatch.setattr(lab_import.app, "send_task", lambda name, args, kwargs: sent.append((args, kwargs)))
    text = "hospital_number,test,value,unit,collected_at\nUAS-1001,anc,0.4,x10^9/L,2026-11-17 07:30\n,anc,1,x10^9/L,\n"
    upload = SimpleUploadedFile("labs.csv", text.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("recovery:lab-import"), {"file": upload, "centre": patient.centre_id}, HTTP_ACCEPT_LANGUAGE="sv"
        )
    assert response.status_code == 302
    queued = LabImport.objects.get()
    assert sent == [([queued.pk], {"language": "sv"})]

    with translation.override("en"):  # the worker's own language does not matter
        lab_import.run_lab_import(queued.pk, language="sv")
    queued.refresh_from_db()
    assert queued.error.startswith("Ingenting importerades: 1 rad av 2 i filen har ett fel")
    assert queued.report[0]["message"] == "Journalnummer saknas."
    report = page(client, response["Location"])
    assert "Importrapport: labs.csv" in report
    assert "Journalnummer saknas." in report
    assert "avvisad" in report
    assert "Import report" not in report


def test_waiting_times_and_targets_in_swedish_and_english():
    alert = Alert(respond_by=NOW + timedelta(minutes=45))
    with translation.override("sv"):
        assert duration_text(timedelta(hours=3, minutes=5)) == "3 tim 5 min"
        assert duration_text(timedelta(days=2, hours=4)) == "2 d 4 tim"
        assert target_status(alert, NOW).text == "45 min kvar"
        assert target_status(alert, NOW + timedelta(hours=1)).text == "försenat med 15 min"
        assert str(BURDEN_FORMULA).startswith("Larm per patientvecka")
    assert duration_text(timedelta(hours=3, minutes=5)) == "3 h 5 min"
    assert target_status(alert, NOW).text == "45 min left"
    assert str(BURDEN_FORMULA).startswith("Alerts per patient-week")


def test_the_english_dashboard_is_unchanged_with_the_catalogue_installed(client_for, clinician, feverish):
    html = client_for(clinician).get(reverse("recovery:dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Clinician's dashboard" in html
    assert "Triage queue" in html
    assert "Läkarens översikt" not in html


def test_the_confirmation_of_a_destructive_date_change_is_in_swedish(client_for, coordinator, feverish):
    """The transplant form emptied: the confirmation step says what it would do, in Swedish."""
    response = client_for(coordinator).post(
        reverse("recovery:episode-edit", args=[feverish.uuid]),
        dict.fromkeys(("protocol", *DATE_FIELDS, "cd34_dose"), ""),
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert f"Ingenting är ändrat än. Om du sparar de här datumen för {feverish.full_name} kommer det att:" in html
    assert "i tidslinjen: ta bort <strong>" in html
    assert "händelser, flytta" in html
    assert "Bekräfta" in html
    assert "Gå tillbaka" in html
    assert "Nothing has changed yet" not in html


def test_the_alert_header_is_in_swedish(client_for, clinician, feverish):
    alert = Alert.objects.get(patient=feverish)
    html = page(client_for(clinician), reverse("recovery:alert-detail", args=[alert.uuid]))
    assert "Utlöst " in html
    assert "(för under 1 min sedan)" in html
    assert "kvittera senast" in html
    assert "Raised " not in html
