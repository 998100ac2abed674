"""FHIR Bulk Data `$export` of a centre (recovery/api/fhir_export.py, recovery/services/bulk_export.py): the kick-off,
the task (called here as the worker calls it), the status with its progress, the manifest and the NDJSON files,
pseudonymised on request; batches with a constant number of queries; a dead worker's export resumed from its cursor.

The tests iterate over the registry (`RESOURCE_TYPES`): every type registered is exported and validated."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from fhir.resources import construct_fhir_element

from accounts.models import Role
from recovery.models import AuditEvent, BulkExport, BulkExportFile, BulkExportStatus
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import ResourceType
from recovery.services.audit import AuditContext
from recovery.services.bulk_export import (
    MAX_ATTEMPTS,
    READ_ACTION,
    delete_expired_exports,
    exportable_types,
    exports_to_resume,
    queue_bulk_export,
)
from recovery.services.symptoms import record_symptom_report
from recovery.tasks import run_bulk_export, sweep_bulk_exports
from tests.factories import PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.django_db
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


def _group_url(centre, **query) -> str:
    url = reverse("fhir:bulk-export-group", kwargs={"centre_id": centre.uuid})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _kick_off(api, centre, **query) -> BulkExport:
    response = api.get(_group_url(centre, **query), **ASYNC)
    assert response.status_code == 202, response.content
    status_url = response["Content-Location"]
    assert status_url.startswith("http://testserver/fhir/R4/$export-status/")
    return BulkExport.objects.get(uuid=status_url.rsplit("/", 1)[1])


def _files(api, manifest) -> dict[str, list[dict]]:
    """Each output file of a manifest, fetched, every line a resource."""
    files = {}
    for output in manifest["output"]:
        response = api.get(output["url"])
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+ndjson"
        text = b"".join(response.streaming_content).decode()
        assert text.endswith("\n")
        files[output["type"]] = [json.loads(line) for line in text.splitlines()]
        assert len(files[output["type"]]) == output["count"]
    return files


@pytest.fixture
def cohort(centre):
    """Three transplanted patients of the centre, one with a check-in (data for every resource type there is)."""
    patients = [
        PatientFactory(centre=centre, first_name=name, last_name="Holmgren", hospital_number=f"UAS-{i}")
        for i, name in enumerate(["Pia", "Olle", "Stina"])
    ]
    day0 = timezone.localdate() - timedelta(days=10)
    for patient in patients:
        transplant(patient, day0)
    record_symptom_report(
        context=AuditContext.system("tests"),
        patient=patients[0],
        recorded_at=timezone.now() - timedelta(hours=2),
        temperature_c="38.6",
    )
    return patients


def test_the_whole_flow_from_kick_off_to_the_files(api_for, clinician, cohort, other_centre_patient):
    api = api_for(clinician)
    export = _kick_off(api, clinician.centres.get())
    status_url = reverse("fhir:bulk-export-status", kwargs={"export_id": export.uuid})
    queued = api.get(status_url)
    assert (queued.status_code, queued["X-Progress"], queued["Retry-After"]) == (202, "queued", "5")

    assert run_bulk_export(export.pk) == BulkExportStatus.DONE

    response = api.get(status_url)
    assert response.status_code == 200
    manifest = response.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith(_group_url(clinician.centres.get()))
    assert manifest["error"] == []
    assert {output["type"] for output in manifest["output"]} <= set(exportable_types())
    files = _files(api, manifest)
    for kind, resources in files.items():
        for resource in resources:
            assert resource["resourceType"] == kind
            construct_fhir_element(kind, resource)  # raises unless a valid R4 resource
    assert sorted(p["id"] for p in files["Patient"]) == sorted(str(p.uuid) for p in cohort)
    assert str(other_centre_patient.uuid) not in json.dumps(files)
    export.refresh_from_db()
    assert (export.patients_total, export.patients_done) == (3, 3)
    # one read recorded for each patient exported, named with the export
    reads = AuditEvent.objects.filter(action=READ_ACTION)
    assert sorted(reads.values_list("patient_id", flat=True)) == sorted(p.pk for p in cohort)
    assert {event.detail["export"] for event in reads} == {str(export.uuid)}
    # and one for each patient of a file when it is downloaded, by whoever downloads it
    downloads = AuditEvent.objects.filter(action="fhir.bulk_export.downloaded", detail__type="Patient")
    assert sorted(downloads.values_list("patient_id", flat=True)) == sorted(p.pk for p in cohort)
    assert set(downloads.values_list("actor", flat=True)) == {clinician.pk}


def test_a_kick_off_wakes_the_task_after_commit(api_for, clinician, centre, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _kick_off(api_for(clinician), centre)
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(action="fhir.bulk_export.queued").count() == 1


def test_pseudonymised_output_names_no_patient_and_its_references_hold(api_for, clinician, centre, cohort):
    api = api_for(clinician)
    export = _kick_off(api, centre, _pseudonymise="true")
    run_bulk_export(export.pk)
    manifest = api.get(reverse("fhir:bulk-export-status", kwargs={"export_id": export.uuid})).json()
    assert manifest["extension"] == {"pseudonymised": True}
    files = _files(api, manifest)
    text = json.dumps(files)
    for patient in cohort:
        for identifying in (str(patient.uuid), patient.first_name, patient.last_name, patient.hospital_number):
            assert identifying not in text
    assert "1990-05-17" not in text
    assert {p["birthDate"] for p in files["Patient"]} == {"1990"}
    pseudonyms = {p["id"] for p in files["Patient"]}
    assert len(pseudonyms) == 3
    references = _patient_references(files)
    assert references <= pseudonyms, "a reference points to no exported patient"
    for resources in files.values():
        for resource in resources:
            construct_fhir_element(resource["resourceType"], resource)
    # another export has other pseudonyms: the two cannot be linked
    again = _kick_off(api, centre, _pseudonymise="true")
    run_bulk_export(again.pk)
    manifest = api.get(reverse("fhir:bulk-export-status", kwargs={"export_id": again.uuid})).json()
    assert not pseudonyms & {p["id"] for p in _files(api, manifest)["Patient"]}


def _patient_references(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and reference.startswith("Patient/"):
            found.add(reference.removeprefix("Patient/"))
        for value in node.values():
            found |= _patient_references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _patient_references(value)
    return found


class WorkerDied(BaseException):
    """The worker's process ends mid-way (killed): nothing catches it, the export is left running."""


def test_progress_moves_batch_by_batch_and_a_dead_workers_export_goes_on_from_its_cursor(
    api_for, clinician, centre, monkeypatch, settings
):
    """Five patients in batches of two: the status says 0%, 40%, 80% as the batches are written. The worker dies
    in the second batch; once its lease runs out the sweep hands the export on, and the next worker writes the
    rest, the first batch not again."""
    settings.BULK_EXPORT_BATCH_SIZE = 2
    patients = [PatientFactory(centre=centre) for _ in range(5)]
    api = api_for(clinician)
    seen, calls = [], []
    status_url = None

    def probe(batch, dates):  # a registered type that reads the status each time a batch is searched
        calls.append(sorted(batch.values_list("pk", flat=True)))
        seen.append(api.get(status_url)["X-Progress"])
        if len(calls) == 2 and not dying_done:
            dying_done.append(True)
            raise WorkerDied
        return []

    dying_done: list[bool] = []
    monkeypatch.setitem(RESOURCE_TYPES, "Probe", ResourceType("Probe", search=probe))
    export = _kick_off(api, centre, _type="Patient,Probe")
    status_url = reverse("fhir:bulk-export-status", kwargs={"export_id": export.uuid})
    with pytest.raises(WorkerDied):
        run_bulk_export(export.pk)
    export.refresh_from_db()
    assert (export.status, export.patients_done, export.batches_done) == (BulkExportStatus.RUNNING, 2, 1)
    assert run_bulk_export(export.pk) == ""  # its lease still runs: another worker leaves it alone
    assert exports_to_resume() == []

    later = timezone.now() + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    with time_machine.travel(later, tick=True):
        assert exports_to_resume() == [export.pk]
        assert run_bulk_export(export.pk) == BulkExportStatus.DONE
    export.refresh_from_db()
    assert (export.attempts, export.patients_done, export.patients_total) == (1, 5, 5)
    assert seen == ["0% (0/5 patients)", "40% (2/5 patients)", "40% (2/5 patients)", "80% (4/5 patients)"]
    ids = sorted(p.pk for p in patients)
    assert calls == [ids[0:2], ids[2:4], ids[2:4], ids[4:5]]
    patient_parts = BulkExportFile.objects.filter(export=export, resource_type="Patient")
    assert sorted(patient_parts.values_list("part", "count")) == [(0, 2), (1, 2), (2, 1)]
    lines = "".join(patient_parts.values_list("ndjson", flat=True)).splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(str(p.uuid) for p in patients)


def test_an_export_whose_worker_died_too_often_is_failed_by_the_sweep(clinician, centre, settings):
    export = queue_bulk_export(context=AuditContext(actor=clinician), centre=centre, types=[], pseudonymise=False)
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    BulkExport.objects.filter(pk=export.pk).update(
        status=BulkExportStatus.RUNNING, heartbeat_at=stale, attempts=MAX_ATTEMPTS
    )
    assert run_bulk_export(export.pk) == ""
    assert exports_to_resume() == []
    export.refresh_from_db()
    assert export.status == BulkExportStatus.FAILED
    assert export.error.startswith(f"The export was interrupted {MAX_ATTEMPTS} times")


def _run_queries(clinician, centre) -> int:
    export = queue_bulk_export(context=AuditContext(actor=clinician), centre=centre, types=[], pseudonymise=True)
    with CaptureQueriesContext(connection) as queries:
        assert run_bulk_export(export.pk) == BulkExportStatus.DONE
    BulkExport.objects.all().delete()
    return len(queries)


def test_the_queries_of_a_batch_do_not_grow_with_its_patients(clinician, centre):
    """One batch of 2 patients and one of 12 (every registered type searched for each) take as many queries."""
    day0 = timezone.localdate() - timedelta(days=10)
    for _ in range(2):
        transplant(PatientFactory(centre=centre), day0)
    few = _run_queries(clinician, centre)
    for _ in range(10):
        transplant(PatientFactory(centre=centre), day0)
    many = _run_queries(clinician, centre)
    assert many == few


def test_each_batch_adds_a_constant_number_of_queries(clinician, centre, settings):
    settings.BULK_EXPORT_BATCH_SIZE = 2
    PatientFactory.create_batch(2, centre=centre)
    one_batch = _run_queries(clinician, centre)
    PatientFactory.create_batch(4, centre=centre)
    three_batches = _run_queries(clinician, centre)
    assert (three_batches - one_batch) % 2 == 0
    assert three_batches - one_batch <= 2 * (6 + 2 * len(exportable_types()))


@pytest.mark.parametrize(
    ("query", "headers", "message"),
    [
        ({}, {}, "Prefer: respond-async"),
        ({"_type": "Nonsense"}, ASYNC, "_type Nonsense cannot be exported"),
        ({"_since": "2025-01-01T00:00:00Z"}, ASYNC, "_since is not supported: export everything and compare"),
        ({"_since": "yesterday"}, ASYNC, "_since is not supported"),
        ({"_outputFormat": "text/csv"}, ASYNC, "_outputFormat"),
        ({"_pseudonymise": "maybe"}, ASYNC, "_pseudonymise is true or false"),
        ({"_typeFilter": "Observation%3Fcode%3D1"}, ASYNC, "Not supported here: _typeFilter"),
    ],
)
def test_a_kick_off_that_cannot_be_done_is_a_400_operation_outcome(api_for, clinician, centre, query, headers, message):
    response = api_for(clinician).get(_group_url(centre, **query), **headers)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert message in body["issue"][0]["diagnostics"]
    assert not BulkExport.objects.exists()


def test_types_and_a_lenient_unknown_parameter_are_kept(api_for, clinician, centre):
    response = api_for(clinician).get(
        _group_url(centre, _type="Patient", _elements="id"), HTTP_PREFER="respond-async, handling=lenient"
    )
    assert response.status_code == 202
    export = BulkExport.objects.get()
    assert export.types == ["Patient"]
    assert export.since is None


def test_since_is_refused_even_when_lenient(api_for, clinician, centre):
    """Bulk Data's `_since` means "changed since"; ignoring it would look like an incremental export that is not."""
    response = api_for(clinician).get(
        _group_url(centre, _since="2025-01-01T00:00:00Z"), HTTP_PREFER="respond-async, handling=lenient"
    )
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-supported"
    assert "export everything and compare" in issue["diagnostics"]
    assert not BulkExport.objects.exists()


def test_an_export_stored_with_a_since_is_written_whole(api_for, clinician, cohort):
    """An export queued with `_since` before it was refused is not narrowed by clinical date: a result dated before
    the instant (every one here) is still in it."""
    export = _kick_off(api_for(clinician), clinician.centres.get())
    BulkExport.objects.filter(pk=export.pk).update(since=timezone.now() + timedelta(days=1))
    assert run_bulk_export(export.pk) == BulkExportStatus.DONE
    written = set(BulkExportFile.objects.filter(export=export).values_list("resource_type", flat=True))
    assert {"Procedure", "Observation"} <= written  # the transplant's procedures, the check-in's temperature


def test_one_export_at_a_time_per_person_and_centre(api_for, clinician, centre):
    api = api_for(clinician)
    first = _kick_off(api, centre)
    response = api.get(_group_url(centre), **ASYNC)
    assert (response.status_code, response["Retry-After"]) == (429, "5")
    run_bulk_export(first.pk)
    _kick_off(api, centre)


def test_the_system_export_is_the_staff_members_one_centre(api_for, clinician, centre, other_centre):
    response = api_for(clinician).get(reverse("fhir:bulk-export"), **ASYNC)
    assert response.status_code == 202
    assert BulkExport.objects.get().centre == centre
    both = UserFactory(role=Role.CLINICIAN, centres=[centre, other_centre])
    response = api_for(both).get(reverse("fhir:bulk-export"), **ASYNC)
    assert response.status_code == 400
    assert str(other_centre.uuid) in response.json()["issue"][0]["diagnostics"]


def test_another_centre_and_a_patient_find_no_export(
    api_for, client_for, clinician, centre, patient, cohort, other_centre_clinician
):
    patient.user = UserFactory(role=Role.PATIENT)
    patient.save()
    export = _kick_off(api_for(clinician), centre)
    run_bulk_export(export.pk)
    urls = [
        reverse("fhir:bulk-export-status", kwargs={"export_id": export.uuid}),
        reverse("fhir:bulk-export-file", kwargs={"export_id": export.uuid, "resource_type": "Patient"}),
    ]
    for url in urls:
        assert api_for(other_centre_clinician).get(url).status_code == 404
        assert api_for(patient.user).get(url).status_code == 403
        assert api_for(None).get(url).status_code == 401
        assert client_for(clinician).get(url).status_code == 200  # the session works as well as a token
    assert api_for(other_centre_clinician).delete(urls[0]).status_code == 404
    assert api_for(other_centre_clinician).get(_group_url(centre), **ASYNC).status_code == 404
    assert BulkExport.objects.filter(pk=export.pk).exists()


def test_delete_cancels_an_export_and_its_task_then_does_nothing(api_for, clinician, centre, cohort):
    api = api_for(clinician)
    export = _kick_off(api, centre)
    status_url = reverse("fhir:bulk-export-status", kwargs={"export_id": export.uuid})
    assert api.delete(status_url).status_code == 202
    assert api.get(status_url).status_code == 404
    assert run_bulk_export(export.pk) == ""
    assert not BulkExportFile.objects.exists()
    assert AuditEvent.objects.filter(action="fhir.bulk_export.deleted").count() == 1


def test_a_failed_export_answers_500_with_its_reason(api_for, clinician, centre, monkeypatch):
    def broken(batch, dates):
        raise RuntimeError("database gone")

    PatientFactory(centre=centre)
    monkeypatch.setitem(RESOURCE_TYPES, "Broken", ResourceType("Broken", search=broken))
    api = api_for(clinician)
    export = _kick_off(api, centre, _type="Broken")
    assert run_bulk_export(export.pk) == BulkExportStatus.FAILED
    response = api.get(reverse("fhir:bulk-export-status", kwargs={"export_id": export.uuid}))
    assert response.status_code == 500
    assert response.json()["issue"][0]["diagnostics"].startswith("The export stopped because of an error")


def test_a_pseudonymised_line_that_still_names_its_patient_fails_the_export(api_for, clinician, centre, monkeypatch):
    """A resource type whose free text the pseudonymiser does not know (the id in a string) is never written."""
    patient = PatientFactory(centre=centre)

    def leaky(batch, dates):
        return [{"resourceType": "Basic", "id": "b1", "code": {"coding": [{"system": "x", "code": str(patient.uuid)}]}}]

    monkeypatch.setitem(RESOURCE_TYPES, "Basic", ResourceType("Basic", search=leaky))
    export = _kick_off(api_for(clinician), centre, _type="Basic", _pseudonymise="true")
    assert run_bulk_export(export.pk) == BulkExportStatus.FAILED
    assert not BulkExportFile.objects.exists()


def test_the_sweep_starts_a_lost_wake_up_and_deletes_expired_exports(clinician, centre, settings, celery_eager):
    PatientFactory(centre=centre)
    with time_machine.travel(timezone.now() - timedelta(minutes=5), tick=False):
        lost = queue_bulk_export(context=AuditContext(actor=clinician), centre=centre, types=[], pseudonymise=False)
    assert sweep_bulk_exports() == 1
    lost.refresh_from_db()
    assert lost.status == BulkExportStatus.DONE
    assert BulkExportFile.objects.filter(export=lost).exists()
    later = timezone.now() + timedelta(days=settings.BULK_EXPORT_RETENTION_DAYS, minutes=1)
    assert delete_expired_exports(later) == 1
    assert not BulkExport.objects.exists()
    assert not BulkExportFile.objects.exists()


def test_the_export_task_and_its_sweep_are_registered_and_on_beat():
    from recovery.celery import _beat_schedule, app

    assert _beat_schedule()["sweep-bulk-exports"]["task"] == "recovery.tasks.sweep_bulk_exports"
    assert {"recovery.tasks.run_bulk_export", "recovery.tasks.sweep_bulk_exports"} <= set(app.tasks)


def test_a_worker_out_of_time_hands_the_rest_on_from_its_cursor(clinician, centre, monkeypatch, settings):
    """The soft time limit strikes in the second batch: what was written stays, the export is queued again (its
    next task woken), and that task writes the rest."""
    from celery.exceptions import SoftTimeLimitExceeded

    from recovery.celery import app

    settings.BULK_EXPORT_BATCH_SIZE = 2
    PatientFactory.create_batch(3, centre=centre)
    batches = []

    def slow(batch, dates):
        batches.append(batch.count())
        if len(batches) == 2:
            raise SoftTimeLimitExceeded
        return []

    monkeypatch.setitem(RESOURCE_TYPES, "Slow", ResourceType("Slow", search=slow))
    monkeypatch.setattr(app.conf, "broker_url", "memory://")  # the hand-on's wake-up goes to no worker
    app._pool = app.amqp._producer_pool = None
    export = queue_bulk_export(
        context=AuditContext(actor=clinician),
        centre=centre,
        types=["Patient", "Slow"],
        pseudonymise=False,
    )
    assert run_bulk_export(export.pk) == ""
    export.refresh_from_db()
    assert (export.status, export.patients_done, export.lease) == (BulkExportStatus.QUEUED, 2, None)
    assert run_bulk_export(export.pk) == BulkExportStatus.DONE
    export.refresh_from_db()
    assert (export.patients_done, export.attempts, batches) == (3, 0, [2, 1, 1])
    app._pool = app.amqp._producer_pool = None
