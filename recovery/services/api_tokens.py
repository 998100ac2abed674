"""API tokens: made by their owner, named, expiring, revocable; each creation and revocation is audited.

The key is returned once, by `issue_token`; only its SHA-256 hash is stored (see accounts.models.ApiToken).
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User
from recovery.services.audit import AuditContext, record_event

CREATED = "account.token.created"
REVOKED = "account.token.revoked"


def _detail(token: ApiToken, **extra) -> dict:
    return {
        "token": str(token.uuid),
        "owner": token.owner.get_username(),
        "name": token.name,
        "prefix": token.prefix,
        **extra,
    }


def issue_token(*, context: AuditContext, owner: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `owner` lasting `days` (API_TOKEN_DAYS by default); returns the row and its key."""
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValueError(f"A token lasts 1 to {settings.API_TOKEN_MAX_DAYS} days, not {days}.")
    with transaction.atomic():
        token, key = ApiToken.build(owner=owner, name=name, expires_at=timezone.now() + timedelta(days=days))
        token.save()
        record_event(
            context=context, action=CREATED, detail=_detail(token, expires_at=token.expires_at.isoformat(), days=days)
        )
    return token, key


def revoke_token(*, context: AuditContext, token: ApiToken, reason: str) -> bool:
    """Revoke one token; False when it was revoked already (nothing is written then)."""
    with transaction.atomic():
        now = timezone.now()
        if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
            return False
        token.revoked_at = now
        record_event(context=context, action=REVOKED, detail=_detail(token, reason=reason))
    return True


def revoke_all(*, context: AuditContext, owner: User, reason: str) -> int:
    """Revoke every token of `owner` that is not revoked yet (expired ones too: nothing may revive them)."""
    with transaction.atomic():
        tokens = list(ApiToken.objects.select_for_update().filter(owner=owner, revoked_at__isnull=True))
        now = timezone.now()
        ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).update(revoked_at=now)
        for token in tokens:
            token.revoked_at = now
            record_event(context=context, action=REVOKED, detail=_detail(token, reason=reason))
    return len(tokens)
