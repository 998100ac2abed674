"""Queries that one of the two supported databases refuses, or answers differently, reached through the app.

The app runs on SQLite (the embedded default) and on PostgreSQL (production); CI runs this suite once on each.
A construct that only one backend refuses is invisible to a run on the other: the patient's home page was a
500 on SQLite because `recovery/views/care.py` put two querysets with a default ordering into a UNION, and CI
only ran PostgreSQL. Each test below reaches one such construct through a public entry point (a page, an API
call or a service function) and asserts what the user sees, so that the run on the backend that refuses it, or
treats it differently, fails. Grouped by construct:

* compound statements (UNION) whose parts carry an ORDER BY: SQLite refuses them;
* `select_for_update()`: PostgreSQL refuses it outside a transaction while SQLite ignores it, so every service
  that locks must open its own transaction; these tests run outside any (`transactional_db`);
* case-insensitive matching (`icontains`): SQLite's LIKE folds ASCII letters only, PostgreSQL's folds "Ö" too;
* JSONField: equality (`exclude(symptoms={})`) compares text on SQLite and jsonb on PostgreSQL, and jsonb does
  not keep the order of an object's keys (SQLite's text does);
* DISTINCT over ordered values, counted by a paginator, and DISTINCT over joins;
* aggregates with FILTER and F() comparisons of datetimes (stored as text on SQLite), Max() of a datetime and
  subqueries with LIMIT as annotations (converted back from text on SQLite);
* dates of datetimes with USE_TZ (a `__date` lookup takes whichever zone is active) and `__year` lookups;
* DecimalField round trips (SQLite keeps a REAL) and comparisons with a float threshold;
* `bulk_create(ignore_conflicts=True)` inside a transaction (ON CONFLICT DO NOTHING / INSERT OR IGNORE).
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from recovery.models import (
    Alert,
    AlertStatus,
    CareTask,
    CareTaskStatus,
    Channel,
    LabResult,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    ProphylaxisStop,
    SymptomReport,
    TimelineEvent,
    VaccinationDose,
)
from recovery.queries.cohort import CohortFilters, cohort_patients
from recovery.queries.configuration import active_config
from recovery.queries.dashboard import alert_burden, high_risk_patients
from recovery.queries.timeline import patient_today
from recovery.services.alerts import acknowledge_alert, resolve_alert
from recovery.services.audit import AuditContext
from recovery.services.engraftment import KIND_DELAYED, check_engraftment_alerts, confirm_engraftment
from recovery.services.lab_import import import_lab_csv
from recovery.services.labs import KIND_EBV, check_ebv_alert, record_lab_result
from recovery.services.outcomes import record_relapse
from recovery.services.prophylaxis import record_prophylaxis_stop
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.reminders.planning import (
    close_care_task,
    patients_to_plan,
    plan_alert_escalation,
    plan_reminders,
)
from recovery.services.symptoms import record_symptom_report
from recovery.services.system import record_heartbeat
from recovery.services.timeline import regenerate_timeline
from recovery.services.vaccinations import record_vaccination
from tests.factories import PatientFactory, transplant

SYSTEM = AuditContext.system("tests")


def _local(patient, day: date, hour: int = 8) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=patient.tz)


# --- compound statements: UNION of parts with a default ordering (SQLite refuses ORDER BY in a part) ----------

CARE_DAY0 = date(2026, 8, 31)  # neutrophil engraftment on D+11; month 3 is 30 Nov 2026
CARE_NOW = datetime(2027, 3, 15, 11, 0, tzinfo=UTC)  # Day +196


@pytest.fixture
def with_dose_and_stop(patient, clinician):
    """A patient after Day 0 with an influenza dose given and aciclovir stopped (early, with a reason): both halves
    of the UNION in `recovery.queries.care.doses_and_stops` return a row."""
    with time_machine.travel(CARE_NOW, tick=False):
        transplant(patient, CARE_DAY0, engrafted=CARE_DAY0 + timedelta(days=11))
        record_vaccination(context=SYSTEM, patient=patient, vaccine="influenza", dose=1, given_date=date(2026, 12, 1))
        record_prophylaxis_stop(
            context=AuditContext(actor=clinician),
            patient=patient,
            medication="aciclovir",
            stopped_on=date(2027, 3, 1),
            confirm_early=True,
            reason="Renal function",
        )
        yield patient


def test_the_patient_home_page_counts_the_dose_given_and_leaves_out_the_medicine_stopped(
    client_for, with_dose_and_stop
):
    with time_machine.travel(CARE_NOW, tick=False):
        response = client_for(with_dose_and_stop.user).get(reverse("recovery:my-recovery"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Keep taking <strong>Co-trimoxazole</strong> until your team tells you to stop." in html
    assert "Aciclovir" not in html
    due = re.search(r'data-testid="care-due">(.*?)</p>', html, re.S).group(1)
    assert "9 vaccinations due now" in due
    assert "PCV13" in due
    assert "Influenza (inactivated)" not in due  # given on 1 Dec 2026: the next one is a year later


def test_the_patient_vaccination_page_lists_the_dose_given_and_leaves_out_the_medicine_stopped(
    client_for, with_dose_and_stop
):
    with time_machine.travel(CARE_NOW, tick=False):
        response = client_for(with_dose_and_stop.user).get(reverse("recovery:my-vaccinations"))
    assert response.status_code == 200
    html = response.content.decode()
    given = re.findall(r'data-testid="given-dose">(.*?)</li>', html, re.S)
    assert len(given) == 1
    assert "Influenza (inactivated)" in given[0]
    assert "Given on 1 Dec 2026" in given[0]
    assert "Aciclovir" not in html  # stopped: no longer among the medicines to keep taking
    assert html.count('data-testid="medicine"') == 1
    assert "Co-trimoxazole" in html


# --- select_for_update(): PostgreSQL refuses it outside a transaction, SQLite ignores it ----------------------
# Each service that locks rows must open its own transaction. These tests run outside any (`transactional_db`),
# so that on PostgreSQL a service that relies on its caller's transaction raises TransactionManagementError.


@pytest.fixture
def outside_transaction(transactional_db):
    assert not connection.in_atomic_block
    yield
    assert not connection.in_atomic_block


@pytest.fixture
def _messages_to_memory(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "recovery.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")


def test_recording_a_vaccination_outside_a_transaction_locks_the_patient_and_saves_the_dose(
    outside_transaction, patient
):
    day0 = patient_today(patient) - timedelta(days=120)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    dose = record_vaccination(
        context=SYSTEM, patient=patient, vaccine="zoster_recombinant", dose=1, given_date=day0 + timedelta(days=60)
    )
    assert VaccinationDose.objects.get(patient=patient) == dose


def test_stopping_a_prophylaxis_course_outside_a_transaction_locks_the_patient_and_saves_the_stop(
    outside_transaction, patient, clinician
):
    day0 = patient_today(patient) - timedelta(days=120)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    record_prophylaxis_stop(
        context=AuditContext(actor=clinician),
        patient=patient,
        medication="levofloxacin",
        stopped_on=day0 + timedelta(days=20),
    )
    assert ProphylaxisStop.objects.get(patient=patient).medication == "levofloxacin"


def test_a_check_in_outside_a_transaction_raises_then_updates_an_alert_that_staff_acknowledge_and_resolve(
    outside_transaction, patient, clinician
):
    now = timezone.now()
    first = record_symptom_report(
        context=SYSTEM, patient=patient, recorded_at=now - timedelta(hours=2), temperature_c="38.6"
    )
    second = record_symptom_report(
        context=SYSTEM, patient=patient, recorded_at=now - timedelta(hours=1), temperature_c="38.9"
    )
    assert first.alert is not None
    assert second.alert.pk == first.alert.pk  # the open alert, locked and updated
    context = AuditContext(actor=clinician)
    assert acknowledge_alert(context=context, alert=first.alert).status == AlertStatus.ACKNOWLEDGED
    assert (
        resolve_alert(context=context, alert=first.alert, action="other", note="Called").status == AlertStatus.RESOLVED
    )


def test_a_high_ebv_load_recorded_outside_a_transaction_raises_an_alert(outside_transaction, patient, clinician):
    record_lab_result(
        context=AuditContext(actor=clinician),
        patient=patient,
        test="ebv_pcr",
        value="750000",
        collected_at=timezone.now() - timedelta(hours=1),
    )
    assert Alert.objects.filter(patient=patient, kind=KIND_EBV).count() == 1


def test_checking_ebv_results_outside_a_transaction_raises_the_alert_and_adds_to_it(outside_transaction, patient):
    """`check_ebv_alert` is public (seed_demo calls it): it locks the open alert, so it opens its own transaction."""
    config = active_config(patient.centre_id)
    for hours, value in ((3, "600000"), (1, "800000")):
        result = LabResult.objects.create(
            patient=patient,
            test="ebv_pcr",
            value=Decimal(value),
            unit="copies/mL",
            collected_at=timezone.now() - timedelta(hours=hours),
        )
        check_ebv_alert(patient=patient, results=[result], config=config)
    alert = Alert.objects.get(patient=patient, kind=KIND_EBV)
    assert "800,000" in alert.reason


def test_a_lab_import_outside_a_transaction_raises_the_ebv_alert(outside_transaction, centre, coordinator, patient):
    taken = timezone.localtime(timezone.now() - timedelta(hours=2), patient.tz)
    data = (
        "hospital_number,test,value,unit,collected_at\n"
        f"{patient.hospital_number},ebv_pcr,900000,copies/mL,{taken:%Y-%m-%d %H:%M}\n"
    )
    report = import_lab_csv(
        context=AuditContext(actor=coordinator),
        centre=centre,
        patients=[patient],
        filename="ebv.csv",
        data=data.encode(),
    )
    assert report.accepted == 1
    assert Alert.objects.filter(patient=patient, kind=KIND_EBV).exists()


def test_the_engraftment_check_outside_a_transaction_raises_the_delayed_engraftment_alert(outside_transaction, patient):
    day0 = patient_today(patient) - timedelta(days=25)
    transplant(patient, day0)
    raised = check_engraftment_alerts(today=day0 + timedelta(days=21))
    assert [alert.kind for alert in raised] == [KIND_DELAYED]


def test_confirming_engraftment_outside_a_transaction_locks_the_patient_and_saves_the_date(
    outside_transaction, patient, clinician
):
    day0 = patient_today(patient) - timedelta(days=20)
    transplant(patient, day0)
    on = day0 + timedelta(days=12)
    confirm_engraftment(
        context=AuditContext(actor=clinician), patient=patient, kind="neutrophil", on=on, note="Counts from the ward"
    )
    patient.refresh_from_db()
    assert patient.episode.neutrophil_engraftment_date == on


def test_regenerating_the_timeline_outside_a_transaction_locks_the_events_and_moves_them(outside_transaction, patient):
    day0 = patient_today(patient) + timedelta(days=30)
    episode = transplant(patient, day0)
    before = TimelineEvent.objects.filter(episode=episode).count()
    episode.reinfusion_date = day0 + timedelta(days=7)
    episode.save()
    changes = regenerate_timeline(episode=episode)
    assert changes["moved"] > 0
    assert TimelineEvent.objects.filter(episode=episode).count() == before


def test_changing_the_transplant_dates_through_the_api_outside_a_transaction_saves_them(
    outside_transaction, api_for, coordinator, patient
):
    day0 = patient_today(patient) + timedelta(days=30)
    transplant(patient, day0)
    response = api_for(coordinator).patch(
        f"/api/v1/patients/{patient.uuid}/transplant/",
        {"reinfusion_date": str(day0 + timedelta(days=2))},
        format="json",
    )
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.episode.reinfusion_date == day0 + timedelta(days=2)


REMINDERS_DAY0 = date(2026, 11, 16)  # a Monday; the patient is in Stockholm (UTC+1 in November)


@pytest.mark.usefixtures("_messages_to_memory")
def test_planning_and_sending_reminders_outside_a_transaction_claims_each_due_row_once(outside_transaction, patient):
    with time_machine.travel(datetime(2026, 11, 19, 6, 0, tzinfo=UTC), tick=False):
        transplant(patient, REMINDERS_DAY0)
        again = plan_reminders(patient)
    assert (again.created, again.cancelled) == (0, 0)
    assert Notification.objects.filter(patient=patient, status=NotificationStatus.PENDING).exists()
    with time_machine.travel(datetime(2026, 11, 19, 7, 0, 30, tzinfo=UTC), tick=False):
        first = dispatch_due()
        second = dispatch_due()
    assert first.claimed == first.sent == 6  # the 08:00 temperature and red-flag check-ins, three channels each
    assert second.claimed == 0


def test_closing_a_care_task_outside_a_transaction_locks_and_closes_it(outside_transaction, patient, coordinator):
    task = CareTask.objects.create(
        patient=patient, key="2026-11-19T08:00", checkin_due_at=timezone.now(), created_at=timezone.now()
    )
    close_care_task(context=AuditContext(actor=coordinator), task=task, reason="Reached by phone")
    task.refresh_from_db()
    assert task.status == CareTaskStatus.DONE


def test_the_worker_heartbeat_outside_a_transaction_is_written_and_updated(outside_transaction):
    first = record_heartbeat(worker="celery@test")
    second = record_heartbeat(worker="celery@test")
    assert first.pk == second.pk
    assert second.beat_at >= first.beat_at


# --- case-insensitive matching: SQLite's LIKE folds ASCII letters only, PostgreSQL's every letter ------------


@pytest.fixture
def swedish_names(centre):
    return {
        "öberg": PatientFactory(centre=centre, first_name="Åsa", last_name="Öberg", hospital_number="UAS-1001"),
        "berg": PatientFactory(centre=centre, first_name="Olle", last_name="Berg", hospital_number="UAS-1002"),
        "hyphen": PatientFactory(
            centre=centre, first_name="Anna-Lena", last_name="O'Brien", hospital_number="UAS-1003"
        ),
    }


def _api_search(api, text: str) -> list[str]:
    response = api.get("/api/v1/patients/", {"q": text})
    assert response.status_code == 200
    return sorted(row["hospital_number"] for row in response.json()["results"])


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("öberg", ["UAS-1001"]),
        ("ÖBERG", ["UAS-1001"]),
        ("åsa", ["UAS-1001"]),
        ("ÅSA", ["UAS-1001"]),
        ("berg", ["UAS-1001", "UAS-1002"]),
        ("BERG", ["UAS-1001", "UAS-1002"]),
        ("anna-lena", ["UAS-1003"]),
        ("o'brien", ["UAS-1003"]),
        ("a.b", []),  # the text is matched as typed, never as a pattern
        ("uas-1002", ["UAS-1002"]),
    ],
)
def test_the_patient_search_ignores_the_case_of_every_letter_including_swedish_ones(
    api_for, coordinator, swedish_names, text, found
):
    assert _api_search(api_for(coordinator), text) == found


def test_the_patient_list_page_finds_a_patient_by_a_lower_case_swedish_name(client_for, coordinator, swedish_names):
    response = client_for(coordinator).get(reverse("recovery:patient-list"), {"q": "öberg"})
    html = response.content.decode()
    assert "Öberg" in html
    assert "Olle" not in html


# --- JSONField equality: `exclude(symptoms={})` compares text on SQLite and jsonb on PostgreSQL ---------------


def test_worsening_is_measured_against_the_last_report_that_graded_symptoms_not_a_temperature_only_one(patient):
    """`_context_for` skips reports whose symptoms are `{}` (a JSONField exact lookup) to find the previous grades."""
    now = timezone.now()
    record_symptom_report(context=SYSTEM, patient=patient, recorded_at=now - timedelta(hours=3), symptoms={"nausea": 1})
    record_symptom_report(context=SYSTEM, patient=patient, recorded_at=now - timedelta(hours=2), temperature_c="36.9")
    outcome = record_symptom_report(
        context=SYSTEM, patient=patient, recorded_at=now - timedelta(hours=1), symptoms={"fatigue": 2}
    )
    assert "(fatigue) from 0 to 2" in outcome.alert.reason
    assert SymptomReport.objects.filter(patient=patient, symptoms={}).count() == 1
    assert SymptomReport.objects.filter(patient=patient).exclude(symptoms={}).count() == 2


@pytest.mark.parametrize(
    "symptoms",
    [{"nausea": 1, "fatigue": 2, "rash": 1}, {"rash": 1, "fatigue": 2, "nausea": 1}],
    ids=["in-list-order", "reversed"],
)
def test_the_patient_sees_their_symptoms_in_the_order_of_the_symptom_list(client_for, patient, symptoms):
    """A JSON object keeps its keys in the order written on SQLite; PostgreSQL's jsonb sorts them (shortest first)."""
    outcome = record_symptom_report(
        context=SYSTEM, patient=patient, recorded_at=timezone.now() - timedelta(minutes=10), symptoms=symptoms
    )
    client = client_for(patient.user)
    result = client.get(reverse("recovery:checkin-result", args=[outcome.report.uuid])).content.decode()
    assert re.findall(r"<li>([^<:]+): \d/4</li>", result) == ["Feeling sick (nausea)", "Tiredness (fatigue)", "Rash"]
    history = client.get(reverse("recovery:my-history")).content.decode()
    assert "Feeling sick (nausea) 1/4 · Tiredness (fatigue) 2/4 · Rash 1/4" in history


# --- DISTINCT: over ordered values counted by a paginator, and over joins -----------------------------------


def test_the_labs_page_shows_one_row_per_collection_time_however_many_tests_it_has(client_for, clinician, patient):
    """`_panel_table` pages SELECT DISTINCT collected_at ... ORDER BY collected_at DESC (counted, then sliced)."""
    now = timezone.now().replace(microsecond=0)
    # One time with microseconds: SQLite stores datetimes as text, and the IN (...) of the page must match it.
    taken = [now - timedelta(days=1, microseconds=250), now - timedelta(days=2), now - timedelta(days=3)]
    for at in taken:
        for test, value in (("anc", "1.2"), ("platelets", "140"), ("haemoglobin", "110")):
            LabResult.objects.create(patient=patient, test=test, value=Decimal(value), unit="x", collected_at=at)
    response = client_for(clinician).get(reverse("recovery:patient-labs", args=[patient.uuid]))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 3
    assert [row["at"] for row in response.context["table"]] == [timezone.localtime(at, patient.tz) for at in taken]
    assert [len(row["cells"]) for row in response.context["table"]] == [3, 3, 3]


def test_a_patient_with_several_planned_events_is_planned_for_once(patient):
    day0 = patient_today(patient) + timedelta(days=3)
    transplant(patient, day0)
    planned = patients_to_plan()
    assert list(planned) == [patient]
    assert planned.count() == 1


# --- aggregates, F() comparisons of datetimes and subqueries as annotations ----------------------------------
# SQLite stores datetimes as text and returns aggregates and subqueries as text unless Django converts them.


def test_the_alert_burden_compares_acknowledgement_with_the_target_to_the_microsecond(patient):
    now = timezone.now().replace(microsecond=0)
    target = now - timedelta(hours=2)
    for acknowledged in (target, target - timedelta(microseconds=1), target + timedelta(microseconds=500_000)):
        Alert.objects.create(
            patient=patient,
            kind=f"k{acknowledged.microsecond}",
            severity="urgent",
            severity_rank=3,
            reason="r",
            rule="r",
            status=AlertStatus.ACKNOWLEDGED,
            created_at=target - timedelta(hours=1),
            respond_by=target,
            acknowledged_at=acknowledged,
        )
    urgent = alert_burden(Patient.objects.filter(pk=patient.pk), Alert.objects.all(), now=now).by_severity[0]
    assert (urgent.raised, urgent.met, urgent.decided) == (3, 2, 3)


def test_the_high_risk_list_shows_the_latest_temperature_and_when_it_was_taken(patient):
    day0 = patient_today(patient) - timedelta(days=4)
    transplant(patient, day0)
    now = timezone.now().replace(microsecond=0)
    for hours, temperature in ((5, "38.4"), (1, "37.2")):
        SymptomReport.objects.create(
            patient=patient, recorded_at=now - timedelta(hours=hours), temperature_c=Decimal(temperature)
        )
    [row] = high_risk_patients(Patient.objects.filter(pk=patient.pk), now=now)
    assert row.temperature_c == Decimal("37.2")
    assert row.temperature_at == now - timedelta(hours=1)
    assert row.temperature_ago == "1 h"
    assert not row.fever


@pytest.mark.usefixtures("_messages_to_memory")
def test_a_check_in_reminder_is_not_sent_when_the_latest_report_answers_it(patient):
    """The dispatcher reads each patient's latest report with Max(created_at): a datetime on both databases."""
    with time_machine.travel(datetime(2026, 11, 19, 6, 0, tzinfo=UTC), tick=False):
        transplant(patient, REMINDERS_DAY0)
    with time_machine.travel(datetime(2026, 11, 19, 6, 50, tzinfo=UTC), tick=False):
        SymptomReport.objects.create(patient=patient, recorded_at=timezone.now(), temperature_c=Decimal("36.8"))
    with time_machine.travel(datetime(2026, 11, 19, 7, 0, 30, tzinfo=UTC), tick=False):
        result = dispatch_due()
    assert result.claimed == result.cancelled == 6
    assert set(
        Notification.objects.filter(patient=patient, kind=NotificationKind.TEMPERATURE_CHECKIN, channel=Channel.SMS)
        .filter(status=NotificationStatus.CANCELLED)
        .values_list("status_reason", flat=True)
    ) == {"Answered: the patient has reported."}


# --- __date and __year lookups with USE_TZ ---------------------------------------------------------------------


@pytest.mark.parametrize("active_zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_a_fever_counts_for_a_pseudo_relapse_by_the_patients_own_dates_whatever_zone_is_active(patient, active_zone):
    """`fever_near`: a temperature at or above 38.0 (a Decimal column compared with the float threshold) within 7 days
    of the onset, counted in the patient's own days. The zone a page or the API has active must not matter."""
    onset = patient_today(patient) - timedelta(days=1)
    first_day = onset - timedelta(days=7)
    SymptomReport.objects.create(  # 23:30 in Stockholm the day before the window: outside
        patient=patient,
        recorded_at=_local(patient, first_day - timedelta(days=1), 23) + timedelta(minutes=30),
        temperature_c=Decimal("39.0"),
    )
    with timezone.override(active_zone):
        assert not record_relapse(context=SYSTEM, patient=patient, onset_date=onset).possible_pseudo_relapse
    SymptomReport.objects.create(  # 00:30 in Stockholm on the window's first day (23:30 UTC the day before): inside
        patient=patient,
        recorded_at=_local(patient, first_day, 0) + timedelta(minutes=30),
        temperature_c=Decimal("38.0"),
    )
    with timezone.override(active_zone):
        assert record_relapse(context=SYSTEM, patient=patient, onset_date=onset).possible_pseudo_relapse


def test_the_cohort_year_filter_keeps_day0_on_new_years_eve_out_of_the_next_year(centre, coordinator):
    eve = PatientFactory(centre=centre, hospital_number="EVE")
    new_year = PatientFactory(centre=centre, hospital_number="NEW")
    with time_machine.travel(datetime(2027, 6, 1, 10, tzinfo=UTC), tick=False):
        transplant(eve, date(2025, 12, 31))
        transplant(new_year, date(2026, 1, 1))
        on = date(2027, 6, 1)

        def numbers(**years) -> list[str]:
            return [p.hospital_number for p in cohort_patients(coordinator, CohortFilters(**years), on)]

        assert numbers(year_from=2026) == ["NEW"]
        assert numbers(year_to=2025) == ["EVE"]
        assert numbers(year_from=2025, year_to=2026) == ["EVE", "NEW"]


# --- DecimalField: SQLite keeps a REAL, PostgreSQL a numeric ---------------------------------------------------


def test_the_same_large_viral_load_with_four_decimals_recorded_twice_is_a_duplicate(patient, clinician):
    """The stored value is read back and compared with the new one: equal on both databases to the last place."""
    taken = timezone.now() - timedelta(hours=1)
    context = AuditContext(actor=clinician)
    first = record_lab_result(
        context=context, patient=patient, test="ebv_pcr", value="987654321.1234", collected_at=taken
    )
    again = record_lab_result(
        context=context, patient=patient, test="ebv_pcr", value="987654321.1234", collected_at=taken
    )
    assert (first.created, again.created) == (True, False)
    assert LabResult.objects.get(patient=patient).value == Decimal("987654321.1234")


# --- bulk_create(ignore_conflicts=True) inside a transaction ----------------------------------------------------


def test_planning_an_alerts_escalation_twice_adds_nothing_and_leaves_the_transaction_usable(patient):
    """A conflicting plain INSERT would abort PostgreSQL's transaction; ON CONFLICT DO NOTHING must not."""
    outcome = record_symptom_report(
        context=SYSTEM, patient=patient, recorded_at=timezone.now() - timedelta(minutes=5), temperature_c="38.7"
    )
    before = Notification.objects.filter(alert=outcome.alert).count()
    assert before > 0
    plan_alert_escalation(outcome.alert, since=outcome.alert.created_at)
    assert Notification.objects.filter(alert=outcome.alert).count() == before
