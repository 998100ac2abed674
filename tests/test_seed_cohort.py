"""manage.py seed_cohort: a synthetic 2004-2023 cohort whose outcomes look like the Swedish aHSCT cohort.

The cohort is seeded once for the module; every test here reads it (or, for idempotence, runs it again).
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Centre, User
from recovery.clinical.outcomes import required_step, survival_endpoints
from recovery.clinical.phases import local_date
from recovery.clinical.survival import kaplan_meier, survival_at
from recovery.models import EDSSAssessment, MRIScan, Patient, Relapse, SymptomReport, TransplantEpisode
from recovery.queries.outcomes import cohort_outcomes
from tests.conftest import kept_for_the_module, seed

CENTRE = "Demo Transplant Centre"


def cohort(centre: str = CENTRE) -> list[Patient]:
    return list(
        Patient.objects.filter(centre__name=centre, hospital_number__startswith="COH-").select_related(
            "episode__protocol"
        )
    )


def row_counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Patient, TransplantEpisode, EDSSAssessment, Relapse, MRIScan, SymptomReport, User, Centre)
    )


@pytest.fixture(scope="module")
def _cohort(django_db_setup, django_db_blocker):
    """The default cohort, seeded once for the module (its timing is part of `make bench-seed`)."""
    with kept_for_the_module(django_db_blocker):
        seed("seed_cohort")
        yield


@pytest.fixture
def seeded(_cohort, db, settings):
    settings.DEBUG = True


def test_creates_174_patients_without_logins(seeded):
    patients = cohort()
    assert len(patients) == 174
    assert [p.hospital_number for p in sorted(patients, key=lambda p: p.hospital_number)][:2] == [
        "COH-00001",
        "COH-00002",
    ]
    assert not User.objects.exists()
    assert all(p.user_id is None for p in patients)
    assert all(p.episode.reinfusion_date for p in patients)


def test_is_idempotent(seeded):
    before = row_counts()
    call_command("seed_cohort")
    assert row_counts() == before
    assert Centre.objects.filter(name=CENTRE).count() == 1


def test_transplants_span_2004_to_2023_with_the_swedish_regimen_split(seeded):
    patients = cohort()
    years = [p.episode.reinfusion_date.year for p in patients]
    assert min(years) == 2004
    assert max(years) == 2023
    assert len(set(years)) == 20  # every year has transplants
    regimens = [p.episode.protocol.code for p in patients]
    assert set(regimens) == {"cy_atg", "beam_atg"}
    assert 0.76 <= regimens.count("cy_atg") / len(regimens) <= 0.86  # 81% Cy/ATG, 19% BEAM/ATG


def test_episode_dates_follow_the_pathway(seeded):
    for patient in cohort():
        e = patient.episode
        assert e.mobilisation_date < e.apheresis_date < e.conditioning_start_date < e.reinfusion_date
        assert e.admission_date < e.conditioning_start_date
        assert 8 <= (e.neutrophil_engraftment_date - e.reinfusion_date).days <= 16
        assert e.discharge_date > e.neutrophil_engraftment_date
        assert (e.reinfusion_date - e.conditioning_start_date).days == (6 if e.protocol.code == "beam_atg" else 5)


def test_neda_kaplan_meier_matches_the_benchmark(seeded):
    """Through the app's own outcome rules: NEDA-3 about 73% at 5 years (Sweden) and still lower at 10."""
    today = local_date(timezone.now(), "Europe/Stockholm")
    rows = cohort_outcomes(cohort(), today)
    assert len(rows) == 174
    endpoints = [survival_endpoints(outcome)["neda3"] for _, outcome in rows]
    curve = kaplan_meier([months for months, _ in endpoints], [event for _, event in endpoints])
    at_5 = survival_at(curve, 60)
    at_10 = survival_at(curve, 120)
    assert 0.62 <= at_5 <= 0.84
    assert 0.52 <= at_10 <= at_5
    causes = {cause for _, outcome in rows for cause in outcome.neda3_lost_by}
    assert causes == {"relapse", "progression", "mri_activity"}
    categories = [o.edss_change_category for p, o in rows if o.edss_change_category and p.baseline_edss]
    improved = categories.count("improved") / len(categories)
    worse = categories.count("worse") / len(categories)
    assert 0.40 <= improved <= 0.68  # 54%
    assert 0.03 <= worse <= 0.16  # 9%


def test_baseline_edss_median_is_about_3(seeded):
    scores = sorted(p.baseline_edss for p in cohort())
    assert Decimal("2.5") <= scores[len(scores) // 2] <= Decimal("3.5")


def test_progression_is_a_confirmed_step_that_stays_up(seeded):
    today = local_date(timezone.now(), "Europe/Stockholm")
    progressed = [(p, o) for p, o in cohort_outcomes(cohort(), today) if o.confirmed_progression]
    assert progressed
    for patient, outcome in progressed:
        threshold = outcome.baseline_edss + required_step(outcome.baseline_edss)
        later = patient.edss_assessments.filter(assessed_on__gte=outcome.progression_date)
        assert later.count() >= 2
        assert all(a.score >= threshold for a in later)


def test_mri_rebaseline_at_m6_and_yearly_scans(seeded):
    patient = cohort()[0]
    scans = list(patient.mri_scans.all())
    assert scans[0].is_rebaseline
    assert 160 <= (scans[0].scan_date - patient.episode.reinfusion_date).days <= 200
    assert sum(s.is_rebaseline for s in scans) == 1


def test_febrile_neutropenia_in_aplasia_by_regimen(seeded):
    patients = cohort()
    reports = {r.patient_id: r for r in SymptomReport.objects.filter(patient__in=patients)}
    assert all(r.neutropenic_fever for r in reports.values())
    for patient in patients:
        report = reports.get(patient.pk)
        if report is None:
            continue
        assert Decimal("38.4") <= report.temperature_c <= Decimal("39.0")
        local_day = report.recorded_at.astimezone(patient.tz).date()
        assert patient.episode.reinfusion_date < local_day < patient.episode.neutrophil_engraftment_date
    for code, low, high in [("cy_atg", 0.55, 0.80), ("beam_atg", 0.70, 1.0)]:
        group = [p for p in patients if p.episode.protocol.code == code]
        share = sum(p.pk in reports for p in group) / len(group)
        assert low <= share <= high, f"{code}: febrile neutropenia in {share:.0%}"


def test_nothing_is_dated_in_the_future_and_some_are_lost_to_follow_up(seeded):
    today = local_date(timezone.now(), "Europe/Stockholm")
    assert not EDSSAssessment.objects.filter(assessed_on__gt=today).exists()
    assert not Relapse.objects.filter(onset_date__gt=today).exists()
    assert not MRIScan.objects.filter(scan_date__gt=today).exists()
    rows = cohort_outcomes(cohort(), today)
    lost = [o for _, o in rows if o.follow_up_end < today - timedelta(days=2 * 365) and o.day0 < date(2020, 1, 1)]
    assert 1 <= len(lost) <= 25
