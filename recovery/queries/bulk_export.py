"""Reading FHIR bulk exports (issue 17): a manifest's files and their parts (who may see which export is
`recovery.access.get_bulk_export`)."""

from collections.abc import Iterator

from django.db.models import Sum

from recovery.models import BulkExport, BulkExportFile


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
