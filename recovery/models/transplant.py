import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy, pgettext_lazy

from recovery.clinical.timeline import Anchor, EventKind, EventStatus


class ProtocolTemplate(models.Model):
    """A centre protocol (regimen) whose events generate each patient's timeline. Edited in the admin."""

    code = models.SlugField(max_length=32, unique=True, help_text="The regimen code used by the API, e.g. cy_atg.")
    name = models.CharField(max_length=100, help_text="e.g. Cy/ATG")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProtocolEvent(models.Model):
    """One event of a protocol: a kind and a title, a number of days from an anchor date of the episode."""

    template = models.ForeignKey(ProtocolTemplate, on_delete=models.CASCADE, related_name="events")
    key = models.SlugField(max_length=64, help_text="Stable within the protocol; links generated events to this row.")
    anchor = models.CharField(max_length=32, choices=[(a.value, a.value.replace("_", " ")) for a in Anchor])
    offset_days = models.IntegerField(help_text="Days from the anchor date; negative is before it.")
    kind = models.CharField(max_length=32, choices=[(k.value, k.value.replace("_", " ")) for k in EventKind])
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["template", "anchor", "offset_days", "key"]
        constraints = [models.UniqueConstraint(fields=["template", "key"], name="protocol_event_unique_key")]

    def __str__(self) -> str:
        return f"{self.title} ({self.anchor} {self.offset_days:+d})"


class TransplantEpisode(models.Model):
    """A patient's transplant: the dates that anchor their timeline. A future date is a plan."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.OneToOneField("recovery.Patient", on_delete=models.CASCADE, related_name="episode")
    protocol = models.ForeignKey(
        ProtocolTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="episodes"
    )
    mobilisation_date = models.DateField(
        null=True, blank=True, help_text="Cyclophosphamide mobilisation dose (M-day 1)."
    )
    gcsf_start_date = models.DateField("G-CSF start date", null=True, blank=True)
    apheresis_date = models.DateField("first apheresis date", null=True, blank=True)
    cd34_dose = models.DecimalField(
        "CD34+ dose (x 10^6/kg)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Total collected, in millions of CD34+ cells per kg.",
    )
    cryostorage_date = models.DateField(null=True, blank=True)
    admission_date = models.DateField(null=True, blank=True)
    conditioning_start_date = models.DateField(null=True, blank=True)
    reinfusion_date = models.DateField("reinfusion date (Day 0)", null=True, blank=True)
    neutrophil_engraftment_date = models.DateField(null=True, blank=True)
    platelet_engraftment_date = models.DateField(null=True, blank=True)
    discharge_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["reinfusion_date"], name="episode_day0_idx"),
            # the dashboard's high-risk list reads only patients not engrafted by today (queries/dashboard.py)
            models.Index(fields=["neutrophil_engraftment_date"], name="episode_engraftment_idx"),
        ]

    def __str__(self) -> str:
        return f"Transplant of {self.patient}"

    @property
    def regimen(self) -> str | None:
        return self.protocol.code if self.protocol_id else None


class TransplantDateChange(models.Model):
    """One change of a transplant's dates: the values before and after, who made it and when.

    Kept so that a change made by mistake (a blank form, a PATCH with nulls) can be seen and undone: the page
    offers to restore the `before` values of any row. Values are stored as text (ISO dates, the regimen code
    and id, the CD34+ dose as a decimal string) so that the row reads the same whatever changes later.
    """

    class Kind(models.TextChoices):
        CREATE = "create", pgettext_lazy("date change", "Created")
        UPDATE = "update", pgettext_lazy("date change", "Changed")
        RESTORE = "restore", pgettext_lazy("date change", "Restored")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(TransplantEpisode, on_delete=models.CASCADE, related_name="date_changes")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    before = models.JSONField(help_text="The episode's fields before the change.")
    after = models.JSONField(help_text="The episode's fields after the change.")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_by_username = models.CharField(max_length=150, help_text="Kept if the login is removed.")
    changed_at = models.DateTimeField(auto_now_add=True)
    restored_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="For a restore."
    )
    timeline = models.JSONField(default=dict, blank=True, help_text="Events created, moved and removed.")

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.changed_by_username} at {self.changed_at:%Y-%m-%d %H:%M}"


class ApheresisSession(models.Model):
    episode = models.ForeignKey(TransplantEpisode, on_delete=models.CASCADE, related_name="apheresis_sessions")
    collected_on = models.DateField()
    cd34_per_kg = models.DecimalField("CD34+ yield (x 10^6/kg)", max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["collected_on", "id"]

    def __str__(self) -> str:
        return f"Apheresis on {self.collected_on}: {self.cd34_per_kg} x 10^6/kg"


class TimelineEvent(models.Model):
    """One dated event on a patient's timeline, generated from the protocol or added by hand."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(TransplantEpisode, on_delete=models.CASCADE, related_name="events")
    template_key = models.SlugField(max_length=64, null=True, blank=True)
    kind = models.CharField(max_length=32, choices=[(k.value, k.value.replace("_", " ")) for k in EventKind])
    title = models.CharField(max_length=200)
    planned_date = models.DateField()
    actual_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=[(s.value, s.value) for s in EventStatus], default=EventStatus.PLANNED
    )
    manually_changed = models.BooleanField(
        default=False, help_text="Moved, completed or cancelled by hand: regeneration leaves it alone."
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["planned_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "template_key"],
                condition=models.Q(template_key__isnull=False),
                name="timeline_event_unique_template_key",
            )
        ]
        indexes = [
            models.Index(fields=["episode", "planned_date"], name="event_episode_date_idx"),
            models.Index(fields=["status", "planned_date"], name="event_status_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} on {self.planned_date}"


class EligibilityDecision(models.TextChoices):
    ELIGIBLE = "eligible", gettext_lazy("Eligible")
    NOT_ELIGIBLE = "not_eligible", gettext_lazy("Not eligible")
    DEFERRED = "deferred", gettext_lazy("Deferred")


class EligibilityReview(models.Model):
    """The advisory checklist as it stood when the team decided, with the decision and who made it."""

    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="eligibility_reviews")
    decided_on = models.DateField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    relapsing_with_breakthrough = models.BooleanField(
        null=True, help_text="Relapsing MS with new lesions or relapses despite high-efficacy treatment."
    )
    edss = models.DecimalField("EDSS at review", max_digits=3, decimal_places=1, null=True, blank=True)
    criteria = models.JSONField(default=list, help_text="The checklist as computed at the review.")
    config_version = models.PositiveIntegerField(default=0)
    decision = models.CharField(max_length=16, choices=EligibilityDecision.choices)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on {self.decided_on}"


class CentreConfiguration(models.Model):
    """A version of a centre's clinical configuration: overrides of the defaults in recovery.clinical.config.

    Versions are never edited: a change is a new row, so anything computed can name the version it used.
    """

    centre = models.ForeignKey("accounts.Centre", on_delete=models.CASCADE, related_name="configurations")
    version = models.PositiveIntegerField()
    values = models.JSONField(
        default=dict, blank=True, help_text='Overrides by block, e.g. {"phase": {"delayed_engraftment_day": 21}}.'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["centre", "-version"]
        constraints = [models.UniqueConstraint(fields=["centre", "version"], name="centre_config_unique_version")]

    def __str__(self) -> str:
        return f"{self.centre} configuration v{self.version}"
