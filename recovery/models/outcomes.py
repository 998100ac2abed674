import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy

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

    RELAPSE = "relapse", gettext_lazy("Relapse")
    PSEUDO_RELAPSE = "pseudo_relapse", gettext_lazy("Pseudo-relapse")


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


class PatientOutcomeSummary(models.Model):
    """A transplanted patient's outcome as the cohort dashboard, its CSV and the API use it, stored so that a
    cohort view reads rows instead of recomputing every patient (issue 15).

    Written only by `recovery.services.outcome_summaries`, from the same rules as a live computation
    (`recovery.queries.cohort.analysis_rows`), after a change of the patient's records (the mark
    `Patient.outcomes_stale_since`) and once a day for everyone. `as_of` is the date it was computed for;
    `config_version` the centre's configuration version it used (another version: it is computed again).
    """

    patient = models.OneToOneField("recovery.Patient", on_delete=models.CASCADE, related_name="outcome_summary")
    day0 = models.DateField()
    as_of = models.DateField(help_text="The date the outcome was computed for (records after it are not used).")
    config_version = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    neda3 = models.BooleanField(null=True, help_text="NEDA-3 held as of `as_of`; empty before Day 0.")
    neda3_lost_on = models.DateField(null=True, blank=True)
    progression_date = models.DateField(null=True, blank=True, help_text="Confirmed disability progression.")
    first_relapse = models.DateField(null=True, blank=True)
    mri_activity_date = models.DateField(null=True, blank=True, help_text="The first new MRI activity.")
    follow_up_end = models.DateField(null=True, blank=True, help_text="The last outcome record's date.")
    follow_up_months = models.FloatField()
    neda3_months = models.FloatField(help_text="To the loss of NEDA-3, else to the follow-up end.")
    progression_months = models.FloatField()
    relapse_months = models.FloatField()
    baseline_edss = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    last_edss = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    edss_category = models.CharField(max_length=8, blank=True)
    fn_status = models.CharField(max_length=8, help_text="Febrile neutropenia: yes, no, pending or no_anc.")

    class Meta:
        verbose_name = "patient outcome summary"
        verbose_name_plural = "patient outcome summaries"

    def __str__(self) -> str:
        return f"Outcome summary of patient {self.patient_id} as of {self.as_of}"
