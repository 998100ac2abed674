"""/api/v1/patients/: list, create, detail and update, with the error format of shared/api.md."""

import pytest

from recovery.models import AuditEvent, Patient
from tests.factories import PatientFactory, UserFactory

VALID = {
    "first_name": "Maja",
    "last_name": "Lind",
    "date_of_birth": "1988-02-29",
    "sex": "female",
    "hospital_number": "UAS-1001",
    "email": "maja@example.org",
    "phone": "+46 70 123 45 67",
    "timezone": "Europe/Stockholm",
    "ms_type": "RRMS",
    "ms_onset_date": "2016-05-01",
    "baseline_edss": "3.5",
}


def test_coordinator_creates_a_patient_in_their_centre(api_for, coordinator, centre):
    """A coordinator's new patient belongs to their centre, with a UUID id and a normalised phone number."""
    response = api_for(coordinator).post("/api/v1/patients/", VALID, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    patient = Patient.objects.get(uuid=body["id"])
    assert patient.centre == centre
    assert body["centre"] == str(centre.uuid)
    assert body["phone"] == "+46701234567"
    assert AuditEvent.objects.filter(patient=patient, action="patient.create", actor=coordinator).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("baseline_edss", "3.7", "in steps of 0.5"),
        ("baseline_edss", "0.5", "in steps of 0.5"),
        ("baseline_edss", "11", ""),
        ("timezone", "Mars/Olympus", "valid choice"),
        ("phone", "0701234567", "international format"),
        ("date_of_birth", "2999-01-01", "in the future"),
        ("date_of_birth", "1850-01-01", "not plausible"),
        ("date_of_birth", "31/12/1990", "format"),
        ("sex", "yes", "valid choice"),
        ("ms_type", "XX", "valid choice"),
        ("email", "not-an-email", "valid email"),
        ("first_name", "", "blank"),
        ("ms_onset_date", "1980-01-01", "before the date of birth"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_implausible_values_are_refused_with_a_message(api_for, coordinator, field, value, message):
    """Each implausible value is a 400 naming the field with a message a person understands; nothing is saved."""
    response = api_for(coordinator).post("/api/v1/patients/", {**VALID, field: value}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert message.lower() in " ".join(body[field]).lower()
    assert not Patient.objects.exists()


def test_hospital_number_is_unique_within_the_centre_only(api_for, coordinator, other_centre_coordinator):
    """The same hospital number is refused twice in one centre, and allowed in another centre."""
    assert api_for(coordinator).post("/api/v1/patients/", VALID, format="json").status_code == 201
    again = api_for(coordinator).post("/api/v1/patients/", {**VALID, "hospital_number": "uas-1001"}, format="json")
    assert again.status_code == 400
    assert "already has this hospital number" in again.json()["hospital_number"][0]
    elsewhere = api_for(other_centre_coordinator).post("/api/v1/patients/", VALID, format="json")
    assert elsewhere.status_code == 201


def test_coordinator_of_several_centres_must_name_one(api_for, centre, other_centre):
    """A coordinator in two centres is asked which centre; naming one they do not belong to is refused."""
    user = UserFactory(centres=[centre, other_centre])
    response = api_for(user).post("/api/v1/patients/", VALID, format="json")
    assert response.status_code == 400
    assert "centre" in response.json()
    response = api_for(user).post("/api/v1/patients/", {**VALID, "centre": str(other_centre.uuid)}, format="json")
    assert response.status_code == 201
    assert Patient.objects.get().centre == other_centre


@pytest.mark.parametrize("role_fixture", ["clinician", "patient"])
def test_only_coordinators_create_patients(api_for, request, role_fixture):
    """Clinicians and patients get 403 when creating a patient."""
    user = request.getfixturevalue(role_fixture)
    user = getattr(user, "user", user)
    assert api_for(user).post("/api/v1/patients/", VALID, format="json").status_code == 403


def test_anonymous_gets_401(api_for, db):
    """Without credentials the API answers 401."""
    assert api_for(None).get("/api/v1/patients/").status_code == 401
    assert api_for(None).post("/api/v1/patients/", VALID, format="json").status_code == 401


def test_patient_a_token_gets_404_for_patient_b(api_for, patient, other_patient):
    """A patient's token cannot read another patient, even in the same centre."""
    assert api_for(patient.user).get(f"/api/v1/patients/{other_patient.uuid}/").status_code == 404
    listing = api_for(patient.user).get("/api/v1/patients/").json()
    assert [row["id"] for row in listing["results"]] == [str(patient.uuid)]


def test_coordinator_of_centre_x_gets_404_for_a_patient_of_centre_y(api_for, coordinator, other_centre_patient):
    """Another centre's patient is not found, for reading and for changing."""
    url = f"/api/v1/patients/{other_centre_patient.uuid}/"
    assert api_for(coordinator).get(url).status_code == 404
    assert api_for(coordinator).patch(url, {"first_name": "X"}, format="json").status_code == 404
    other_centre_patient.refresh_from_db()
    assert other_centre_patient.first_name == "Bo"


def test_patch_changes_only_what_is_sent_and_audits_the_fields(api_for, coordinator, patient):
    """PATCH updates the given fields and records each changed field's value before and after (the phone number
    masked, the EDSS score in clear)."""
    url = f"/api/v1/patients/{patient.uuid}/"
    response = api_for(coordinator).patch(url, {"phone": "+47 912 34 567", "baseline_edss": "4.0"}, format="json")
    assert response.status_code == 200, response.json()
    patient.refresh_from_db()
    assert patient.phone == "+4791234567"
    assert str(patient.baseline_edss) == "4.0"
    assert patient.first_name == "Pia"
    event = AuditEvent.objects.get(patient=patient, action="patient.update")
    assert sorted(event.detail["changes"]) == ["baseline_edss", "phone"]
    assert event.detail["changes"]["baseline_edss"]["new"] == "4.0"
    assert event.detail["changes"]["phone"] == {"old": "+46*******67", "new": "+47******67"}
    assert "+4791234567" not in str(event.detail)


def test_patch_by_a_clinician_is_403(api_for, clinician, patient):
    """A clinician can read a patient of their centre but not change it."""
    url = f"/api/v1/patients/{patient.uuid}/"
    assert api_for(clinician).get(url).status_code == 200
    assert api_for(clinician).patch(url, {"first_name": "X"}, format="json").status_code == 403


def test_bad_patch_is_400_and_changes_nothing(api_for, coordinator, patient):
    """An invalid value in a PATCH is refused and the record stays as it was."""
    url = f"/api/v1/patients/{patient.uuid}/"
    response = api_for(coordinator).patch(url, {"first_name": "Anna", "baseline_edss": "2.3"}, format="json")
    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.first_name == "Pia"


@pytest.mark.parametrize(
    "payload",
    [[1, 2], "text", {"first_name": {"nested": True}}, {"baseline_edss": "NaN"}, {"date_of_birth": 12}],
    ids=["list", "string", "nested", "nan", "number-date"],
)
def test_malformed_bodies_are_400_not_500(api_for, coordinator, payload):
    """Bodies of the wrong shape are answered with 400."""
    assert api_for(coordinator).post("/api/v1/patients/", payload, format="json").status_code == 400


def test_list_searches_paginates_and_stays_at_most_100(api_for, coordinator, centre):
    """?q= matches names or the hospital number; pages hold at most 100 rows."""
    PatientFactory.create_batch(120, centre=centre)
    PatientFactory(centre=centre, first_name="Unusual", last_name="Name", hospital_number="ZZ-9")
    api = api_for(coordinator)
    page = api.get("/api/v1/patients/?page_size=500").json()
    assert page["count"] == 121
    assert len(page["results"]) == 100
    assert page["next"]
    assert [r["hospital_number"] for r in api.get("/api/v1/patients/?q=zz-9").json()["results"]] == ["ZZ-9"]
    assert api.get("/api/v1/patients/?q=unusual").json()["count"] == 1
    assert api.get("/api/v1/patients/?page=999").status_code == 404


@pytest.mark.parametrize("count", [2, 60])
def test_list_query_count_does_not_grow_with_patients(
    api_for, coordinator, centre, count, django_assert_max_num_queries
):
    """Listing patients costs the same number of queries for 2 as for 60."""
    PatientFactory.create_batch(count, centre=centre)
    api = api_for(coordinator)
    with django_assert_max_num_queries(7):
        assert api.get("/api/v1/patients/?page_size=100").status_code == 200
