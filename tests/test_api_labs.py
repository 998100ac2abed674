"""/api/v1/patients/{id}/labs/, /transfusions/ and the proposed engraftment dates of /transplant/ (api.md)."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from recovery.models import AuditEvent, LabResult, Transfusion
from recovery.queries.timeline import patient_today
from tests.factories import transplant

pytestmark = pytest.mark.django_db


def _labs(patient):
    return f"/api/v1/patients/{patient.uuid}/labs/"


def _iso(at: datetime) -> str:
    return at.isoformat()


def test_staff_post_a_result_and_read_it_back_in_the_canonical_unit(api_for, clinician, patient):
    """A CD4 of 180 cells/uL is stored and returned as 0.18 x10^9/L."""
    at = timezone.now() - timedelta(hours=3)
    response = api_for(clinician).post(
        _labs(patient), {"test": "cd4", "value": 180, "unit": "cells/µL", "collected_at": _iso(at)}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["value"] == "0.18"
    assert body["unit"] == "x10^9/L"
    assert body["source"] == "api"
    listing = api_for(patient.user).get(_labs(patient)).json()
    assert listing["count"] == 1
    assert listing["results"][0]["id"] == body["id"]
    assert AuditEvent.objects.filter(patient=patient, action="labs.view").exists()


def test_a_large_viral_load_is_returned_in_plain_digits(api_for, clinician, patient):
    """An EBV load of 500,000 copies/mL reads back as "500000", not in exponent notation."""
    at = _iso(timezone.now() - timedelta(hours=3))
    response = api_for(clinician).post(
        _labs(patient), {"test": "ebv_pcr", "value": 500000, "collected_at": at}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["value"] == "500000"


def test_posting_the_same_sample_again_is_a_200_and_adds_nothing(api_for, coordinator, patient):
    at = _iso(timezone.now() - timedelta(hours=3))
    api = api_for(coordinator)
    first = api.post(_labs(patient), {"test": "anc", "value": "0.4", "collected_at": at}, format="json")
    again = api.post(_labs(patient), {"test": "anc", "value": 0.4, "collected_at": at}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    conflict = api.post(_labs(patient), {"test": "anc", "value": "0.9", "collected_at": at}, format="json")
    assert conflict.status_code == 400
    assert "already recorded" in conflict.json()["value"][0]
    assert LabResult.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"test": "ferritin", "value": 1}, "test", "Unknown test"),
        ({"test": "anc", "value": 40000}, "value", "40000 cells/µL is 40 \u00d710^9/L"),
        ({"test": "anc", "value": 60}, "value", "An ANC of 60 \u00d710^9/L is not possible"),
        ({"test": "anc", "value": "50.01"}, "value", "did you mean 0.05001?"),
        ({"test": "cd4", "value": 250}, "value", "250 cells/µL is 0.25 \u00d710^9/L — did you mean 0.25?"),
        ({"test": "anc", "value": "lots"}, "value", "not a number"),
        ({"test": "anc", "value": True}, "value", "number"),
        ({"test": "anc", "value": [1]}, "value", "number"),
        ({"test": "anc", "value": 1, "unit": "mmol/L"}, "unit", "send it in x10^9/L"),
        ({"test": "igg", "value": 900, "unit": "g/dL"}, "value", "(Sent as 900 g/dL.)"),
        ({"test": "anc", "value": 40000, "unit": "10^3/uL"}, "value", "did you mean 40? (Sent as 40000 10^3/uL.)"),
        ({"test": "anc", "value": 1, "collected_at": "2025-03-10T08:00:00"}, "collected_at", "time zone"),
        ({"test": "anc", "value": 1, "collected_at": "2999-03-10T08:00:00+00:00"}, "collected_at", "future"),
        ({"test": "anc", "value": 1, "collected_at": "0001-01-01T00:00:00+05:00"}, "collected_at", "ISO 8601"),
        ({"test": "anc", "value": 1, "collected_at": "soon"}, "collected_at", "ISO 8601"),
    ],
)
def test_implausible_input_is_a_400_with_a_message(api_for, clinician, patient, payload, field, message):
    """Unknown tests, implausible values, wrong units and bad times are 400s naming the field, never a 500."""
    data = {"collected_at": _iso(timezone.now() - timedelta(hours=1)), **payload}
    response = api_for(clinician).post(_labs(patient), data, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


def test_a_patient_may_read_but_not_post_results(api_for, patient):
    api = api_for(patient.user)
    assert api.get(_labs(patient)).status_code == 200
    response = api.post(_labs(patient), {"test": "anc", "value": 1, "collected_at": _iso(timezone.now())})
    assert response.status_code == 403


def test_another_centres_staff_get_404(api_for, other_centre_clinician, patient):
    api = api_for(other_centre_clinician)
    assert api.get(_labs(patient)).status_code == 404
    response = api.post(_labs(patient), {"test": "anc", "value": 1, "collected_at": _iso(timezone.now())})
    assert response.status_code == 404


def test_the_test_filter(api_for, clinician, patient):
    api = api_for(clinician)
    at = _iso(timezone.now() - timedelta(hours=1))
    api.post(_labs(patient), {"test": "anc", "value": 1, "collected_at": at}, format="json")
    api.post(_labs(patient), {"test": "platelets", "value": 30, "collected_at": at}, format="json")
    assert api.get(_labs(patient) + "?test=platelets").json()["count"] == 1
    assert api.get(_labs(patient) + "?test=nope").status_code == 400


def test_transfusions_are_recorded_once(api_for, coordinator, patient):
    url = f"/api/v1/patients/{patient.uuid}/transfusions/"
    api = api_for(coordinator)
    at = _iso(timezone.now() - timedelta(hours=2))
    assert api.post(url, {"product": "platelets", "given_at": at}, format="json").status_code == 201
    assert api.post(url, {"product": "platelets", "given_at": at}, format="json").status_code == 200
    assert api.post(url, {"product": "plasma", "given_at": at}, format="json").status_code == 400
    assert api.get(url).json()["count"] == 1
    assert Transfusion.objects.count() == 1


def test_the_transplant_resource_carries_the_proposed_engraftment_dates(api_for, clinician, patient):
    """Null until the counts meet the rule; then the first of the 3 days."""
    day0 = patient_today(patient) - timedelta(days=14)
    transplant(patient, day0)
    url = f"/api/v1/patients/{patient.uuid}/transplant/"
    api = api_for(clinician)
    assert api.get(url).json()["proposed_neutrophil_engraftment_date"] is None
    for offset, anc in ((3, 0.1), (8, 0.2), (10, 0.6), (11, 0.8), (12, 1.1)):
        at = datetime.combine(day0 + timedelta(days=offset), time(7), tzinfo=patient.tz)
        response = api.post(_labs(patient), {"test": "anc", "value": anc, "collected_at": _iso(at)}, format="json")
        assert response.status_code == 201
    body = api.get(url).json()
    assert body["proposed_neutrophil_engraftment_date"] == (day0 + timedelta(days=10)).isoformat()
    assert body["proposed_platelet_engraftment_date"] is None
    assert body["neutrophil_engraftment_state"] == "proposed"


@pytest.mark.parametrize(("value", "status"), [("50", 201), ("50.0001", 400), ("0", 201), ("-0.0001", 400)])
def test_the_anc_range_edges(api_for, clinician, patient, value, status):
    at = _iso(timezone.now() - timedelta(hours=1))
    response = api_for(clinician).post(
        _labs(patient), {"test": "anc", "value": value, "collected_at": at}, format="json"
    )
    assert response.status_code == status


def test_the_transplant_resource_shows_never_below_without_engraftment_flags(api_for, clinician, patient):
    """ANC never below 0.5 after Day 0: the state is never_below, no proposal, no delayed-engraftment flag."""
    day0 = patient_today(patient) - timedelta(days=22)
    transplant(patient, day0)
    url = f"/api/v1/patients/{patient.uuid}/transplant/"
    api = api_for(clinician)
    body = api.get(url).json()
    assert body["neutrophil_engraftment_state"] == "not_yet"
    assert body["flags"] == ["delayed_engraftment"]
    for offset in (0, 3, 7, 10, 14, 21):
        at = datetime.combine(day0 + timedelta(days=offset), time(7), tzinfo=patient.tz)
        response = api.post(_labs(patient), {"test": "anc", "value": 1.4, "collected_at": _iso(at)}, format="json")
        assert response.status_code == 201
    body = api.get(url).json()
    assert body["neutrophil_engraftment_state"] == "never_below"
    assert body["proposed_neutrophil_engraftment_date"] is None
    assert body["flags"] == []
    assert body["platelet_engraftment_state"] == "not_yet"


def test_the_transplant_resource_state_is_null_without_day0(api_for, clinician, patient):
    body = api_for(clinician).get(f"/api/v1/patients/{patient.uuid}/transplant/").json()
    assert body["neutrophil_engraftment_state"] is None


@pytest.mark.parametrize("rows", [2, 60])
def test_the_list_query_count_does_not_grow_with_results(
    api_for, clinician, patient, django_assert_max_num_queries, rows
):
    for i in range(rows):
        LabResult.objects.create(
            patient=patient, test="anc", value="1", unit="x10^9/L", collected_at=timezone.now() - timedelta(hours=i + 1)
        )
    api = api_for(clinician)
    with django_assert_max_num_queries(8):
        response = api.get(_labs(patient))
    assert response.status_code == 200


def test_a_year_one_time_east_of_utc_is_refused_in_words(patient):
    """The check the API, the form and the CSV import share: 0001-01-01 at +14:00 converted to the patient's zone
    would overflow (a 500); it is refused with a message instead."""
    from datetime import timezone as tz

    from django.core.exceptions import ValidationError

    from recovery.services.labs import check_collected_at

    at = datetime(1, 1, 1, 0, 0, tzinfo=tz(timedelta(hours=14)))
    with pytest.raises(ValidationError, match="Check the year"):
        check_collected_at(patient, at)
