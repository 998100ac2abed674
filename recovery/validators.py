"""Field validators whose messages a person can act on."""

import re
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.utils import timezone

from recovery.clinical.edss import EDSS_MESSAGE, is_valid_edss

_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def normalise_phone(value: str) -> str:
    return _PHONE_SEPARATORS.sub("", value or "")


def validate_phone(value: str) -> None:
    if value and not _PHONE.match(normalise_phone(value)):
        raise ValidationError(
            "Enter the number in international format, starting with + and the country code, "
            "for example +46 70 123 45 67.",
            code="phone",
        )


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "%(value)s is not a time zone we know. Use a name such as Europe/Stockholm or America/New_York.",
            params={"value": value},
            code="timezone",
        ) from None


def validate_edss(value: Decimal) -> None:
    if value is not None and not is_valid_edss(Decimal(value)):
        raise ValidationError(EDSS_MESSAGE, code="edss")


def validate_not_future(value: date) -> None:
    if value and value > timezone.localdate():
        raise ValidationError("This date is in the future.", code="future")


def validate_plausible_birth_date(value: date) -> None:
    validate_not_future(value)
    if value and value.year < 1900:
        raise ValidationError("Check the year: a date of birth before 1900 is not plausible.", code="too_old")
