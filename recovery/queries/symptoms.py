"""What a patient is told about a report, with the unit's 24-hour number filled in. Reads only."""

from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy, pgettext

from accounts.models import Centre
from recovery.clinical.triage import DAY_PLACEHOLDER, PHONE_PLACEHOLDER, Severity, advice
from recovery.clinical.working_hours import ContactPromise, contact_promise
from recovery.queries.configuration import ActiveConfig, active_config

NO_UNIT_PHONE = gettext_lazy("your transplant unit's 24-hour number (or your emergency number)")


def contact_promise_for(centre: Centre, config: ActiveConfig, at: datetime | None = None) -> ContactPromise:
    """When the centre's team can contact a patient who reports at `at` (default now), by its working hours."""
    return contact_promise(at or timezone.now(), centre.timezone, config.alerts)


def contact_day_text(promise: ContactPromise) -> str:
    """The day of `promise` in words for the patient ("Monday 23 November"), in the active language."""
    if promise.day is None:
        # Fills "... contact you by {day}": "by the next working day" ("senast nästa arbetsdag").
        return pgettext("contact you by ...", "the next working day")
    return date_format(promise.day, "l j F")


def advice_text(
    level: Severity | str,
    pseudo_relapse: bool,
    centre: Centre,
    *,
    at: datetime | None = None,
    config: ActiveConfig | None = None,
) -> str:
    """The rule's advice for a report, with the centre's 24-hour number (or words to use when it has none).

    A same-day report read outside the team's working hours (`at`, default now) is promised the next working
    day, not "today" (the centre's configuration is read for that, and only then).
    """
    level = Severity(level)
    promise = None
    if level == Severity.SAME_DAY:
        promise = contact_promise_for(centre, config or active_config(centre), at)
    text = advice(level, pseudo_relapse, contact_today=promise is None or promise.today, translate=gettext)
    phone = (centre.phone_24h or "").strip() or str(NO_UNIT_PHONE)
    if promise is not None and not promise.today:
        text = text.replace(DAY_PLACEHOLDER, contact_day_text(promise))
    return text.replace(PHONE_PLACEHOLDER, phone)
