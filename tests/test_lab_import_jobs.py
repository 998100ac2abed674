"""The lab CSV import as a background job: stored by the request, run by the Celery task (called here as the
worker calls it), progress written outside the import's transaction, all or nothing, bulk writes."""

import math
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recovery.models import LabImport, LabImportStatus, LabResult
from recovery.services.audit import AuditContext
from recovery.services.lab_import import (
    MAX_ATTEMPTS,
    MAX_IMPORT_ROWS,
    PROGRESS_EVERY,
    WRITE_BATCH,
    imports_to_resume,
    queue_lab_import,
    run_lab_import,
)
from recovery.tasks import run_lab_import as run_lab_import_task
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

HEADER = "hospital_number,test,value,unit,collected_at\n"


def _rows(patients, per_patient: int) -> str:
    """`per_patient` ANC results a minute apart for each patient, all in the last month."""
    start = timezone.localtime(timezone.now() - timedelta(days=30))
    lines = []
    for patient in patients:
        for i in range(per_patient):
            at = start + timedelta(minutes=i)
            lines.append(f"{patient.hospital_number},anc,{i % 9 + 1}.{i % 7},x10^9/L,{at:%Y-%m-%d %H:%M}\n")
    return HEADER + "".join(lines)


def _queue(user, centre, text: str) -> LabImport:
    return queue_lab_import(context=AuditContext(actor=user), centre=centre, filename="labs.csv", data=text.encode())


@pytest.fixture
def cohort(centre):
    return [PatientFactory(centre=centre, hospital_number=f"BIG-{i:03d}") for i in range(20)]


def _import_queries(coordinator, centre, text: str) -> int:
    lab_import = _queue(coordinator, centre, text)
    with CaptureQueriesContext(connection) as queries:
        assert run_lab_import_task(lab_import.pk) == LabImportStatus.DONE
    return len(queries)


@pytest.mark.slow
def test_twenty_thousand_lines_import_through_the_task_with_bulk_writes(coordinator, centre, cohort):
    """20,000 lines (the most a file may have) for 20 patients: every result saved, in a number of statements
    that grows with the batches (an INSERT per WRITE_BATCH results, or fewer where the database limits a
    statement's parameters; a progress write per PROGRESS_EVERY lines), not with the lines: 3-4 a line before."""
    small = _import_queries(coordinator, centre, _rows(cohort, 10))
    LabResult.objects.all().delete()
    lines = 20 * 1000
    assert lines == MAX_IMPORT_ROWS
    big = _import_queries(coordinator, centre, _rows(cohort, 1000))
    assert LabResult.objects.count() == lines
    lab_import = LabImport.objects.order_by("-id").first()
    assert (lab_import.status, lab_import.accepted, lab_import.rows_total, lab_import.rows_done) == (
        LabImportStatus.DONE,
        lines,
        lines,
        lines,
    )
    fields = [f for f in LabResult._meta.concrete_fields if not f.primary_key]
    per_insert = min(WRITE_BATCH, connection.ops.bulk_batch_size(fields, [None] * WRITE_BATCH))  # SQLite: 99
    batches = math.ceil(lines / per_insert) + lines // PROGRESS_EVERY
    assert big <= small + batches + 5, (small, big)
    assert big < lines / 50  # PostgreSQL: about 100 statements; SQLite about 300 (its smaller INSERTs)


def test_progress_is_written_while_checking_before_the_write_transaction_opens(coordinator, centre, cohort):
    """The progress writes (rows_done) come before the write phase's transaction, so that each is committed and
    the page sees it while the task runs; the results are inserted only after every line is checked."""
    lab_import = _queue(coordinator, centre, _rows(cohort[:3], 400))  # 1,200 lines
    with CaptureQueriesContext(connection) as captured:
        run_lab_import(lab_import.pk)
    statements = [query["sql"] for query in captured]
    progress = [i for i, sql in enumerate(statements) if 'SET "rows_done"' in sql]
    first_savepoint = next(i for i, sql in enumerate(statements) if sql.startswith("SAVEPOINT"))
    first_insert = next(i for i, sql in enumerate(statements) if 'INSERT INTO "recovery_labresult"' in sql)
    assert len(progress) >= 1200 // PROGRESS_EVERY + 1  # every PROGRESS_EVERY lines, then the last count
    assert max(progress) < first_savepoint < first_insert
    assert LabResult.objects.count() == 1200


def test_a_file_over_the_line_limit_imports_nothing_and_says_so(coordinator, centre, cohort):
    text = HEADER + "".join(f"BIG-000,anc,1.0,x10^9/L,2026-01-01 {i % 24:02d}:00\n" for i in range(MAX_IMPORT_ROWS + 1))
    result = run_lab_import(_queue(coordinator, centre, text).pk)
    assert result.status == LabImportStatus.FAILED
    assert (
        result.error
        == f"The file has {MAX_IMPORT_ROWS + 1} lines of results; at most {MAX_IMPORT_ROWS} per file: split it."
    )
    assert not LabResult.objects.exists()


def test_a_task_runs_an_import_once_and_a_second_delivery_does_nothing(coordinator, centre, cohort):
    """A task delivered twice (a second wake-up, the sweep) finds the import claimed or finished."""
    lab_import = _queue(coordinator, centre, _rows(cohort[:1], 5))
    assert run_lab_import_task(lab_import.pk) == LabImportStatus.DONE
    assert run_lab_import_task(lab_import.pk) == ""
    assert LabResult.objects.count() == 5


def test_the_sweep_resumes_a_lost_wake_up_and_a_dead_worker_but_not_a_running_import(
    coordinator, centre, cohort, settings
):
    now = timezone.now()
    with time_machine.travel(now - timedelta(minutes=5), tick=False):
        lost = _queue(coordinator, centre, _rows(cohort[:1], 2))
        died = _queue(coordinator, centre, _rows(cohort[:1], 2))
    fresh = _queue(coordinator, centre, _rows(cohort[:1], 2))
    running = _queue(coordinator, centre, _rows(cohort[:1], 2))
    LabImport.objects.filter(pk=died.pk).update(
        status=LabImportStatus.RUNNING, started_at=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    )
    LabImport.objects.filter(pk=running.pk).update(status=LabImportStatus.RUNNING, started_at=now)
    assert sorted(imports_to_resume(now)) == sorted([lost.pk, died.pk])
    assert fresh.pk not in imports_to_resume(now)
    assert run_lab_import(died.pk).status == LabImportStatus.DONE  # a dead worker's import is claimed again
    assert run_lab_import(running.pk) is None  # a live one is left to its worker


def test_an_import_interrupted_twice_is_failed_by_the_sweep_and_not_run_again(coordinator, centre, cohort, settings):
    """A file whose worker dies each time (e.g. killed at the hard time limit) is not retried for ever."""
    now = timezone.now()
    interrupted = _queue(coordinator, centre, _rows(cohort[:1], 2))
    LabImport.objects.filter(pk=interrupted.pk).update(
        status=LabImportStatus.RUNNING,
        started_at=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1),
        attempts=MAX_ATTEMPTS,
    )
    assert run_lab_import(interrupted.pk) is None
    assert imports_to_resume(now) == []
    interrupted.refresh_from_db()
    assert interrupted.status == LabImportStatus.FAILED
    assert interrupted.error.startswith(f"The import was interrupted {MAX_ATTEMPTS} times")
    assert bytes(interrupted.data) == b""
    assert not LabResult.objects.exists()


def test_the_import_task_and_its_sweep_are_registered_and_the_sweep_is_on_beat():
    from recovery.celery import _beat_schedule, app
    from recovery.services.lab_import import IMPORT_TASK

    assert _beat_schedule()["resume-lab-imports"]["task"] == "recovery.tasks.resume_lab_imports"
    assert {IMPORT_TASK, "recovery.tasks.resume_lab_imports"} <= set(app.tasks)


def test_a_csv_with_a_nul_is_refused_by_the_page_naming_the_line_and_nothing_is_queued(client_for, coordinator, pia):
    data = HEADER.encode() + b"UAS-1,anc,0.5,x10^9/L,2026-11-19 08:00\nUAS\x00-2,anc\n"
    upload = SimpleUploadedFile("results.csv", data, content_type="text/csv")
    response = client_for(coordinator).post(reverse("recovery:lab-import"), {"file": upload, "centre": pia.centre_id})
    assert response.status_code == 200
    assert "Line 3 contains a control character" in response.content.decode()
    assert not LabImport.objects.exists()


def test_queueing_refuses_an_unreadable_file_and_stores_nothing(coordinator, centre):
    with pytest.raises(ValidationError, match="lacks the column"):
        _queue(coordinator, centre, "name,value\nx,1\n")
    assert not LabImport.objects.exists()


@pytest.fixture
def pia(patient):
    patient.hospital_number = "UAS-1"
    patient.save()
    return patient
