"""A NUL or another control character anywhere a person or a client can put one is never a 500: a clear 400 in
an address, an API body or a CSV; removed (and the rest kept) in a page's form fields.

PostgreSQL refuses NUL in text, so before the middleware it reached the database and answered 500 there (SQLite
stored it). Both databases run these tests.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from recovery.middleware import CONTROL_MESSAGE
from recovery.models import LabImport, SymptomReport
from recovery.services.audit import AuditContext
from recovery.services.lab_import import import_lab_csv


@pytest.mark.parametrize(
    "path",
    ["/patients/?q=Pia%00", "/patients/?q%00=x", "/calendar/abc%00def.ics", "/api/v1/patients/?q=%00"],
    ids=["query-value", "query-key", "calendar-path", "api-query"],
)
def test_a_nul_in_the_address_is_a_clear_400(client_for, coordinator, path):
    response = client_for(coordinator).get(path)
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.content.decode()


def _check_in_with(client, details: dict):
    """The check-in's steps: a symptom, its grade, then `details` on the last step; sent if that is accepted."""
    client.post(reverse("recovery:checkin"), {"symptoms": ["cough"]})
    client.post(reverse("recovery:checkin-question", kwargs={"code": "cough"}), {"grade": "1"})
    response = client.post(reverse("recovery:checkin-details"), details)
    if response.status_code == 302:
        response = client.post(reverse("recovery:checkin-answers"))
    return response


def test_a_nul_pasted_into_a_form_field_is_removed_and_the_check_in_is_kept(client_for, patient):
    """On a page the character is invisible: it is dropped, and everything else the patient typed is saved."""
    response = _check_in_with(
        client_for(patient.user),
        {"unit": "C", "recorded_at": "2026-11-20T10:00", "temperature": "38.2", "notes": "fine\x00\x0b now"},
    )
    assert response.status_code == 302
    report = SymptomReport.objects.get()
    assert (report.notes, str(report.temperature_c)) == ("fine now", "38.2")


def test_a_control_character_in_a_form_field_name_is_a_400(client_for, patient):
    response = client_for(patient.user).post(reverse("recovery:checkin"), {"unit": "C", "no\x00tes": "x"})
    assert response.status_code == 400
    assert CONTROL_MESSAGE in response.content.decode()


@pytest.mark.parametrize("notes", ["tired\\u0000", "tired\\u001b[31m"], ids=["nul", "escape"])
def test_a_control_character_in_a_json_body_is_a_400_in_words(api_for, patient, notes):
    body = '{"recorded_at": "2026-11-20T10:00:00+01:00", "temperature_c": 37.0, "notes": "NOTES"}'.replace(
        "NOTES", notes
    )
    response = api_for(patient.user).post(
        f"/api/v1/patients/{patient.uuid}/symptom-reports/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": CONTROL_MESSAGE}
    assert not SymptomReport.objects.exists()


def test_tabs_and_line_breaks_are_still_accepted(client_for, patient):
    response = _check_in_with(
        client_for(patient.user),
        {"unit": "C", "recorded_at": "2026-11-20T10:00", "temperature": "37.1", "notes": "a\tb\r\nc"},
    )
    assert response.status_code == 302
    assert SymptomReport.objects.get().notes == "a\tb\r\nc"


def test_a_csv_with_a_nul_is_refused_as_a_whole_naming_the_line(coordinator, centre):
    data = b"hospital_number,test,value,unit,collected_at\nUAS-1,anc,0.5,x10^9/L,2026-11-19 08:00\nUAS\x00-2,anc\n"
    with pytest.raises(ValidationError, match="Line 3 contains a control character"):
        import_lab_csv(context=AuditContext(actor=coordinator), centre=centre, patients=[], filename="x.csv", data=data)
    assert not LabImport.objects.exists()
