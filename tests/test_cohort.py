"""The cohort dashboard and its CSV export: Kaplan-Meier curves from Day 0, filters, the safety summary, the
published anchors, access, audit, and a number of queries that does not grow with the cohort.

"Now" is fixed at Wednesday 18 November 2026, 12:00 UTC. Episodes are created directly (no timeline) so that
cohorts of many patients stay fast; outcome records too.
"""

import csv
import io
import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import json_script

from accounts.models import Membership
from recovery.clinical.benchmarks import BENCHMARKS, NEDA3, PROGRESSION_FREE, RELAPSE_FREE
from recovery.clinical.survival import DAYS_PER_MONTH
from recovery.models import (
    AnalyticsSnapshot,
    AuditEvent,
    CentreConfiguration,
    EDSSAssessment,
    LabResult,
    LabTest,
    MRIScan,
    PatientStatus,
    ProtocolTemplate,
    Relapse,
    SymptomReport,
    TransplantEpisode,
)
from recovery.queries.analytics import chart_points
from recovery.queries.cohort import AT_RISK_MONTHS, CSV_COLUMNS, CohortFilters, cohort_analysis
from tests.factories import CentreFactory, PatientFactory

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
TODAY = date(2026, 11, 18)
DAY0 = date(2020, 1, 1)
Z_95 = 1.959963984540054


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def months(days: int) -> float:
    return days / DAYS_PER_MONTH


def transplanted(centre, day0=DAY0, *, regimen="cy_atg", engrafted=12, admitted=-7, discharged=13, **fields):
    """A patient of `centre` with a Day 0 (and engraftment, admission, discharge as days from it; None: unknown)."""
    patient = PatientFactory(centre=centre, **fields)
    TransplantEpisode.objects.create(
        patient=patient,
        protocol=ProtocolTemplate.objects.get(code=regimen),
        mobilisation_date=day0 - timedelta(days=40),
        apheresis_date=day0 - timedelta(days=30),
        conditioning_start_date=day0 - timedelta(days=5),
        reinfusion_date=day0,
        neutrophil_engraftment_date=None if engrafted is None else day0 + timedelta(days=engrafted),
        admission_date=None if admitted is None else day0 + timedelta(days=admitted),
        discharge_date=None if discharged is None else day0 + timedelta(days=discharged),
    )
    return patient


def edss(patient, day: int, score: str, day0=DAY0):
    return EDSSAssessment.objects.create(patient=patient, assessed_on=day0 + timedelta(days=day), score=Decimal(score))


def relapse(patient, day: int, day0=DAY0):
    return Relapse.objects.create(patient=patient, onset_date=day0 + timedelta(days=day))


def _noon_utc(day: int, day0=DAY0, minutes: int = 0) -> datetime:
    return datetime.combine(day0 + timedelta(days=day), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12, minutes=minutes
    )


def temperature(patient, day: int, celsius: str, *, flagged=False, day0=DAY0, minutes: int = 0, at=None):
    """A check-in temperature at 12:00 UTC on Day `day` (plus `minutes`), or at the instant `at`."""
    return SymptomReport.objects.create(
        patient=patient,
        recorded_at=at or _noon_utc(day, day0, minutes),
        temperature_c=Decimal(celsius),
        neutropenic_fever=flagged,
    )


def anc(patient, day: int, value: str, *, day0=DAY0, minutes: int = 0, at=None):
    """An ANC lab result (x10^9/L) taken at 12:00 UTC on Day `day` (plus `minutes`), or at the instant `at`."""
    return LabResult.objects.create(
        patient=patient,
        test=LabTest.ANC,
        value=Decimal(value),
        unit="x10^9/L",
        collected_at=at or _noon_utc(day, day0, minutes),
    )


def generated_cohort(centre, count: int, start: int = 0) -> list:
    """`count` transplanted patients with EDSS, relapses, MRI, fevers, two regimens and a death, in bulk."""
    protocols = {p.code: p for p in ProtocolTemplate.objects.all()}
    patients = [
        PatientFactory(
            centre=centre,
            hospital_number=f"G{start + i:05d}",
            date_of_birth=date(1970 + (start + i) % 30, 1 + (start + i) % 12, 10),
            status=PatientStatus.DECEASED if (start + i) % 23 == 22 else PatientStatus.ACTIVE,
        )
        for i in range(count)
    ]
    episodes, assessments, relapses, scans, reports, counts = [], [], [], [], [], []
    for i, patient in enumerate(patients, start=start):
        day0 = date(2014, 3, 1) + timedelta(days=53 * i)
        episodes.append(
            TransplantEpisode(
                patient=patient,
                protocol=protocols["beam_atg" if i % 4 == 3 else "cy_atg"],
                reinfusion_date=day0,
                conditioning_start_date=day0 - timedelta(days=5),
                neutrophil_engraftment_date=day0 + timedelta(days=10 + i % 5),
                admission_date=day0 - timedelta(days=7),
                discharge_date=day0 + timedelta(days=14 + i % 9),
            )
        )
        follow_up = min((TODAY - day0).days - 1, 3650)
        for visit in range(180, follow_up, 182):
            worse = i % 7 == 0 and visit >= 540
            assessments.append(
                EDSSAssessment(
                    patient=patient, assessed_on=day0 + timedelta(days=visit), score="5.0" if worse else "3.0"
                )
            )
        if i % 5 == 1 and follow_up > 400:
            relapses.append(Relapse(patient=patient, onset_date=day0 + timedelta(days=200 + 37 * (i % 11))))
        if follow_up > 200:
            scans.append(MRIScan(patient=patient, scan_date=day0 + timedelta(days=180), is_rebaseline=True))
        if i % 6 == 2 and follow_up > 800:
            scans.append(MRIScan(patient=patient, scan_date=day0 + timedelta(days=760), new_t2_lesions=2))
        when = datetime.combine(day0 + timedelta(days=4), datetime.min.time(), tzinfo=UTC)
        counts.append(
            LabResult(
                patient=patient, test=LabTest.ANC, value="0.2", unit="x10^9/L", collected_at=when - timedelta(hours=2)
            )
        )
        if i % 3 != 1:
            reports.append(SymptomReport(patient=patient, recorded_at=when, temperature_c=Decimal("38.4")))
    TransplantEpisode.objects.bulk_create(episodes)
    EDSSAssessment.objects.bulk_create(assessments)
    Relapse.objects.bulk_create(relapses)
    MRIScan.objects.bulk_create(scans)
    SymptomReport.objects.bulk_create(reports)
    LabResult.objects.bulk_create(counts)
    return patients


@pytest.fixture
def hand_made(centre):
    """Five patients, Day 0 on 1 January 2020, recorded baseline EDSS 3.5 unless said otherwise:

    P1 relapse on day 365;  P2 stable EDSS on day 730;  P3 relapse on day 1095;  P4 stable EDSS on day 1461;
    P5 (baseline 2.0) EDSS 3.5 on day 183, confirmed on day 400: progression dated day 183.
    """
    p1, p2, p3, p4 = (transplanted(centre, hospital_number=f"P{n}") for n in range(1, 5))
    p5 = transplanted(centre, hospital_number="P5", baseline_edss="2.0")
    relapse(p1, 365)
    edss(p2, 730, "3.5")
    relapse(p3, 1095)
    edss(p4, 1461, "3.5")
    edss(p5, 183, "3.5")
    edss(p5, 400, "3.5")
    return [p1, p2, p3, p4, p5]


def _points(endpoint):
    return [(p.months, p.survival, p.at_risk) for p in endpoint.curve.points]


def _loglog(survival: float, variance: float) -> tuple[float, float]:
    spread = Z_95 * math.sqrt(variance) / math.log(survival)
    return survival ** math.exp(-spread), survival ** math.exp(spread)


# The curves --------------------------------------------------------------------------------------------------


def test_kaplan_meier_curves_of_a_small_hand_made_cohort(clinician, hand_made):
    """Relapse-free: 0.8 after P1's relapse (5 at risk), 0.4 after P3's (2 at risk); NEDA-3 also loses P5 at
    progression; progression-free has P5's single event. Censoring at the last record."""
    analysis = cohort_analysis(clinician, CohortFilters())
    curves = {e.key: e for e in analysis.endpoints}

    relapse_free = curves[RELAPSE_FREE]
    assert (relapse_free.curve.n, relapse_free.curve.events) == (5, 2)
    assert _points(relapse_free) == [
        (0.0, 1.0, 5),
        (pytest.approx(months(365)), pytest.approx(0.8), 5),
        (pytest.approx(months(1095)), pytest.approx(0.4), 2),
    ]
    low, high = _loglog(0.8, 1 / (5 * 4))
    first = relapse_free.curve.points[1]
    assert (first.ci_low, first.ci_high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))
    # Duration >= t is at risk: P1's relapse at 11.99 months is before 12, P4's censoring at 48.0 is not.
    assert dict(relapse_free.at_risk) == {0: 5, 12: 4, 24: 2, 36: 1, 48: 1, 60: 0, 84: 0, 120: 0}
    assert dict(relapse_free.estimates)[24] == pytest.approx(0.8)
    assert dict(relapse_free.estimates)[60] is None  # past the longest follow-up

    neda3 = curves[NEDA3]
    assert (neda3.curve.n, neda3.curve.events) == (5, 3)
    assert [(round(m, 4), round(s, 6), r) for m, s, r in _points(neda3)] == [
        (0.0, 1.0, 5),
        (round(months(183), 4), 0.8, 5),
        (round(months(365), 4), 0.6, 4),
        (round(months(1095), 4), 0.3, 2),
    ]

    progression_free = curves[PROGRESSION_FREE]
    assert (progression_free.curve.n, progression_free.curve.events) == (5, 1)
    assert _points(progression_free) == [(0.0, 1.0, 5), (pytest.approx(months(183)), pytest.approx(0.8), 5)]


def test_each_curve_carries_its_published_anchors_from_the_one_table(clinician, hand_made):
    """The anchors on each chart are exactly those of recovery.clinical.benchmarks.BENCHMARKS for its endpoint."""
    curves = {e.key: e for e in cohort_analysis(clinician, CohortFilters()).endpoints}
    for key in (NEDA3, PROGRESSION_FREE, RELAPSE_FREE):
        assert list(curves[key].benchmarks) == [b for b in BENCHMARKS if b.measure == key]
    assert {(b.study, b.value, b.months) for b in curves[NEDA3].benchmarks} == {
        ("Sweden", 0.73, 60),
        ("Sweden", 0.65, 120),
        ("Sormani", 0.83, 24),
        ("Sormani", 0.67, 60),
    }
    assert [(b.study, b.value, b.months) for b in curves[PROGRESSION_FREE].benchmarks] == [("Muraro", 0.46, 60)]
    assert [(b.study, b.value, b.months) for b in curves[RELAPSE_FREE].benchmarks] == [("Burt", 0.801, 60)]


def _charts(html: str) -> dict:
    """The page's "cohort-charts" JSON block, which static/js/cohort.js draws."""
    return json.loads(html.split('<script id="cohort-charts" type="application/json">')[1].split("</script>")[0])


def test_the_chart_block_is_every_step_of_the_curves_as_json_script_writes_it(client_for, clinician, hand_made):
    """The stored chart text is sent as it is: the same bytes as the whole analysis through `json_script`."""
    html = client_for(clinician).get(reverse("recovery:cohort")).content.decode()
    charts = _charts(html)
    expected = {
        "x_max": charts["x_max"],
        "x_step": charts["x_step"],
        "curves": [
            {
                "key": e.key,
                "label": e.label,
                "points": chart_points(e.curve),
                "benchmarks": [
                    {"x": b.months, "y": b.value, "study": b.study, "source": b.source, "population": b.population}
                    for b in e.benchmarks
                ],
            }
            for e in cohort_analysis(clinician, CohortFilters()).endpoints
        ],
    }
    assert str(json_script(expected, "cohort-charts")) in html
    assert sum(len(c["points"]) for c in charts["curves"]) > 6  # every step, none left out


def test_the_dashboard_shows_n_events_at_risk_and_the_anchors(client_for, clinician, hand_made):
    response = client_for(clinician).get(reverse("recovery:cohort"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "n = 5, events = 2" in html  # relapse-free
    assert "n = 5, events = 3" in html  # NEDA-3
    assert "n = 5, events = 1" in html  # progression-free
    charts = _charts(html)
    assert charts["x_max"] == 120
    neda = next(c for c in charts["curves"] if c["key"] == NEDA3)
    assert {(b["study"], b["x"], b["y"]) for b in neda["benchmarks"]} == {
        ("Sweden", 60, 0.73),
        ("Sweden", 120, 0.65),
        ("Sormani", 24, 0.83),
        ("Sormani", 60, 0.67),
    }
    assert neda["points"][-1]["x"] == pytest.approx(months(1461))  # drawn out to the longest follow-up
    assert 'id="cohort-charts"' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "js/cohort.js" in html
    for label in ("Sweden [S5]: <strong>73%</strong>", "Muraro [S8]: <strong>46%</strong>", "<strong>80.1%</strong>"):
        assert label in html
    assert reverse("recovery:cohort-export") in html


def test_a_long_follow_up_widens_the_x_axis_in_whole_ticks(client_for, clinician, centre):
    """Follow-up past 10 years: the axis runs to the longest follow-up, ticked every 2 years (at most 12 ticks)."""
    patient = transplanted(centre, date(2004, 3, 1))
    edss(patient, 22 * 365, "3.5", day0=date(2004, 3, 1))
    charts = _charts(client_for(clinician).get(reverse("recovery:cohort")).content.decode())
    assert (charts["x_max"], charts["x_step"]) == (264, 24)  # 263.8 months, rounded up to a tick


def test_a_dashboard_view_is_audited_as_one_row_naming_the_query(client_for, clinician, hand_made):
    """Aggregate figures name no patient: one row with the filters and the number of patients (issue 15)."""
    client_for(clinician).get(reverse("recovery:cohort"), {"regimen": "cy_atg", "year_from": "2019"})
    audited = AuditEvent.objects.get(action="cohort.view", actor=clinician)
    assert audited.patient_id is None
    assert audited.detail == {"filters": {"regimen": "cy_atg", "year_from": 2019}, "patients": 5}


# Filters -----------------------------------------------------------------------------------------------------


@pytest.fixture
def varied(centre, clinician, other_centre):
    """Patients across regimens, ages at Day 0, years and two of the clinician's centres, and some that never
    belong in the cohort (no Day 0, a planned Day 0, another centre's)."""
    second = CentreFactory(name="Second Centre")
    Membership.objects.create(user=clinician, centre=second)
    patients = {
        "young": transplanted(centre, date(2020, 3, 1), hospital_number="YOUNG", date_of_birth=date(1995, 6, 1)),
        "thirty": transplanted(
            centre, date(2020, 3, 1), regimen="beam_atg", hospital_number="THIRTY", date_of_birth=date(1990, 3, 1)
        ),
        "forties": transplanted(centre, date(2022, 5, 1), hospital_number="FORTIES", date_of_birth=date(1980, 1, 1)),
        "fifties": transplanted(centre, date(2024, 1, 1), hospital_number="FIFTIES", date_of_birth=date(1970, 1, 1)),
        "second": transplanted(second, date(2021, 6, 1), hospital_number="SECOND", date_of_birth=date(1985, 1, 1)),
    }
    not_yet = PatientFactory(centre=centre, hospital_number="NODAY0")
    TransplantEpisode.objects.create(patient=not_yet, mobilisation_date=TODAY - timedelta(days=3))
    transplanted(
        centre, TODAY + timedelta(days=10), hospital_number="PLANNED", engrafted=None, admitted=None, discharged=None
    )
    transplanted(other_centre, date(2021, 1, 1), hospital_number="ELSEWHERE")
    return {**patients, "second_centre": second}


def _numbers(analysis) -> set[str]:
    return {row.hospital_number for row in analysis.rows}


def test_the_cohort_is_the_users_patients_whose_day0_has_happened(clinician, varied):
    """No Day 0, a planned Day 0 and another centre's patients are never in it."""
    assert _numbers(cohort_analysis(clinician, CohortFilters())) == {"YOUNG", "THIRTY", "FORTIES", "FIFTIES", "SECOND"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"regimen": "beam_atg"}, {"THIRTY"}),
        ({"regimen": "bu_cy_atg"}, set()),
        ({"age_group": "under_30"}, {"YOUNG"}),
        ({"age_group": "30_39"}, {"THIRTY", "SECOND"}),  # 30 on the day of Day 0 is 30
        ({"age_group": "40_49"}, {"FORTIES"}),
        ({"age_group": "50_plus"}, {"FIFTIES"}),
        ({"year_from": 2021, "year_to": 2022}, {"FORTIES", "SECOND"}),
        ({"year_from": 2024}, {"FIFTIES"}),
        ({"year_to": 2020, "regimen": "cy_atg"}, {"YOUNG"}),
    ],
)
def test_filters_narrow_the_cohort(clinician, varied, filters, expected):
    assert _numbers(cohort_analysis(clinician, CohortFilters(**filters))) == expected


def test_the_centre_filter_takes_one_of_the_users_centres(client_for, clinician, varied, other_centre):
    client = client_for(clinician)
    response = client.get(reverse("recovery:cohort"), {"centre": varied["second_centre"].uuid})
    assert response.context["analysis"].n == 1
    assert _numbers(cohort_analysis(clinician, CohortFilters(centre=varied["second_centre"]))) == {"SECOND"}

    response = client.get(reverse("recovery:cohort"), {"centre": other_centre.uuid})
    assert response.status_code == 200
    assert response.context["analysis"] is None
    assert "centre" in response.context["form"].errors
    assert "ELSEWHERE" not in response.content.decode()


def test_the_page_filters_come_from_the_query_string(client_for, clinician, varied):
    client = client_for(clinician)
    response = client.get(reverse("recovery:cohort"), {"age_group": "30_39", "regimen": "beam_atg"})
    assert response.context["analysis"].n == 1  # THIRTY (test_filters_narrow_the_cohort names them)
    assert "age_group=30_39" in response.context["export_query"]

    response = client.get(reverse("recovery:cohort"), {"year_from": "2023", "year_to": "2021"})
    assert response.context["analysis"] is None
    assert "swap them" in response.content.decode()
    for bad in ({"age_group": "teen"}, {"regimen": "nope"}, {"year_from": "abc"}, {"centre": "not-a-uuid"}):
        assert client.get(reverse("recovery:cohort"), bad).status_code == 200


def test_an_honest_empty_state(client_for, clinician, varied):
    html = client_for(clinician).get(reverse("recovery:cohort"), {"regimen": "bu_cy_atg"}).content.decode()
    assert 'data-testid="cohort-empty"' in html
    assert "No transplanted patient matches these filters." in html
    assert "cohort-charts" not in html


def test_an_empty_state_before_any_day0(client_for, clinician, centre):
    PatientFactory(centre=centre)
    html = client_for(clinician).get(reverse("recovery:cohort")).content.decode()
    assert "has had their Day 0 (reinfusion) yet" in html


# Safety ------------------------------------------------------------------------------------------------------


@pytest.fixture
def safety_cohort(centre):
    """Seven patients (four Cy/ATG, three BEAM/ATG); febrile neutropenia (CTCAE) in A, B and D only.

    A: 38.3 on day 5 (one reading at the CTCAE threshold), ANC 0.2 four hours before; 20 days in hospital; EDSS
       improved (4.0 -> 3.0, confirmed).
    B: 38.0 on day 5 and 38.1 sixty-one minutes later (sustained over an hour), ANC 0.9 that morning; 25 days in
       hospital; EDSS worse (3.5 -> 4.5, confirmed).
    C: 38.2 on day 3 (below 38.3, and alone) with ANC 0.1; 38.5 on day 20 with ANC 1.0 (not below 1.0); 30 days.
    D: 38.3 two days before Day 0, during conditioning, ANC 0.5 the same hour; no admission dates; deceased.
    E: 38.0 and 38.2 exactly sixty minutes apart (not over an hour), ANC 0.3: no.
    F: 38.6 on day 6 but no ANC result at all: not counted in the rate.
    G: Day 0 thirty days ago, 38.9 with ANC 0.1: still within the 100-day window, not counted yet.
    """
    a = transplanted(centre, hospital_number="A", admitted=-7, discharged=13, baseline_edss="4.0")
    b = transplanted(centre, hospital_number="B", admitted=-5, discharged=20)
    c = transplanted(centre, hospital_number="C", admitted=-10, discharged=20)
    d = transplanted(
        centre, regimen="beam_atg", hospital_number="D", admitted=None, discharged=None, status=PatientStatus.DECEASED
    )
    e = transplanted(centre, regimen="beam_atg", hospital_number="E", engrafted=None, discharged=None)
    f = transplanted(centre, regimen="beam_atg", hospital_number="F", engrafted=None, discharged=None)
    recent = TODAY - timedelta(days=30)
    g = transplanted(centre, recent, hospital_number="G", admitted=None, discharged=None)
    temperature(a, 5, "38.3")
    anc(a, 5, "0.2", minutes=-240)
    temperature(b, 5, "38.0")
    temperature(b, 5, "38.1", minutes=61)
    anc(b, 5, "0.9", minutes=-180)
    temperature(c, 3, "38.2")
    anc(c, 3, "0.1")
    temperature(c, 20, "38.5")
    anc(c, 20, "1.0")
    temperature(d, -2, "38.3")
    anc(d, -2, "0.5")
    temperature(e, 6, "38.0")
    temperature(e, 6, "38.2", minutes=60)
    anc(e, 6, "0.3")
    temperature(f, 6, "38.6")
    temperature(g, 8, "38.9", day0=recent)
    anc(g, 8, "0.1", day0=recent)
    edss(a, 100, "3.0")
    edss(a, 300, "3.0")
    edss(b, 100, "4.5")
    edss(b, 300, "4.5")
    edss(c, 100, "3.5")
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "G": g}


def test_safety_figures_are_exact(clinician, safety_cohort):
    """The rate counts A-E (F has no ANC, G is still within Day +100): 3 of 5."""
    safety = cohort_analysis(clinician, CohortFilters()).safety
    assert (safety.n, safety.fn_n, safety.febrile_neutropenia, safety.febrile_neutropenia_rate) == (7, 5, 3, 0.6)
    assert (safety.fn_pending, safety.fn_no_anc) == (1, 1)
    by_regimen = {rate.regimen: rate for rate in safety.by_regimen}
    assert (by_regimen["cy_atg"].count, by_regimen["cy_atg"].n) == (2, 3)
    assert (by_regimen["beam_atg"].count, by_regimen["beam_atg"].n) == (1, 2)
    assert by_regimen["cy_atg"].benchmark.value == 0.68
    assert by_regimen["beam_atg"].benchmark.value == 0.88
    assert safety.deaths == 1
    assert (safety.hospital_days_median, safety.hospital_days_n) == (25.0, 3)
    assert (safety.edss_n, safety.edss_improved, safety.edss_stable, safety.edss_worse) == (3, 1, 1, 1)
    improved = safety.edss_rows[0]
    assert improved[:3] == ("improved", 1, pytest.approx(1 / 3))
    assert [b.value for b in improved[3]] == [0.54]


def test_each_patients_febrile_neutropenia_status(clinician, safety_cohort):
    rows = {row.hospital_number: row for row in cohort_analysis(clinician, CohortFilters()).rows}
    assert {number: row.fn_status for number, row in rows.items()} == {
        "A": "yes",
        "B": "yes",
        "C": "no",
        "D": "yes",
        "E": "no",
        "F": "no_anc",
        "G": "pending",
    }
    assert [rows[n].febrile_neutropenia for n in "ACFG"] == [True, False, None, None]


def test_a_triage_flag_without_a_low_anc_is_not_febrile_neutropenia(clinician, centre):
    """A check-in flagged neutropenic fever by the alerting rule counts only if the CTCAE definition is met."""
    patient = transplanted(centre, hospital_number="FLAG")
    temperature(patient, 5, "38.4", flagged=True)
    anc(patient, 5, "1.4")
    row = cohort_analysis(clinician, CohortFilters()).rows[0]
    assert row.fn_status == "no"


def test_the_febrile_neutropenia_thresholds_are_the_centres(clinician, centre, safety_cohort):
    """With the centre's single-reading threshold raised to 38.4 C, A's and D's 38.3 no longer count."""
    CentreConfiguration.objects.create(centre=centre, version=1, values={"outcomes": {"fn_single_c": 38.4}})
    analysis = cohort_analysis(clinician, CohortFilters())
    assert {row.hospital_number for row in analysis.rows if row.febrile_neutropenia} == {"B"}
    assert analysis.safety.febrile_neutropenia == 1
    assert analysis.safety.fn_config.fn_single_c == 38.4


def _fn_patient(centre, **fields):
    """A patient in Stockholm (UTC+1 in winter) with Day 0 on 1 January 2020 and conditioning from Day -5."""
    return transplanted(centre, hospital_number="W", **fields)


STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.mark.parametrize(
    ("local", "counted"),
    [
        pytest.param(datetime(2019, 12, 27, 0, 30), True, id="conditioning-start-00:30-local-in"),
        pytest.param(datetime(2019, 12, 26, 23, 30), False, id="day-before-conditioning-23:30-local-out"),
        pytest.param(datetime(2020, 4, 10, 23, 30), True, id="day+100-23:30-local-in"),
        pytest.param(datetime(2020, 4, 11, 0, 30), False, id="day+101-00:30-local-out"),
    ],
)
def test_the_window_runs_on_the_patients_local_dates(clinician, centre, local, counted):
    """Conditioning start (26 Dec 2019 is Day -6) through Day +100 (10 April 2020), in Stockholm time: 23:30 on
    Day +100 is 21:30 UTC (in), 00:30 on Day +101 is 22:30 UTC on Day +100 (out)."""
    patient = _fn_patient(centre)
    at = local.replace(tzinfo=STOCKHOLM)
    temperature(patient, 0, "38.5", at=at)
    anc(patient, 0, "0.2", at=at)
    anc(patient, 10, "0.3")  # an ANC in the window, so the patient is counted either way
    row = cohort_analysis(clinician, CohortFilters()).rows[0]
    assert row.fn_status == ("yes" if counted else "no")


@pytest.mark.parametrize(
    ("today", "status"),
    [
        pytest.param(date(2020, 4, 10), "pending", id="on-day+100-still-open"),
        pytest.param(date(2020, 4, 11), "yes", id="day+101-closed"),
    ],
)
def test_the_window_closes_after_day_100(clinician, centre, time_machine, today, status):
    time_machine.move_to(datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12), tick=False)
    patient = _fn_patient(centre)
    temperature(patient, 5, "38.5")
    anc(patient, 5, "0.2")
    assert cohort_analysis(clinician, CohortFilters()).rows[0].fn_status == status


def test_without_a_conditioning_date_the_window_starts_on_day0(clinician, centre):
    patient = _fn_patient(centre)
    TransplantEpisode.objects.filter(patient=patient).update(conditioning_start_date=None)
    temperature(patient, -1, "38.5")
    anc(patient, -1, "0.2")
    anc(patient, 3, "0.2")
    assert cohort_analysis(clinician, CohortFilters()).rows[0].fn_status == "no"


def test_an_empty_fn_denominator_says_so(client_for, clinician, centre):
    """Only patients still within the window: no rate, and the page says why."""
    transplanted(centre, TODAY - timedelta(days=10), hospital_number="NEW")
    html = client_for(clinician).get(reverse("recovery:cohort")).content.decode()
    assert "No patient can be counted yet" in html
    assert "Not counted: 1 not yet past Day +100" in html


def test_the_safety_table_sits_next_to_the_published_figures(client_for, clinician, safety_cohort):
    html = client_for(clinician).get(reverse("recovery:cohort")).content.decode()
    assert '<strong>60%</strong> <span class="text-nowrap">(3 of 5)</span>' in html
    assert '67%</strong> <span class="text-nowrap">(2 of 3)</span>' in html
    assert "68% Sweden Cy/ATG [S6]" in html
    assert '50%</strong> <span class="text-nowrap">(1 of 2)</span>' in html
    assert "88% Sweden BEAM/ATG [S6]" in html
    assert "CTCAE: neutrophils (ANC) below 1.0 " in html
    assert "with one temperature of 38.3 °C or more, or 38.0 °C or more for over an hour, up to Day +100." in html
    assert "Not counted: 1 not yet past Day +100, 1 without a neutrophil count recorded." in html
    assert "No date of death is recorded" in html
    assert '<strong>25</strong> <span class="text-nowrap">(n = 3)</span>' in html
    for label, anchor in (("improved", "54%"), ("stable", "37%"), ("worse", "9%")):
        row = html[html.index(f'data-testid="safety-edss-{label}"') :]
        row = row[: row.index("</tr>")]
        assert '<strong>33%</strong> <span class="text-nowrap">(1 of 3)</span>' in row
        assert f"{anchor} Sweden [S5]" in row
    assert "2.1% Sormani [S9]" in html


# The CSV export ----------------------------------------------------------------------------------------------


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_export_is_the_analysis_data_set_as_csv(client_for, clinician, hand_made, safety_cohort):
    response = client_for(clinician).get(reverse("recovery:cohort-export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="cohort-outcomes-2026-11-18.csv"'
    header = next(csv.reader(io.StringIO(response.content.decode())))
    assert header == list(CSV_COLUMNS)
    rows = {row["hospital_number"]: row for row in _csv(response)}
    assert set(rows) == {"P1", "P2", "P3", "P4", "P5", "A", "B", "C", "D", "E", "F", "G"}
    assert rows["P1"] == {
        "hospital_number": "P1",
        "centre": "Uppsala Transplant Centre",
        "regimen": "cy_atg",
        "age_at_day0": "29",  # born 17 May 1990
        "day0_year": "2020",
        "follow_up_months": f"{months(365):.2f}",
        "neda3_event": "1",
        "neda3_months": f"{months(365):.2f}",
        "progression_event": "0",
        "progression_months": f"{months(365):.2f}",
        "relapse_event": "1",
        "relapse_months": f"{months(365):.2f}",
        "baseline_edss": "3.5",
        "last_edss": "",
        "edss_category": "",
        "febrile_neutropenia": "",  # no ANC result recorded: not counted, not "no"
        "febrile_neutropenia_status": "no_anc",
        "deceased": "0",
        "hospital_days": "20",
    }
    assert (rows["P5"]["progression_event"], rows["P5"]["progression_months"]) == ("1", f"{months(183):.2f}")
    assert (rows["P5"]["edss_category"], rows["P5"]["last_edss"]) == ("worse", "3.5")
    assert (rows["D"]["deceased"], rows["D"]["hospital_days"]) == ("1", "")
    assert (rows["D"]["febrile_neutropenia"], rows["D"]["febrile_neutropenia_status"]) == ("1", "yes")
    assert (rows["E"]["febrile_neutropenia"], rows["E"]["febrile_neutropenia_status"]) == ("0", "no")


def test_the_export_takes_the_same_filters_and_is_audited(client_for, clinician, varied):
    response = client_for(clinician).get(reverse("recovery:cohort-export"), {"age_group": "30_39"})
    assert {row["hospital_number"] for row in _csv(response)} == {"THIRTY", "SECOND"}
    audited = AuditEvent.objects.filter(action="cohort.export", actor=clinician)
    assert sorted(e.patient_id for e in audited) == sorted([varied["thirty"].pk, varied["second"].pk])

    bad = client_for(clinician).get(reverse("recovery:cohort-export"), {"year_from": "2023", "year_to": "2021"})
    assert bad.status_code == 400
    assert "swap them" in bad.content.decode()


def test_the_export_never_writes_a_spreadsheet_formula(client_for, clinician, centre):
    transplanted(centre, hospital_number="=HYPERLINK(1)")
    rows = _csv(client_for(clinician).get(reverse("recovery:cohort-export")))
    assert rows[0]["hospital_number"] == "'=HYPERLINK(1)"


# Access and other centres ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["recovery:cohort", "recovery:cohort-export"])
def test_coordinators_and_patients_may_not_see_the_cohort(client_for, coordinator, patient, name):
    assert client_for(coordinator).get(reverse(name)).status_code == 403
    assert client_for(patient.user).get(reverse(name)).status_code == 403


def test_another_centres_patients_are_never_included(client_for, clinician, other_centre_clinician, hand_made, varied):
    theirs = client_for(other_centre_clinician)
    assert {row["hospital_number"] for row in _csv(theirs.get(reverse("recovery:cohort-export")))} == {"ELSEWHERE"}
    assert theirs.get(reverse("recovery:cohort")).context["analysis"].n == 1
    ours = client_for(clinician)
    assert "ELSEWHERE" not in ours.get(reverse("recovery:cohort-export")).content.decode()
    ours_n = len(cohort_analysis(clinician, CohortFilters()).rows)
    assert "ELSEWHERE" not in _numbers(cohort_analysis(clinician, CohortFilters()))
    assert ours.get(reverse("recovery:cohort")).context["analysis"].n == ours_n


# Queries -----------------------------------------------------------------------------------------------------


def test_the_dashboard_query_count_does_not_grow_with_the_cohort(
    client_for, clinician, centre, django_assert_max_num_queries
):
    """The same number of queries for 5 patients as for 60 (records, fevers, episodes all read in bulk), when
    the figures are computed (no stored figures yet: recovery/services/analytics.py)."""
    generated_cohort(centre, 5)
    client = client_for(clinician)
    url = reverse("recovery:cohort")
    client.get(url)  # warm caches (content types, session)
    AnalyticsSnapshot.objects.all().delete()
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.context["analysis"].n == 5

    generated_cohort(centre, 55, start=5)
    AnalyticsSnapshot.objects.all().delete()
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    analysis = response.context["analysis"]
    assert analysis.n == 60
    assert all(e.curve.events > 0 for e in analysis.endpoints)
    assert analysis.safety.febrile_neutropenia > 0
    assert analysis.safety.deaths > 0

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse("recovery:cohort-export")).status_code == 200


def test_at_risk_table_months_are_the_dashboards():
    assert AT_RISK_MONTHS == (0, 12, 24, 36, 48, 60, 84, 120)
