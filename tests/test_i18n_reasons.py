"""The last English left for Swedish staff (issue 16): alert reasons and the eligibility checklist are stored as a
msgid plus values beside the English and shown in the reader's language (decimal comma in Swedish); an old row
with only its English still shows it. Also: a lab import restarted by the sweep writes its report in the
uploader's language, and `recompute_respond_by` sets the open alerts' targets again."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from recovery.clinical.words import Joined, Message, Number, render_value, to_json
from recovery.models import Alert, AlertStatus, AuditEvent, EligibilityReview, LabImport, LabImportStatus, LabResult
from recovery.queries.alert_reasons import alert_reason, first_reason, local_number
from recovery.queries.configuration import DEFAULT_CONFIG, active_config
from recovery.queries.eligibility import shown_criteria
from recovery.services import lab_import
from recovery.services.alerts import acknowledge_alert, raise_alert
from recovery.services.audit import AuditContext
from recovery.services.eligibility import record_eligibility_review
from recovery.services.labs import check_ebv_alert
from recovery.services.symptoms import record_symptom_report
from recovery.tasks import resume_lab_imports
from tests.factories import PatientFactory, transplant

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)  # a Wednesday, 13:00 in Stockholm
DAY0 = date(2026, 11, 13)  # Day +5: aplasia

FEVER_SV = (
    "Temperatur 38,4 °C dag +5 (aplasi), i högriskperioden (ännu inte engraftad); uppfyller definitionen av "
    "neutropen feber (en mätning på eller över 38,3 °C)"
)
FEVER_EN = (
    "Temperature 38.4 °C on Day +5 (aplasia), in the high-risk window (not yet engrafted); meets the "
    "neutropenic-fever definition (one reading at or above 38.3 °C)"
)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _speaks(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return user


def _report(patient, **fields) -> Alert:
    outcome = record_symptom_report(
        context=AuditContext.system("tests"), patient=patient, recorded_at=timezone.now(), **fields
    )
    return outcome.alert


@pytest.fixture
def fever(patient, clock) -> Alert:
    """Pia on Day +5 (aplasia) reports 38.4 °C: an urgent fever alert."""
    transplant(patient, DAY0)
    return _report(patient, temperature_c="38.4")


def _main(response) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    return " ".join(html[html.index('<main id="main"') : html.index("</main>")].split())


# --- alert reasons ---------------------------------------------------------------------------------------------


def test_the_alert_stores_the_english_the_msgid_and_the_values_and_still_its_rule_and_config(fever):
    assert fever.reason == FEVER_EN
    assert fever.reason_code == (
        "%(where)s, in the high-risk window (%(window)s); meets the neutropenic-fever definition (%(detail)s)"
    )
    assert fever.rule == "fever.high_risk_window"
    assert fever.config_version == DEFAULT_CONFIG.version
    (line,) = fever.reason_values
    stored = line["join"][0]
    assert stored["id"] == fever.reason_code
    assert stored["values"]["where"]["values"]["temperature"] == {"n": "38.4"}
    assert stored["values"]["where"]["values"]["day"] == "+5"
    assert fever.history.get(action="raised").detail["rule"] == "fever.high_risk_window"


def test_swedish_staff_see_the_reason_in_swedish_with_a_decimal_comma(client_for, clinician, fever):
    client = client_for(_speaks(clinician, "sv"))
    detail = _main(client.get(reverse("recovery:alert-detail", args=[fever.uuid])))
    assert FEVER_SV in detail
    assert "38.4" not in detail
    assert "Temperature" not in detail
    assert FEVER_SV in _main(client.get(reverse("recovery:dashboard")))  # the triage queue
    assert FEVER_SV in _main(client.get(reverse("recovery:patient-review", args=[fever.patient.uuid])))


def test_english_staff_see_the_reason_in_english(client_for, clinician, fever):
    client = client_for(_speaks(clinician, "en"))
    assert FEVER_EN in _main(client.get(reverse("recovery:alert-detail", args=[fever.uuid])))
    assert FEVER_EN in _main(client.get(reverse("recovery:dashboard")))


def test_an_old_alert_with_only_its_english_reason_still_shows_it(client_for, clinician, fever):
    Alert.objects.filter(pk=fever.pk).update(
        reason="Stored before the codes: 38.4 °C", reason_code="", reason_values=[]
    )
    client = client_for(_speaks(clinician, "sv"))
    assert "Stored before the codes: 38.4 °C" in _main(client.get(reverse("recovery:alert-detail", args=[fever.uuid])))
    assert "Stored before the codes: 38.4 °C" in _main(client.get(reverse("recovery:dashboard")))


def test_the_api_keeps_the_english_reason(api_for, clinician, fever):
    response = api_for(_speaks(clinician, "sv")).get(reverse("api:alert-list"), HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    assert [row["reason"] for row in response.json()["results"]] == [FEVER_EN]


def test_a_later_report_adds_a_line_that_is_translated_too(patient, clock):
    transplant(patient, DAY0)
    alert = _report(patient, temperature_c="38.4")
    clock.shift(timedelta(hours=1))
    again = _report(patient, temperature_c="38.6")
    assert again.pk == alert.pk
    assert again.reason.splitlines()[1].startswith("2026-11-18 13:00 UTC: Temperature 38.6 °C on Day +5")
    with translation.override("sv"):
        lines = alert_reason(again).splitlines()
        assert first_reason(again) == FEVER_SV
    assert lines[1].startswith("2026-11-18 13:00 UTC: Temperatur 38,6 °C dag +5 (aplasi)")


def test_symptoms_grades_and_a_pseudo_relapse_are_translated_in_every_part(patient, clock):
    transplant(patient, DAY0 - timedelta(days=200))  # Day +205: outside the high-risk window
    _report(patient, symptoms={"vision": 0})
    clock.shift(timedelta(hours=2))
    alert = _report(patient, temperature_c="38.1", symptoms={"chills": 2, "vision": 2, "rash": 3})
    with translation.override("sv"):
        swedish = alert_reason(alert)
    for words in (
        "Varningstecken: temperatur 38,1 °C med frossa eller skakningar graderat 2 (måttliga)",
        "Svåra: Utslag graderat 3 (Svåra)",
        "Möjligt pseudoskov: nya eller förvärrade MS-symtom (Synen (dimsyn eller förlorad syn) från 0 till 2)",
        "med feber (38,1 °C i denna rapport)",
    ):
        assert words in swedish, swedish
    assert "graded" not in swedish
    assert "38.1" not in swedish
    assert "Red flag: temperature 38.1 °C with shivering or shaking chills graded 2 (moderate)" in alert.reason


def test_the_reports_behind_an_alert_name_their_symptoms_in_swedish(client_for, clinician, patient, clock):
    transplant(patient, DAY0)
    alert = _report(patient, temperature_c="38.4", symptoms={"chills": 2})
    html = _main(client_for(_speaks(clinician, "sv")).get(reverse("recovery:alert-detail", args=[alert.uuid])))
    assert "Frossa eller skakningar 2/4" in html
    assert "Shivering" not in html


def test_a_lab_alert_groups_thousands_in_the_reader_s_way(patient, clock):
    result = LabResult.objects.create(
        patient=patient,
        test="ebv_pcr",
        value=Decimal("1250000"),
        unit="copies/mL",
        collected_at=NOW - timedelta(hours=1),
    )
    alert = check_ebv_alert(patient=patient, results=[result], config=active_config(patient.centre_id))
    assert alert.reason == (
        "EBV DNA 1,250,000 copies/mL on 2026-11-18 is above the alert threshold of 500,000 copies/mL."
    )
    with translation.override("sv"):
        swedish = alert_reason(alert)
    assert swedish == "EBV-DNA 1\xa0250\xa0000 kopior/ml den 2026-11-18 är över larmgränsen 500\xa0000 kopior/ml."


def test_the_rendering_of_stored_messages():
    message = Message(
        "%(a)s and %(b)s", {"a": Number("38.25"), "b": Joined((Message("x"), "y"), " / "), "c": Number("1500", True)}
    )
    stored = to_json(message)
    assert render_value(stored) == "38.25 and x / y"
    swedish = render_value(stored, lambda text: text.replace("and", "och"), lambda text, grouped: f"<{text}:{grouped}>")
    assert swedish == "<38.25:False> och x / y"
    assert render_value(stored["values"]["c"]) == "1,500"
    with translation.override("sv"):
        assert local_number("38.25") == "38,25"
        assert local_number("0.3") == "0,3"
    with pytest.raises(TypeError):
        to_json(Message("%(x)s", {"x": 38.4}))  # a float would print with its binary noise: say Number("38.4")


def test_the_queue_s_reasons_cost_no_query_per_alert(client_for, clinician, centre, clock):
    def count() -> int:
        client = client_for(_speaks(clinician, "sv"))
        client.get(reverse("recovery:alert-queue"), HTTP_HX_REQUEST="true")
        with CaptureQueriesContext(connection) as queries:
            html = client.get(reverse("recovery:alert-queue"), HTTP_HX_REQUEST="true").content.decode()
        assert "Temperatur" in html
        return len(queries)

    first = PatientFactory(centre=centre)
    transplant(first, DAY0)
    _report(first, temperature_c="38.4")
    one = count()
    for _ in range(4):
        other = PatientFactory(centre=centre)
        transplant(other, DAY0)
        _report(other, temperature_c="38.4")
    assert count() == one


# --- the eligibility checklist ------------------------------------------------------------------------------------


def test_the_eligibility_checklist_and_its_history_are_in_swedish(client_for, clinician, patient, clock):
    review = record_eligibility_review(
        context=AuditContext.system("tests"),
        patient=patient,
        decided_by=clinician,
        decided_on=date(2026, 11, 18),
        decision="eligible",
        relapsing_with_breakthrough=True,
        edss=Decimal("3.5"),
    )
    stored = {c["code"]: c for c in review.criteria}
    assert stored["edss"]["label"] == "EDSS at most 5.5"  # the English, kept
    assert stored["edss"]["label_message"] == {"id": "EDSS at most %(edss)s", "values": {"edss": {"n": "5.5"}}}
    html = _main(client_for(_speaks(clinician, "sv")).get(reverse("recovery:eligibility", args=[patient.uuid])))
    for words in ("Ålder under 50 år", "EDSS högst 5,5", "Skovvis MS med genombrottsaktivitet", "EDSS 3,5"):
        assert words in html, words
    assert "Age under" not in html
    assert "EDSS at most" not in html
    history = html[html.index('data-testid="review-criteria"') :]
    assert "Ålder" in history
    assert ">age<" not in history
    english = _main(client_for(_speaks(clinician, "en")).get(reverse("recovery:eligibility", args=[patient.uuid])))
    assert "Age under 50" in english
    assert "EDSS at most 5.5" in english


def test_an_old_review_shows_its_criteria_as_stored(patient, clinician):
    old = EligibilityReview.objects.create(
        patient=patient,
        decided_on=date(2025, 1, 2),
        decided_by=clinician,
        decision="eligible",
        criteria=[{"code": "age", "label": "Age under 45", "met": True, "detail": "40 years old"}],
    )
    with translation.override("sv"):
        (shown,) = shown_criteria(old.criteria)
    assert (shown.name, shown.label, shown.detail, shown.met) == ("Ålder", "Age under 45", "40 years old", True)


# --- a lab import restarted by the sweep ---------------------------------------------------------------------------


def test_an_import_the_sweep_restarts_writes_its_report_in_the_uploader_s_language(
    coordinator, patient, celery_eager, monkeypatch
):
    patient.hospital_number = "UAS-1001"
    patient.save(update_fields=["hospital_number"])
    monkeypatch.setattr(lab_import.app, "send_task", lambda *args, **kwargs: None)  # the wake-up is lost
    text = "hospital_number,test,value,unit,collected_at\nUAS-1001,anc,0.4,x10^9/L,2026-11-17 07:30\n,anc,1,x10^9/L,\n"
    with time_machine.travel(timezone.now() - timedelta(minutes=5), tick=False), translation.override("sv"):
        queued = lab_import.queue_lab_import(
            context=AuditContext(actor=coordinator), centre=patient.centre, filename="labs.csv", data=text.encode()
        )
    assert queued.language == "sv"
    with translation.override("en"):  # the beat's worker
        assert resume_lab_imports() == 1
    queued.refresh_from_db()
    assert queued.status == LabImportStatus.FAILED
    assert queued.error.startswith("Ingenting importerades: 1 rad av 2 i filen har ett fel")
    assert queued.report[0]["message"] == "Journalnummer saknas."


def test_an_import_the_sweep_gives_up_on_says_so_in_the_uploader_s_language(coordinator, centre, settings):
    now = timezone.now()
    with translation.override("sv"):
        swedish = lab_import.queue_lab_import(
            context=AuditContext(actor=coordinator),
            centre=centre,
            filename="sv.csv",
            data=b"hospital_number,test,value,unit,collected_at\n1,anc,1,x10^9/L,2026-11-17 07:30\n",
        )
    english = lab_import.queue_lab_import(
        context=AuditContext(actor=coordinator),
        centre=centre,
        filename="en.csv",
        data=b"hospital_number,test,value,unit,collected_at\n1,anc,1,x10^9/L,2026-11-17 07:30\n",
    )
    LabImport.objects.update(
        status=LabImportStatus.RUNNING,
        started_at=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1),
        attempts=lab_import.MAX_ATTEMPTS,
    )
    assert lab_import.imports_to_resume(now) == []
    swedish.refresh_from_db()
    english.refresh_from_db()
    assert english.error.startswith(f"The import was interrupted {lab_import.MAX_ATTEMPTS} times")
    assert swedish.error != english.error
    assert f"{lab_import.MAX_ATTEMPTS}" in swedish.error
    assert "interrupted" not in swedish.error


# --- respond_by computed again -------------------------------------------------------------------------------------


def test_recompute_respond_by_moves_open_alerts_to_the_working_day_end_and_leaves_acknowledged_ones(
    patient, other_patient, clinician, clock
):
    opened, _ = raise_alert(
        patient=patient, kind="severe_symptom", severity="same_day", rule="tests", message="x", config=DEFAULT_CONFIG
    )
    seen, _ = raise_alert(
        patient=other_patient,
        kind="severe_symptom",
        severity="same_day",
        rule="tests",
        message="y",
        config=DEFAULT_CONFIG,
    )
    acknowledge_alert(context=AuditContext(actor=clinician), alert=seen)
    old_end = datetime(2026, 11, 18, 16, tzinfo=UTC)  # 17:00 in Stockholm: the old end of the day
    Alert.objects.update(respond_by=old_end)

    call_command("recompute_respond_by")

    opened.refresh_from_db()
    seen.refresh_from_db()
    assert opened.respond_by == datetime(2026, 11, 18, 15, 30, tzinfo=UTC)  # 16:30 in Stockholm
    assert seen.respond_by == old_end
    assert seen.status == AlertStatus.ACKNOWLEDGED
    event = AuditEvent.objects.get(action="alert.respond_by_recomputed")
    assert event.detail["changed"] == 1
    assert event.detail["alerts"] == [str(opened.uuid)]
    call_command("recompute_respond_by")  # again: nothing left to change
    assert AuditEvent.objects.filter(action="alert.respond_by_recomputed").order_by("id").last().detail["changed"] == 0


def test_recompute_respond_by_counts_from_when_the_severity_was_raised(patient, clock):
    alert, _ = raise_alert(
        patient=patient, kind="fever", severity="routine", rule="tests", message="x", config=DEFAULT_CONFIG
    )
    clock.shift(timedelta(hours=30))  # Thursday 19:00 in Stockholm, after the working day
    raise_alert(patient=patient, kind="fever", severity="same_day", rule="tests", message="y", config=DEFAULT_CONFIG)
    Alert.objects.update(respond_by=None)
    call_command("recompute_respond_by")
    alert.refresh_from_db()
    assert alert.severity == "same_day"
    assert alert.respond_by == datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # Friday, the next working day's end
