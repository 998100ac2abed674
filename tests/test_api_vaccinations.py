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


# --- the live-vaccine block: no default answer to "immunosuppressed", immunoglobulin (issue 12, item 13) ----------

LATE = datetime(2028, 10, 1, 10, 0, tzinfo=UTC)  # month 24 was 31 Aug 2028


@pytest.fixture
def late(patient):
    with time_machine.travel(LATE, tick=False):
        transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
        yield patient


@pytest.mark.parametrize(
    ("extra", "status", "words"),
    [
        pytest.param({}, 400, "answer whether the patient is on immunosuppressive", id="missing"),
        pytest.param({"immunosuppressed": None}, 400, "answer whether", id="null"),
        pytest.param({"immunosuppressed": True}, 400, "while the patient is on immunosuppressive", id="true"),
        pytest.param({"immunosuppressed": "maybe"}, 400, "Answer true or false", id="not_a_boolean"),
        pytest.param({"immunosuppressed": False}, 201, None, id="false"),
    ],
)
def test_a_live_vaccine_needs_immunosuppressed_false(api_for, coordinator, late, extra, status, words):
    """Only an explicit false records a live vaccine; missing or null is "not answered" and is refused."""
    response = api_for(coordinator).post(
        url(late), {"vaccine": "mmr", "dose": 1, "given_date": "2028-09-20", **extra}, format="json"
    )
    assert response.status_code == status, response.content
    if words:
        assert words in response.json()["immunosuppressed"][0]
        assert not VaccinationDose.objects.exists()
    else:
        assert VaccinationDose.objects.get().immunosuppressed is False


def test_a_form_encoded_post_without_the_answer_is_not_a_no(api_for, coordinator, late):
    """DRF reads a missing boolean in form data as false unless null is allowed: here it stays unanswered."""
    response = api_for(coordinator).post(url(late), {"vaccine": "varicella", "dose": "1", "given_date": "2028-09-20"})
    assert response.status_code == 400
    assert "answer whether" in response.json()["immunosuppressed"][0]
    form_no = {"vaccine": "varicella", "dose": "1", "given_date": "2028-09-20", "immunosuppressed": "false"}
    assert api_for(coordinator).post(url(late), form_no).status_code == 201


@pytest.mark.parametrize(
    ("given", "status"),
    [pytest.param("2028-09-19", 400, id="day_before_11_months"), pytest.param("2028-09-20", 201, id="11_months")],
)
def test_immunoglobulin_recorded_through_the_api_holds_back_a_live_vaccine(api_for, coordinator, late, given, status):
    """IVIG posted to /transfusions/ as product immunoglobulin blocks live vaccines for 11 calendar months."""
    api = api_for(coordinator)
    with time_machine.travel(LATE, tick=False):
        ivig = api.post(
            f"/api/v1/patients/{late.uuid}/transfusions/",
            {"product": "immunoglobulin", "given_at": "2027-10-20T10:00:00+00:00"},
            format="json",
        )
        assert ivig.status_code == 201, ivig.content
        response = api.post(
            url(late), {"vaccine": "mmr", "dose": 1, "given_date": given, "immunosuppressed": False}, format="json"
        )
    assert response.status_code == status, response.content
    if status == 400:
        message = response.json()["given_date"][0]
        assert "within 11 months after immunoglobulin (IVIG), last given on 2027-10-20" in message
        assert "not before 2028-09-20" in message


def test_an_inactivated_vaccine_needs_no_answer(api_for, coordinator, late):
    response = api_for(coordinator).post(url(late), {"vaccine": "tdap", "dose": 1, "given_date": "2028-09-20"})
    assert response.status_code == 201
    assert VaccinationDose.objects.get().immunosuppressed is None
