from django.conf import settings
from django.db import models
from django.utils import timezone

# The audit table is append-only in the database itself: a trigger refuses every UPDATE and DELETE of its rows,
# whatever code (ours, the admin, a shell) tries it. Migration 0011 installs these; tests/conftest.py lifts the
# SQLite ones around the table flush of a transactional test only (PostgreSQL empties tables with TRUNCATE, which
# fires no row trigger). Deleting a user or a patient touches no audit row: the foreign keys below are
# DO_NOTHING without a database constraint, so the row keeps the id, the name and the patient's uuid.
AUDIT_TABLE = "recovery_auditevent"
APPEND_ONLY_MESSAGE = "audit events are append-only: they cannot be changed or deleted"
SQLITE_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_update BEFORE UPDATE ON {AUDIT_TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_delete BEFORE DELETE ON {AUDIT_TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
]
SQLITE_APPEND_ONLY_DROP = [
    f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_update",
    f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_delete",
]


class AuditEvent(models.Model):
    """Who read or changed which patient's data, when, and from where. Written only by services.audit, never
    changed or deleted (see above)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    actor_name = models.CharField(max_length=300, blank=True, help_text="The actor's full name at the time.")
    actor_role = models.CharField(max_length=16, blank=True, help_text="The actor's role at the time.")
    patient = models.ForeignKey(
        "recovery.Patient",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    patient_uuid = models.UUIDField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=64, help_text="Dotted code, e.g. patient.view or patient.update.")
    request_id = models.CharField(max_length=64, blank=True, help_text="Made by the server for each request.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient", "-at"], name="audit_patient_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action}"
