"""The summary for the patient's own doctor (issue 17 item 5): a PDF in the PATIENT's language, for staff of the
patient's centre and for the patient themself, with the timeline and today, engraftment, the medicines and when
they stop, the vaccinations, the open alerts (the patient's copy without those raised from lab results: H-38), the
unit's number, when it was generated and that it is not a discharge letter (H-51, H-52).

"Now" is Thursday 10 December 2026, 12:00 UTC (13:00 in Stockholm); Day 0 was 31 August 2026, so today is Day +101.
The PDF's text is read back with tests/pdf_text.py (its fonts' ToUnicode maps).
"""

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from reportlab.pdfbase import pdfmetrics

from recovery.clinical.triage import AlertKind, Severity
from recovery.models import AuditEvent, Patient, TransplantEpisode
from recovery.queries.configuration import DEFAULT_CONFIG
from recovery.queries.summary import OVERDUE_LIMIT, patient_summary
from recovery.services.alerts import acknowledge_alert, raise_alert
from recovery.services.audit import AuditContext
from recovery.services.prophylaxis import record_prophylaxis_stop
from recovery.services.vaccinations import record_vaccination
from recovery.views.summary_document import document_text, summary_blocks
from recovery.views.summary_pdf import FONT, register_fonts, safe_filename, summary_pdf
from tests.factories import transplant
from tests.pdf_text import pdf_pages, pdf_text

NOW = datetime.fromisoformat("2026-12-10T12:00:00+00:00")
DAY0 = date(2026, 8, 31)
ENGRAFTED = date(2026, 9, 11)  # Day +11
PLATELETS = date(2026, 9, 14)  # Day +14
SYSTEM = AuditContext.system("tests")
UNIT_PHONE = "+46 18 611 00 00"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def transplanted(patient, clock):
    """The patient of centre A, English, transplanted on DAY0 and engrafted, with a dose given and open alerts."""
    transplant(patient, DAY0, engrafted=ENGRAFTED)
    TransplantEpisode.objects.filter(patient=patient).update(platelet_engraftment_date=PLATELETS)
    record_vaccination(
        context=SYSTEM, patient=patient, vaccine="zoster_recombinant", dose=1, given_date=date(2026, 10, 20)
    )
    return Patient.objects.select_related("centre").get(pk=patient.pk)


def _alert(patient, kind=AlertKind.FEVER, severity=Severity.URGENT):
    alert, _ = raise_alert(
        patient=patient, kind=kind, severity=severity, rule="tests", message="Internal reason", config=DEFAULT_CONFIG
    )
    return alert


def _get(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    return response


def _staff_url(patient):
    return reverse("recovery:patient-summary-pdf", args=[patient.uuid])


MY_URL = reverse("recovery:my-summary-pdf")


def test_the_staff_pdf_has_today_engraftment_medicines_vaccinations_and_the_unit(client_for, clinician, transplanted):
    response = _get(client_for(clinician), _staff_url(transplanted))
    text = pdf_text(response.content)
    assert "Summary for the patient's doctor" in text
    assert "Pia Holmgren" in text
    assert "Today, 10 Dec 2026: Day +101" in text
    assert "◆ today" in text
    assert "Day 0 (stem cell reinfusion): 31 Aug 2026" in text
    assert "Neutrophil engraftment: 11 Sep 2026 (Day +11)" in text
    assert "Platelet engraftment: 14 Sep 2026 (Day +14)" in text
    # a medicine with when it stops: aciclovir until month 12 and CD4 recovered; fluconazole stopped at engraftment
    assert "Aciclovir" in text
    assert "from 31 Aug 2027 once CD4 ≥ 0.2 \N{MULTIPLICATION SIGN}10⁹/L" in text
    # vaccinations: due now (month 3), and the dose given with its date
    assert "Due now" in text
    assert "Influenza" in text
    assert "Given since the transplant" in text
    assert "20 Oct 2026" in text
    assert f"Phone, day and night: {UNIT_PHONE}" in text
    assert "Uppsala Transplant Centre" in text
    assert "Generated 10 Dec 2026, 13:00 (Europe/Stockholm time)" in text
    assert "This is not a discharge letter" in text
    assert "check with the unit" in text


def test_a_stopped_medicine_shows_its_stop_date(client_for, clinician, transplanted):
    record_prophylaxis_stop(
        context=AuditContext(actor=clinician), patient=transplanted, medication="fluconazole", stopped_on=ENGRAFTED
    )
    text = pdf_text(_get(client_for(clinician), _staff_url(transplanted)).content)
    assert "Fluconazole" in text
    assert "stopped 11 Sep 2026" in text


def test_every_page_says_when_it_was_made_and_to_check_with_the_unit(transplanted):
    """A page read alone (the second page of a printout) still says it (H-51)."""
    for kind in list(AlertKind)[:8]:
        _alert(transplanted, kind=kind, severity=Severity.ROUTINE)
    pages = pdf_pages(summary_pdf(patient_summary(transplanted, for_patient=False)))
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        flat = " ".join(page.split())
        assert "generated 10 Dec 2026, 13:00 · not a discharge letter: check with the unit" in flat
        assert f"Page {number}" in flat


def test_the_staff_copy_lists_every_open_alert_and_the_patients_copy_only_their_reports(
    client_for, clinician, transplanted
):
    fever = _alert(transplanted)
    acknowledge_alert(context=AuditContext(actor=clinician), alert=fever)
    _alert(transplanted, kind=AlertKind.EBV_VIRAEMIA, severity=Severity.SAME_DAY)
    _alert(transplanted, kind=AlertKind.WORSENING, severity=Severity.ROUTINE)
    staff = pdf_text(_get(client_for(clinician), _staff_url(transplanted)).content)
    assert "Open alerts" in staff
    assert "Fever" in staff
    assert "EBV viraemia" in staff
    assert "Worsening" in staff
    assert "Seen by the unit 10 Dec 2026, 13:00" in staff
    own = pdf_text(_get(client_for(transplanted.user), MY_URL).content)
    assert "Reports the unit is dealing with" in own
    assert "Needs the unit now" in own
    assert "Seen by the unit 10 Dec 2026, 13:00" in own
    # never a lab-raised alert (H-38), nor a routine one the home page does not show, nor the reason
    assert "EBV viraemia" not in own
    assert "Needs the unit today" not in own
    assert "Worsening" not in own
    assert "Internal reason" not in own
    assert "Internal reason" not in staff


def test_a_swedish_patient_gets_swedish_whoever_downloads_it(client_for, clinician, transplanted):
    Patient.objects.filter(pk=transplanted.pk).update(preferred_language="sv")
    clinician.language = "en"
    clinician.save()
    text = pdf_text(_get(client_for(clinician), _staff_url(transplanted)).content)
    assert "Sammanfattning för patientens läkare" in text
    assert "Dag +101" in text
    assert "Engraftment av neutrofiler: 11 sep 2026 (Dag +11)" in text
    assert "Detta är inte ett utskrivningsbrev" in text
    assert "0,2" in text  # the CD4 threshold as Swedish writes it
    assert "Summary for the patient's doctor" not in text
    own = pdf_text(_get(client_for(transplanted.user), MY_URL).content)
    assert "Sammanfattning för patientens läkare" in own


def test_every_character_is_in_the_vendored_font(transplanted):
    """Swedish letters, the signs and the today mark are drawn from DejaVu's own glyphs, none missing."""
    Patient.objects.filter(pk=transplanted.pk).update(preferred_language="sv")
    transplanted.refresh_from_db()
    with translation.override("sv"):
        text = document_text(summary_blocks(patient_summary(transplanted, for_patient=False)))
    register_fonts()
    face = pdfmetrics.getFont(FONT).face
    assert {"å", "ä", "ö", "≥", "\N{MULTIPLICATION SIGN}", "◆"} <= set(text)
    assert {char for char in text if char.strip() and ord(char) not in face.charToGlyph} == set()


def test_staff_of_another_centre_and_other_patients_get_404(
    client_for, transplanted, other_patient, other_centre_coordinator
):
    assert client_for(other_centre_coordinator).get(_staff_url(transplanted)).status_code == 404
    assert client_for(other_patient.user).get(_staff_url(transplanted)).status_code == 404
    # another patient's own download is their own summary, never this patient's
    text = pdf_text(_get(client_for(other_patient.user), MY_URL).content)
    assert "Olle Berg" in text
    assert "Holmgren" not in text


def test_a_patient_without_a_transplant_gets_a_sensible_summary(client_for, coordinator, patient, clock):
    response = _get(client_for(coordinator), _staff_url(patient))
    text = pdf_text(response.content)
    assert "No transplant date (Day 0) is recorded yet" in text
    assert "Engraftment" not in text
    assert f"Phone, day and night: {UNIT_PHONE}" in text
    assert pdf_text(_get(client_for(patient.user), MY_URL).content).startswith("Pia Holmgren")


def test_without_a_unit_number_it_says_to_ask_the_unit(client_for, coordinator, transplanted):
    transplanted.centre.phone_24h = ""
    transplanted.centre.save()
    text = pdf_text(_get(client_for(coordinator), _staff_url(transplanted)).content)
    assert "The unit's day-and-night number is not recorded here" in text


def test_the_download_is_an_attachment_with_a_safe_name_and_is_audited(client_for, coordinator, transplanted):
    Patient.objects.filter(pk=transplanted.pk).update(hospital_number='A"1/2; x')
    response = _get(client_for(coordinator), _staff_url(transplanted))
    assert response["Content-Disposition"] == 'attachment; filename="summary-A-1-2-x-2026-12-10.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="summary.pdf", patient=transplanted, actor=coordinator).count() == 1
    response = _get(client_for(transplanted.user), MY_URL)
    assert response["Content-Disposition"] == 'attachment; filename="my-summary-2026-12-10.pdf"'
    assert AuditEvent.objects.filter(action="summary.pdf_own", patient=transplanted).count() == 1
    assert safe_filename("", "") == "summary.pdf"


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        _get(client, url)
    return len(queries)


def test_the_query_count_does_not_grow_with_rows(client_for, clinician, transplanted):
    client = client_for(clinician)
    staff_few, own_few = _queries(client, _staff_url(transplanted)), _queries(client_for(transplanted.user), MY_URL)
    for kind in list(AlertKind)[:6]:
        _alert(transplanted, kind=kind, severity=Severity.SAME_DAY)
    for dose, on in ((2, date(2026, 11, 20)),):
        record_vaccination(context=SYSTEM, patient=transplanted, vaccine="zoster_recombinant", dose=dose, given_date=on)
    record_vaccination(context=SYSTEM, patient=transplanted, vaccine="influenza", dose=1, given_date=NOW.date())
    record_prophylaxis_stop(
        context=AuditContext(actor=clinician), patient=transplanted, medication="fluconazole", stopped_on=ENGRAFTED
    )
    episode = TransplantEpisode.objects.get(patient=transplanted)
    for offset in range(5):
        episode.events.create(title=f"Extra visit {offset}", kind="visit", planned_date=NOW.date() + timedelta(offset))
    assert _queries(client_for(clinician), _staff_url(transplanted)) == staff_few
    assert _queries(client_for(transplanted.user), MY_URL) == own_few


def test_the_links_are_on_the_staff_page_and_the_patients_home(client_for, coordinator, transplanted):
    html = client_for(coordinator).get(reverse("recovery:patient-detail", args=[transplanted.uuid])).content.decode()
    assert f'href="{_staff_url(transplanted)}"' in html
    html = client_for(transplanted.user).get(reverse("recovery:my-recovery")).content.decode()
    assert f'href="{MY_URL}"' in html


@pytest.mark.slow
def test_every_transplanted_demo_patient_has_a_summary(demo, db):
    """The issue's "done when": the PDF summary exists for every seeded transplanted patient, both copies."""
    patients = list(
        Patient.objects.filter(episode__reinfusion_date__isnull=False).select_related("centre").order_by("pk")
    )
    assert len(patients) > 100
    for patient in patients:
        for for_patient in (False, True):
            pdf = summary_pdf(patient_summary(patient, for_patient=for_patient))
            assert pdf.startswith(b"%PDF"), patient.hospital_number
        assert patient.full_name in pdf_text(pdf)


def test_events_still_to_be_done_are_marked_overdue(client_for, coordinator, transplanted):
    """A past planned event still to be done under the centre's policy is listed as overdue; a done one is not."""
    episode = TransplantEpisode.objects.get(patient=transplanted)
    episode.events.create(title="Missed blood test", kind="lab", planned_date=NOW.date() - timedelta(days=3))
    episode.events.create(
        title="Done blood test", kind="lab", planned_date=NOW.date() - timedelta(days=3), status="done"
    )
    text = pdf_text(_get(client_for(coordinator), _staff_url(transplanted)).content)
    assert "7 Dec 2026 Day +98 Missed blood test Overdue" in text
    assert "Done blood test" not in text


def test_only_the_latest_overdue_events_are_listed_and_the_others_counted(transplanted):
    episode = TransplantEpisode.objects.get(patient=transplanted)
    for days in range(1, 13):
        episode.events.create(title=f"Missed test {days}", kind="lab", planned_date=NOW.date() - timedelta(days=days))
    summary = patient_summary(transplanted, for_patient=False)
    overdue = [event.title for event in summary.events if event.overdue]
    assert len(overdue) == OVERDUE_LIMIT
    assert "Missed test 1" in overdue
    assert "Missed test 12" not in overdue
    text = pdf_text(summary_pdf(summary))
    assert f"{summary.earlier_overdue} earlier planned items are also still to be done." in text
    assert summary.earlier_overdue >= 12 - OVERDUE_LIMIT
