import hashlib
import secrets
import uuid
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Care coordinator")
    CLINICIAN = "clinician", _("Clinician")
    PATIENT = "patient", _("Patient")


STAFF_ROLES = frozenset({Role.COORDINATOR, Role.CLINICIAN})


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class Centre(models.Model):
    """A transplant centre. Staff belong to one or more; every patient belongs to exactly one."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    timezone = models.CharField(max_length=64, default="Europe/Stockholm", choices=timezone_choices)
    phone_24h = models.CharField(
        "24-hour phone number",
        max_length=32,
        blank=True,
        help_text="The number patients call day and night, e.g. with a fever.",
    )
    on_call_clinician = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Gets urgent alerts nobody has acknowledged within the hour (all clinicians if empty).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A login. Staff roles see their centres' patients; a patient login is linked to one record."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(
        max_length=16,
        choices=Role.choices,
        blank=True,
        help_text="Empty only for administrators, who configure the system in the admin site.",
    )
    centres = models.ManyToManyField(Centre, through="Membership", related_name="staff", blank=True)
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text="The language of the pages; empty: the browser's. A patient's comes from their record instead.",
    )

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Membership(models.Model):
    """A member of staff working at a centre."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "centre"], name="membership_unique_user_centre")]

    def __str__(self) -> str:
        return f"{self.user} at {self.centre}"


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now):
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class ApiToken(models.Model):
    """A named, expiring API token. Only a SHA-256 hash of the secret is stored; the secret is shown once.

    A key reads `rt_<secret>`; the first 8 characters of the key (the prefix) find the row, and the hash of the
    whole key is compared in constant time.
    """

    KEY_PREFIX = "rt_"
    PREFIX_LENGTH = 8

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField("SHA-256 of the key", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    @classmethod
    def build(cls, *, owner: User, name: str, expires_at) -> tuple["ApiToken", str]:
        """A new (unsaved) token and its key; the key exists only in the caller's hands from here on."""
        key = cls.KEY_PREFIX + secrets.token_urlsafe(32)
        token = cls(
            owner=owner, name=name, prefix=key[: cls.PREFIX_LENGTH], key_hash=cls.hash_key(key), expires_at=expires_at
        )
        return token, key

    def status(self, now) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"
