from django.db import models


class AnalyticsSnapshot(models.Model):
    """The figures of a page that aggregates over many patients (the cohort dashboard), computed once and read by
    every view until they expire, so that two people opening it do not each hold a web worker for seconds.

    One row per `key`: the page, the centres whose patients it counts, the filters and those centres'
    configuration versions (recovery.queries.analytics.snapshot_key), so a new configuration version is a new
    row. Written only by recovery.services.analytics: a view that finds the figures older than
    `ANALYTICS_MAX_AGE_SECONDS`, or marked stale (`stale_since`, set when the centres' stored outcomes are
    refreshed), shows them with their time and claims the refresh (`refreshing_until`, a conditional UPDATE, so
    one refresh per key at a time) for a Celery task on the `analytics` queue. `payload` is empty until the
    first computation; it holds aggregates only, never a patient's identity.
    """

    key = models.CharField(max_length=64, unique=True)
    page = models.CharField(max_length=32)
    centres = models.ManyToManyField("accounts.Centre", related_name="+")
    params = models.JSONField(default=dict, help_text="The filters and configuration versions the key stands for.")
    payload = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateField(null=True, blank=True, help_text="The date the figures were computed for.")
    compute_seconds = models.FloatField(null=True, blank=True)
    stale_since = models.DateTimeField(null=True, blank=True)
    refreshing_until = models.DateTimeField(null=True, blank=True, help_text="A refresh is claimed until then.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["page", "computed_at"], name="analytics_page_idx")]

    def __str__(self) -> str:
        return f"{self.page} {self.key[:12]}"
