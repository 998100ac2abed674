"""Kurtzke Expanded Disability Status Scale (domain.md section 4.1 and section 8 item 18)."""

from decimal import Decimal

EDSS_MIN = Decimal("0")
EDSS_FIRST_STEP = Decimal("1.0")
EDSS_MAX = Decimal("10.0")
EDSS_STEP = Decimal("0.5")


def is_valid_edss(score: Decimal) -> bool:
    """True for 0, or 1.0 to 10.0 in steps of 0.5. 0.5 is not a defined EDSS step."""
    if score == EDSS_MIN:
        return True
    return EDSS_FIRST_STEP <= score <= EDSS_MAX and (score % EDSS_STEP) == 0


EDSS_MESSAGE = "An EDSS score is 0, or from 1.0 to 10.0 in steps of 0.5 (for example 3.5 or 4.0)."
