"""`Authorization: Token <key>` for the API, checked against the hashed, expiring, revocable ApiToken rows."""

import hmac
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from .models import ApiToken

INVALID = "This API token is not valid. Create a new one on your API tokens page, or ask for one at the token endpoint."
MALFORMED = "Send the token as 'Authorization: Token <key>', with nothing else in the header."


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(MALFORMED)
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(INVALID) from None
        return self.authenticate_key(key)

    def authenticate_key(self, key: str):
        token = self._find(key)
        if token is None:
            raise AuthenticationFailed(INVALID)
        now = timezone.now()
        if token.revoked_at is not None:
            raise AuthenticationFailed(
                "This API token was revoked (by its owner, or because the password changed). Create a new one."
            )
        if token.expires_at <= now:
            raise AuthenticationFailed(
                f"This API token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC. Create a new one."
            )
        if not token.owner.is_active:
            raise AuthenticationFailed("The account this API token belongs to is disabled.")
        self._touch(token, now)
        return token.owner, token

    def authenticate_header(self, request) -> str:
        return self.keyword

    @staticmethod
    def _find(key: str) -> ApiToken | None:
        if not key.startswith(ApiToken.KEY_PREFIX) or len(key) <= ApiToken.PREFIX_LENGTH:
            return None
        digest = ApiToken.hash_key(key)
        candidates = ApiToken.objects.select_related("owner").filter(prefix=key[: ApiToken.PREFIX_LENGTH])
        for token in candidates:
            if hmac.compare_digest(token.key_hash, digest):
                return token
        return None

    @staticmethod
    def _touch(token: ApiToken, now) -> None:
        """Record the use at most once per API_TOKEN_LAST_USED_INTERVAL_SECONDS: not a write per request."""
        since = now - timedelta(seconds=settings.API_TOKEN_LAST_USED_INTERVAL_SECONDS)
        if token.last_used_at is not None and token.last_used_at > since:
            return
        ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=since), pk=token.pk).update(
            last_used_at=now
        )
        token.last_used_at = now


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI description of the header: the same `tokenAuth` scheme as DRF's own token class had."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=self.target.keyword)
