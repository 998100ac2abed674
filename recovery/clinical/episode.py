"""Checks on a transplant episode's dates and collection, as plain values (domain.md sections 1.1 and 8.4)."""

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

from recovery.clinical.config import TransplantConfig

# (earlier field, later field, strictly later?, message shown on the later field)
_ORDER = [
    ("mobilisation_date", "gcsf_start_date", False, "G-CSF starts on or after the mobilisation day."),
    ("mobilisation_date", "apheresis_date", False, "Stem cells are collected after mobilisation, not before."),
    ("apheresis_date", "cryostorage_date", False, "Cells are frozen on or after the day they are collected."),
    ("apheresis_date", "conditioning_start_date", True, "Conditioning starts after the stem cells are collected."),
    ("mobilisation_date", "conditioning_start_date", True, "Conditioning starts after mobilisation."),
    ("conditioning_start_date", "reinfusion_date", True, "Day 0 (reinfusion) comes after conditioning starts."),
    ("apheresis_date", "reinfusion_date", True, "Day 0 (reinfusion) comes after the stem cells are collected."),
    ("cryostorage_date", "reinfusion_date", False, "Day 0 (reinfusion) comes after the cells are frozen."),
    ("admission_date", "reinfusion_date", False, "The admission comes before Day 0 (reinfusion)."),
    ("reinfusion_date", "neutrophil_engraftment_date", True, "Engraftment comes after Day 0, not before or on it."),
    ("reinfusion_date", "platelet_engraftment_date", True, "Engraftment comes after Day 0, not before or on it."),
    ("admission_date", "discharge_date", False, "Discharge comes after the admission."),
    ("reinfusion_date", "discharge_date", False, "Discharge comes on or after Day 0."),
]

DATE_FIELDS = (
    "mobilisation_date",
    "gcsf_start_date",
    "apheresis_date",
    "cryostorage_date",
    "admission_date",
    "conditioning_start_date",
    "reinfusion_date",
    "neutrophil_engraftment_date",
    "platelet_engraftment_date",
    "discharge_date",
)

# The dates the phase rules read (`recovery.clinical.phases.EpisodeDates`): clearing or moving one of them can
# move the patient to another phase, so for a patient on or after Day 0 it is confirmed first.
PHASE_DATE_FIELDS = (
    "mobilisation_date",
    "apheresis_date",
    "conditioning_start_date",
    "reinfusion_date",
    "neutrophil_engraftment_date",
)


def check_episode_dates(dates: Mapping[str, date | None], today: date, config: TransplantConfig) -> dict[str, str]:
    """Messages, by field, for dates that are implausible or out of order. Empty when all is well."""
    errors: dict[str, str] = {}
    earliest = date(config.earliest_plausible_year, 1, 1)
    latest = today + timedelta(days=config.max_days_ahead)
    for name in DATE_FIELDS:
        value = dates.get(name)
        if value is None:
            continue
        if value < earliest:
            errors[name] = f"Check the year: a date before {earliest.year} is not plausible here."
        elif value > latest:
            errors[name] = "This date is too far in the future to be a plan; check the year."
    for earlier, later, strict, message in _ORDER:
        first, second = dates.get(earlier), dates.get(later)
        if first is None or second is None or later in errors or earlier in errors:
            continue
        if second < first or (strict and second == first):
            errors.setdefault(later, message)
    for name in ("neutrophil_engraftment_date", "platelet_engraftment_date"):
        if dates.get(name) and dates.get(name) > today:
            errors.setdefault(name, "Engraftment is recorded once it has happened, not in advance.")
    conditioning, day0 = dates.get("conditioning_start_date"), dates.get("reinfusion_date")
    if (
        conditioning
        and day0
        and "reinfusion_date" not in errors
        and (day0 - conditioning).days > config.max_conditioning_days
    ):
        errors["conditioning_start_date"] = (
            f"Conditioning usually starts at most {config.max_conditioning_days} days before Day 0; "
            f"these dates are {(day0 - conditioning).days} days apart."
        )
    return errors


def cd34_warning(dose: Decimal | float | None, config: TransplantConfig) -> str | None:
    """A warning (not an error) when the collected CD34+ dose is below the configured minimum."""
    if dose is None or Decimal(str(dose)) >= Decimal(str(config.min_cd34_dose)):
        return None
    return (
        f"The collected dose ({dose} x 10^6 CD34+ cells/kg) is below the usual minimum of "
        f"{config.min_cd34_dose} x 10^6/kg. Consider another collection."
    )
