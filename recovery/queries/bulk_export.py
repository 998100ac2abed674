"""Reading FHIR bulk exports (issue 17): which export a user may see, its manifest's files and their parts."""

import uuid
from collections.abc import Iterator

from django.db.models import Sum
from django.http import Http404

from accounts.models import User
from recovery import access
from recovery.access import Action
from recovery.models import BulkExport, BulkExportFile


def get_bulk_export(user: User, export_id) -> BulkExport:
    """An export of one of the user's centres, for staff who list its patients (else 403); 404 for an export of
    another centre, or none: for them it does not exist."""
    access.require(user, Action.LIST_PATIENTS)
    try:
        return BulkExport.objects.select_related("centre").get(
            uuid=uuid.UUID(str(export_id)), centre_id__in=access.staff_centre_ids(user)
        )
    except (ValueError, BulkExport.DoesNotExist):
        raise Http404("No such export.") from None


def manifest_files(export: BulkExport) -> list[tuple[str, int]]:
    """Each exported type with its count of resources, in the order requested (types with none left out)."""
    counts = dict(
        BulkExportFile.objects.filter(export=export)
        .values("resource_type")
        .annotate(total=Sum("count"))
        .values_list("resource_type", "total")
    )
    return [(name, counts[name]) for name in export.types if counts.get(name)]


def file_chunks(export: BulkExport, resource_type: str) -> Iterator[str]:
    """A type's NDJSON file, part by part, read from the database one part at a time (a part is a batch)."""
    parts = (
        BulkExportFile.objects.filter(export=export, resource_type=resource_type)
        .order_by("part")
        .values_list("ndjson", flat=True)
    )
    yield from parts.iterator(chunk_size=1)


def file_patient_ids(export: BulkExport, resource_type: str) -> list[int]:
    """The patients of the batches whose data is in a type's file (for the download's audit)."""
    ids: set[int] = set()
    parts = BulkExportFile.objects.filter(export=export, resource_type=resource_type).values_list("patients", flat=True)
    for batch in parts.iterator(chunk_size=200):
        ids.update(batch)
    return sorted(ids)


def has_file(export: BulkExport, resource_type: str) -> bool:
    return BulkExportFile.objects.filter(export=export, resource_type=resource_type).exists()
