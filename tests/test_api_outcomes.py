"""The outcome resources of the API (api.md): /patients/{id}/edss/, /relapses/, /mri/, /outcomes/ and
/cohort/outcomes/. Clinicians record; everyone who sees the patient reads; reads are audited.

"Now" is fixed at Wednesday 18 November 2026, 12:00 UTC.
"""

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from recovery.clinical.edss import EDSS_MESSAGE
from recovery.models import AuditEvent, EDSSAssessment, Relapse, SymptomReport, TransplantEpisode
from tests.factories import patient_with_login
from tests.test_cohort import DAY0, edss, generated_cohort, relapse, temperature, transplanted

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
TODAY = date(2026, 11, 18)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def _url(patient, resource: str) -> str:
    return f"/api/v1/patients/{patient.uuid}/{resource}/"


# EDSS ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", ["3.5", 3.5, 4, "0", 0, "1.0", "10", "10.0", " 6.5 "])
def test_a_clinician_records_a_valid_edss(api_for, clinician, patient, score):
    response = api_for(clinician).post(
        _url(patient, "edss"), {"assessed_on": "2026-11-01", "score": score}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "assessed_on", "score", "created_at"}
    assert body["assessed_on"] == "2026-11-01"
    assessment = EDSSAssessment.objects.get(uuid=body["id"])
    assert body["score"] == str(assessment.score)
    assert assessment.assessed_by == clinician


@pytest.mark.parametrize(
    "score", ["3.7", 3.7, "0.5", 0.5, "10.5", 10.5, "abc", "", "NaN", "Infinity", "-1", True, None, [3], {}]
)
def test_an_edss_that_is_not_a_step_of_the_scale_is_refused_in_plain_words(api_for, clinician, patient, score):
    response = api_for(clinician).post(
        _url(patient, "edss"), {"assessed_on": "2026-11-01", "score": score}, format="json"
    )
    assert response.status_code == 400
    messages = response.json()["score"]
    assert messages in ([EDSS_MESSAGE], ["This field may not be null."])
    assert not EDSSAssessment.objects.exists()


def test_an_edss_in_the_future_is_refused(api_for, clinician, patient):
    response = api_for(clinician).post(
        _url(patient, "edss"), {"assessed_on": "2026-12-01", "score": "3.0"}, format="json"
    )
    assert response.status_code == 400
    assert "future" in response.json()["assessed_on"][0]


@pytest.mark.parametrize("resource", ["edss", "relapses", "mri"])
def test_only_clinicians_record_outcomes(api_for, coordinator, patient, other_centre_clinician, resource):
    """Coordinators and the patient may read but not record (403); another centre does not see the patient (404)."""
    body = {"assessed_on": "2026-11-01", "score": "3.0", "onset_date": "2026-11-01", "scan_date": "2026-11-01"}
    assert api_for(coordinator).post(_url(patient, resource), body, format="json").status_code == 403
    assert api_for(patient.user).post(_url(patient, resource), body, format="json").status_code == 403
    assert api_for(other_centre_clinician).post(_url(patient, resource), body, format="json").status_code == 404
    assert api_for(None).post(_url(patient, resource), body, format="json").status_code == 401
    for reader in (coordinator, patient.user):
        assert api_for(reader).get(_url(patient, resource)).status_code == 200


def test_edss_list_is_paginated_newest_first_and_audited(api_for, clinician, patient):
    for day, score in ((1, "3.0"), (200, "3.5"), (100, "2.5")):
        edss(patient, day, score, day0=date(2025, 1, 1))
    response = api_for(patient.user).get(_url(patient, "edss"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert [r["score"] for r in body["results"]] == ["3.5", "2.5", "3.0"]
    assert AuditEvent.objects.filter(action="edss.view", patient=patient, actor=patient.user).count() == 1


# Relapses --------------------------------------------------------------------------------------------------


def test_a_relapse_with_a_fever_within_seven_days_is_flagged_as_a_possible_pseudo_relapse(api_for, clinician, centre):
    patient = transplanted(centre, date(2026, 1, 10))
    temperature(patient, 0, "38.4", day0=date(2026, 10, 25))
    response = api_for(clinician).post(
        _url(patient, "relapses"),
        {"onset_date": "2026-10-30", "description": "Worse numbness in the left leg", "treated_with_steroids": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "onset_date", "description", "treated_with_steroids", "possible_pseudo_relapse"}
    assert body["possible_pseudo_relapse"] is True
    assert body["treated_with_steroids"] is True


def test_a_relapse_far_from_any_fever_is_not_flagged(api_for, clinician, centre):
    patient = transplanted(centre, date(2026, 1, 10))
    temperature(patient, 0, "38.4", day0=date(2026, 10, 1))  # 29 days before the onset
    temperature(patient, 0, "37.5", day0=date(2026, 10, 29))  # near the onset, but no fever
    response = api_for(clinician).post(_url(patient, "relapses"), {"onset_date": "2026-10-30"}, format="json")
    assert response.status_code == 201
    assert response.json()["possible_pseudo_relapse"] is False


def test_the_pseudo_relapse_flag_is_read_only(api_for, clinician, patient):
    response = api_for(clinician).post(
        _url(patient, "relapses"), {"onset_date": "2026-10-30", "possible_pseudo_relapse": True}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["possible_pseudo_relapse"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "onset_date"),
        ({"onset_date": "yesterday"}, "onset_date"),
        ({"onset_date": "2027-01-01"}, "onset_date"),
        ({"onset_date": "2026-10-30", "domains": ["elbow"]}, "domains"),
        ({"onset_date": "2026-10-30", "treated_with_steroids": "perhaps"}, "treated_with_steroids"),
    ],
)
def test_a_relapse_with_a_bad_value_is_a_400_naming_the_field(api_for, clinician, patient, body, field):
    response = api_for(clinician).post(_url(patient, "relapses"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("local", "flagged"),
    [
        # onset 30 October 2026; 7 days either side in New York dates: 23 October to 6 November
        pytest.param(datetime(2026, 11, 6, 22, 0), True, id="day+7-22:00-local-is-3am-utc-next-day-in"),
        pytest.param(datetime(2026, 11, 7, 0, 30), False, id="day+8-00:30-local-out"),
        pytest.param(datetime(2026, 10, 23, 0, 30), True, id="day-7-00:30-local-in"),
        pytest.param(datetime(2026, 10, 22, 23, 30), False, id="day-8-23:30-local-is-day-7-in-utc-out"),
    ],
)
def test_the_fever_near_onset_check_uses_the_patients_local_dates(api_for, clinician, centre, local, flagged):
    """`fever_near` counts days in the patient's zone, not UTC: the same instant is a different date there."""
    patient = transplanted(centre, date(2026, 1, 10), timezone="America/New_York")
    SymptomReport.objects.create(
        patient=patient, recorded_at=local.replace(tzinfo=NEW_YORK), temperature_c="38.0", neutropenic_fever=False
    )
    response = api_for(clinician).post(_url(patient, "relapses"), {"onset_date": "2026-10-30"}, format="json")
    assert response.status_code == 201
    assert response.json()["possible_pseudo_relapse"] is flagged


# Classifying a relapse -------------------------------------------------------------------------------------


def _relapse_url(patient, relapse) -> str:
    return f"/api/v1/patients/{patient.uuid}/relapses/{relapse.uuid}/"


@pytest.fixture
def flagged(centre):
    """A transplanted patient (Day 0 on 1 January 2020, stable EDSS) with a relapse flagged as a possible
    pseudo-relapse on day 300."""
    patient = transplanted(centre, DAY0, baseline_edss="3.0")
    edss(patient, 200, "3.0")
    edss(patient, 500, "3.0")
    relapse = Relapse.objects.create(
        patient=patient, onset_date=DAY0 + timedelta(days=300), possible_pseudo_relapse=True
    )
    return patient, relapse


def test_a_clinician_classifies_a_pseudo_relapse_and_neda3_holds(api_for, clinician, flagged):
    patient, relapse = flagged
    client = api_for(clinician)
    before = client.get(_url(patient, "outcomes")).json()
    assert (before["neda3"], before["relapse_count"]) == (False, 1)  # unclassified: counted as a relapse
    assert client.get(_url(patient, "relapses")).json()["results"][0]["classification"] is None

    response = client.patch(_relapse_url(patient, relapse), {"classification": "pseudo_relapse"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["classification"], body["counts_as_relapse"], body["possible_pseudo_relapse"]) == (
        "pseudo_relapse",
        False,
        True,
    )
    relapse.refresh_from_db()
    assert (relapse.classification, relapse.classified_by) == ("pseudo_relapse", clinician)
    event = AuditEvent.objects.get(action="relapse.classify", patient=patient)
    assert event.actor == clinician
    assert event.detail["changes"] == {"classification": {"old": "", "new": "pseudo_relapse"}}
    after = client.get(_url(patient, "outcomes")).json()
    assert (after["neda3"], after["relapse_count"], after["pseudo_relapse_count"]) == (True, 0, 1)
    assert client.get("/api/v1/cohort/outcomes/").json()["relapse_free"]["events"] == 0


def test_reclassifying_is_audited_each_time_and_repeating_is_a_no_op(api_for, clinician, flagged):
    patient, relapse = flagged
    client = api_for(clinician)
    for value in ("pseudo_relapse", "pseudo_relapse", "relapse"):
        assert client.patch(_relapse_url(patient, relapse), {"classification": value}, format="json").status_code == 200
    events = AuditEvent.objects.filter(action="relapse.classify", patient=patient).order_by("pk")
    assert [e.detail["changes"]["classification"] for e in events] == [
        {"old": "", "new": "pseudo_relapse"},
        {"old": "pseudo_relapse", "new": "relapse"},
    ]
    body = client.get(_url(patient, "outcomes")).json()
    assert (body["neda3"], body["relapse_count"], body["pseudo_relapse_count"]) == (False, 1, 0)


@pytest.mark.parametrize("value", ["maybe", "", None, 1, ["relapse"], {"x": 1}, "RELAPSE"])
def test_a_bad_classification_is_a_plain_400(api_for, clinician, flagged, value):
    patient, relapse = flagged
    response = api_for(clinician).patch(_relapse_url(patient, relapse), {"classification": value}, format="json")
    assert response.status_code == 400
    assert "relapse or a pseudo-relapse" in response.json()["classification"][0]
    relapse.refresh_from_db()
    assert relapse.classification == ""


def test_a_missing_classification_is_a_400(api_for, clinician, flagged):
    patient, relapse = flagged
    response = api_for(clinician).patch(_relapse_url(patient, relapse), {"onset_date": "2021-01-01"}, format="json")
    assert response.status_code == 400
    assert "classification" in response.json()


def test_only_clinicians_classify_and_only_relapses_they_can_see(
    api_for, coordinator, clinician, other_centre_clinician, centre, flagged
):
    patient, relapse = flagged
    body = {"classification": "pseudo_relapse"}
    url = _relapse_url(patient, relapse)
    assert api_for(coordinator).patch(url, body, format="json").status_code == 403
    assert api_for(other_centre_clinician).patch(url, body, format="json").status_code == 404
    assert api_for(None).patch(url, body, format="json").status_code == 401
    other = transplanted(centre, DAY0, hospital_number="OTHER")
    wrong_patient = f"/api/v1/patients/{other.uuid}/relapses/{relapse.uuid}/"
    assert api_for(clinician).patch(wrong_patient, body, format="json").status_code == 404
    assert api_for(clinician).patch(_url(patient, "relapses") + "not-a-uuid/", body, format="json").status_code == 404
    assert api_for(clinician).post(url, body, format="json").status_code == 405
    assert api_for(clinician).get(url).status_code == 405  # the list shows the classification
    relapse.refresh_from_db()
    assert relapse.classification == ""
    with_login = patient_with_login(centre=centre)
    own = Relapse.objects.create(patient=with_login, onset_date=date(2026, 10, 1))
    assert api_for(with_login.user).get(_url(with_login, "relapses")).json()["results"][0]["counts_as_relapse"]
    assert api_for(with_login.user).patch(_relapse_url(with_login, own), body, format="json").status_code == 403
    assert api_for(with_login.user).patch(url, body, format="json").status_code == 404  # not their relapse


def test_outcomes_show_a_tentative_rise_and_improvement_after_progression(api_for, clinician, centre):
    tentative = transplanted(centre, DAY0, hospital_number="T", baseline_edss="3.0")
    edss(tentative, 2000, "4.0")
    body = api_for(clinician).get(_url(tentative, "outcomes")).json()
    assert (body["confirmed_progression"], body["progression_tentative_since"]) == (False, "2025-06-23")

    improved = transplanted(centre, DAY0, hospital_number="I", baseline_edss="3.0")
    for day, score in ((183, "4.0"), (400, "4.0"), (800, "3.0")):
        edss(improved, day, score)
    body = api_for(clinician).get(_url(improved, "outcomes")).json()
    assert body["progression_date"] == "2020-07-02"
    assert body["progression_confirmed_on"] == "2021-02-04"
    assert body["improved_after_progression_since"] == "2022-03-11"
    assert (body["progression_reference_edss"], body["progression_reference_date"]) == ("3.0", None)
    assert body["neda3"] is False


# MRI -------------------------------------------------------------------------------------------------------


def test_mri_scans_are_recorded_and_listed(api_for, clinician, patient):
    client = api_for(clinician)
    body = {"scan_date": "2026-06-01", "new_t2_lesions": 0, "gd_enhancing_lesions": 0, "is_rebaseline": True}
    assert client.post(_url(patient, "mri"), body, format="json").status_code == 201
    later = {"scan_date": "2026-11-01", "new_t2_lesions": 2, "gd_enhancing_lesions": 1}
    created = client.post(_url(patient, "mri"), later, format="json").json()
    assert {k: created[k] for k in ("scan_date", "new_t2_lesions", "gd_enhancing_lesions", "is_rebaseline")} == {
        **later,
        "is_rebaseline": False,
    }
    listed = client.get(_url(patient, "mri")).json()
    assert [r["scan_date"] for r in listed["results"]] == ["2026-11-01", "2026-06-01"]


@pytest.mark.parametrize("count", [-1, 501, "many", 2.5])
def test_a_lesion_count_out_of_range_is_a_400(api_for, clinician, patient, count):
    response = api_for(clinician).post(
        _url(patient, "mri"), {"scan_date": "2026-06-01", "new_t2_lesions": count}, format="json"
    )
    assert response.status_code == 400
    assert "new_t2_lesions" in response.json()


# Outcomes --------------------------------------------------------------------------------------------------


def test_outcomes_of_a_transplanted_patient(api_for, clinician, centre):
    patient = transplanted(centre, DAY0, baseline_edss="2.0")
    edss(patient, 183, "3.5")
    edss(patient, 400, "3.5")
    relapse(patient, 700)
    response = api_for(clinician).get(_url(patient, "outcomes"))
    assert response.status_code == 200
    body = response.json()
    assert body["neda3"] is False
    assert body["neda3_since_day0_months"] == 6  # to the progression on 2 July 2020
    assert body["confirmed_progression"] is True
    assert body["progression_date"] == "2020-07-02"
    assert body["relapse_count"] == 1
    assert body["last_edss"] == "3.5"
    assert body["baseline_edss"] == "2.0"
    assert body["neda3_lost_by"] == ["progression"]
    assert body["edss_change_category"] == "worse"
    assert body["day0"] == "2020-01-01"
    assert AuditEvent.objects.filter(action="outcomes.view", patient=patient).count() == 1


def test_outcomes_while_neda3_holds(api_for, patient):
    """The patient reads their own outcomes: NEDA-3 for the 12 whole months since Day 0."""
    TransplantEpisode.objects.create(patient=patient, reinfusion_date=date(2025, 11, 18))
    edss(patient, 300, "3.5", day0=date(2025, 11, 18))
    body = api_for(patient.user).get(_url(patient, "outcomes")).json()
    assert body["neda3"] is True
    assert body["neda3_since_day0_months"] == 12
    assert body["confirmed_progression"] is False
    assert body["progression_date"] is None
    assert body["relapse_count"] == 0
    assert body["last_edss"] == "3.5"


def test_outcomes_before_day0_are_200_with_nulls(api_for, coordinator, patient):
    response = api_for(coordinator).get(_url(patient, "outcomes"))
    assert response.status_code == 200
    body = response.json()
    for name in (
        "neda3",
        "neda3_since_day0_months",
        "confirmed_progression",
        "progression_date",
        "relapse_count",
        "last_edss",
    ):
        assert body[name] is None, name
    assert body["as_of"] == "2026-11-18"


# Cohort outcomes -------------------------------------------------------------------------------------------


def _strict_json(response) -> dict:
    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON")

    return json.loads(response.content, parse_constant=refuse)


def test_the_cohort_outcomes_shape(api_for, clinician, centre):
    generated_cohort(centre, 20)
    response = api_for(clinician).get("/api/v1/cohort/outcomes/")
    assert response.status_code == 200
    body = _strict_json(response)
    for key in ("neda3", "progression_free", "relapse_free"):
        endpoint = body[key]
        assert {"n", "events", "curve"} <= set(endpoint)
        assert endpoint["n"] == 20
        assert endpoint["events"] > 0
        assert endpoint["curve"][0] == {"months": 0.0, "survival": 1.0, "ci_low": 1.0, "ci_high": 1.0, "at_risk": 20}
        for point in endpoint["curve"]:
            assert set(point) == {"months", "survival", "ci_low", "ci_high", "at_risk"}
            assert 0 <= point["ci_low"] <= point["survival"] <= point["ci_high"] <= 1
    audited = AuditEvent.objects.get(action="cohort.outcomes", actor=clinician)  # one row naming the query
    assert (audited.patient, audited.detail["patients"], audited.detail["filters"]) == (None, 20, {})


def test_no_nan_when_every_patient_has_the_event(api_for, clinician, centre):
    """A curve that reaches 0 has no defined interval there: the bounds are 0, never NaN."""
    for n in range(3):
        patient = transplanted(centre, hospital_number=f"R{n}")
        relapse(patient, 100 + 50 * n)
    body = _strict_json(api_for(clinician).get("/api/v1/cohort/outcomes/"))
    last = body["relapse_free"]["curve"][-1]
    assert (last["survival"], last["ci_low"], last["ci_high"]) == (0.0, 0.0, 0.0)


def test_an_empty_cohort_is_valid_json(api_for, clinician):
    body = _strict_json(api_for(clinician).get("/api/v1/cohort/outcomes/"))
    assert body["neda3"] == {"n": 0, "events": 0, "last_follow_up": 0.0, "curve": []}


def test_the_cohort_filters(api_for, clinician, centre, other_centre):
    transplanted(centre, hospital_number="CY")
    transplanted(centre, regimen="beam_atg", hospital_number="BEAM")
    transplanted(other_centre, hospital_number="ELSEWHERE")
    client = api_for(clinician)
    assert client.get("/api/v1/cohort/outcomes/").json()["neda3"]["n"] == 2
    assert client.get("/api/v1/cohort/outcomes/", {"regimen": "beam_atg"}).json()["neda3"]["n"] == 1
    assert client.get("/api/v1/cohort/outcomes/", {"centre": str(centre.uuid)}).json()["neda3"]["n"] == 2

    for params, field in (
        ({"regimen": "nope"}, "regimen"),
        ({"centre": "not-a-uuid"}, "centre"),
        ({"centre": str(other_centre.uuid)}, "centre"),
        ({"age_group": "teen"}, "age_group"),
        ({"year_from": "2023", "year_to": "2021"}, "year_to"),
    ):
        response = client.get("/api/v1/cohort/outcomes/", params)
        assert response.status_code == 400, params
        assert field in response.json()


def test_the_cohort_is_for_clinicians(api_for, coordinator, patient, other_centre_clinician, centre):
    transplanted(centre)
    assert api_for(coordinator).get("/api/v1/cohort/outcomes/").status_code == 403
    assert api_for(patient.user).get("/api/v1/cohort/outcomes/").status_code == 403
    assert api_for(None).get("/api/v1/cohort/outcomes/").status_code == 401
    assert api_for(other_centre_clinician).get("/api/v1/cohort/outcomes/").json()["neda3"]["n"] == 0


def test_relapse_records_count_in_the_cohort(api_for, clinician, centre):
    patient = transplanted(centre)
    Relapse.objects.create(patient=patient, onset_date=DAY0 + timedelta(days=30))
    body = api_for(clinician).get("/api/v1/cohort/outcomes/").json()
    assert body["relapse_free"]["events"] == 1
