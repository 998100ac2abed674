"""The FHIR bulk export run by a real Celery worker through Redis (see tests/test_celery_integration.py): the
kick-off's commit publishes the task, the worker writes the files, and the status then answers the manifest."""

import json

import pytest
import redis
from django.urls import reverse

from accounts.models import Role
from recovery.models import BulkExport, BulkExportStatus
from tests.celery_processes import outputs, start_celery_fixture, start_worker, wait_for  # noqa: F401 (a fixture)
from tests.factories import CentreFactory, PatientFactory, UserFactory
from tests.test_celery_integration import publishing_to

pytestmark = pytest.mark.services(needs="a real Redis and a Celery worker process")


def test_a_kick_off_is_exported_by_a_real_worker_in_batches(start_celery, redis_url, api_for):
    centre = CentreFactory()
    clinician = UserFactory(role=Role.CLINICIAN, centres=[centre])
    patients = PatientFactory.create_batch(5, centre=centre)
    api = api_for(clinician)
    with publishing_to(redis_url):
        response = api.get(
            reverse("fhir:bulk-export-group", kwargs={"centre_id": centre.uuid}) + "?_pseudonymise=true",
            HTTP_PREFER="respond-async",
        )
    assert response.status_code == 202, response.content
    status_url = response["Content-Location"]
    assert redis.Redis.from_url(redis_url).llen("celery") == 1, "one wake-up for the export, after commit"

    worker = start_worker(start_celery, BULK_EXPORT_BATCH_SIZE="2")
    wait_for(
        lambda: BulkExport.objects.filter(status=BulkExportStatus.DONE).exists(),
        worker,
        what="The worker writing the export",
    )
    export = BulkExport.objects.get()
    assert (export.patients_done, export.batches_done) == (5, 3), outputs(worker)
    manifest = api.get(status_url).json()
    [patient_file] = [output for output in manifest["output"] if output["type"] == "Patient"]
    assert patient_file["count"] == 5
    lines = b"".join(api.get(patient_file["url"]).streaming_content).decode().splitlines()
    text = "\n".join(lines)
    assert len({json.loads(line)["id"] for line in lines}) == 5
    assert not [p for p in patients if str(p.uuid) in text or p.hospital_number in text]
