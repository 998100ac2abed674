"""The FHIR Bulk Data `$export` of a centre (issue 17; docs/fhir-bulk-export.md): queued by the kick-off request,
written by a Celery task in batches of patients, as NDJSON, one file per resource type.

`queue_bulk_export` stores the request (audited) and wakes the task after commit. `run_bulk_export` claims the
export under a lease and writes it batch by batch: for each batch of BULK_EXPORT_BATCH_SIZE patients (ordered by
id, after the cursor) every registered resource type's `search`, one NDJSON part per type, the cursor, the
progress and the audit of the patients read, all in one short transaction that only the lease holder can commit.
The status request sees the progress at once; a worker that dies loses at most its batch in hand, and the sweep
(`exports_to_resume`) hands the export to another worker once the lease has run out, which goes on from the
cursor. A worker stopped by the soft time limit hands the export on itself. Finished exports are deleted after
BULK_EXPORT_RETENTION_DAYS (`delete_expired_exports`).
"""

import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Centre
from recovery import access
from recovery.celery import app
from recovery.clinical.pseudonymise import pseudonymise
from recovery.models import BulkExport, BulkExportFile, BulkExportStatus, Patient
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import DateRange
from recovery.services.audit import AuditContext, record_event, record_reads

logger = logging.getLogger(__name__)
EXPORT_TASK = "recovery.tasks.run_bulk_export"
READ_ACTION = "fhir.bulk_export.read"
# A queued export whose wake-up was lost is started by the sweep after this long.
RESUME_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 3  # an export whose worker died this often is failed
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class PatientStillNamedError(Exception):
    """A pseudonymised line still holds a patient's id, name or hospital number: the export fails rather than
    write it."""


class RequesterMayNotError(Exception):
    """The person who asked for the export may no longer make it (their role changed): nothing more is written."""


class LeaseLostError(Exception):
    """Another worker holds the export now (this one was taken for dead), or it was deleted: stop, write nothing."""


def exportable_types() -> list[str]:
    """The resource types a bulk export can hold: every registered type that searches by patient."""
    return [name for name, kind in RESOURCE_TYPES.items() if kind.search is not None]


def _wake(export_id: int) -> None:
    try:
        app.send_task(EXPORT_TASK, args=[export_id])
    except Exception as exc:  # the broker is down: the sweep starts the export within a minute of its return
        logger.warning("Could not start bulk export %s: %s", export_id, exc)


@transaction.atomic
def queue_bulk_export(
    *,
    context: AuditContext,
    centre: Centre,
    types: Sequence[str],
    pseudonymise: bool,
    request_url: str = "",
) -> BulkExport:
    """Store an export of the centre's patients for the task, and wake the task after commit. `types` are
    registered resource type names (the caller refuses any other); empty means every exportable type."""
    types = list(types) or exportable_types()
    unknown = [name for name in types if name not in exportable_types()]
    if unknown:
        raise ValueError(f"Not exportable: {', '.join(unknown)}")
    export = BulkExport.objects.create(
        centre=centre,
        requested_by=context.actor,
        request_url=request_url,
        types=types,
        pseudonymised=pseudonymise,
    )
    record_event(
        context=context,
        action="fhir.bulk_export.queued",
        detail={
            "export": str(export.uuid),
            "centre": str(centre.uuid),
            "types": types,
            "pseudonymised": pseudonymise,
        },
    )
    transaction.on_commit(partial(_wake, export.pk))
    return export


def delete_bulk_export(*, context: AuditContext, export: BulkExport) -> None:
    """The client's DELETE: the export and its files are gone; a worker writing it stops at its next batch."""
    with transaction.atomic():
        record_event(context=context, action="fhir.bulk_export.deleted", detail={"export": str(export.uuid)})
        BulkExport.objects.filter(pk=export.pk).delete()


def _lease_ran_out(now: datetime) -> Q:
    return Q(status=BulkExportStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT))


def exports_to_resume(now: datetime | None = None) -> list[int]:
    """The sweep: exports whose task never started (a lost wake-up) or whose worker died (its lease ran out).

    An export whose worker died MAX_ATTEMPTS times is failed instead."""
    now = now or timezone.now()
    BulkExport.objects.filter(_lease_ran_out(now), attempts__gte=MAX_ATTEMPTS).update(
        status=BulkExportStatus.FAILED,
        lease=None,
        finished_at=now,
        error=_("The export was interrupted %(count)s times (the server stopped it). Start it again.")
        % {"count": MAX_ATTEMPTS},
    )
    return list(
        BulkExport.objects.filter(
            Q(status=BulkExportStatus.QUEUED, created_at__lt=now - RESUME_AFTER) | _lease_ran_out(now)
        ).values_list("pk", flat=True)
    )


def delete_expired_exports(now: datetime | None = None) -> int:
    """Exports older than BULK_EXPORT_RETENTION_DAYS, finished or not, with their files; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.BULK_EXPORT_RETENTION_DAYS)
    expired = BulkExport.objects.filter(created_at__lt=cutoff)
    count = expired.count()
    if count:
        BulkExportFile.objects.filter(export__in=expired).delete()
        expired.delete()
    return count


def _claim(export_id: int) -> uuid.UUID | None:
    """Take the export under a new lease: a queued one, or one whose worker died (counted as an attempt)."""
    now, lease = timezone.now(), uuid.uuid4()
    fresh = BulkExport.objects.filter(pk=export_id, status=BulkExportStatus.QUEUED).update(
        status=BulkExportStatus.RUNNING, lease=lease, heartbeat_at=now
    )
    if not fresh:
        taken = BulkExport.objects.filter(_lease_ran_out(now), pk=export_id, attempts__lt=MAX_ATTEMPTS).update(
            lease=lease, heartbeat_at=now, attempts=F("attempts") + 1
        )
        if not taken:
            return None
    BulkExport.objects.filter(pk=export_id, started_at__isnull=True).update(started_at=now)
    return lease


def _held(export: BulkExport, lease: uuid.UUID):
    return BulkExport.objects.filter(pk=export.pk, lease=lease, status=BulkExportStatus.RUNNING)


def export_key(export: BulkExport) -> bytes:
    """The export's own pseudonym key: from the site's secret and the export's id, so that pseudonyms do not
    link one export to another."""
    return hmac.new(settings.SECRET_KEY.encode(), b"fhir-bulk-export:" + export.uuid.bytes, hashlib.sha256).digest()


def run_bulk_export(export_id: int) -> BulkExport | None:
    """The task's work: claim the export (None when another worker holds it or it is finished), write it batch by
    batch from its cursor, and mark it done; a failure is recorded on the export in words."""
    lease = _claim(export_id)
    if lease is None:
        return None
    export = BulkExport.objects.select_related("centre", "requested_by").get(pk=export_id)
    context = AuditContext(actor=export.requested_by, extra={"process": "bulk export", "export": str(export.uuid)})
    try:
        _write(export, lease, context)
        with transaction.atomic():
            done = _held(export, lease).update(
                status=BulkExportStatus.DONE, lease=None, finished_at=timezone.now(), heartbeat_at=timezone.now()
            )
            if not done:
                raise LeaseLostError
            record_event(
                context=context,
                action="fhir.bulk_export.done",
                detail={"export": str(export.uuid), "patients": export.patients_done},
            )
    except LeaseLostError:
        return None
    except SoftTimeLimitExceeded:  # out of time: what is written stays, the next task goes on from the cursor
        if _held(export, lease).update(status=BulkExportStatus.QUEUED, lease=None):
            _wake(export.pk)
        return None
    except PatientStillNamedError as exc:
        logger.error("Bulk export %s: a pseudonymised %s still names a patient", export.uuid, exc)
        _fail(
            export,
            lease,
            context,
            _(
                "A pseudonymised %(type)s resource still held a patient's id, name or hospital number, so nothing "
                "more was written."
            )
            % {"type": exc},
        )
    except RequesterMayNotError:
        _fail(export, lease, context, _("The person who asked for this export may no longer make it."))
    except Exception:
        logger.exception("Bulk export %s stopped", export.uuid)
        _fail(export, lease, context, _("The export stopped because of an error on the server. Start it again."))
    export.refresh_from_db()
    return export


def _fail(export: BulkExport, lease: uuid.UUID, context: AuditContext, error: str) -> None:
    with transaction.atomic():
        if _held(export, lease).update(
            status=BulkExportStatus.FAILED, lease=None, error=error, finished_at=timezone.now()
        ):
            record_event(
                context=context, action="fhir.bulk_export.failed", detail={"export": str(export.uuid), "error": error}
            )


def _patients(export: BulkExport):
    """The centre's patients the requester may see (active ones: deactivated patients are out of every list)."""
    return access.visible_patients(export.requested_by).filter(centre=export.centre)


def _write(export: BulkExport, lease: uuid.UUID, context: AuditContext) -> None:
    if not access.may_bulk_export(export.requested_by, pseudonymised=export.pseudonymised):
        raise RequesterMayNotError
    patients = _patients(export)
    if export.batches_done == 0:
        export.patients_total = patients.count()
        if not _held(export, lease).update(patients_total=export.patients_total):
            raise LeaseLostError
    # Every resource, whatever its date: `_since` is refused at the kick-off (docs/fhir-bulk-export.md), and an
    # export stored with one before that (BulkExport.since) is written whole, never narrowed by clinical date.
    dates = DateRange()
    kinds = [RESOURCE_TYPES[name] for name in export.types if name in RESOURCE_TYPES]
    key = export_key(export) if export.pseudonymised else b""
    while True:
        batch = list(
            patients.filter(pk__gt=export.last_patient_id)
            .order_by("pk")
            .values_list("pk", "uuid", "first_name", "last_name", "hospital_number")[: settings.BULK_EXPORT_BATCH_SIZE]
        )
        if not batch:
            return
        ids = [row[0] for row in batch]
        named = _naming_pattern(batch) if key else None
        batch_patients = Patient.objects.filter(pk__in=ids)
        parts: list[BulkExportFile] = []
        for kind in kinds:
            resources = kind.search(batch_patients, dates)
            if resources:
                lines = _lines(resources, key, {str(row[1]) for row in batch}, named)
                parts.append(
                    BulkExportFile(
                        export=export,
                        resource_type=kind.name,
                        part=export.batches_done,
                        ndjson=lines,
                        count=len(resources),
                        patients=ids,
                    )
                )
        with transaction.atomic():
            moved = _held(export, lease).update(
                last_patient_id=ids[-1],
                batches_done=F("batches_done") + 1,
                patients_done=F("patients_done") + len(ids),
                heartbeat_at=timezone.now(),
            )
            if not moved:
                raise LeaseLostError
            BulkExportFile.objects.bulk_create(parts)
            record_reads(
                context=context,
                action=READ_ACTION,
                patients=[Patient(pk=row[0], uuid=row[1]) for row in batch],
            )
        export.last_patient_id = ids[-1]
        export.batches_done += 1
        export.patients_done += len(ids)


def _naming_pattern(batch: list[tuple]) -> re.Pattern:
    """What would name a patient of the batch in a pseudonymised line: each word of their names (as written,
    whole words) and their hospital number (any case, a whole token)."""
    names = {word for _pk, _id, first, last, _number in batch for word in re.findall(r"\w{2,}", f"{first} {last}")}
    numbers = {number.strip() for *_rest, number in batch if len(number.strip()) >= 2}
    alternatives = [re.escape(name) for name in sorted(names, key=len, reverse=True)]
    alternatives += [f"(?i:{re.escape(number)})" for number in sorted(numbers, key=len, reverse=True)]
    return re.compile(r"(?<![\w-])(?:" + ("|".join(alternatives) or r"(?!)") + r")(?![\w-])")


# Strings that are the app's codes, pseudonyms, links or a question's wording: not searched for names (a code
# "fever" and a family named Fever; a Coding's display is the name of the code).
_CODED = frozenset({"system", "code", "display", "url", "reference", "id", "linkId", "resourceType", "status"})
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def _free_strings(node, found: list[str]) -> list[str]:
    """The strings of a resource that are not codes, links or dates: where a name would show."""
    if isinstance(node, dict):
        for name, value in node.items():
            if isinstance(value, str) and (name in _CODED or (name == "text" and "linkId" in node)):
                continue  # a code, a link, or a question's wording (`code` itself may be a CodeableConcept)
            _free_strings(value, found)
    elif isinstance(node, list):
        for value in node:
            _free_strings(value, found)
    elif isinstance(node, str) and not _DATE.match(node):
        found.append(node)
    return found


def _lines(resources: list[dict], key: bytes, patient_ids: set[str], named: re.Pattern | None = None) -> str:
    """One JSON resource a line; pseudonymised when there is a key, and then refused whole if a line still
    holds the id of a patient of the batch, or (`named`) a name or hospital number of one in its free strings (a
    resource type whose free text the pseudonymiser does not know)."""
    lines = []
    for resource in resources:
        if key:
            resource = pseudonymise(resource, key)
        line = json.dumps(resource, separators=(",", ":"), ensure_ascii=False)
        if key and patient_ids.intersection(_UUID.findall(line)):
            raise PatientStillNamedError(resource.get("resourceType", ""))
        if named is not None and named.search("\n".join(_free_strings(resource, []))):
            raise PatientStillNamedError(resource.get("resourceType", ""))
        lines.append(line)
    return "\n".join(lines) + "\n"
