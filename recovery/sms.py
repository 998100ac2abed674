"""Text-message backends, chosen by `settings.SMS_BACKEND` (like Django's email backends).

Every message carries a `reference` (the notification's UUID): the HTTP backend sends it as the
`Idempotency-Key` header, so a provider that honours it delivers a message once even if a worker dies
between the provider's answer and the database's record of it.
"""

import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The message was not accepted; the text says why (kept on the notification row)."""


class BaseBackend:
    def send(self, *, to: str, text: str, reference: str) -> None:
        raise NotImplementedError


class DisabledBackend(BaseBackend):
    """A service without text messages (`SMS_BACKEND=disabled`): the channel is unconfigured, and the dispatcher
    records a message on it as failed before it gets here; sending anyway is refused, never pretended."""

    def send(self, *, to: str, text: str, reference: str) -> None:
        raise SmsError("Text messages are switched off on this service (SMS_BACKEND=disabled).")


class ConsoleBackend(BaseBackend):
    """Development: logs the message."""

    def send(self, *, to: str, text: str, reference: str) -> None:
        logger.info("SMS to %s [%s]: %s", to, reference, text)


class FileBackend(BaseBackend):
    """Development and tests: appends one JSON line per message to `settings.SMS_FILE_PATH`."""

    def send(self, *, to: str, text: str, reference: str) -> None:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": to, "text": text, "reference": reference, "at": datetime.now(UTC).isoformat()})
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class HttpBackend(BaseBackend):
    """A provider's JSON API: POST {"from", "to", "text", "reference"} with a bearer token; 2xx is accepted."""

    def send(self, *, to: str, text: str, reference: str) -> None:
        if not settings.SMS_HTTP_URL:
            raise SmsError("SMS_HTTP_URL is not set.")
        body = json.dumps({"from": settings.SMS_HTTP_SENDER, "to": to, "text": text, "reference": reference})
        request = urllib.request.Request(  # noqa: S310 (the URL is the operator's setting)
            settings.SMS_HTTP_URL,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
                "Idempotency-Key": reference,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsError(f"The SMS provider refused the message: HTTP {exc.code}.") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsError(f"The SMS provider could not be reached: {exc}.") from exc
        if not 200 <= status < 300:
            raise SmsError(f"The SMS provider refused the message: HTTP {status}.")


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def sms_enabled() -> bool:
    """False when the service has no text messages (`SMS_BACKEND=disabled`)."""
    backend = import_string(settings.SMS_BACKEND)
    return not (isinstance(backend, type) and issubclass(backend, DisabledBackend))
