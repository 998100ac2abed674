"""The audit trail itself: append-only in the database, kept when a user or patient is deleted, changes with their
old and new values (personal data masked), the server's own request id, the real client address, and each
patient's access log readable and downloadable by staff and by the patient (GDPR Art. 15)."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from recovery.middleware import client_ip
from recovery.models import AuditEvent, Patient
from recovery.queries.audit import describe_action
from recovery.services.audit import (
    AuditContext,
    audit_value,
    changes,
    mask_email,
    mask_identifier,
    record_event,
)
from recovery.services.patients import update_patient

# --- append-only ------------------------------------------------------------------------------------------------


@pytest.fixture
def event(patient, coordinator):
    return record_event(context=AuditContext(actor=coordinator), action="patient.view", patient=patient)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE recovery_auditevent SET action = 'patient.nothing' WHERE id = %s",
        "UPDATE recovery_auditevent SET actor_id = NULL WHERE id = %s",
        "DELETE FROM recovery_auditevent WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_audit_row(event, sql):
    """Raw SQL, past every line of our code: the trigger refuses it (SQLite and PostgreSQL alike)."""
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.actor_id) == ("patient.view", event.actor_id)


def test_the_orm_cannot_update_or_delete_audit_rows_either(event):
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="patient.nothing")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk, action="patient.view").exists()


def test_deleting_a_patient_leaves_their_audit_rows_readable(event, patient, coordinator, client_for):
    """The rows keep the patient's id and uuid (no constraint, nothing cascades or is set to NULL)."""
    patient_pk, patient_uuid = patient.pk, patient.uuid
    update_patient(context=AuditContext(actor=coordinator), patient=patient, changes={"baseline_edss": Decimal("3.5")})
    patient.delete()

    rows = AuditEvent.objects.filter(patient_uuid=patient_uuid).order_by("id")
    assert [row.action for row in rows] == ["patient.view", "patient.update"]
    assert all(row.patient_id == patient_pk for row in rows)
    assert rows[1].detail["changes"]["baseline_edss"]["new"] == "3.5"
    assert rows[0].actor_username == coordinator.username


def test_deleting_a_user_leaves_their_audit_rows_unchanged(event, coordinator):
    actor_pk = coordinator.pk
    coordinator.delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_id, stored.actor_username, stored.actor_role) == (actor_pk, "cora", "coordinator")


# --- changes, masked --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("19850312-1234", "19******-**34"),
        ("+46701234567", "+46*******67"),
        ("H000123", "H0***23"),
        ("abc", "***"),
    ],
)
def test_identifiers_are_masked_keeping_both_ends(value, masked):
    assert mask_identifier(value) == masked


def test_an_email_keeps_its_first_letter_and_domain():
    assert mask_email("anna.berg@example.org") == "a***@example.org"


def test_changes_lists_only_changed_fields_with_old_and_new_values():
    before = {"baseline_edss": Decimal("3.0"), "email": "pia@example.org", "ms_type": "RR", "date_of_birth": None}
    after = {
        "baseline_edss": Decimal("4.5"),
        "email": "pia.h@example.com",
        "ms_type": "RR",
        "date_of_birth": date(1985, 3, 12),
    }
    assert changes(before, after, ["baseline_edss", "email", "ms_type", "date_of_birth"]) == {
        "baseline_edss": {"old": "3.0", "new": "4.5"},  # clinical: in clear
        "email": {"old": "p***@example.org", "new": "p***@example.com"},
        "date_of_birth": {"old": None, "new": "1985-**-**"},
    }
    assert audit_value("hospital_number", "") == ""


def test_a_patient_edit_records_old_and_new_values_and_no_personal_value_in_clear(patient, coordinator):
    # a patient without a login: staff may change the contact address (an active login's is the patient's own)
    Patient.objects.filter(pk=patient.pk).update(user=None)
    patient.refresh_from_db()
    old_email = patient.email
    update_patient(
        context=AuditContext(actor=coordinator),
        patient=patient,
        changes={"email": "new.address@example.com", "hospital_number": "UAS-777123", "ms_type": "SPMS"},
    )
    detail = AuditEvent.objects.get(action="patient.update").detail
    assert detail["changes"]["ms_type"]["new"] == "SPMS"
    assert detail["changes"]["email"] == {"old": mask_email(old_email), "new": "n***@example.com"}
    assert detail["changes"]["hospital_number"]["new"] == "UA*-****23"
    text = str(detail)
    assert "new.address" not in text
    assert "777123" not in text
    assert old_email not in text


def test_saving_transplant_dates_records_each_date_before_and_after(client_for, coordinator, patient):
    from tests.factories import transplant

    episode = transplant(patient, date(2025, 3, 8))
    old = episode.reinfusion_date
    new = old + timedelta(days=1)
    from recovery.services.timeline import save_episode

    save_episode(context=AuditContext(actor=coordinator), patient=patient, fields={"reinfusion_date": new})
    row = AuditEvent.objects.filter(action="transplant.update").latest("id")
    assert row.detail["changes"] == {"reinfusion_date": {"old": old.isoformat(), "new": new.isoformat()}}


# --- request id and client address ------------------------------------------------------------------------------


def test_the_request_id_is_made_by_the_server_and_the_clients_is_kept_apart(client_for, coordinator, patient):
    url = reverse("recovery:patient-detail", args=[patient.uuid])
    response = client_for(coordinator).get(url, HTTP_X_REQUEST_ID="forged-id-1234")
    row = AuditEvent.objects.filter(action="patient.view").latest("id")
    assert row.request_id != "forged-id-1234"
    assert len(row.request_id) == 32
    assert response["X-Request-ID"] == row.request_id
    assert row.detail["client_request_id"] == "forged-id-1234"


def test_a_malformed_client_request_id_is_dropped(client_for, coordinator, patient):
    url = reverse("recovery:patient-detail", args=[patient.uuid])
    client_for(coordinator).get(url, HTTP_X_REQUEST_ID="<script>" * 3)
    row = AuditEvent.objects.filter(action="patient.view").latest("id")
    assert "client_request_id" not in row.detail


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no trusted proxy: the header is the client's own words
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "203.0.113.66, 198.51.100.7", "198.51.100.7"),  # the left one was written by the client
        (2, "203.0.113.66, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "198.51.100.7", "10.0.0.2"),  # shorter than the proxies: not trustworthy
        (1, "not-an-address", "10.0.0.2"),
        (1, "", "10.0.0.2"),
    ],
)
def test_client_ip_follows_the_trusted_proxy_count(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_the_audit_row_has_the_client_address_behind_a_proxy(settings, client_for, coordinator, patient):
    settings.TRUSTED_PROXY_COUNT = 1
    url = reverse("recovery:patient-detail", args=[patient.uuid])
    client_for(coordinator).get(url, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    assert AuditEvent.objects.filter(action="patient.view").latest("id").ip == "198.51.100.7"


# --- the access log: staff and the patient ----------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def test_staff_download_the_whole_access_log_as_csv(client_for, coordinator, clinician, patient):
    client_for(clinician).get(reverse("recovery:patient-detail", args=[patient.uuid]))
    update_patient(context=AuditContext(actor=coordinator), patient=patient, changes={"ms_type": "PPMS"})
    response = client_for(coordinator).get(reverse("recovery:patient-access-log-export", args=[patient.uuid]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0][:5] == ["Date", "User", "Name", "Role", "Action"]
    actions = [row[4] for row in rows[1:]]
    assert actions[:3] == ["audit.export", "patient.update", "patient.view"]
    assert '"ms_type"' in rows[2][6]
    assert '"PPMS"' in rows[2][6]


def test_the_staff_access_log_page_shows_changes_and_paginates(client_for, coordinator, patient):
    for _ in range(60):
        record_event(context=AuditContext(actor=coordinator), action="patient.view", patient=patient)
    update_patient(context=AuditContext(actor=coordinator), patient=patient, changes={"ms_type": "PPMS"})
    url = reverse("recovery:patient-access-log", args=[patient.uuid])
    body = client_for(coordinator).get(url).content.decode()
    assert "ms_type" in body
    assert "→ PPMS" in body
    assert "Page 1 of 2" in body
    assert client_for(coordinator).get(url, {"page": 2}).status_code == 200


def test_the_patient_sees_who_has_seen_their_data_in_plain_words(client_for, coordinator, patient):
    client_for(coordinator).get(reverse("recovery:patient-detail", args=[patient.uuid]))
    coordinator.first_name, coordinator.last_name = "Cora", "Lind"
    coordinator.save()
    client_for(coordinator).get(reverse("recovery:patient-edit", args=[patient.uuid]))
    response = client_for(patient.user).get(reverse("recovery:my-access-log"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Cora Lind" in body
    assert "Care coordinator" in body
    assert "Opened the form to change your details" in body
    assert "Opened your record" in body
    table = body.split("<table", 1)[1].split("</table>")[0]
    assert "patient.view" not in table  # no codes
    assert str(coordinator.uuid) not in table  # no internal ids
    assert "cora" not in table  # the name, not the login


def test_the_patient_downloads_their_access_log(client_for, coordinator, patient):
    client_for(coordinator).get(reverse("recovery:patient-detail", args=[patient.uuid]))
    response = client_for(patient.user).get(reverse("recovery:my-access-log-export"))
    rows = _csv(response)
    assert rows[0] == ["Date", "Who", "Role", "What"]
    assert rows[1][1:] == ["You", "Patient", "Downloaded the list of who has seen your data"]
    assert [coordinator.get_full_name(), "Care coordinator", "Opened your record"] in [row[1:] for row in rows]
    assert AuditEvent.objects.filter(action="audit.export_own", patient=patient).exists()


def test_a_name_that_looks_like_a_formula_is_not_one_in_the_csv(client_for, coordinator, patient):
    coordinator.first_name, coordinator.last_name = "=HYPERLINK(1)", "X"
    coordinator.save()
    client_for(coordinator).get(reverse("recovery:patient-detail", args=[patient.uuid]))
    rows = _csv(client_for(patient.user).get(reverse("recovery:my-access-log-export")))
    assert "'=HYPERLINK(1) X" in [row[1] for row in rows]


def test_another_patient_never_sees_this_patients_log(client_for, other_patient, patient, coordinator):
    client_for(coordinator).get(reverse("recovery:patient-detail", args=[patient.uuid]))
    body = client_for(other_patient.user).get(reverse("recovery:my-access-log")).content.decode()
    assert "Opened your record" not in body


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("labs.record", "Recorded your lab results"),
        ("transplant.update", "Changed your transplant dates"),
        ("admin.view", "Looked at your record in the administration site"),
        ("something.new", "Worked with your data"),
    ],
)
def test_actions_read_in_plain_words(action, words):
    assert describe_action(action) == words


# --- many patients at once --------------------------------------------------------------------------------------


def test_a_long_list_is_audited_row_for_row_as_a_short_one_is(centre, clinician, monkeypatch):
    """An export of many patients is written by the database from the patient table, in batches; every patient
    gets exactly the row a page of a few would have given them."""
    from recovery.services import audit
    from tests.factories import PatientFactory

    patients = PatientFactory.create_batch(23, centre=centre)
    context = AuditContext(actor=clinician, ip="192.0.2.7", request_id="req-many", extra={"via": "test"})
    audit.record_reads(context=context, action="cohort.view", patients=patients[:2])  # a short list
    monkeypatch.setattr(audit, "AUDIT_BATCH_SIZE", 10)  # 23 patients: three statements of the long path
    audit.record_reads(context=context, action="cohort.export", patients=patients)

    fields = ["patient_id", "patient_uuid", "actor_id", "actor_username", "actor_name", "actor_role", "ip"]
    fields += ["request_id", "detail"]
    short = list(AuditEvent.objects.filter(action="cohort.view").order_by("patient_id").values(*fields))
    long = list(AuditEvent.objects.filter(action="cohort.export").order_by("patient_id").values(*fields))
    assert [row["patient_id"] for row in long] == sorted(p.pk for p in patients)
    assert {row["patient_uuid"] for row in long} == {p.uuid for p in patients}
    assert long[:2] == short
    assert long[0]["detail"] == {"via": "test"}
    assert long[0]["actor_name"] == clinician.get_full_name()
    assert len({e.at for e in AuditEvent.objects.filter(action="cohort.export")}) == 1
    assert describe_action("cohort.export") == "Included your data in an exported outcome data set"
