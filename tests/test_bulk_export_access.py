"""Who may make a FHIR bulk export (recovery.access: BULK_EXPORT, and RESEARCH_EXPORT for a pseudonymised one),
and what a pseudonymised export keeps of the words staff typed (none) and of a patient's name (none): the export's
own guard fails it when a line still names a patient of its batch."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from fhir.resources import construct_fhir_element

from accounts.models import Role
from recovery import access
from recovery.access import Action
from recovery.models import BulkExport, BulkExportFile, BulkExportStatus, MRIScan, VaccinationDose
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import ResourceType
from recovery.services.audit import AuditContext
from recovery.services.bulk_export import queue_bulk_export
from recovery.services.symptoms import record_symptom_report
from recovery.tasks import run_bulk_export
from tests.factories import PatientFactory
from tests.fhir_records import full_record

pytestmark = pytest.mark.django_db
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


def _group_url(centre, **query) -> str:
    url = reverse("fhir:bulk-export-group", kwargs={"centre_id": centre.uuid})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _export_urls(export) -> list[str]:
    return [
        reverse("fhir:bulk-export-status", kwargs={"export_id": export.uuid}),
        reverse("fhir:bulk-export-file", kwargs={"export_id": export.uuid, "resource_type": "Patient"}),
    ]


def _done_export(clinician, centre, *, pseudonymise: bool) -> BulkExport:
    PatientFactory(centre=centre)
    export = queue_bulk_export(
        context=AuditContext(actor=clinician), centre=centre, types=["Patient"], pseudonymise=pseudonymise
    )
    assert run_bulk_export(export.pk) == BulkExportStatus.DONE
    return export


def test_a_coordinator_sees_the_centre_but_may_not_export_it(
    api_for, coordinator, clinician, centre, other_centre_coordinator
):
    """A coordinator has no RESEARCH_EXPORT: `_pseudonymise=true` would have been the research set by another
    door, and without it an identifiable copy of every patient of the centre."""
    api = api_for(coordinator)
    for query in ({}, {"_pseudonymise": "true"}):
        response = api.get(_group_url(centre, **query), **ASYNC)
        assert response.status_code == 403
        assert response.json()["issue"][0]["code"] == "forbidden"
    assert api.get(reverse("fhir:bulk-export"), **ASYNC).status_code == 403
    assert not BulkExport.objects.exists()
    export = _done_export(clinician, centre, pseudonymise=False)
    for url in _export_urls(export):
        assert api.get(url).status_code == 403  # the centre's export exists for them, they may not have it
        assert api_for(other_centre_coordinator).get(url).status_code == 404  # another centre's: it does not
    assert api.delete(_export_urls(export)[0]).status_code == 403
    assert api_for(other_centre_coordinator).get(_group_url(centre), **ASYNC).status_code == 404
    assert BulkExport.objects.filter(pk=export.pk).exists()


def test_the_roles_that_may_export(coordinator, clinician, patient):
    assert access.may(clinician, Action.BULK_EXPORT)
    assert access.may_bulk_export(clinician, pseudonymised=True)
    assert not access.may(coordinator, Action.BULK_EXPORT)
    assert not access.may(patient.user, Action.BULK_EXPORT)


def test_a_pseudonymised_export_also_needs_the_research_export(api_for, monkeypatch, coordinator, clinician, centre):
    """A site that lets coordinators make the identifiable export (recovery/access.py `_ROLE_ACTIONS`) still keeps
    the pseudonymised research set to the roles with RESEARCH_EXPORT, at the kick-off and at the download."""
    granted = access._ROLE_ACTIONS[Role.COORDINATOR] | {Action.BULK_EXPORT}
    monkeypatch.setitem(access._ROLE_ACTIONS, Role.COORDINATOR, granted)
    api = api_for(coordinator)
    assert api.get(_group_url(centre, _pseudonymise="true"), **ASYNC).status_code == 403
    assert api.get(_group_url(centre), **ASYNC).status_code == 202
    research = _done_export(clinician, centre, pseudonymise=True)
    for url in _export_urls(research):
        assert api.get(url).status_code == 403
        assert api_for(clinician).get(url).status_code == 200


def test_the_worker_writes_nothing_for_someone_who_may_no_longer_export(clinician, centre):
    PatientFactory(centre=centre)
    export = queue_bulk_export(context=AuditContext(actor=clinician), centre=centre, types=[], pseudonymise=False)
    clinician.role = Role.COORDINATOR
    clinician.save(update_fields=["role"])
    assert run_bulk_export(export.pk) == BulkExportStatus.FAILED
    export.refresh_from_db()
    assert export.error == "The person who asked for this export may no longer make it."
    assert not BulkExportFile.objects.exists()


TYPED = ["Lars", "Holmgren", "Olle", "Hedvig", "UAS-777", "neighbour", "shivery", "Blurred"]


def _typed_record(patient, clinician):
    """A record in which staff and the patient typed words that name people, in every slot the app exports."""
    episode = full_record(patient)
    event = episode.events.filter(template_key__isnull=True).first()
    event.title = "Call with Pia Holmgren's husband Lars"
    event.note = "Lars will drive her"
    event.save(update_fields=["title", "note"])
    patient.alerts.update(reason="Olle (her neighbour) phoned about a fever")
    VaccinationDose.objects.create(
        patient=patient,
        vaccine="dtap",
        dose=1,
        given_date=episode.reinfusion_date + timedelta(days=40),
        note="Hedvig gave it",
    )
    MRIScan.objects.create(
        patient=patient, scan_date=episode.reinfusion_date + timedelta(days=50), notes="Compared by Hedvig"
    )
    record_symptom_report(
        context=AuditContext.system("tests"),
        patient=patient,
        recorded_at=timezone.now() - timedelta(hours=1),
        temperature_c="37.2",
        notes="shivery after the walk with Lars",
    )
    return episode, event


def test_a_pseudonymised_export_keeps_no_word_typed_by_staff_and_the_exact_dates(api_for, clinician, centre):
    patient = PatientFactory(centre=centre, first_name="Pia", last_name="Holmgren", hospital_number="UAS-777")
    episode, event = _typed_record(patient, clinician)
    api = api_for(clinician)
    response = api.get(_group_url(centre, _pseudonymise="true"), **ASYNC)
    export = BulkExport.objects.get(uuid=response["Content-Location"].rsplit("/", 1)[1])
    assert run_bulk_export(export.pk) == BulkExportStatus.DONE, BulkExport.objects.get(pk=export.pk).error
    manifest = api.get(response["Content-Location"]).json()
    files = {}
    for output in manifest["output"]:
        text = b"".join(api.get(output["url"]).streaming_content).decode()
        files[output["type"]] = [json.loads(line) for line in text.splitlines()]
    assert {"Procedure", "Flag", "Condition", "Immunization", "Observation", "QuestionnaireResponse"} <= set(files)
    text = json.dumps(files, ensure_ascii=False)
    assert [word for word in TYPED if word in text] == []
    for resources in files.values():
        for resource in resources:
            construct_fhir_element(resource["resourceType"], resource)
    # the hand-added event is still there, on its exact day, its words masked; the alert keeps its coded kind
    [procedure] = [p for p in files["Procedure"] if p.get("performedDateTime") == event.actual_date.isoformat()]
    assert procedure["code"]["coding"][0]["code"] == "masked"
    assert all(
        flag["code"]["coding"][0]["system"] != "http://terminology.hl7.org/CodeSystem/data-absent-reason"
        for flag in files["Flag"]
    )
    assert episode.reinfusion_date.isoformat() in text


@pytest.mark.parametrize(
    "value",
    ["Holmgren", "Pia", "uas-777"],
    ids=["last name", "first name", "hospital number in another case"],
)
def test_a_pseudonymised_line_that_names_its_patient_fails_the_export(api_for, clinician, centre, monkeypatch, value):
    """A slot the pseudonymiser does not know (here an extension's code) still naming the patient: nothing is
    written, in words."""
    PatientFactory(centre=centre, first_name="Pia", last_name="Holmgren", hospital_number="UAS-777")

    def leaky(batch, dates):
        return [
            {
                "resourceType": "Basic",
                "id": "b1",
                "code": {"coding": [{"system": "urn:x", "code": "c", "display": "Holmgren"}]},
                "extension": [{"url": "urn:x:typed", "valueCode": value}],
            }
        ]

    monkeypatch.setitem(RESOURCE_TYPES, "Basic", ResourceType("Basic", search=leaky))
    export = queue_bulk_export(context=AuditContext(actor=clinician), centre=centre, types=["Basic"], pseudonymise=True)
    assert run_bulk_export(export.pk) == BulkExportStatus.FAILED
    export.refresh_from_db()
    assert "name or hospital number" in export.error
    assert not BulkExportFile.objects.exists()


def test_a_coding_display_or_a_code_like_a_name_does_not_fail_the_export(clinician, centre, monkeypatch):
    """The guard reads the words a resource carries, not its codes: a family called Fever exports its fevers."""
    PatientFactory(centre=centre, first_name="Pia", last_name="Fever", hospital_number="8310")

    def coded(batch, dates):
        coding = {"system": "urn:x", "code": "Fever", "display": "Fever"}
        return [
            {"resourceType": "Basic", "id": "b1", "code": {"coding": [coding]}, "created": "8310-05-01"},
            {
                "resourceType": "Basic",
                "id": "b2",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
            },
        ]

    monkeypatch.setitem(RESOURCE_TYPES, "Basic", ResourceType("Basic", search=coded))
    export = queue_bulk_export(context=AuditContext(actor=clinician), centre=centre, types=["Basic"], pseudonymise=True)
    assert run_bulk_export(export.pk) == BulkExportStatus.DONE
