"""The patient's MS outcome page (/patients/<id>/outcomes/): NEDA-3 since Day 0, the EDSS chart, the records,
and the three forms that add an EDSS assessment, a relapse or an MRI scan."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Role
from recovery import access
from recovery.access import Action
from recovery.clinical.edss import EDSS_MESSAGE
from recovery.clinical.phases import add_months
from recovery.models import AuditEvent, CentreConfiguration, EDSSAssessment, MRIScan, Relapse, TransplantEpisode
from recovery.outcome_text import plain_language
from recovery.queries.outcomes import outcome_for
from recovery.views.outcomes import neda_line
from tests.factories import PatientFactory

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # 12:00 in Stockholm
TODAY = date(2026, 6, 15)
DAY0 = date(2024, 1, 10)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)


def form_url(patient, data: dict) -> str:
    """Where the outcomes page's form named by `data["form"]` posts (each form has its URL)."""
    return reverse("recovery:outcome-add", args=[patient.uuid, data["form"]])


def url(patient) -> str:
    return reverse("recovery:patient-outcomes", args=[patient.uuid])


def transplanted(patient, day0: date = DAY0) -> TransplantEpisode:
    return TransplantEpisode.objects.create(
        patient=patient, conditioning_start_date=day0 - timedelta(days=5), reinfusion_date=day0
    )


def edss(patient, on: date, score: str) -> EDSSAssessment:
    return EDSSAssessment.objects.create(patient=patient, assessed_on=on, score=Decimal(score))


def months(n: int, day0: date = DAY0) -> date:
    return add_months(day0, n)


def chart_data(response) -> dict:
    html = response.content.decode()
    start = html.index('id="edss-chart-data"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


# --- what the page shows ---------------------------------------------------------------------------------------


def test_patient_with_confirmed_progression(client_for, clinician, patient, now):
    """Baseline 3.0, then 4.0 at M12 sustained: progression from M12, NEDA-3 lost then, the chart's two lines."""
    transplanted(patient)
    edss(patient, DAY0 - timedelta(days=20), "3.0")
    for month, score in [(6, "3.0"), (12, "4.0"), (18, "4.0"), (24, "4.5")]:
        edss(patient, months(month), score)

    response = client_for(clinician).get(url(patient))

    assert response.status_code == 200
    page = response.content.decode()
    lost_on = months(12)
    assert f"NEDA-3 lost on {lost_on.day} {lost_on:%b %Y}: confirmed disability progression" in page
    assert response.context["outcome"].confirmed_progression
    assert f"Yes</span>, from {lost_on.day} {lost_on:%b %Y}" in page
    assert "(Month 12)" in page
    facts = response.context["outcome"]
    assert (facts.baseline_edss, facts.last_edss) == (Decimal("3.0"), Decimal("4.5"))
    data = chart_data(response)
    assert data["baseline"] == 3.0
    assert data["threshold"] == 4.0
    assert [p["y"] for p in data["points"]] == [3.0, 3.0, 4.0, 4.0, 4.5]
    assert data["points"][0]["x"] < 0 < data["points"][1]["x"]  # months from Day 0
    assert "js/patient_outcomes.js" in page
    assert "vendor/chartjs/chart.umd.min.js" in page


def test_threshold_follows_the_centre_configuration(client_for, clinician, centre, patient, now):
    """The threshold line is baseline + the configured step, not a number written in the page."""
    CentreConfiguration.objects.create(centre=centre, version=1, values={"outcomes": {"progression_step_low": 1.5}})
    transplanted(patient)
    edss(patient, DAY0 - timedelta(days=20), "3.0")
    edss(patient, months(12), "4.0")
    response = client_for(clinician).get(url(patient))
    assert chart_data(response)["threshold"] == 4.5
    assert "baseline + 1.5" in response.content.decode()


def test_patient_with_a_relapse(client_for, clinician, patient, now):
    """A relapse after Day 0 ends NEDA-3 on its onset; a possible pseudo-relapse is flagged; it is on the chart."""
    transplanted(patient)
    edss(patient, DAY0 - timedelta(days=20), "3.5")
    edss(patient, months(6), "3.5")
    Relapse.objects.create(
        patient=patient,
        onset_date=date(2025, 3, 3),
        domains=["sensory", "visual"],
        description="Numb left leg for a week.",
        treated_with_steroids=True,
        possible_pseudo_relapse=True,
    )
    response = client_for(clinician).get(url(patient))
    page = response.content.decode()
    assert "NEDA-3 lost on 3 Mar 2025: relapse" in page
    assert response.context["outcome"].relapse_count == 1
    assert 'data-testid="pseudo-relapse"' in page
    assert "possible pseudo-relapse" in page
    assert "Sensory (numbness, tingling), Visual" in page
    assert "Numb left leg for a week." in page
    relapses = chart_data(response)["relapses"]
    assert len(relapses) == 1
    assert relapses[0]["pseudo"] is True
    assert relapses[0]["y"] == 3.5  # drawn on the EDSS course


def test_patient_with_neda_kept(client_for, clinician, patient, now):
    """Stable scores and clean scans: "NEDA-3 for 18 months since Day 0"; the re-baseline scan is marked."""
    day0 = add_months(TODAY, -18)
    transplanted(patient, day0)
    edss(patient, day0 - timedelta(days=30), "4.0")
    edss(patient, months(6, day0), "4.0")
    edss(patient, months(12, day0), "3.5")
    MRIScan.objects.create(patient=patient, scan_date=months(6, day0), is_rebaseline=True)
    MRIScan.objects.create(patient=patient, scan_date=months(12, day0))

    response = client_for(clinician).get(url(patient))

    page = response.content.decode()
    assert "NEDA-3 for 18 months since Day 0" in page
    assert 'data-testid="rebaseline"' in page
    reference = months(6, day0)
    assert f"None since the reference scan of {reference.day} {reference:%b %Y}" in page
    assert "Confirmed progression</dt>" in page
    assert response.context["outcome"].confirmed_progression is False
    assert response.context["outcome"].relapse_count == 0


def test_assessment_close_after_a_relapse_is_marked_as_not_used(client_for, clinician, patient, now):
    transplanted(patient)
    edss(patient, DAY0 - timedelta(days=20), "3.0")
    Relapse.objects.create(patient=patient, onset_date=date(2025, 3, 3))
    edss(patient, date(2025, 3, 20), "4.5")
    response = client_for(clinician).get(url(patient))
    assert response.content.decode().count('data-testid="not-used"') == 1
    # the baseline is over a year before the next assessment: a gap point (y null) breaks the step line between
    points = chart_data(response)["points"]
    assert [p["y"] for p in points] == [3.0, None, 4.5]
    assert [p["used"] for p in points if p["y"] is not None] == [True, False]


def test_patient_without_day0_gets_an_honest_message(client_for, clinician, patient, now):
    response = client_for(clinician).get(url(patient))
    assert response.status_code == 200
    page = response.content.decode()
    assert "No Day 0 is recorded for Pia yet." in page
    assert "NEDA-3 for" not in page
    assert 'id="edss-chart"' not in page
    assert 'data-testid="edss-form"' in page  # a baseline before the transplant can still be recorded


def test_day0_with_nothing_recorded_since_says_so(client_for, clinician, patient, now):
    transplanted(patient, add_months(TODAY, -3))
    page = client_for(clinician).get(url(patient)).content.decode()
    assert "NEDA-3 for 3 months since Day 0" in page
    assert "Nothing has been recorded since Day 0 yet." in page


def test_planned_day0_is_not_counted_yet(client_for, clinician, patient, now):
    transplanted(patient, date(2026, 7, 1))
    edss(patient, date(2026, 5, 20), "3.0")
    response = client_for(clinician).get(url(patient))
    page = response.content.decode()
    assert "Day 0 is on 1 Jul 2026: NEDA-3 is counted from then." in page
    assert 'id="edss-chart"' not in page


def test_reading_the_page_is_audited(client_for, coordinator, patient, now):
    client_for(coordinator).get(url(patient))
    assert AuditEvent.objects.filter(patient=patient, actor=coordinator, action="outcomes.view").count() == 1


def test_neda_line_names_every_cause_of_the_same_day():
    from recovery.clinical.outcomes import Assessment, RelapseRecord, Scan, patient_outcome

    outcome = patient_outcome(
        day0=DAY0,
        assessments=[Assessment(DAY0 - timedelta(days=5), Decimal("2.0"))],
        relapses=[RelapseRecord(date(2025, 3, 3))],
        scans=[Scan(months(6), is_rebaseline=True), Scan(date(2025, 3, 3), new_t2=2)],
        recorded_baseline=None,
        on=TODAY,
    )
    assert neda_line(outcome) == "NEDA-3 lost on 3 Mar 2025: relapse and new MRI activity"


def test_a_flagged_relapse_awaits_the_clinicians_call(client_for, clinician, patient, now):
    """Flagged and not classified: counted as a relapse, and the page says so; the control has no preselection."""
    transplanted(patient)
    Relapse.objects.create(patient=patient, onset_date=date(2025, 3, 3), possible_pseudo_relapse=True)
    page = client_for(clinician).get(url(patient)).content.decode()
    assert 'data-testid="awaiting-classification"' in page
    assert "Not classified yet: counted as a relapse" in page
    assert '<option value="" selected>Choose…</option>' in page
    assert "NEDA-3 lost on 3 Mar 2025: relapse" in page


def test_clinician_classifies_a_pseudo_relapse_on_the_page(client_for, clinician, patient, now):
    transplanted(patient)
    edss(patient, DAY0 - timedelta(days=20), "3.5")
    relapse = Relapse.objects.create(patient=patient, onset_date=date(2025, 3, 3), possible_pseudo_relapse=True)
    client = client_for(clinician)
    data = {"form": "classify", "relapse": str(relapse.uuid), "classification": "pseudo_relapse"}
    response = client.post(form_url(patient, data), data)
    assert response.status_code == 302
    relapse.refresh_from_db()
    assert (relapse.classification, relapse.classified_by) == ("pseudo_relapse", clinician)
    assert AuditEvent.objects.filter(patient=patient, actor=clinician, action="relapse.classify").count() == 1
    response = client.get(url(patient))
    page = response.content.decode()
    assert "is classified as a pseudo-relapse: it does not end NEDA-3" in page
    assert "NEDA-3 for" in page
    assert 'data-testid="pseudo-relapse-count"' in page
    assert response.context["outcome"].relapse_count == 0
    assert chart_data(response)["relapses"][0]["classification"] == "pseudo_relapse"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"classification": "maybe"}, id="unknown-choice"),
        pytest.param({"classification": ""}, id="nothing-chosen"),
        pytest.param({"classification": "relapse", "relapse": "not-a-uuid"}, id="bad-relapse-id"),
    ],
)
def test_a_bad_classification_is_refused_in_plain_words(client_for, clinician, patient, now, data):
    transplanted(patient)
    relapse = Relapse.objects.create(patient=patient, onset_date=date(2025, 3, 3), possible_pseudo_relapse=True)
    response = client_for(clinician).post(
        form_url(patient, {"form": "classify", "relapse": str(relapse.uuid), **data}),
        {"form": "classify", "relapse": str(relapse.uuid), **data},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="classify-errors"' in page
    assert "Choose" in page
    relapse.refresh_from_db()
    assert relapse.classification == ""
    assert not AuditEvent.objects.filter(action="relapse.classify").exists()


def test_classifying_another_patients_relapse_is_404(client_for, clinician, patient, centre, now):
    other = PatientFactory(centre=centre)
    relapse = Relapse.objects.create(patient=other, onset_date=date(2025, 3, 3))
    data = {"form": "classify", "relapse": str(relapse.uuid), "classification": "pseudo_relapse"}
    assert client_for(clinician).post(form_url(patient, data), data).status_code == 404
    relapse.refresh_from_db()
    assert relapse.classification == ""


def test_the_page_shows_a_tentative_rise(client_for, clinician, patient, now):
    transplanted(patient)
    edss(patient, DAY0 - timedelta(days=20), "3.0")
    edss(patient, months(24), "4.0")
    response = client_for(clinician).get(url(patient))
    page = response.content.decode()
    assert 'data-testid="tentative-progression"' in page
    assert "not confirmed yet" in page
    assert response.context["outcome"].confirmed_progression is False


def test_the_page_shows_improvement_after_progression(client_for, clinician, patient, now):
    transplanted(patient)
    edss(patient, DAY0 - timedelta(days=20), "3.0")
    for month, score in [(6, "4.0"), (12, "4.0"), (18, "3.0")]:
        edss(patient, months(month), score)
    page = client_for(clinician).get(url(patient)).content.decode()
    assert 'data-testid="improved-after-progression"' in page
    assert "NEDA-3 lost on 10 Jul 2024: confirmed disability progression" in page


def test_the_page_names_a_roving_reference(client_for, clinician, centre, patient, now):
    CentreConfiguration.objects.create(centre=centre, version=1, values={"outcomes": {"roving_reference": True}})
    transplanted(patient)
    edss(patient, DAY0 - timedelta(days=20), "4.0")
    edss(patient, months(6), "3.0")
    edss(patient, months(12), "3.0")
    response = client_for(clinician).get(url(patient))
    assert "roving reference 3.0 from 10 Jul 2024 + 1.0" in response.content.decode()
    assert chart_data(response)["threshold"] == 4.0
    assert chart_data(response)["reference_label"] == "roving reference"


# --- who may see and add ---------------------------------------------------------------------------------------


def test_another_centre_gets_404(client_for, other_centre_clinician, patient, now):
    transplanted(patient)
    client = client_for(other_centre_clinician)
    assert client.get(url(patient)).status_code == 404
    response = client.post(
        form_url(patient, {"form": "edss", "assessed_on": "2025-01-10", "score": "3.0"}),
        {"form": "edss", "assessed_on": "2025-01-10", "score": "3.0"},
    )
    assert response.status_code == 404
    assert not EDSSAssessment.objects.exists()


def test_the_patient_themself_gets_403(client_for, patient, now):
    assert client_for(patient.user).get(url(patient)).status_code == 403


@pytest.fixture
def coordinator_without_recording(monkeypatch):
    """The coordinator's role as the brief defines it: sees the chart, does not record outcomes.

    (A no-op once recovery/access.py no longer gives coordinators RECORD_OUTCOMES.)
    """
    actions = access._ROLE_ACTIONS[Role.COORDINATOR] - {Action.RECORD_OUTCOMES}
    monkeypatch.setitem(access._ROLE_ACTIONS, Role.COORDINATOR, actions)


def test_coordinator_can_view_but_gets_403_on_post(
    client_for, coordinator, patient, coordinator_without_recording, now
):
    """A role that may see the chart but not record outcomes sees no forms, and a POST is refused with 403."""
    transplanted(patient)
    client = client_for(coordinator)
    response = client.get(url(patient))
    assert response.status_code == 200
    assert 'data-testid="record-forms"' not in response.content.decode()
    for data in [
        {"form": "edss", "assessed_on": "2025-01-10", "score": "3.0"},
        {"form": "relapse", "onset_date": "2025-01-10"},
        {"form": "mri", "scan_date": "2025-01-10", "new_t2_lesions": "0", "gd_enhancing_lesions": "0"},
        {"form": "classify", "relapse": "00000000-0000-0000-0000-000000000000", "classification": "relapse"},
    ]:
        assert client.post(form_url(patient, data), data).status_code == 403
    assert not EDSSAssessment.objects.exists()
    assert not Relapse.objects.exists()
    assert not MRIScan.objects.exists()


def test_recording_roles_see_the_three_forms(client_for, clinician, patient, now):
    page = client_for(clinician).get(url(patient)).content.decode()
    for kind in ("edss", "relapse", "mri"):
        assert f'data-testid="{kind}-form"' in page
        assert f'action="{form_url(patient, {"form": kind})}"' in page  # each form posts to its own URL
    assert "0, or 1.0 to 10.0 in steps of 0.5" in page


def test_impossible_edss_is_refused_with_the_plain_message_and_typed_values_kept(client_for, clinician, patient, now):
    transplanted(patient)
    response = client_for(clinician).post(
        form_url(patient, {"form": "edss", "assessed_on": "2025-02-14", "score": "3.7"}),
        {"form": "edss", "assessed_on": "2025-02-14", "score": "3.7"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert EDSS_MESSAGE in page
    assert 'value="3.7"' in page
    assert 'value="2025-02-14"' in page
    assert response.context["open_form"] == "edss"
    assert not EDSSAssessment.objects.exists()
    assert not AuditEvent.objects.filter(action="edss.create").exists()


def test_future_date_is_refused_by_the_service_on_its_field(client_for, clinician, patient, now):
    data = {"form": "mri", "scan_date": "2026-07-01", "new_t2_lesions": "2", "gd_enhancing_lesions": "1", "notes": "x"}
    response = client_for(clinician).post(form_url(patient, data), data)
    assert response.status_code == 200
    form = response.context["mri_form"]
    assert "in the future" in form.errors["scan_date"][0]
    page = response.content.decode()
    assert 'value="2026-07-01"' in page
    assert not MRIScan.objects.exists()


def test_clinician_adds_an_edss_assessment(client_for, clinician, patient, now):
    transplanted(patient)
    client = client_for(clinician)
    response = client.post(
        form_url(patient, {"form": "edss", "assessed_on": "2025-02-14", "score": "4.5"}),
        {"form": "edss", "assessed_on": "2025-02-14", "score": "4.5"},
    )
    assert response.status_code == 302
    assert response["Location"] == url(patient)
    assessment = EDSSAssessment.objects.get(patient=patient)
    assert (assessment.assessed_on, assessment.score, assessment.assessed_by) == (
        date(2025, 2, 14),
        Decimal("4.5"),
        clinician,
    )
    assert AuditEvent.objects.filter(patient=patient, actor=clinician, action="edss.create").exists()
    page = client.get(url(patient)).content.decode()
    assert "EDSS 4.5 on 14 Feb 2025 added." in page


def test_clinician_adds_a_relapse(client_for, clinician, patient, now):
    transplanted(patient)
    data = {
        "form": "relapse",
        "onset_date": "2025-03-03",
        "domains": ["visual", "brainstem"],
        "description": "Blurred vision, right eye",
        "treated_with_steroids": "on",
    }
    response = client_for(clinician).post(form_url(patient, data), data)
    assert response.status_code == 302
    relapse = Relapse.objects.get(patient=patient)
    assert relapse.onset_date == date(2025, 3, 3)
    assert relapse.domains == ["visual", "brainstem"]
    assert relapse.treated_with_steroids
    assert relapse.description == "Blurred vision, right eye"
    assert relapse.recorded_by == clinician


def test_unknown_domain_is_refused(client_for, clinician, patient, now):
    response = client_for(clinician).post(
        form_url(patient, {"form": "relapse", "onset_date": "2025-03-03", "domains": "x"}),
        {"form": "relapse", "onset_date": "2025-03-03", "domains": "x"},
    )
    assert response.status_code == 200
    assert "domains" in response.context["relapse_form"].errors
    assert response.context["open_form"] == "relapse"
    assert not Relapse.objects.exists()


def test_clinician_adds_an_mri_scan(client_for, clinician, patient, now):
    transplanted(patient)
    data = {
        "form": "mri",
        "scan_date": "2024-07-10",
        "new_t2_lesions": "0",
        "gd_enhancing_lesions": "0",
        "is_rebaseline": "on",
        "notes": "Post-transplant reference",
    }
    response = client_for(clinician).post(form_url(patient, data), data)
    assert response.status_code == 302
    scan = MRIScan.objects.get(patient=patient)
    assert (scan.scan_date, scan.is_rebaseline, scan.notes, scan.recorded_by) == (
        date(2024, 7, 10),
        True,
        "Post-transplant reference",
        clinician,
    )


def test_negative_lesion_count_is_refused(client_for, clinician, patient, now):
    data = {"form": "mri", "scan_date": "2024-07-10", "new_t2_lesions": "-1", "gd_enhancing_lesions": "0"}
    response = client_for(clinician).post(form_url(patient, data), data)
    assert response.status_code == 200
    assert "new_t2_lesions" in response.context["mri_form"].errors
    assert 'value="-1"' in response.content.decode()


def test_an_unknown_kind_of_record_is_not_found_and_the_page_takes_no_post(client_for, clinician, patient, now):
    client = client_for(clinician)
    assert client.post(form_url(patient, {"form": "labs"}), {}).status_code == 404
    assert client.post(url(patient), {"form": "edss", "assessed_on": "2025-02-14", "score": "3.0"}).status_code == 405


# --- cost ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_query_count_does_not_grow_with_the_records(
    request, client_for, centre, role, now, django_assert_max_num_queries
):
    """3 assessments or 60 (with relapses and scans), the page costs the same number of queries."""
    user = request.getfixturevalue(role)
    client = client_for(user)
    few, many = PatientFactory(centre=centre), PatientFactory(centre=centre)
    for patient, count in ((few, 3), (many, 60)):
        transplanted(patient, date(2010, 1, 1))
        EDSSAssessment.objects.bulk_create(
            EDSSAssessment(patient=patient, assessed_on=add_months(date(2010, 1, 1), 2 * i), score=Decimal("3.0"))
            for i in range(count)
        )
        Relapse.objects.bulk_create(
            Relapse(patient=patient, onset_date=add_months(date(2010, 2, 1), 12 * i)) for i in range(count // 3)
        )
        MRIScan.objects.bulk_create(
            MRIScan(patient=patient, scan_date=add_months(date(2010, 7, 1), 12 * i), is_rebaseline=i == 0)
            for i in range(count // 3)
        )
    with django_assert_max_num_queries(20) as small:
        assert client.get(url(few)).status_code == 200
    with django_assert_max_num_queries(20) as large:
        assert client.get(url(many)).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


# --- the patient's own summary ---------------------------------------------------------------------------------


def test_outcome_summary_partial_shows_the_plain_language_text(patient, now):
    day0 = add_months(TODAY, -18)
    transplanted(patient, day0)
    edss(patient, day0 - timedelta(days=30), "3.0")
    edss(patient, months(12, day0), "3.0")
    text = plain_language(outcome_for(patient))
    assert text.startswith("No evidence of disease activity for 18 months since your transplant.")
    html = render_to_string("recovery/_outcome_summary.html", {"outcome_text": text})
    assert 'data-testid="outcome-summary"' in html
    assert "No evidence of disease activity for 18 months since your transplant." in html
    assert render_to_string("recovery/_outcome_summary.html", {}).strip() == ""
