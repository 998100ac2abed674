"""/api/v1/patients/{id}/vaccinations/: GET is the plan, POST records a dose given (staff only); the live-vaccine
refusal is a 400 with the reason; anything malformed is a 400, never a 500."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from recovery.models import AuditEvent, VaccinationDose
from tests.factories import transplant

DAY0 = date(2026, 8, 31)
NOW = datetime(2027, 3, 15, 11, 0, tzinfo=UTC)


@pytest.fixture
def transplanted(patient):
    with time_machine.travel(NOW, tick=False):
        transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
        yield patient


def url(patient):
    return f"/api/v1/patients/{patient.uuid}/vaccinations/"


def test_get_is_the_plan_with_due_dates_and_statuses(api_for, patient, transplanted):
    VaccinationDose.objects.create(patient=transplanted, vaccine="pcv13", dose=1, given_date=date(2027, 3, 1))
    body = api_for(patient.user).get(url(transplanted) + "?page_size=100").json()
    assert body["count"] == len(body["results"]) > 25
    first = {(r["vaccine"], r["dose"]): r for r in body["results"]}
    assert first[("pcv13", 1)] | {} == {
        "vaccine": "pcv13",
        "vaccine_name": "PCV13 (pneumococcal conjugate)",
        "dose": 1,
        "due_date": "2026-11-30",
        "due_until": "2027-02-28",
        "status": "given",
        "given_date": "2027-03-01",
    }
    assert first[("influenza", 1)]["status"] == "overdue"
    assert first[("mmr", 1)]["status"] == "upcoming"
    assert AuditEvent.objects.filter(action="vaccinations.view", patient=transplanted).exists()


def test_get_paginates(api_for, coordinator, transplanted):
    body = api_for(coordinator).get(url(transplanted)).json()
    assert len(body["results"]) == 25
    assert body["next"]


def test_staff_post_a_dose_and_get_it_back_as_given(api_for, clinician, transplanted):
    response = api_for(clinician).post(
        url(transplanted), {"vaccine": "tdap", "dose": 1, "given_date": "2027-03-10"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == "given"
    assert response.json()["given_date"] == "2027-03-10"
    assert VaccinationDose.objects.get().entered_by == clinician


def test_a_live_vaccine_before_month_24_is_a_400_with_the_reason(api_for, coordinator, transplanted):
    response = api_for(coordinator).post(
        url(transplanted), {"vaccine": "mmr", "dose": 1, "given_date": "2027-03-10"}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["given_date"][0]
    assert "live vaccine" in message
    assert "before month 24" in message
    assert not VaccinationDose.objects.exists()


def test_a_patient_may_read_but_not_post(api_for, patient, transplanted):
    response = api_for(patient.user).post(
        url(transplanted), {"vaccine": "tdap", "dose": 1, "given_date": "2027-03-10"}, format="json"
    )
    assert response.status_code == 403


def test_other_centres_and_other_patients_get_404(api_for, transplanted, other_centre_coordinator, other_patient):
    assert api_for(other_centre_coordinator).get(url(transplanted)).status_code == 404
    assert api_for(other_patient.user).get(url(transplanted)).status_code == 404
    post = api_for(other_centre_coordinator).post(
        url(transplanted), {"vaccine": "tdap", "dose": 1, "given_date": "2027-03-10"}, format="json"
    )
    assert post.status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"vaccine": "tdap", "dose": "one", "given_date": "2027-03-10"},
        {"vaccine": "tdap", "dose": 0, "given_date": "2027-03-10"},
        {"vaccine": "tdap", "dose": 1, "given_date": "not a date"},
        {"vaccine": "tdap", "dose": 1, "given_date": "2027-03-30"},
        {"vaccine": "x" * 100, "dose": 1, "given_date": "2027-03-10"},
        {"vaccine": "nope", "dose": 1, "given_date": "2027-03-10"},
        {"vaccine": ["tdap"], "dose": [1], "given_date": {"a": 1}},
        {"vaccine": "tdap", "dose": 10**30, "given_date": "2027-03-10"},
        {"vaccine": "tdap", "dose": True, "given_date": "2027-03-10"},
    ],
)
def test_malformed_posts_are_400_never_500(api_for, coordinator, transplanted, payload):
    response = api_for(coordinator).post(url(transplanted), payload, format="json")
    assert response.status_code == 400, response.content
    assert not VaccinationDose.objects.exists()


def test_a_patient_without_day0_has_an_empty_plan_and_posts_are_refused(api_for, coordinator, patient):
    assert api_for(coordinator).get(url(patient)).json()["count"] == 0
    response = api_for(coordinator).post(
        url(patient), {"vaccine": "tdap", "dose": 1, "given_date": "2027-03-10"}, format="json"
    )
    assert response.status_code == 400
    assert "Day 0" in response.json()["given_date"][0]


@pytest.mark.parametrize("doses", [1, 10])
def test_get_queries_do_not_grow_with_doses(api_for, coordinator, transplanted, doses, django_assert_max_num_queries):
    for i in range(doses):
        VaccinationDose.objects.create(
            patient=transplanted, vaccine="influenza", dose=i + 1, given_date=DAY0 + timedelta(days=10 + 20 * i)
        )
    api = api_for(coordinator)
    with django_assert_max_num_queries(8):
        assert api.get(url(transplanted)).status_code == 200
