"""Lab results, transfusions, engraftment confirmations, vaccinations and prophylaxis courses (issue 6).

Counts are stored in the canonical unit of their test (api.md: 10^9/L, g/L, copies/mL, mIU/L); entry forms
and the CSV import convert or refuse other units before saving. A result is unique per patient, test and
collection time, so importing the same file twice adds nothing.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class LabTest(models.TextChoices):
    ANC = "anc", gettext_lazy("Neutrophils (ANC)")
    WBC = "wbc", gettext_lazy("White cells (WBC)")
    PLATELETS = "platelets", gettext_lazy("Platelets")
    HAEMOGLOBIN = "haemoglobin", gettext_lazy("Haemoglobin")
    LYMPHOCYTES = "lymphocytes", gettext_lazy("Lymphocytes")
    CD4 = "cd4", gettext_lazy("CD4+ T cells")
    CD8 = "cd8", gettext_lazy("CD8+ T cells")
    CD19 = "cd19", gettext_lazy("CD19+ B cells")
    NK = "nk", gettext_lazy("NK cells")
    IGG = "igg", gettext_lazy("IgG")
    EBV_PCR = "ebv_pcr", gettext_lazy("EBV DNA (PCR)")
    CMV_PCR = "cmv_pcr", gettext_lazy("CMV DNA (PCR)")
    TSH = "tsh", gettext_lazy("TSH")


class LabSource(models.TextChoices):
    FORM = "form", gettext_lazy("Entered in a form")
    CSV = "csv", gettext_lazy("CSV import")
    API = "api", gettext_lazy("API")
    FHIR = "fhir", gettext_lazy("FHIR (laboratory system)")


class LabImportStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Waiting to start")
    RUNNING = "running", gettext_lazy("Importing")
    DONE = "done", gettext_lazy("Imported")
    FAILED = "failed", gettext_lazy("Nothing imported")


class LabImport(models.Model):
    """One uploaded CSV file, imported by a background task, and what became of each of its lines.

    The file is kept (`data`) until the task has read it; `rows_total`/`rows_done` are the task's progress,
    written outside the import's own transaction so that the report page can show them."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey("accounts.Centre", on_delete=models.CASCADE, related_name="lab_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    status = models.CharField(max_length=8, choices=LabImportStatus.choices, default=LabImportStatus.QUEUED)
    data = models.BinaryField(default=b"", editable=False, help_text="The uploaded file, emptied once it is read.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0, help_text="Lines checked so far.")
    error = models.TextField(blank=True, help_text="Why nothing was imported, in words.")
    language = models.CharField(
        max_length=8, blank=True, default="", help_text="The uploader's language: the report's (empty: English)."
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a task has started the import.")
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, help_text="Line by line: line number, outcome, message.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename}: {self.accepted} accepted, {self.rejected} rejected"

    @property
    def finished(self) -> bool:
        return self.status in (LabImportStatus.DONE, LabImportStatus.FAILED)


class LabResult(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="lab_results")
    test = models.CharField(max_length=16, choices=LabTest.choices)
    value = models.DecimalField(max_digits=16, decimal_places=4)
    unit = models.CharField(max_length=16, help_text="The canonical unit of the test.")
    collected_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=LabSource.choices, default=LabSource.FORM)
    lab_import = models.ForeignKey(LabImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="results")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["collected_at", "test", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "test", "collected_at"], name="lab_result_unique_sample")
        ]
        indexes = [models.Index(fields=["patient", "test", "collected_at"], name="lab_patient_test_idx")]

    def __str__(self) -> str:
        return f"{self.test} {self.value} {self.unit} at {self.collected_at:%Y-%m-%d %H:%M}"


class TransfusionProduct(models.TextChoices):
    PLATELETS = "platelets", gettext_lazy("Platelets")
    RED_CELLS = "red_cells", gettext_lazy("Red cells")
    # IVIG: a live vaccine is refused for a while after it (VaccinationConfig.live_after_immunoglobulin_months)
    IMMUNOGLOBULIN = "immunoglobulin", gettext_lazy("Immunoglobulin (IVIG)")


class Transfusion(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="transfusions")
    product = models.CharField(max_length=16, choices=TransfusionProduct.choices)
    given_at = models.DateTimeField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["given_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "product", "given_at"], name="transfusion_unique_time")
        ]
        indexes = [models.Index(fields=["patient", "given_at"], name="transfusion_patient_idx")]

    def __str__(self) -> str:
        return f"{self.get_product_display()} at {self.given_at:%Y-%m-%d %H:%M}"


class EngraftmentKind(models.TextChoices):
    NEUTROPHIL = "neutrophil", gettext_lazy("Neutrophil engraftment")
    PLATELET = "platelet", gettext_lazy("Platelet engraftment")


class EngraftmentConfirmation(models.Model):
    """A clinician's confirmation of an engraftment date: the computed proposal and the date confirmed."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="engraftment_confirmations")
    kind = models.CharField(max_length=12, choices=EngraftmentKind.choices)
    proposed_date = models.DateField(null=True, blank=True, help_text="Computed from the counts, if any.")
    confirmed_date = models.DateField()
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    config_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} confirmed {self.confirmed_date}"


class VaccinationDose(models.Model):
    """A dose given (the plan itself is computed from Day 0 by recovery.clinical.vaccination)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="vaccinations")
    vaccine = models.CharField(max_length=32)
    dose = models.PositiveSmallIntegerField()
    given_date = models.DateField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    immunosuppressed = models.BooleanField(
        null=True,
        blank=True,
        help_text="The answer when the dose was recorded: on immunosuppressive treatment then? "
        "Empty when not answered (recorded before the question was asked, or a non-live vaccine).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["given_date", "vaccine", "dose", "id"]
        constraints = [models.UniqueConstraint(fields=["patient", "vaccine", "dose"], name="vaccination_unique_dose")]

    def __str__(self) -> str:
        return f"{self.vaccine} dose {self.dose} on {self.given_date}"


class ProphylaxisStop(models.Model):
    """A clinician's record that a prophylactic medication was stopped (the plan itself is computed)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="prophylaxis_stops")
    medication = models.CharField(max_length=32)
    stopped_on = models.DateField()
    stopped_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["stopped_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "medication"], name="prophylaxis_stop_unique_medication")
        ]

    def __str__(self) -> str:
        return f"{self.medication} stopped {self.stopped_on}"
