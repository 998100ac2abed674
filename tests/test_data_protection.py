"""Issue 14 item 10: deactivation instead of deletion, the patient's own data, the pseudonymised research export,
erasure by the retention rule and the retention job."""

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.contrib.admin.sites import site as admin_site
from django.core.exceptions import ValidationError
from django.db import models
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from recovery.clinical.retention import RecordFacts, Scope, erasure_decision, retention_ends
from recovery.models import (
    Alert,
    AlertEvent,
    ApheresisSession,
    AuditEvent,
    CareTask,
    EDSSAssessment,
    EligibilityReview,
    EngraftmentConfirmation,
    LabImport,
    LabResult,
    MRIScan,
    Notification,
    NotificationStatus,
    Patient,
    ProphylaxisStop,
    Relapse,
    ReminderSettings,
    SymptomReport,
    TimelineEvent,
    Transfusion,
    TransplantEpisode,
    VaccinationDose,
)
from recovery.queries.export import NOT_EXPORTED, SECTIONS
from recovery.queries.research import pseudonym
from recovery.queries.retention import CLINICAL_ENTRIES
from recovery.services.audit import AuditContext
from recovery.services.data_protection import deactivate_patient, erase_expired_records, erase_patient
from recovery.services.engraftment import check_engraftment_alerts
from recovery.services.reminders.planning import plan_reminders
from tests.factories import PatientFactory, UserFactory, patient_with_login, transplant

SYSTEM = AuditContext.system("tests")


def _full_record(patient: Patient, staff) -> None:
    """One row of every kind of record that hangs on a patient (and a transplant with its timeline)."""
    day0 = timezone.localdate() - timedelta(days=40)
    episode = transplant(patient, day0)
    ApheresisSession.objects.create(episode=episode, collected_on=day0 - timedelta(days=20), cd34_per_kg="5.10")
    now = timezone.now()
    report = SymptomReport.objects.create(patient=patient, recorded_at=now, temperature_c="37.9", notes="tired")
    alert = Alert.objects.create(
        patient=patient, kind="fever", severity="same_day", status="resolved", reason="Fever", rule="r", created_at=now
    )
    alert.reports.add(report)
    AlertEvent.objects.create(alert=alert, at=now, action="raised")
    LabResult.objects.create(patient=patient, test="anc", value="1.2", unit="10^9/L", collected_at=now)
    Transfusion.objects.create(patient=patient, product="platelets", given_at=now - timedelta(days=30))
    EngraftmentConfirmation.objects.create(
        patient=patient, kind="neutrophil", confirmed_date=day0 + timedelta(days=10), confirmed_by=staff
    )
    VaccinationDose.objects.create(patient=patient, vaccine="tetanus", dose=1, given_date=timezone.localdate())
    ProphylaxisStop.objects.create(patient=patient, medication="aciclovir", stopped_on=day0, stopped_by=staff)
    EDSSAssessment.objects.create(patient=patient, assessed_on=timezone.localdate(), score="3.0")
    Relapse.objects.create(patient=patient, onset_date=timezone.localdate(), description="left arm numb")
    MRIScan.objects.create(patient=patient, scan_date=timezone.localdate(), new_t2_lesions=1)
    EligibilityReview.objects.create(
        patient=patient, decided_on=day0 - timedelta(days=90), decided_by=staff, decision="eligible"
    )
    CareTask.objects.create(patient=patient, key="k1", checkin_due_at=now, created_at=now)
    ReminderSettings.objects.get_or_create(patient=patient)
    AuditEvent.objects.create(patient=patient, action="patient.view", actor=staff, actor_username=staff.username)


def _patient_models() -> set[type[models.Model]]:
    """Every model with a foreign key to Patient, or to a model that has one (one step further)."""
    direct = {
        model
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model is Patient
    }
    indirect = {
        model
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model in direct and model is not Patient
    }
    return direct | indirect


# --- export -------------------------------------------------------------------------------------------------


def test_every_model_linked_to_a_patient_is_exported_or_excluded_with_a_reason():
    covered = {section.model for section in SECTIONS} | set(NOT_EXPORTED)
    missing = _patient_models() - covered
    assert not missing, f"Add these to recovery/queries/export.py SECTIONS (or NOT_EXPORTED with why): {missing}"
    assert all(NOT_EXPORTED.values())


def test_the_patient_downloads_every_record_of_theirs_in_bounded_queries(
    client_for, patient, other_patient, coordinator, django_assert_max_num_queries
):
    _full_record(patient, coordinator)
    _full_record(other_patient, coordinator)
    client = client_for(patient.user)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("recovery:my-data-json"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["profile"]["hospital_number"] == patient.hospital_number
    assert data["profile"]["date_of_birth"] == patient.date_of_birth.isoformat()
    for section in SECTIONS:
        assert data[section.key], f"section {section.key} is empty"
    assert data["check_ins"][0]["temperature_c"] == "37.9"
    assert data["transplant"][0]["reinfusion_date"] == patient.episode.reinfusion_date.isoformat()
    assert {row["actor_username"] for row in data["access_log"]} >= {coordinator.username}
    # nothing of the other patient's
    assert len(data["lab_results"]) == 1
    assert len(data["apheresis_sessions"]) == 1
    assert other_patient.hospital_number not in response.content.decode()
    assert AuditEvent.objects.filter(patient=patient, action="patient.export", detail__format="json").exists()


def test_the_readable_page_shows_the_records_with_a_print_button(client_for, patient, coordinator):
    _full_record(patient, coordinator)
    response = client_for(patient.user).get(reverse("recovery:my-data"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Print / Save as PDF" in page
    assert "js/print.js" in page
    assert "left arm numb" in page
    assert "tetanus" in page
    assert patient.hospital_number in page
    assert "<script>" not in page
    assert "onclick" not in page
    assert AuditEvent.objects.filter(patient=patient, action="patient.export", detail__format="html").exists()


def test_staff_produce_the_same_export_for_their_patient_and_not_for_another_centre(
    client_for, patient, coordinator, other_centre_coordinator
):
    _full_record(patient, coordinator)
    response = client_for(coordinator).get(reverse("recovery:patient-data-json", args=[patient.uuid]))
    assert json.loads(response.content)["relapses"][0]["description"] == "left arm numb"
    assert (
        client_for(other_centre_coordinator).get(reverse("recovery:patient-data", args=[patient.uuid])).status_code
        == 404
    )


# --- research export ------------------------------------------------------------------------------------------


def test_research_export_has_no_identifiers_and_a_stable_pseudonym(client_for, centre, clinician, coordinator):
    patients = []
    for n in range(3):
        p = patient_with_login(
            centre=centre,
            first_name=f"Ingrid{n}",
            last_name=f"Söderqvist{n}",
            hospital_number=f"19780512-23{n}4",
            email=f"ingrid{n}@example.se",
            phone=f"+4670555123{n}",
            contact_name=f"Bengt Kinship{n}",
            contact_phone=f"+4670999888{n}",
            previous_treatments=f"Natalizumab secret-note-{n}",
            date_of_birth=date(1978, 5, 12),
        )
        _full_record(p, coordinator)
        patients.append(p)
    client = client_for(clinician)
    csv_body = client.get(reverse("recovery:research-export-csv")).content.decode()
    json_body = client.get(reverse("recovery:research-export-json")).content.decode()
    for body in (csv_body, json_body):
        for p in patients:
            for value in (
                p.first_name,
                p.last_name,
                p.hospital_number,
                p.email,
                p.phone,
                p.contact_name,
                p.contact_phone,
                p.previous_treatments,
                p.user.username,
                str(p.uuid),
                p.date_of_birth.isoformat(),
                "1978-05-12",
                "left arm numb",  # free text dropped
                "tired",
            ):
                assert value not in body, value
    rows = list(csv.DictReader(io.StringIO(csv_body)))
    assert {row["pseudonym"] for row in rows} == {pseudonym(p.uuid) for p in patients}
    again = list(csv.DictReader(io.StringIO(client.get(reverse("recovery:research-export-csv")).content.decode())))
    assert [r["pseudonym"] for r in again] == [r["pseudonym"] for r in rows]  # stable
    course = json.loads(json_body)["patients"][0]
    assert course["labs"][0]["day"] == 40
    assert course["edss"][0]["day"] == 40  # days from Day 0
    exports = AuditEvent.objects.filter(action="research.export")
    assert exports.count() == 3
    assert exports.filter(detail__patients=3, patient__isnull=True).count() == 3


def test_research_export_is_for_clinicians(client_for, coordinator, patient):
    assert client_for(coordinator).get(reverse("recovery:research-export-csv")).status_code == 403
    assert client_for(patient.user).get(reverse("recovery:research-export-json")).status_code == 403


def test_the_pseudonym_depends_on_the_key(settings, patient):
    first = pseudonym(patient.uuid)
    settings.RESEARCH_PSEUDONYM_KEY = "another-key"
    assert pseudonym(patient.uuid) != first
    assert len(first) == 16


# --- deactivation ---------------------------------------------------------------------------------------------


def test_deactivation_hides_the_patient_from_lists_stops_reminders_and_the_login(client_for, patient, coordinator):
    transplant(patient, timezone.localdate() - timedelta(days=3))
    pending = Notification.objects.filter(patient=patient, status=NotificationStatus.PENDING)
    assert pending.exists()
    task = CareTask.objects.create(patient=patient, key="k", checkin_due_at=timezone.now(), created_at=timezone.now())
    client = client_for(coordinator)
    page = client.get(reverse("recovery:patient-deactivate", args=[patient.uuid]))
    assert page.status_code == 200
    assert "I understand" in page.content.decode()
    refused = client.post(reverse("recovery:patient-deactivate", args=[patient.uuid]), {"reason": "moved"})
    assert refused.status_code == 200
    assert "Tick the box" in refused.content.decode()
    assert Patient.objects.get(pk=patient.pk).deactivated_at is None  # nothing without the confirmation
    done = client.post(
        reverse("recovery:patient-deactivate", args=[patient.uuid]), {"reason": "Moved to Lund", "confirm": "on"}
    )
    assert done.status_code == 302
    patient.refresh_from_db()
    assert patient.deactivated_at is not None
    assert patient.deactivation_reason == "Moved to Lund"
    plan_reminders(patient)  # what the after-commit wake-up runs
    assert not pending.exists()
    assert Notification.objects.filter(patient=patient, status_reason="The patient is deactivated.").exists()
    assert plan_reminders(patient).created == 0
    task.refresh_from_db()
    assert task.status == "done"
    patient.user.refresh_from_db()
    assert not patient.user.is_active
    assert patient.hospital_number not in client.get(reverse("recovery:patient-list")).content.decode()
    assert patient.hospital_number not in client.get(reverse("recovery:patient-list") + "?q=Pia").content.decode()
    assert client.get(reverse("recovery:patient-detail", args=[patient.uuid])).status_code == 200  # record kept
    assert AuditEvent.objects.filter(patient=patient, action="patient.deactivate").exists()


def test_no_engraftment_alert_is_raised_for_a_deactivated_patient(patient, other_patient):
    for p in (patient, other_patient):
        transplant(p, timezone.localdate() - timedelta(days=25))
    deactivate_patient(context=SYSTEM, patient=patient, reason="Transferred to Lund")
    raised = check_engraftment_alerts()
    assert {alert.patient_id for alert in raised} == {other_patient.pk}


def test_deactivation_is_refused_while_an_alert_is_open(patient):
    Alert.objects.create(
        patient=patient, kind="fever", severity="urgent", reason="Fever", rule="r", created_at=timezone.now()
    )
    with pytest.raises(ValidationError, match="open alert"):
        deactivate_patient(context=SYSTEM, patient=patient, reason="left")
    with pytest.raises(ValidationError, match="Say why"):
        deactivate_patient(context=SYSTEM, patient=patient, reason=" ")


def test_the_admin_cannot_delete_patients(patient):
    model_admin = admin_site._registry[Patient]
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", role="", is_superuser=True, is_staff=True)
    assert model_admin.has_delete_permission(request, patient) is False
    assert "delete_selected" not in model_admin.get_actions(request)
    assert "deactivate" in model_admin.get_actions(request)


# --- erasure --------------------------------------------------------------------------------------------------


def _facts(**kwargs) -> RecordFacts:
    base = {
        "deactivated": True,
        "erased": False,
        "has_transplant_dates": True,
        "clinical_entries": 5,
        "last_entry": date(2020, 6, 1),
        "has_login": True,
    }
    return RecordFacts(**{**base, **kwargs})


def test_the_retention_rule_in_words():
    today = date(2026, 1, 1)
    kept = erasure_decision(_facts(), today=today, retention_years=10)
    assert kept.scope == Scope.OUTSIDE_RECORD
    assert "2030-06-02" in kept.reason
    assert "patientdatalagen" in kept.reason
    assert erasure_decision(_facts(), today=date(2030, 6, 2), retention_years=10).scope == Scope.EVERYTHING
    assert erasure_decision(_facts(), today=date(2030, 6, 1), retention_years=10).scope == Scope.OUTSIDE_RECORD
    never = erasure_decision(_facts(has_transplant_dates=False, clinical_entries=0), today=today, retention_years=10)
    assert never.scope == Scope.EVERYTHING
    assert "never started treatment" in never.reason
    assert erasure_decision(_facts(deactivated=False), today=today, retention_years=10).scope == Scope.NOTHING
    assert retention_ends(date(2024, 2, 29), 10) == date(2034, 3, 1)


def test_erasure_of_a_treated_patient_keeps_the_record_and_erases_the_login(client_for, patient, coordinator):
    _full_record(patient, coordinator)
    client = client_for(coordinator)
    assert (
        "Deactivate the patient first"
        in client.get(reverse("recovery:patient-erase", args=[patient.uuid])).content.decode()
    )
    with pytest.raises(ValidationError, match="Deactivate the patient first"):
        erase_patient(context=SYSTEM, patient=patient)
    deactivate_patient(context=SYSTEM, patient=patient, reason="Moved abroad")
    page = client.get(reverse("recovery:patient-erase", args=[patient.uuid])).content.decode()
    assert "cannot be erased before" in page
    wrong = client.post(reverse("recovery:patient-erase", args=[patient.uuid]), {"hospital_number": "nope"})
    assert "nothing was erased" in wrong.content.decode()
    client.post(reverse("recovery:patient-erase", args=[patient.uuid]), {"hospital_number": patient.hospital_number})
    patient.refresh_from_db()
    user = patient.user
    assert user.username.startswith("erased-")
    assert user.email == ""
    assert not user.has_usable_password()
    assert patient.erased_at is None
    assert patient.first_name == "Pia"  # the record itself is kept
    assert LabResult.objects.filter(patient=patient).exists()
    assert not ReminderSettings.objects.filter(patient=patient).exists()


def test_erasure_of_a_never_treated_patient_removes_everything_but_the_access_log(client_for, coordinator):
    patient = PatientFactory(centre=coordinator.centres.first(), first_name="Nils", hospital_number="NT-1")
    ReminderSettings.objects.create(patient=patient)
    Notification.objects.create(
        patient=patient,
        audience="patient",
        kind="checkin",
        channel="sms",
        key="k",
        dedupe_key="dk-1",
        due_at=timezone.now(),
        next_attempt_at=timezone.now(),
    )
    AuditEvent.objects.create(patient=patient, action="patient.create", actor_username="cora")
    lab_import = LabImport.objects.create(
        centre=patient.centre,
        uploaded_by=coordinator,
        filename="labs.csv",
        report=[
            {"line": 2, "outcome": "rejected", "hospital_number": "nt-1", "message": "ANC for NT-1 is not possible"},
            {"line": 3, "outcome": "rejected", "hospital_number": "H-OTHER", "message": "Unknown H-OTHER"},
        ],
    )
    deactivate_patient(context=SYSTEM, patient=patient, reason="Enrolled by mistake")
    result = erase_patient(context=SYSTEM, patient=patient)
    assert result.scope == Scope.EVERYTHING
    patient.refresh_from_db()
    assert patient.erased_at is not None
    assert patient.first_name == "Erased"
    assert patient.hospital_number == f"ERASED-{result.pseudonym}"
    assert patient.email == ""
    assert patient.phone == ""
    assert not Notification.objects.filter(patient=patient).exists()
    lab_import.refresh_from_db()
    assert "NT-1" not in json.dumps(lab_import.report).upper()
    assert "H-OTHER" in json.dumps(lab_import.report)  # other patients' lines untouched
    assert AuditEvent.objects.filter(patient=patient, action="patient.create").exists()
    assert AuditEvent.objects.filter(patient=patient, action="patient.erase", detail__scope="everything").exists()
    with pytest.raises(ValidationError, match="already been erased"):
        erase_patient(context=SYSTEM, patient=patient)
    client = client_for(coordinator)
    detail = client.get(reverse("recovery:patient-detail", args=[patient.uuid])).content.decode()
    assert "Personal data erased" in detail
    assert "already been erased" in client.get(reverse("recovery:patient-erase", args=[patient.uuid])).content.decode()


def test_the_retention_job_erases_only_deactivated_records_past_the_retention_period(
    patient, other_patient, coordinator
):
    _full_record(patient, coordinator)
    _full_record(other_patient, coordinator)
    active = PatientFactory(centre=patient.centre)
    for p in (patient, other_patient):
        deactivate_patient(context=SYSTEM, patient=p, reason="Follow-up ended")
    eleven_years_ago = timezone.now() - timedelta(days=11 * 366)
    for model, path, written, _ in CLINICAL_ENTRIES:
        model.objects.filter(**{path: patient}).update(**{written: eleven_years_ago})
    Patient.objects.filter(pk__in=[patient.pk, active.pk]).update(created_at=eleven_years_ago)
    TransplantEpisode.objects.filter(patient=patient).update(updated_at=eleven_years_ago)
    erased = erase_expired_records()
    assert erased == [pseudonym(patient.uuid)]
    assert Patient.objects.get(pk=patient.pk).erased_at is not None
    assert not SymptomReport.objects.filter(patient=patient).exists()
    assert not TimelineEvent.objects.filter(episode__patient=patient).exists()
    assert SymptomReport.objects.filter(patient=other_patient).exists()  # deactivated, but within ten years
    assert Patient.objects.get(pk=active.pk).erased_at is None  # never deactivated
    assert AuditEvent.objects.filter(patient=patient, action="patient.view").exists()  # the access log stays
    assert erase_expired_records() == []


def test_the_retention_job_is_in_the_beat_schedule():
    from recovery.celery import _beat_schedule

    assert _beat_schedule()["erase-expired-records"]["task"] == "recovery.tasks.erase_expired_records"


def test_staff_without_the_role_cannot_deactivate_or_erase(client_for, clinician, patient):
    client = client_for(clinician)
    assert client.get(reverse("recovery:patient-deactivate", args=[patient.uuid])).status_code == 403
    assert client.get(reverse("recovery:patient-erase", args=[patient.uuid])).status_code == 403


# --- backup and restore -----------------------------------------------------------------------------------------


@pytest.mark.services(needs="PostgreSQL (pg_dump and pg_restore)")
def test_the_backup_restore_rehearsal_restores_every_row(require_postgres, patient):
    """bin/backup-restore-rehearsal (docs/operations.md) dumps the test database with pg_dump -Fc, restores it
    into a new database and finds the same rows in every table; a URL that is not PostgreSQL is a usage error."""
    import subprocess
    from pathlib import Path

    from tests.celery_processes import database_url_of_test_db

    script = Path(__file__).resolve().parent.parent / "bin" / "backup-restore-rehearsal"
    done = subprocess.run([script, database_url_of_test_db()], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK:" in done.stdout
    usage = subprocess.run([script, "sqlite:///x"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2
