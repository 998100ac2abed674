"""Lab values, engraftment, neutropenia, CD4 recovery and EBV (domain.md sections 2.1-2.3, 3.2; section 8 items
6-9, 11, 14).

Pure rules: dated values in, plain values out. There is no clock (`today`/`on` is an argument) and no
database; every threshold comes from a `LabConfig` (see `labs_config.py`). Counts are (date, value) pairs in
the test's canonical unit, in any order; a value that is not a number or is outside the test's plausible
range raises ValueError (a typing or unit error). Defaults in brackets:

=========================  ======================================================================================
rule                       definition
=========================  ======================================================================================
neutrophil engraftment     the first of `engraftment_consecutive_days` [3] consecutive calendar days after Day 0
                           with ANC >= `neutrophil_threshold` [0.5 x10^9/L], after the nadir (below)
platelet engraftment       the first of [3] consecutive days with platelets >= `platelet_threshold` [20], after
                           the nadir, with no platelet transfusion from `platelet_transfusion_free_days` [7]
                           days before that first day through the run's last day
delayed_engraftment        no neutrophil engraftment by Day 0 + `delayed_engraftment_day` [D+21]
possible_graft_failure     no neutrophil engraftment by Day 0 + `possible_graft_failure_day` [D+30]
neutropenia grade          none >= 1.5; mild < `mild_neutropenia_below` [1.5]; moderate < [1.0]; severe < [0.5]
                           (IDSA); profound < [0.1] (IDSA); all x10^9/L
CTCAE neutrophil grade     0 >= LLN [2.0]; 1 < LLN; 2 < [1.5]; 3 < [1.0]; 4 < [0.5]
protracted neutropenia     severe neutropenia that began at least `protracted_neutropenia_days` [7] days ago
CD4 recovered              the latest CD4 after Day 0 is >= `cd4_recovery_threshold` [0.2 x10^9/L]
EBV above threshold        EBV DNA > `ebv_alert_copies` [500,000 copies/mL]
=========================  ======================================================================================

How the engraftment rules read the data:

* Several values on one day: the lowest of that day is the day's value (a count at or above the threshold
  must hold all day).
* Values exactly at a threshold count as reaching it (">= 0.5"); "below" is strictly below.
* Values before Day 0 are ignored. A run's days are all after Day 0 (Day 0 itself is the reinfusion day).
* "After the post-transplant nadir" (ASTCT): with `engraftment_after_nadir` [on], a run counts only if it
  starts after the first day, from Day 0 on, with a value below the threshold. Without it, counts that have
  not yet fallen (ANC is often still normal on D+1 to D+3 after Cy/ATG) would date engraftment on D+1. The
  first day below, not the lowest value, is used, so a later dip never moves an engraftment already found.
  Counts that never fall below the threshold give no engraftment date (`first_day_below` is then None: the
  registry's "never below"); the caller shows that rather than a missing date.
* A missing day breaks a run: the rule needs a value on each of the consecutive calendar days. So
  engraftment may be dated later than it happened, never earlier; entering the missing count corrects it.
* `accept_first_qualifying_day` (the autograft option, domain.md 2.1 note): the first qualifying day after
  the nadir is engraftment on its own (platelets still need the transfusion-free days).
* Transfusions are dates of platelet transfusions, in any order; the 7 transfusion-free days are the 7
  calendar days before the run's first day (first day - 7 through first day - 1). A transfusion on one of
  the run's own days also disqualifies the run: that count is transfusion-supported. Transfusions before
  Day 0 count (one on D-2 is within 7 days of D+4).

The engraftment flags (`engraftment_flags`) are those of `phases.py`: raised only while neutrophil
engraftment is not recorded on or before `today`, from the flag's Day number inclusive.
"""

import math
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from enum import StrEnum

from recovery.clinical.labs_config import ANC, CD4, DEFAULT_LAB_CONFIG, EBV_PCR, PLATELETS, LabConfig
from recovery.clinical.phases import Flag

_DAY = timedelta(days=1)


class NeutropeniaGrade(StrEnum):
    """Neutropenia by ANC (domain.md 2.2, 2.3; section 8 item 9), mildest first."""

    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    PROFOUND = "profound"


class ReferenceFlag(StrEnum):
    """A value against its test's reference range (display only)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


def check_lab_value(test: str, value: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> float:
    """`value` as a float when it is a plausible result of `test` (in its canonical unit).

    Raises ValueError for an unknown test, a value that is not a finite number, or one outside the test's
    plausible range (bounds inclusive), with a message naming the unit.
    """
    unit = config.unit(test)
    low, high = config.plausible_range(test)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The {test} result {value!r} is not a number.") from exc
    if not math.isfinite(number):
        raise ValueError(f"The {test} result must be a finite number, not {value!r}.")
    if not low <= number <= high:
        raise ValueError(
            f"The {test} result {number:g} {unit} is outside the plausible range {low:g} to {high:g} {unit}: "
            f"check for a typing error or a result in another unit."
        )
    return number


def reference_flag(test: str, value: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> ReferenceFlag:
    """Whether `value` is below, within or above the test's reference range (bounds are normal)."""
    low, high = config.reference_range(test)
    if value < low:
        return ReferenceFlag.LOW
    if value > high:
        return ReferenceFlag.HIGH
    return ReferenceFlag.NORMAL


def daily_lowest(
    values: Sequence[tuple[date, float]], test: str, config: LabConfig = DEFAULT_LAB_CONFIG
) -> dict[date, float]:
    """The lowest value of each day, checked with `check_lab_value` (ValueError for an implausible one)."""
    days: dict[date, float] = {}
    for day, value in values:
        number = check_lab_value(test, value, config)
        days[day] = min(number, days.get(day, number))
    return days


def first_day_below(
    counts: Sequence[tuple[date, float]],
    day0: date,
    threshold: float,
    test: str = ANC,
    config: LabConfig = DEFAULT_LAB_CONFIG,
) -> date | None:
    """The first day from Day 0 on whose (lowest) value is below `threshold`; None if there is none."""
    days = daily_lowest(counts, test, config)
    return min((day for day, value in days.items() if day >= day0 and value < threshold), default=None)


def _first_run(
    days: dict[date, float],
    day0: date,
    threshold: float,
    config: LabConfig,
    blocked: Callable[[date, date], bool] = lambda first, last: False,
) -> date | None:
    """The first day of the first qualifying run, per the module docstring; `blocked(first, last)` vetoes one."""
    earliest = day0 + _DAY
    if config.engraftment_after_nadir:
        nadir = min((day for day, value in days.items() if day >= day0 and value < threshold), default=None)
        if nadir is None:
            return None
        earliest = max(earliest, nadir + _DAY)
    length = 1 if config.accept_first_qualifying_day else config.engraftment_consecutive_days
    if length < 1:
        raise ValueError("engraftment_consecutive_days must be at least 1.")
    for first in sorted(day for day in days if day >= earliest):
        run = [first + offset * _DAY for offset in range(length)]
        if all(day in days and days[day] >= threshold for day in run) and not blocked(first, run[-1]):
            return first
    return None


def neutrophil_engraftment(
    counts: Sequence[tuple[date, float]], day0: date, config: LabConfig = DEFAULT_LAB_CONFIG
) -> date | None:
    """The neutrophil engraftment day from ANC counts (x10^9/L), or None when not (yet) reached.

    The first of `engraftment_consecutive_days` consecutive days after Day 0, after the nadir, each with
    a lowest ANC >= `neutrophil_threshold`; the module docstring says how gaps, duplicates and the nadir are
    read. Raises ValueError for an implausible count.
    """
    return _first_run(daily_lowest(counts, ANC, config), day0, config.neutrophil_threshold, config)


def platelet_engraftment(
    counts: Sequence[tuple[date, float]],
    transfusions: Sequence[date],
    day0: date,
    config: LabConfig = DEFAULT_LAB_CONFIG,
) -> date | None:
    """The platelet engraftment day from platelet counts (x10^9/L) and platelet transfusion dates, or None.

    As `neutrophil_engraftment` with `platelet_threshold`, and no transfusion from
    `platelet_transfusion_free_days` days before the run's first day through its last day.
    """
    free_days = timedelta(days=config.platelet_transfusion_free_days)

    def transfused(first: date, last: date) -> bool:
        return any(first - free_days <= day <= last for day in transfusions)

    return _first_run(daily_lowest(counts, PLATELETS, config), day0, config.platelet_threshold, config, transfused)


def engraftment_flags(
    day0: date, today: date, neutrophil_date: date | None, config: LabConfig = DEFAULT_LAB_CONFIG
) -> tuple[Flag, ...]:
    """The engraftment warnings on `today`: `delayed_engraftment` from Day 0 + `delayed_engraftment_day`, and
    also `possible_graft_failure` from Day 0 + `possible_graft_failure_day`, while neutrophil engraftment is
    not recorded on or before `today` (an engraftment dated later is not yet known). None before Day 0.
    """
    if neutrophil_date is not None and neutrophil_date <= today:
        return ()
    day = (today - day0).days
    flags = []
    if day >= config.delayed_engraftment_day:
        flags.append(Flag.DELAYED_ENGRAFTMENT)
    if day >= config.possible_graft_failure_day:
        flags.append(Flag.POSSIBLE_GRAFT_FAILURE)
    return tuple(flags)


def neutropenia_grade(anc: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> NeutropeniaGrade:
    """The neutropenia band of one ANC (x10^9/L): each band is strictly below its bound, so 0.5 is moderate."""
    value = check_lab_value(ANC, anc, config)
    if value < config.profound_neutropenia_below:
        return NeutropeniaGrade.PROFOUND
    if value < config.severe_neutropenia_below:
        return NeutropeniaGrade.SEVERE
    if value < config.moderate_neutropenia_below:
        return NeutropeniaGrade.MODERATE
    if value < config.mild_neutropenia_below:
        return NeutropeniaGrade.MILD
    return NeutropeniaGrade.NONE


def ctcae_neutrophil_grade(anc: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> int:
    """CTCAE v5.0 "neutrophil count decreased" grade 0-4: < LLN, < 1.5, < 1.0, < 0.5 (the configured bounds)."""
    value = check_lab_value(ANC, anc, config)
    lower_limit, _ = config.reference_range(ANC)
    bounds = (
        lower_limit,
        config.mild_neutropenia_below,
        config.moderate_neutropenia_below,
        config.severe_neutropenia_below,
    )
    return sum(1 for bound in bounds if value < bound)


def severe_neutropenia_since(
    counts: Sequence[tuple[date, float]], on: date, config: LabConfig = DEFAULT_LAB_CONFIG
) -> date | None:
    """The first day of the current severe neutropenia on `on`, or None when the patient is not in one.

    Reads the counts dated on or before `on` (lowest of each day). The patient is in severe neutropenia
    when the latest day's value is below `severe_neutropenia_below`; it began on the first day below after
    the last day at or above (or the first day recorded). Missing days do not end it: only a count at or
    above the threshold does.
    """
    days = sorted((day, value) for day, value in daily_lowest(counts, ANC, config).items() if day <= on)
    since = None
    for day, value in days:
        if value >= config.severe_neutropenia_below:
            since = None
        elif since is None:
            since = day
    return since


def protracted_neutropenia(
    counts: Sequence[tuple[date, float]], on: date, config: LabConfig = DEFAULT_LAB_CONFIG
) -> bool:
    """Whether the current severe neutropenia began at least `protracted_neutropenia_days` days before `on`."""
    since = severe_neutropenia_since(counts, on, config)
    return since is not None and (on - since).days >= config.protracted_neutropenia_days


def latest_lowest(
    values: Sequence[tuple[date, float]], after: date, on: date, test: str, config: LabConfig = DEFAULT_LAB_CONFIG
) -> tuple[date, float] | None:
    """The latest day after `after` and on or before `on` with a value, and its lowest value; else None."""
    days = {day: value for day, value in daily_lowest(values, test, config).items() if after < day <= on}
    if not days:
        return None
    latest = max(days)
    return latest, days[latest]


def cd4_recovered(
    cd4_results: Sequence[tuple[date, float]], day0: date, on: date, config: LabConfig = DEFAULT_LAB_CONFIG
) -> bool:
    """Whether the latest CD4 count after Day 0, on or before `on`, is >= `cd4_recovery_threshold` (x10^9/L).

    Counts on or before Day 0 are ignored (they predate the ATG depletion); several on the latest day: the
    lowest. No count after Day 0: not recovered.
    """
    latest = latest_lowest(cd4_results, day0, on, CD4, config)
    return latest is not None and latest[1] >= config.cd4_recovery_threshold


def ebv_above_threshold(copies: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> bool:
    """Whether an EBV DNA load (copies/mL) is strictly above `ebv_alert_copies` (the high-risk flag)."""
    return check_lab_value(EBV_PCR, copies, config) > config.ebv_alert_copies
