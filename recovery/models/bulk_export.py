"""A FHIR Bulk Data `$export` of a centre (issue 17): the request, its progress and its NDJSON output.

The database is the source of truth: a worker writes each batch of patients (its NDJSON lines, the cursor and the
progress) in one transaction, under a lease; a worker that dies leaves the row `running` with a lease that runs
out, and the sweep hands it to another worker, which goes on from the last batch written.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class BulkExportStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Waiting to start")
    RUNNING = "running", gettext_lazy("Exporting")
    DONE = "done", gettext_lazy("Exported")
    FAILED = "failed", gettext_lazy("Export failed")


class BulkExport(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey("accounts.Centre", on_delete=models.CASCADE, related_name="bulk_exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    request_url = models.TextField(help_text="The kick-off request, as the manifest's `request` repeats it.")
    status = models.CharField(max_length=8, choices=BulkExportStatus.choices, default=BulkExportStatus.QUEUED)
    types = models.JSONField(default=list, help_text="The resource types exported, in order.")
    since = models.DateTimeField(null=True, blank=True, help_text="`_since`: only resources from then on.")
    pseudonymised = models.BooleanField(default=False)
    patients_total = models.PositiveIntegerField(default=0)
    patients_done = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    last_patient_id = models.BigIntegerField(default=0, help_text="The cursor: patients up to this id are written.")
    lease = models.UUIDField(null=True, blank=True, help_text="The worker that holds the export now.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="When that worker last wrote a batch.")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times the export was taken up again after its worker stopped mid-way."
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="bulk_export_status_idx")]

    def __str__(self) -> str:
        return f"$export {self.uuid} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (BulkExportStatus.DONE, BulkExportStatus.FAILED)


class BulkExportFile(models.Model):
    """One batch's NDJSON lines of one resource type; a type's file is its parts in order."""

    export = models.ForeignKey(BulkExport, on_delete=models.CASCADE, related_name="files")
    resource_type = models.CharField(max_length=64)
    part = models.PositiveIntegerField(help_text="The batch that wrote it.")
    ndjson = models.TextField()
    count = models.PositiveIntegerField()
    patients = models.JSONField(default=list, help_text="The batch's patients (ids): whose data a download shows.")

    class Meta:
        ordering = ["export", "resource_type", "part"]
        constraints = [
            models.UniqueConstraint(fields=["export", "resource_type", "part"], name="bulk_export_file_part_unique")
        ]

    def __str__(self) -> str:
        return f"{self.resource_type} part {self.part} ({self.count})"
