"""An alert's reason in the reader's language.

The rules store a reason as a msgid plus values (`Alert.reason_code`, `Alert.reason_values`: one stored message
per line, clinical/words.py) beside its English rendering (`Alert.reason`, the audit's and the API's words). It is
translated here when shown, with the reader's decimal mark ("38,4 °C" in Swedish). An alert stored before the
codes existed (no `reason_code`) shows its English as it was stored.
"""

from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext

from recovery.clinical.words import render_value
from recovery.models import Alert


def local_number(text: str, grouped: bool = False) -> str:
    """A decimal number written by a rule ("38.4") with the active language's decimal mark and, when `grouped`,
    its thousands separator; as many decimals as the rule wrote."""
    value = Decimal(text)
    decimals = max(0, -value.as_tuple().exponent) if "." in text else 0
    return number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=grouped)


def reason_lines(alert: Alert) -> list[str]:
    """The reason line by line (the first: what opened the alert; then each addition), in the active language."""
    if not alert.reason_code or not alert.reason_values:
        return [line.strip() for line in (alert.reason or "").splitlines() if line.strip()]
    return [render_value(line, gettext, local_number) for line in alert.reason_values]


def alert_reason(alert: Alert) -> str:
    """The whole reason, a line per addition, in the active language."""
    return "\n".join(reason_lines(alert))


def first_reason(alert: Alert) -> str:
    """What opened the alert, in the active language."""
    return next(iter(reason_lines(alert)), "")
