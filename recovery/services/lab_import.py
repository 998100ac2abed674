"""The laboratory CSV import: a file of results for the centre's patients, checked line by line with the same
check as the form and the API; what became of each line is kept with the import.

The upload is stored (`queue_lab_import`, in the request: a file that cannot be read at all is refused there) and
a Celery task imports it (`run_lab_import`): it checks every line first, writing its progress as it goes, then
saves every result in one transaction. All or nothing: when any line is wrong nothing is saved, and the report
lists the wrong lines with their reasons.
"""

import contextlib
import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Centre
from recovery import access
from recovery.celery import app
from recovery.models import (
    LabImport,
    LabImportStatus,
    LabResult,
    LabSource,
    Patient,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.services.audit import AuditContext, record_event
from recovery.services.lab_batches import (
    Match,
    after_results_created,
    already_recorded,
    classify_against_recorded,
    result_summary,
)
from recovery.services.lab_csv import (
    ACCEPTED,
    DUPLICATE,
    MAX_IMPORT_ROWS,
    REJECTED,
    ImportLine,
    lab_test_code,
    open_csv,
    parse_time,
)
from recovery.services.labs import LAB_TESTS, check_collected_at, checked_value, sample_conflict

logger = logging.getLogger(__name__)
IMPORT_TASK = "recovery.tasks.run_lab_import"
PROGRESS_EVERY = 500  # lines checked between two progress writes
WRITE_BATCH = 1000  # results per INSERT
# A queued import whose wake-up was lost is started again by the sweep after this long.
RESUME_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 2  # an import interrupted this often (its worker died each time) is failed


@dataclass
class _Checked:
    """A line that passed every check of its own: saved unless it duplicates or contradicts a result."""

    line: ImportLine
    patient: Patient
    test: str
    value: Decimal
    collected_at: datetime


@dataclass
class _Outcome:
    lines: list[ImportLine] = field(default_factory=list)
    results: list[LabResult] = field(default_factory=list)
    error: str = ""


def _create(context: AuditContext, centre: Centre, filename: str, data: bytes) -> LabImport:
    open_csv(data)
    lab_import = LabImport.objects.create(
        centre=centre,
        uploaded_by=context.actor,
        filename=filename[:255],
        data=data,
        status=LabImportStatus.QUEUED,
        language=translation.get_language() or "",
    )
    record_event(context=context, action="labs.import_queued", detail={"import": str(lab_import.uuid)})
    return lab_import


def _wake_importer(import_id: int, language: str | None) -> None:
    try:
        app.send_task(IMPORT_TASK, args=[import_id], kwargs={"language": language})
    except Exception as exc:  # the broker is down: the sweep starts the import within a minute of its return
        logger.warning("Could not start lab import %s: %s", import_id, exc)


@transaction.atomic
def queue_lab_import(*, context: AuditContext, centre: Centre, filename: str, data: bytes) -> LabImport:
    """Store an upload for the import task and wake it after commit; ValidationError (nothing stored) for a file
    that cannot be read at all: too large, not text (a control character, naming its line), empty, no header.

    The task writes the report's messages in the language active here (the uploader's), stored with the import
    so that an import the sweep starts again writes it in that language too."""
    lab_import = _create(context, centre, filename, data)
    transaction.on_commit(partial(_wake_importer, lab_import.pk, lab_import.language or None))
    return lab_import


def import_lab_csv(
    *, context: AuditContext, centre: Centre, patients: Iterable[Patient], filename: str, data: bytes
) -> LabImport:
    """Store and import at once, in this process (scripts and tests; the page queues the task instead)."""
    lab_import = _create(context, centre, filename, data)
    return run_lab_import(lab_import.pk, patients=patients) or lab_import


def _interrupted(now: datetime) -> Q:
    """Running for longer than a task may: its worker died (or was stopped) mid-way."""
    return Q(status=LabImportStatus.RUNNING, started_at__lt=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT))


def imports_to_resume(now: datetime | None = None) -> list[int]:
    """The sweep: imports whose task never started (a lost wake-up) or whose worker died, to start again.

    An import interrupted MAX_ATTEMPTS times is failed here instead (nothing of it was saved)."""
    now = now or timezone.now()
    given_up = LabImport.objects.filter(_interrupted(now), attempts__gte=MAX_ATTEMPTS)
    for language in given_up.values_list("language", flat=True).distinct():
        with translation.override(language or settings.LANGUAGE_CODE):
            error = _(
                "The import was interrupted %(count)s times (the server stopped it). Nothing was imported: "
                "upload the file again, or in smaller parts."
            ) % {"count": MAX_ATTEMPTS}
        given_up.filter(language=language).update(status=LabImportStatus.FAILED, error=error, data=b"", finished_at=now)
    return list(
        LabImport.objects.filter(
            Q(status=LabImportStatus.QUEUED, created_at__lt=now - RESUME_AFTER) | _interrupted(now)
        ).values_list("pk", flat=True)
    )


def run_lab_import(
    import_id: int, *, patients: Iterable[Patient] | None = None, language: str | None = None
) -> LabImport | None:
    """The task's work: claim the import (None when another worker has it or it is finished), check every line,
    then save all its results in one transaction, or none when a line is wrong.

    `patients`: whom the file may name (default: the uploader's patients at the import's centre); `language`: the
    one the report's messages are written in (default: the one stored with the import, the uploader's, so that
    an import the sweep starts again, which passes none, writes it in that language too)."""
    if not language:
        language = LabImport.objects.filter(pk=import_id).values_list("language", flat=True).first()
    with translation.override(language) if language else contextlib.nullcontext():
        return _run_lab_import(import_id, patients)


def _run_lab_import(import_id: int, patients: Iterable[Patient] | None) -> LabImport | None:
    now = timezone.now()
    claimed = (
        LabImport.objects.filter(pk=import_id)
        .filter(Q(status=LabImportStatus.QUEUED) | (_interrupted(now) & Q(attempts__lt=MAX_ATTEMPTS)))
        .update(status=LabImportStatus.RUNNING, started_at=now, rows_done=0, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    lab_import = LabImport.objects.select_related("centre", "uploaded_by").get(pk=import_id)
    context = AuditContext(actor=lab_import.uploaded_by, extra={"process": "lab import"})
    if patients is None:
        patients = access.visible_patients(lab_import.uploaded_by).filter(centre=lab_import.centre)
    try:
        outcome = _check(lab_import, patients)
        if not outcome.error:
            try:
                with transaction.atomic():
                    _save(lab_import, outcome, context)
                return lab_import
            except IntegrityError:
                outcome.error = _(
                    "A result in this file was recorded by someone else while it was being imported. Nothing was "
                    "imported: upload the file again (results already recorded are recognised)."
                )
    except ValidationError as exc:
        outcome = _Outcome(error=" ".join(exc.messages))
    except SoftTimeLimitExceeded:
        outcome = _Outcome(
            error=_(
                "The import took longer than the %(seconds)s seconds a task may take and was stopped. Nothing was "
                "imported: upload the file in smaller parts."
            )
            % {"seconds": settings.CELERY_TASK_SOFT_TIME_LIMIT}
        )
    except Exception:
        logger.exception("Lab import %s stopped", import_id)
        outcome = _Outcome(error=_("The import stopped because of an error on the server. Nothing was imported."))
    _fail(lab_import, outcome, context)
    return lab_import


def _counts(lines: Sequence[ImportLine]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for line in lines:
        counts[line.outcome] += 1
    return counts


def _fail(lab_import: LabImport, outcome: _Outcome, context: AuditContext) -> None:
    """Nothing saved: the report keeps the wrong lines only, each with its reason."""
    rejected = [line for line in outcome.lines if line.outcome == REJECTED]
    lab_import.status = LabImportStatus.FAILED
    lab_import.error = outcome.error
    lab_import.accepted = lab_import.duplicates = 0
    lab_import.rejected = len(rejected)
    lab_import.report = [line.as_dict() for line in rejected]
    lab_import.data = b""
    lab_import.finished_at = timezone.now()
    lab_import.save()
    record_event(
        context=context,
        action="labs.import",
        detail={"import": str(lab_import.uuid), "status": LabImportStatus.FAILED, "rejected": len(rejected)},
    )


def _check(lab_import: LabImport, patients: Iterable[Patient]) -> _Outcome:
    """Every line checked (progress written every PROGRESS_EVERY lines, each write committed on its own), then
    set against the results already recorded, in a few queries for the whole file."""
    text, dialect, columns = open_csv(bytes(lab_import.data))
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    next(reader)
    outcome = _Outcome()
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        unreadable = _("The file cannot be read from here on: %(error)s.") % {"error": exc}
        outcome.lines.append(ImportLine(reader.line_num, REJECTED, unreadable))
        outcome.error = _("Line %(line)s cannot be read. Nothing was imported.") % {"line": reader.line_num}
        return outcome
    if len(rows) > MAX_IMPORT_ROWS:
        outcome.error = _("The file has %(count)s lines of results; at most %(most)s per file: split it.") % {
            "count": len(rows),
            "most": MAX_IMPORT_ROWS,
        }
        return outcome
    lab_import.rows_total = len(rows)
    LabImport.objects.filter(pk=lab_import.pk).update(rows_total=len(rows))
    centre = lab_import.centre
    by_number = {p.hospital_number.strip().lower(): p for p in patients if p.centre_id == centre.pk}
    config = active_config(centre)
    checked: list[_Checked] = []
    for done, (line_num, row) in enumerate(rows, start=1):
        line, good = _check_row(row, line_num, columns, by_number, config)
        outcome.lines.append(line)
        if good is not None:
            checked.append(good)
        if done % PROGRESS_EVERY == 0:
            LabImport.objects.filter(pk=lab_import.pk).update(rows_done=done)
    lab_import.rows_done = len(rows)
    LabImport.objects.filter(pk=lab_import.pk).update(rows_done=len(rows))
    _against_recorded(checked, config, lab_import, outcome)
    rejected = _counts(outcome.lines)[REJECTED]
    if rejected:
        outcome.error = ngettext(
            "Nothing was imported: %(count)s line has an error (listed below), of %(total)s in the file. Correct "
            "the file and upload it again.",
            "Nothing was imported: %(count)s lines have errors (listed below), of %(total)s in the file. Correct "
            "the file and upload it again.",
            rejected,
        ) % {"count": rejected, "total": len(rows)}
    return outcome


def _against_recorded(checked: list[_Checked], config: ActiveConfig, lab_import: LabImport, outcome: _Outcome) -> None:
    """Each good line is a new result, a duplicate (earlier in the file, or already recorded with that value) or
    rejected (another value for the same sample)."""
    fields = {"source": LabSource.CSV, "lab_import": lab_import, "entered_by": lab_import.uploaded_by}
    classified = classify_against_recorded(checked, {lab_import.centre_id: config}, **fields)
    for good, (match, result) in zip(checked, classified, strict=True):
        line, patient, test, value = good.line, good.patient, good.test, good.value
        if match == Match.REPEATED:
            line.outcome = DUPLICATE
            line.message = _("The same result appears earlier in this file: imported once.")
        elif match == Match.CONTRADICTED:
            line.message = _("An earlier line of this file gives another value for the same sample.")
        elif match == Match.RECORDED:
            line.outcome = DUPLICATE
            line.message = already_recorded(value, config.labs.unit(test))
        elif match == Match.CONFLICT:
            line.message = sample_conflict(patient, test, good.collected_at, result.value, result.unit)
        else:
            line.outcome = ACCEPTED
            line.message = result_summary(patient, test, value, config.labs.unit(test), good.collected_at)
            outcome.results.append(result)


def _save(lab_import: LabImport, outcome: _Outcome, context: AuditContext) -> None:
    """The write phase, inside the caller's transaction: every result, the report, the audit rows and alerts."""
    created = LabResult.objects.bulk_create(outcome.results, batch_size=WRITE_BATCH)
    counts = _counts(outcome.lines)
    lab_import.status = LabImportStatus.DONE
    lab_import.accepted = counts[ACCEPTED]
    lab_import.duplicates = counts[DUPLICATE]
    lab_import.rejected = 0
    lab_import.report = [line.as_dict() for line in outcome.lines]
    lab_import.data = b""
    lab_import.finished_at = timezone.now()
    lab_import.save()
    record_event(
        context=context,
        action="labs.import",
        detail={
            "import": str(lab_import.uuid),
            "status": LabImportStatus.DONE,
            "accepted": lab_import.accepted,
            "duplicates": lab_import.duplicates,
            "rejected": 0,
        },
    )
    after_results_created(
        context=context,
        created=created,
        configs={lab_import.centre_id: active_config(lab_import.centre)},
        source=LabSource.CSV,
        detail={"import": str(lab_import.uuid)},
    )


def _check_row(row, line_num, columns, by_number, config: ActiveConfig) -> tuple[ImportLine, _Checked | None]:
    """The line's own checks (no query): its patient, test, unit, value and time."""

    def cell(name: str) -> str:
        index = columns[name]
        return row[index].strip() if index < len(row) else ""

    number, raw_test, raw_value = cell("hospital_number"), cell("test"), cell("value")
    line = ImportLine(line_num, REJECTED, "", number[:40], raw_test[:40], raw_value[:40])
    problems = []
    patient = by_number.get(number.lower()) if number else None
    if not number:
        problems.append(_("No hospital number."))
    elif patient is None:
        problems.append(_("No patient with hospital number “%(number)s” at this centre.") % {"number": number[:40]})
    test = lab_test_code(raw_test) if raw_test else None
    if not raw_test:
        problems.append(_("No test."))
    elif test is None:
        problems.append(
            _("Unknown test “%(test)s”; use one of %(tests)s.") % {"test": raw_test[:40], "tests": ", ".join(LAB_TESTS)}
        )
    value = None
    unit = cell("unit")
    if test is not None:
        if not unit:
            problems.append(
                _("No unit: give the unit of the result (%(unit)s expected).") % {"unit": config.labs.unit(test)}
            )
        else:
            try:
                value = checked_value(test, raw_value, unit, config.labs)
            except ValidationError as exc:
                problems.extend(message for messages in exc.message_dict.values() for message in messages)
    collected_at = None
    if patient is not None:
        try:
            collected_at = check_collected_at(patient, parse_time(cell("collected_at"), ZoneInfo(patient.timezone)))
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        line.message = " ".join(problems)
        return line, None
    return line, _Checked(line, patient, test, value, collected_at)
