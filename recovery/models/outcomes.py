import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from recovery.validators import validate_edss

MS_DOMAINS = [
    ("visual", "Visual"),
    ("pyramidal", "Pyramidal (weakness, stiffness)"),
    ("cerebellar", "Cerebellar (balance, coordination)"),
    ("brainstem", "Brainstem (double vision, speech, swallowing)"),
    ("sensory", "Sensory (numbness, tingling)"),
    ("bowel_bladder", "Bowel and bladder"),
    ("cerebral", "Cerebral (cognition, mood)"),
]


class EDSSAssessment(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="edss_assessments")
    assessed_on = models.DateField()
    score = models.DecimalField("EDSS", max_digits=3, decimal_places=1, validators=[validate_edss])
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assessed_on", "id"]
        indexes = [models.Index(fields=["patient", "assessed_on"], name="edss_patient_date_idx")]

    def __str__(self) -> str:
        return f"EDSS {self.score} on {self.assessed_on}"


class RelapseClassification(models.TextChoices):
    """A clinician's call on a recorded relapse (blank: not classified yet, and counted as a relapse)."""

    RELAPSE = "relapse", "Relapse"
    PSEUDO_RELAPSE = "pseudo_relapse", "Pseudo-relapse"


class Relapse(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="relapses")
    onset_date = models.DateField()
    domains = models.JSONField(default=list, blank=True, help_text="Functional systems affected.")
    description = models.TextField(blank=True)
    treated_with_steroids = models.BooleanField(default=False)
    possible_pseudo_relapse = models.BooleanField(
        default=False, help_text="A fever or infection was recorded within the configured window of the onset."
    )
    classification = models.CharField(
        max_length=16,
        choices=RelapseClassification.choices,
        blank=True,
        default="",
        help_text="The clinician's call: a relapse or a pseudo-relapse. Blank: not classified, counted as a relapse.",
    )
    classified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    classified_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["onset_date", "id"]
        indexes = [models.Index(fields=["patient", "onset_date"], name="relapse_patient_date_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(classification__in=["", "relapse", "pseudo_relapse"]),
                name="relapse_classification_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Relapse on {self.onset_date}"

    @property
    def is_pseudo_relapse(self) -> bool:
        """Classified by a clinician as a pseudo-relapse (so it ends neither NEDA-3 nor relapse-free time)."""
        return self.classification == RelapseClassification.PSEUDO_RELAPSE


class MRIScan(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="mri_scans")
    scan_date = models.DateField()
    new_t2_lesions = models.PositiveSmallIntegerField(
        "new or enlarging T2 lesions", default=0, validators=[MaxValueValidator(500)]
    )
    gd_enhancing_lesions = models.PositiveSmallIntegerField(
        "gadolinium-enhancing lesions", default=0, validators=[MinValueValidator(0), MaxValueValidator(500)]
    )
    is_rebaseline = models.BooleanField("re-baseline scan", default=False)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scan_date", "id"]
        indexes = [models.Index(fields=["patient", "scan_date"], name="mri_patient_date_idx")]

    def __str__(self) -> str:
        return f"MRI on {self.scan_date}"
