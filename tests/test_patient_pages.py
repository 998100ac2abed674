"""The coordinator's patient pages: list, enrol, edit, access log; audit rows for every read and change."""

import pytest
from django.urls import reverse

from recovery.models import AuditEvent, Patient
from tests.factories import PatientFactory

FORM = {
    "first_name": "Maja",
    "last_name": "Lind",
    "date_of_birth": "1988-02-29",
    "sex": "female",
    "hospital_number": "UAS-2002",
    "email": "maja@example.org",
    "phone": "+46 70 123 45 67",
    "timezone": "Europe/Stockholm",
    "ms_type": "RRMS",
    "ms_onset_date": "2016-05-01",
    "baseline_edss": "3.5",
    "preferred_language": "en",
    "status": "active",
}


def test_enrolling_a_patient_redirects_to_their_page_and_audits_it(client_for, coordinator, centre):
    """A valid form creates the patient in the coordinator's centre and records who did it."""
    response = client_for(coordinator).post(reverse("recovery:patient-create"), FORM)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("recovery:patient-detail", args=[patient.uuid])
    assert patient.centre == centre
    event = AuditEvent.objects.get(action="patient.create")
    assert (event.actor, event.patient, event.ip) == (coordinator, patient, "127.0.0.1")
    assert event.request_id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("baseline_edss", "3.7", "in steps of 0.5"),
        ("date_of_birth", "2999-01-01", "in the future"),
        ("phone", "070-123", "international format"),
        ("ms_onset_date", "1970-01-01", "before the date of birth"),
    ],
)
def test_form_errors_explain_themselves_and_keep_what_was_typed(client_for, coordinator, field, value, message):
    """An implausible value is refused with a message beside the field, and every typed value is still there."""
    response = client_for(coordinator).post(reverse("recovery:patient-create"), {**FORM, field: value})
    content = response.content.decode()
    assert response.status_code == 200
    assert message in content
    assert 'value="Maja"' in content
    assert 'value="UAS-2002"' in content
    assert value in content
    assert not Patient.objects.exists()


def test_duplicate_hospital_number_is_explained(client_for, coordinator, centre):
    """A hospital number already used at the centre is refused beside the field."""
    PatientFactory(centre=centre, hospital_number="UAS-2002")
    response = client_for(coordinator).post(reverse("recovery:patient-create"), FORM)
    assert "already has this hospital number" in response.content.decode()


def test_editing_records_the_changed_fields(client_for, coordinator, patient):
    """Saving the edit form changes the record and audits the fields that changed, old and new (a name masked)."""
    url = reverse("recovery:patient-edit", args=[patient.uuid])
    form = {**FORM, "hospital_number": patient.hospital_number, "first_name": "Pernilla"}
    response = client_for(coordinator).post(url, form)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.first_name == "Pernilla"
    changed = AuditEvent.objects.get(action="patient.update").detail["changes"]
    assert changed["first_name"] == {"old": "P***", "new": "P***"}
    assert "hospital_number" not in changed


def test_list_search_and_audit_one_row_per_patient_shown(client_for, coordinator, centre):
    """The list finds by hospital number and records a read of each patient it shows."""
    PatientFactory.create_batch(3, centre=centre)
    PatientFactory(centre=centre, hospital_number="FIND-ME", first_name="Greta")
    response = client_for(coordinator).get(reverse("recovery:patient-list"), {"q": "find-me"})
    assert "Greta" in response.content.decode()
    assert AuditEvent.objects.filter(action="patient.list").count() == 1
    assert AuditEvent.objects.get(action="patient.list").patient.hospital_number == "FIND-ME"


def test_list_paginates_at_25(client_for, coordinator, centre):
    """The list shows 25 patients a page and links to the next."""
    PatientFactory.create_batch(30, centre=centre)
    content = client_for(coordinator).get(reverse("recovery:patient-list")).content.decode()
    assert content.count("/patients/") - content.count("/patients/new/") >= 25
    assert "Page 1 of 2" in content


@pytest.mark.parametrize("count", [2, 80])
def test_list_query_count_does_not_grow(client_for, coordinator, centre, count, django_assert_max_num_queries):
    """The list page costs the same number of queries for 2 and for 80 patients."""
    PatientFactory.create_batch(count, centre=centre)
    client = client_for(coordinator)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("recovery:patient-list")).status_code == 200


def test_access_log_shows_who_read_the_record(client_for, coordinator, clinician, patient):
    """A clinician's view of a patient appears in that patient's access log for the coordinator."""
    client_for(clinician).get(reverse("recovery:patient-detail", args=[patient.uuid]))
    content = client_for(coordinator).get(reverse("recovery:patient-access-log", args=[patient.uuid])).content
    assert b"karl" in content
    assert b"patient.view" in content


def test_patient_home_is_an_honest_empty_state_with_the_unit_number(client_for, patient):
    """The patient's home greets them, says the plan is being set up, and offers the 24-hour number."""
    content = client_for(patient.user).get(reverse("recovery:my-recovery")).content.decode()
    assert "Hello, Pia" in content
    assert "tel:+46 18 611 00 00" in content
    assert AuditEvent.objects.filter(patient=patient, action="patient.view_own").exists()


def test_navigation_shows_what_the_role_can_do(client_for, coordinator, clinician, patient):
    """Each role's menu lists only its own pages."""
    coordinator_page = client_for(coordinator).get(reverse("recovery:dashboard")).content.decode()
    patient_page = client_for(patient.user).get(reverse("recovery:my-recovery")).content.decode()
    assert 'href="/patients/"' in coordinator_page
    assert 'href="/dashboard/"' in coordinator_page
    assert 'href="/my/"' not in coordinator_page
    assert 'href="/my/"' in patient_page
    assert 'href="/patients/"' not in patient_page
    assert 'href="/dashboard/"' not in patient_page
