"""Stored outcome summaries (recovery/services/outcome_summaries.py, issue 15 item 1).

The stored rows match the rules' recomputation for every patient of the seeded cohort; a write of anything an
outcome depends on marks the patient and wakes the refresh after commit, and the sweep refreshes every marked
patient; the cohort page reads the stored rows in the same number of queries for 5 patients as for 200, without
reading a single outcome record, and is audited as one row.
"""

import io
from dataclasses import asdict, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recovery.celery import _beat_schedule
from recovery.celery import app as celery_app
from recovery.models import (
    AnalyticsSnapshot,
    AuditEvent,
    CentreConfiguration,
    EDSSAssessment,
    LabTest,
    Patient,
    PatientOutcomeSummary,
    PatientStatus,
    Relapse,
    RelapseClassification,
)
from recovery.queries.cohort import CohortFilters, cohort_analysis
from recovery.queries.cohort_rows import CohortRow, analysis_rows, stored_row
from recovery.services.audit import AuditContext
from recovery.services.labs import record_lab_result
from recovery.services.outcome_summaries import (
    outcome_refresh_batches,
    refresh_outcome_summary,
    refresh_stale_outcome_summaries,
)
from recovery.services.outcomes import classify_relapse, record_edss, record_mri, record_relapse
from recovery.services.patients import update_patient
from recovery.services.symptoms import record_symptom_report
from recovery.services.timeline import save_episode
from recovery.tasks import refresh_all_outcomes
from tests.conftest import seed
from tests.test_cohort import DAY0, edss, generated_cohort, transplanted

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
TODAY = date(2026, 11, 18)
# the tables of the records an outcome is computed from: the cohort page must not read them when all is stored
RECORD_TABLES = ("recovery_edssassessment", "recovery_relapse", "recovery_mriscan", "recovery_symptomreport")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def _stale(patient):
    return Patient.objects.values_list("outcomes_stale_since", flat=True).get(pk=patient.pk)


def _loaded(patient_ids) -> list[Patient]:
    return list(
        Patient.objects.filter(pk__in=patient_ids)
        .select_related("centre", "episode__protocol", "outcome_summary")
        .order_by("pk")
    )


def _compare(patients: list[Patient], on: date) -> list[str]:
    """Field by field: each patient's row from their stored summary against a fresh computation by the rules."""
    fresh = {row.patient.pk: row for row in analysis_rows(patients, on)}
    wrong = []
    for patient in patients:
        stored = asdict(stored_row(patient, patient.outcome_summary))
        computed = asdict(fresh[patient.pk])
        for field in (f.name for f in fields(CohortRow)):
            if stored[field] != computed[field]:
                wrong.append(f"{patient.hospital_number}.{field}: stored {stored[field]!r}, rules {computed[field]!r}")
    return wrong


# The seeded cohort ---------------------------------------------------------------------------------------------


def test_stored_outcomes_match_the_rules_recomputation_for_every_patient_of_the_seeded_cohort(db):
    """seed_cohort builds the summaries (refresh_outcome_summaries); every transplanted patient has one, and each
    of its fields is what the rules compute from the records now."""
    seed("seed_cohort")
    transplanted_ids = set(Patient.objects.filter(episode__reinfusion_date__lte=TODAY).values_list("pk", flat=True))
    assert len(transplanted_ids) == 174
    assert set(PatientOutcomeSummary.objects.values_list("patient_id", flat=True)) == transplanted_ids
    patients = _loaded(transplanted_ids)
    assert _compare(patients, TODAY) == []
    # the cohort's events are all there to compare: a check of the data set, not only of empty rows
    summaries = PatientOutcomeSummary.objects.all()
    assert summaries.filter(neda3_lost_on__isnull=False).count() > 20
    assert summaries.filter(progression_date__isnull=False).exists()
    assert summaries.filter(first_relapse__isnull=False).exists()
    assert summaries.filter(mri_activity_date__isnull=False).exists()
    assert summaries.filter(fn_status="yes").exists()


def test_the_command_builds_them_all_in_batches_and_is_repeatable(centre):
    generated_cohort(centre, 12)
    out = io.StringIO()
    call_command("refresh_outcome_summaries", batch_size=5, stdout=out)
    assert "12 stored for 12 patients" in out.getvalue()
    assert "10 of 12 patients" in out.getvalue()
    first = dict(PatientOutcomeSummary.objects.values_list("patient_id", "neda3_months"))
    call_command("refresh_outcome_summaries", stdout=io.StringIO())
    assert dict(PatientOutcomeSummary.objects.values_list("patient_id", "neda3_months")) == first
    assert _compare(_loaded(first), TODAY) == []


def test_the_daily_refresh_enqueues_one_task_per_batch(centre, settings, celery_eager):
    settings.OUTCOME_REFRESH_BATCH_SIZE = 4
    patients = generated_cohort(centre, 10)
    assert [len(batch) for batch in outcome_refresh_batches()] == [4, 4, 2]
    assert refresh_all_outcomes.delay().get() == 3
    assert PatientOutcomeSummary.objects.filter(as_of=TODAY).count() == len(patients)


# Marks and the sweep -------------------------------------------------------------------------------------------


@pytest.fixture
def followed(centre):
    """A patient with Day 0 on 1 January 2020, stable EDSS 3.5 and a stored summary (NEDA-3 holds)."""
    patient = transplanted(centre, hospital_number="F1")
    edss(patient, 180, "3.5")
    edss(patient, 400, "3.5")
    summary = refresh_outcome_summary(patient)
    assert (summary.neda3, summary.neda3_lost_on, _stale(patient)) == (True, None, None)
    return Patient.objects.get(pk=patient.pk)


def _wakes(callbacks, patient) -> int:
    return sum(1 for callback in callbacks if getattr(callback, "refreshes", None) == patient.pk)


def _summary(patient) -> PatientOutcomeSummary:
    return PatientOutcomeSummary.objects.get(patient=patient)


def _edss(context, patient):
    record_edss(context=context, patient=patient, assessed_on=DAY0 + timedelta(days=600), score=Decimal("4.5"))
    record_edss(context=context, patient=patient, assessed_on=DAY0 + timedelta(days=800), score=Decimal("4.5"))
    return {"progression_date": DAY0 + timedelta(days=600), "neda3_lost_on": DAY0 + timedelta(days=600)}


def _relapse(context, patient):
    record_relapse(context=context, patient=patient, onset_date=DAY0 + timedelta(days=500))
    return {"first_relapse": DAY0 + timedelta(days=500), "neda3_lost_on": DAY0 + timedelta(days=500)}


def _mri(context, patient):
    record_mri(context=context, patient=patient, scan_date=DAY0 + timedelta(days=100), is_rebaseline=True)
    record_mri(context=context, patient=patient, scan_date=DAY0 + timedelta(days=700), gd_enhancing_lesions=1)
    return {"mri_activity_date": DAY0 + timedelta(days=700), "neda3_lost_on": DAY0 + timedelta(days=700)}


def _dates(context, patient):
    save_episode(context=context, patient=patient, fields={"reinfusion_date": date(2019, 12, 29)})
    return {"day0": date(2019, 12, 29)}


def _status(context, patient):
    update_patient(context=context, patient=patient, changes={"status": PatientStatus.DECEASED})
    return {}  # the death is read from the patient; the summary is computed again all the same


def _baseline(context, patient):
    update_patient(context=context, patient=patient, changes={"baseline_edss": Decimal("2.0")})
    return {"baseline_edss": Decimal("2.0")}


@pytest.mark.parametrize("write", [_edss, _relapse, _mri, _dates, _status, _baseline])
def test_a_change_marks_the_patient_and_the_sweep_refreshes_it(
    followed, clinician, write, django_capture_on_commit_callbacks
):
    before = _summary(followed)
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        expected = write(AuditContext(actor=clinician), followed)
    assert _stale(followed) is not None
    assert _wakes(callbacks, followed) == 1  # however many writes: one wake-up per patient and transaction
    assert _summary(followed).computed_at == before.computed_at  # the write itself computes nothing
    assert refresh_stale_outcome_summaries() == 1
    assert _stale(followed) is None
    after = _summary(followed)
    assert {name: getattr(after, name) for name in expected} == expected
    assert _compare(_loaded([followed.pk]), TODAY) == []
    assert refresh_stale_outcome_summaries() == 0  # nothing left


def test_a_relapse_classified_as_pseudo_gives_neda3_back(followed, clinician):
    context = AuditContext(actor=clinician)
    _relapse(context, followed)
    refresh_stale_outcome_summaries()
    assert _summary(followed).neda3 is False
    relapse = Relapse.objects.get(patient=followed)
    classify_relapse(context=context, relapse=relapse, classification=RelapseClassification.PSEUDO_RELAPSE)
    assert _stale(followed) is not None
    refresh_stale_outcome_summaries()
    assert (_summary(followed).neda3, _summary(followed).first_relapse) == (True, None)


def test_a_rolled_back_write_neither_marks_nor_wakes(followed, clinician, django_capture_on_commit_callbacks):
    def a_write_that_fails_after_the_relapse():
        with transaction.atomic():
            _relapse(AuditContext(actor=clinician), followed)
            raise RuntimeError("the rest of the write failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        a_write_that_fails_after_the_relapse()
    assert (_wakes(callbacks, followed), _stale(followed)) == (0, None)


def test_a_summary_no_longer_current_is_never_shown(followed, clinician):
    """A write the sweep has not reached yet, or a new configuration version: the page computes that patient by
    the rules (the same figures as after the refresh), never shows the old summary."""
    EDSSAssessment.objects.create(patient=followed, assessed_on=DAY0 + timedelta(days=900), score="6.0")
    EDSSAssessment.objects.create(patient=followed, assessed_on=DAY0 + timedelta(days=1200), score="6.0")
    Patient.objects.filter(pk=followed.pk).update(outcomes_stale_since=timezone.now())
    row = cohort_analysis(clinician, CohortFilters()).rows[0]
    assert (row.progression_event, row.progression_date) == (True, DAY0 + timedelta(days=900))
    assert _summary(followed).progression_date is None  # still the old one, not used

    refresh_stale_outcome_summaries()
    Patient.objects.filter(pk=followed.pk).update(baseline_edss="5.5")  # not through a service: no mark
    CentreConfiguration.objects.create(centre=followed.centre, version=1, values={"outcomes": {"fn_single_c": 38.4}})
    # the stored summary (version 0, baseline 3.5) is not shown: the rules compute the patient with version 1
    assert _summary(followed).config_version == 0
    assert cohort_analysis(clinician, CohortFilters()).rows[0].baseline_edss == Decimal("5.5")


# The cohort page -----------------------------------------------------------------------------------------------


def _record_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in RECORD_TABLES)]


def test_the_page_reads_stored_rows_in_the_same_number_of_queries_for_5_and_200_patients(
    client_for, clinician, centre, django_assert_max_num_queries, time_machine
):
    time_machine.move_to(datetime(2044, 6, 1, 12, tzinfo=UTC), tick=False)  # every generated Day 0 has happened
    generated_cohort(centre, 5)
    call_command("refresh_outcome_summaries", stdout=io.StringIO())
    client = client_for(clinician)
    url = reverse("recovery:cohort")
    client.get(url)  # warm caches (content types, session)
    AnalyticsSnapshot.objects.all().delete()  # the figures are computed by this view (none stored yet)
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.context["analysis"].n == 5
    assert _record_queries(small) == []  # no outcome record read: every row is stored

    generated_cohort(centre, 195, start=5)
    call_command("refresh_outcome_summaries", stdout=io.StringIO())
    AnalyticsSnapshot.objects.all().delete()
    with CaptureQueriesContext(connection) as large, django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert len(large.captured_queries) == len(small.captured_queries)
    assert _record_queries(large) == []
    analysis = response.context["analysis"]
    assert analysis.n == 200
    assert all(e.curve.events > 0 for e in analysis.endpoints)
    assert analysis.safety.febrile_neutropenia > 0

    with CaptureQueriesContext(connection) as export:
        assert client.get(reverse("recovery:cohort-export")).status_code == 200
    assert _record_queries(export) == []
    assert len(export.captured_queries) <= len(small.captured_queries)

    views = AuditEvent.objects.filter(action="cohort.view", actor=clinician)
    assert views.count() == 3  # one row per view, not one per patient
    assert views.first().detail == {"filters": {}, "patients": 200}


def test_the_page_shows_the_same_figures_from_stored_rows_as_computed(client_for, clinician, centre):
    generated_cohort(centre, 30)
    computed = client_for(clinician).get(reverse("recovery:cohort-export")).content
    call_command("refresh_outcome_summaries", stdout=io.StringIO())
    assert PatientOutcomeSummary.objects.count() == 30
    assert client_for(clinician).get(reverse("recovery:cohort-export")).content == computed


def test_an_anc_result_marks_the_patient_for_the_febrile_neutropenia_status(followed, clinician):
    assert _summary(followed).fn_status == "no_anc"
    collected = datetime.combine(DAY0 + timedelta(days=5), datetime.min.time(), tzinfo=UTC)
    record_lab_result(
        context=AuditContext(actor=clinician), patient=followed, test=LabTest.ANC, value="0.2", collected_at=collected
    )
    assert _stale(followed) is not None
    refresh_stale_outcome_summaries()
    assert _summary(followed).fn_status == "no"  # an ANC in the window, no fever


@pytest.mark.parametrize(("days_since_day0", "marked"), [(10, True), (400, False)])
def test_a_temperature_marks_the_patient_only_within_the_febrile_neutropenia_window(
    centre, clinician, days_since_day0, marked
):
    patient = transplanted(centre, TODAY - timedelta(days=days_since_day0), hospital_number="T1")
    refresh_outcome_summary(patient)
    record_symptom_report(
        context=AuditContext(actor=clinician), patient=patient, recorded_at=timezone.now(), temperature_c="37.2"
    )
    assert (_stale(patient) is not None) == marked


def test_the_sweep_and_the_daily_refresh_are_in_the_beat_schedule():
    schedule = _beat_schedule()
    assert schedule["refresh-stale-outcomes"]["task"] == "recovery.tasks.refresh_stale_outcomes"
    assert schedule["refresh-all-outcomes"]["task"] == "recovery.tasks.refresh_all_outcomes"
    for entry in ("refresh-stale-outcomes", "refresh-all-outcomes"):
        assert schedule[entry]["task"] in celery_app.tasks
