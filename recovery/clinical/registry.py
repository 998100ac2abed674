"""The registry export's derived items as pure rules (each item is defined in registry_items.py), and the data
dictionary written from those definitions (docs/registry-export.md).

A value is a `Value`: either something to report, or empty with a `Missing` code saying why. Nothing is guessed:
what the records do not say is empty with its code.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from recovery.clinical.febrile_neutropenia import FNStatus
from recovery.clinical.registry_items import (
    ITEMS,
    MISSING_MEANINGS,
    REGISTRY_DAY,
    SOURCES,
    Missing,
    missing_column,
)


@dataclass(frozen=True)
class Value:
    """A reported value (`value`), or none with the reason (`missing`); exactly one of the two is set."""

    value: str | int | Decimal | date | None = None
    missing: Missing | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.missing is None):
            raise ValueError("A registry value is either a value or a missing code, never both or neither.")

    def text(self) -> str:
        """The value as the CSV writes it: dates ISO 8601, decimals with a point; '' when missing."""
        if self.value is None:
            return ""
        if isinstance(self.value, date):
            return self.value.isoformat()
        if isinstance(self.value, Decimal):
            return format(self.value.normalize(), "f")  # 6.30 -> 6.3, 120000.0000 -> 120000, never 1.2E+5
        return str(self.value)

    def as_json(self) -> dict:
        return {"value": self.text() if self.value is not None else None, "missing": self.missing}


def of(value, missing: Missing = Missing.NOT_RECORDED) -> Value:
    """`value` if there is one (not None, not ''), else empty with `missing`."""
    return Value(missing=missing) if value is None or value == "" else Value(value)


NOT_HELD = Value(missing=Missing.NOT_HELD)
NOT_YET = Value(missing=Missing.NOT_YET)
UNKNOWN = Value(missing=Missing.UNKNOWN)
NOT_APPLICABLE = Value(missing=Missing.NOT_APPLICABLE)


def day100(day0: date) -> date:
    return day0 + timedelta(days=REGISTRY_DAY)


def transplanted(day0: date | None, today: date) -> bool:
    """Day 0 recorded and not in the future (a later date is a plan)."""
    return day0 is not None and day0 <= today


def past_date(on: date | None, today: date) -> Value:
    """A date that has happened (today or earlier, in the patient's time zone); NY for a later one, which is a
    plan, not a fact; NR without a date. Every date the export reports goes through this rule."""
    if on is None:
        return Value(missing=Missing.NOT_RECORDED)
    return Value(on) if on <= today else NOT_YET


def transplant_date(day0: date | None, today: date) -> Value:
    return past_date(day0, today)


def once_done(value: Value, on: date | None, today: date) -> Value:
    """`value` (a fact about a step, e.g. the CD34+ dose of a collection) once the step's date `on` has come; NY
    while `on` is still ahead (the step is planned, not done); `value` as it is when no date is recorded."""
    return NOT_YET if on is not None and on > today else value


def past_dates(dates: Iterable[date], today: date) -> tuple[Value, Value]:
    """(how many, the dates separated by ';') of the dates that have happened; NY when every date recorded is
    still ahead; NR without any."""
    dates = sorted(dates)
    done = [on for on in dates if on <= today]
    if done:
        return Value(len(done)), Value(";".join(on.isoformat() for on in done))
    return (NOT_YET, NOT_YET) if dates else (Value(missing=Missing.NOT_RECORDED),) * 2


def graft_cryopreserved(cryostored: date | None, first_apheresis: date | None, today: date) -> Value:
    """'yes' once the cryostorage date has come; NY while it, or the first apheresis, is still ahead; NR without
    a cryostorage date (a fresh graft is not recorded as such)."""
    if cryostored is None:
        return once_done(Value(missing=Missing.NOT_RECORDED), first_apheresis, today)
    return Value("yes") if cryostored <= today else NOT_YET


def stem_cell_source(first_apheresis: date | None, today: date) -> Value:
    """Peripheral blood once an apheresis (collection) has happened; NY while it is planned; NR without one."""
    when = past_date(first_apheresis, today)
    return Value("peripheral_blood") if when.value is not None else when


def conditioning_regimen(value: Value, conditioning_start: date | None, day0: date | None, today: date) -> Value:
    """The protocol (`value`) once conditioning has begun (its start date, or Day 0, today or earlier); NY while a
    protocol is chosen but neither date has come (a plan); NR without a protocol."""
    if value.value is None:
        return value
    begun = [on for on in (conditioning_start, day0) if on is not None]
    return value if begun and min(begun) <= today else NOT_YET


def confirmed_engraftment(confirmed: date | None, recorded: date | None, today: date) -> Value:
    """The date a clinician confirmed, if it is still the episode's date; NC for a date nobody confirmed (or one
    changed since the confirmation); NY when the episode holds no date, or one still ahead."""
    if recorded is None or recorded > today:
        return NOT_YET
    if confirmed is None or confirmed != recorded:
        return Value(missing=Missing.NOT_CONFIRMED)
    return Value(confirmed)


def febrile_neutropenia(status: str | None) -> Value:
    """The cohort rule's status (FNStatus) as a registry value; None: no Day 0 yet."""
    if status is None:
        return NOT_YET
    return {
        FNStatus.YES: Value("yes"),
        FNStatus.NO: Value("no"),
        FNStatus.PENDING: NOT_YET,
        FNStatus.NO_ANC: Value(missing=Missing.NOT_RECORDED),
    }[FNStatus(status)]


def viraemia(results: Iterable[tuple[date, Decimal]], day0: date | None, today: date) -> tuple[Value, Value]:
    """(detected, highest load) from the PCR results (local sample date, copies/mL) of Day 0 through Day +100.

    Detected: 'yes' as soon as one result is above 0 (any detectable DNA: "CMV infection" is the detection of viral
    nucleic acid in any body fluid, Ljungman et al. 2002, in SOURCES; the centre's EBV alert threshold,
    LabConfig.ebv_alert_copies, is a trigger for treatment, not the registry's question); 'no' once the window has
    closed with every result 0; NY while it is open; NR without any result in it. The highest load is given only
    once the window has closed. A sample dated after today is left out (a typing error, not a result).
    """
    if not transplanted(day0, today):
        return NOT_YET, NOT_YET
    end = day100(day0)
    loads = [value for on, value in results if day0 <= on <= min(end, today)]  # a later sample date is an error
    closed = today > end
    if any(load > 0 for load in loads):
        detected = Value("yes")
    elif loads and closed:
        detected = Value("no")
    elif closed:
        detected = Value(missing=Missing.NOT_RECORDED)
    else:
        detected = NOT_YET
    if not closed:
        return detected, NOT_YET
    return detected, of(max(loads) if loads else None)


def last_contact(dates: Iterable[date | None], today: date) -> date | None:
    """The latest contact date that is not in the future."""
    return max((on for on in dates if on is not None and on <= today), default=None)


def vital_status(deceased: bool, contact: date | None) -> Value:
    if deceased:
        return Value("dead")
    return Value("alive") if contact is not None else UNKNOWN


def day100_status(day0: date | None, today: date, contact: date | None) -> Value:
    """'alive' with a contact on or after Day +100; NY before Day +100; else UNK (the date of death is not held)."""
    if not transplanted(day0, today) or today < day100(day0):
        return NOT_YET
    if contact is not None and contact >= day100(day0):
        return Value("alive")
    return UNKNOWN


def death(deceased: bool) -> Value:
    """The date and the cause of death: not held for the deceased, not applicable to anyone else."""
    return NOT_HELD if deceased else NOT_APPLICABLE


def mobilisation_agents(mobilised_on: date | None, gcsf_from: date | None, today: date) -> Value:
    """The agents whose date has come; NY when the recorded dates are all still ahead; NR without any date."""
    dated = (("cyclophosphamide", mobilised_on), ("g_csf", gcsf_from))
    agents = [name for name, on in dated if on is not None and on <= today]
    if agents:
        return Value("+".join(agents))
    return NOT_YET if any(on is not None for _, on in dated) else Value(missing=Missing.NOT_RECORDED)


# The data dictionary -----------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def dictionary_markdown() -> str:
    """docs/registry-export.md: the items, their columns and the missing codes (tests check the file matches)."""
    lines = [
        "# Registry export: data dictionary",
        "",
        "<!-- Written by recovery.clinical.registry.dictionary_markdown from recovery/clinical/registry_items.py;",
        "     tests/test_registry_export.py fails when this file differs. Regenerate with",
        "     `.venv/bin/python -m recovery.clinical.registry > docs/registry-export.md`. -->",
        "",
        "The EBMT MED-A day-100 and CIBMTR core transplant items that the app holds, per patient and per centre, as "
        "CSV and JSON (staff only; each patient exported is written to the access log).",
        "",
        "**The item ids are the app's own approximations of the MED-A and CIBMTR items. They need a mapping review "
        "by the registry data manager before anything is submitted**: the official forms could not be fetched "
        "when this export was written, and the forms change between versions. What the app does not hold is "
        "exported empty with a code, never guessed; complete those items from the medical record.",
        "",
        "## Files",
        "",
        "* **CSV** (UTF-8, comma-separated, one row per patient): a header row of item ids; after each item's "
        "column, a column `<item id>.missing` with the code of an empty value. Dates are ISO 8601 (YYYY-MM-DD), "
        "decimals have a point. A text starting with = + - @ is written with a leading ' so that a spreadsheet "
        "never runs it as a formula.",
        '* **JSON**: `{"generated_at", "centre", "items": [this dictionary], "patients": [{"<item id>": {"value", '
        '"missing"}}]}`; `value` is a string (or null), `missing` a code (or null).',
        "",
        f"Day +100 items count from Day 0 through Day +{REGISTRY_DAY}, both included.",
        "",
        "Every date is the patient's local date (their time zone), and \"today\" is the patient's own today. A "
        "patient's export may be downloaded before Day 0: a step whose date is still ahead (mobilisation, G-CSF, "
        "apheresis, cryostorage, conditioning, Day 0) is a plan, not a fact, and is exported empty with NY, as are "
        "the values that depend on it (the CD34+ dose of a collection still ahead, the regimen before "
        "conditioning). The centre's export has the patients whose Day 0 has come where they are.",
        "",
        "## Codes for an empty value",
        "",
        "| Code | Meaning |",
        "|---|---|",
        *[f"| {code.value} | {_cell(meaning)} |" for code, meaning in MISSING_MEANINGS.items()],
        "",
        "## Items",
        "",
        "| Item id | Label | Form | Type | Values / unit | How the app derives it | Source in the app |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| `{item.id}` | {_cell(item.label)} | {_cell(item.form)} | {item.data_type.value} | "
            f"{_cell(item.values)} | {_cell(item.derivation)} | {_cell(item.source)} |"
            for item in ITEMS
        ],
        "",
        f"Each item `x` has its code column `{missing_column('x')}` in the CSV.",
        "",
        "## Sources consulted",
        "",
        *[f"* {title}: <{url}>" for title, url in SOURCES],
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - writes the dictionary
    import sys

    sys.stdout.write(dictionary_markdown())
