"""What a patient is told about a report, with the unit's 24-hour number filled in. Reads only."""

from accounts.models import Centre
from recovery.clinical.triage import PHONE_PLACEHOLDER, Severity, advice

NO_UNIT_PHONE = "your transplant unit's 24-hour number (or your emergency number)"


def advice_text(level: Severity | str, pseudo_relapse: bool, centre: Centre) -> str:
    """The rule's advice for a report, with the centre's 24-hour number (or words to use when it has none)."""
    phone = (centre.phone_24h or "").strip() or NO_UNIT_PHONE
    return advice(Severity(level), pseudo_relapse).replace(PHONE_PLACEHOLDER, phone)
