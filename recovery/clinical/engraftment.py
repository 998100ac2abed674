"""Lab values, engraftment, neutropenia, CD4 recovery and EBV (domain.md sections 2.1-2.3, 3.2; section 8 items
6-9, 11, 14).

Pure rules: dated values in, plain values out. There is no clock (`today`/`on` is an argument) and no
database; every threshold comes from a `LabConfig` (see `labs_config.py`). Counts are (date, value) pairs in
the test's canonical unit, in any order; a value that is not a number or is outside the test's plausible
range raises ValueError (`ImplausibleValueError`, a typing or unit error, with a message naming the probable unit
mix-up). Defaults in brackets:

=========================  ======================================================================================
rule                       definition
=========================  ======================================================================================
neutrophil engraftment     the first of `engraftment_consecutive_days` [3] consecutive laboratory values, on
                           different days after Day 0, with ANC >= `neutrophil_threshold` [0.5 x10^9/L], after
                           the nadir (below)
platelet engraftment       the first of [3] consecutive values on different days with platelets >=
                           `platelet_threshold` [20], after the nadir, each taken at least
                           `platelet_transfusion_free_days` [7] days after the last platelet transfusion
never below                the count never fell below the threshold from Day 0 on (no aplasia): values on at
                           least [3] days after Day 0, all at or above it, the last on or after
                           `never_below_from_day` [D+14]; for platelets also no platelet transfusion from Day 0
delayed_engraftment        no neutrophil engraftment by Day 0 + `PhaseConfig.delayed_engraftment_day` [D+21]
possible_graft_failure     no neutrophil engraftment by Day 0 + `PhaseConfig.possible_graft_failure_day` [D+30]
                           (`phases.engraftment_warnings`, the same rule as the phase's flags)
neutropenia grade          none >= 1.5; mild < `mild_neutropenia_below` [1.5]; moderate < [1.0]; severe < [0.5]
                           (IDSA); profound < [0.1] (IDSA); all x10^9/L
CTCAE neutrophil grade     0 >= LLN [2.0]; 1 < LLN; 2 < [1.5]; 3 < [1.0]; 4 < [0.5]
protracted neutropenia     severe neutropenia that began at least `protracted_neutropenia_days` [7] days ago
CD4 recovered              the latest CD4 after Day 0 is >= `cd4_recovery_threshold` [0.2 x10^9/L]
EBV above threshold        EBV DNA > `ebv_alert_copies` [500,000 copies/mL]
=========================  ======================================================================================

How the engraftment rules read the data (the CIBMTR forms manual, questions on initial ANC and platelet
recovery, which the ASTCT consensus definitions of domain.md 2.1 follow):

* "Three consecutive laboratory values obtained on different days": the values are taken in date order, one
  per day; the days need not be consecutive calendar days (CIBMTR: when counts are not drawn daily, three
  consecutive values drawn more than a day apart). A missing day therefore does not break a run; a value
  below the threshold does. Several values on one day are one value, the lowest of that day (a count at or
  above the threshold must hold all day), so repeats on one day can never make a run on their own.
* Values exactly at a threshold count as reaching it (">= 0.5"); "below" is strictly below.
* Values before Day 0 are ignored. A run's values are all after Day 0 (Day 0 itself is the reinfusion day).
* "After the post-transplant nadir" (CIBMTR: do not begin counting values towards recovery until the count
  has dropped to its nadir): with `engraftment_after_nadir` [on], a run counts only if it starts after the
  first day, from Day 0 on, with a value below the threshold. Without it, counts that have not yet fallen
  (ANC is often still normal on D+1 to D+3 after Cy/ATG) would date engraftment on D+1. The first day below,
  not the lowest value, is used, so a later dip never moves an engraftment already found. Counts that never
  fall below the threshold give no engraftment date: `neutrophil_never_below` / `platelet_never_below` tell
  that state (the registry's "never below" / "not applicable") apart from "not yet".
* `accept_first_qualifying_day` (the autograft option, domain.md 2.1 note): the first qualifying value after
  the nadir is engraftment on its own (platelets still need the transfusion-free days).
* Platelet transfusions, as in the CIBMTR worked example "Reporting Platelet Recovery": last platelet
  transfusion on Day 0 (13 June), counts >= 20 from D+6 (19 June, 23,000), and the date reported is D+7
  (20 June), the first value with seven transfusion-free days. So a count on day V is transfusion-free when
  no platelet transfusion was given from V - 6 through V (V - 7 and earlier are outside): the transfusion day
  itself is not one of the seven, the count's own day is (a count on the day of a transfusion may have
  been drawn after it, so it never counts). A transfusion-supported count cannot be one of the run's three
  values, and it breaks the run like a count below the threshold: every value of the run must be
  transfusion-free, so a transfusion during the run (on or after its first value) disqualifies it.
  Transfusions before Day 0 count (one on D-2 makes D+1 to D+4 transfusion-supported).

The engraftment flags (`engraftment_flags`) are those of `phases.py`: raised only while neutrophil
engraftment is not recorded on or before `today`, from the flag's Day number inclusive, and never for a
patient whose ANC never fell below the threshold (there is no aplasia to recover from).
"""

import math
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from enum import StrEnum

from recovery.clinical.config import DEFAULT_PHASE_CONFIG, PhaseConfig
from recovery.clinical.labs_config import ANC, CD4, DEFAULT_LAB_CONFIG, EBV_PCR, PLATELETS, TEST_NAMES, LabConfig
from recovery.clinical.phases import Flag, engraftment_warnings

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


class ImplausibleValueError(ValueError):
    """A number outside its test's plausible range: a typing error or, most often, a result in another unit."""


def _plain(number: float) -> str:
    """A number as a nurse would type it: 0.06, 95, 1200000 (no exponent, no trailing zeros)."""
    text = f"{number:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def implausible_message(test: str, number: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> str:
    """Why `number` (in the canonical unit of `test`) cannot be right, naming the probable unit mix-up.

    "An ANC of 60 x10^9/L is not possible; 60 cells/µL is 0.06 x10^9/L - did you mean 0.06?" (with the
    multiplication sign and a dash) when the value read in one of the test's `unit_mixups` is plausible;
    else the unit and the plausible range.
    """
    unit = config.display_unit(test)
    low, high = config.plausible_range(test)
    name = TEST_NAMES.get(test, f"a {test} result")
    head = f"{name[0].upper()}{name[1:]} of {_plain(number)} {unit} is not possible"
    for wrong_unit, factor in config.unit_mixups_of(test):
        meant = round(number * factor, 6)
        if low <= meant <= high:
            return f"{head}; {_plain(number)} {wrong_unit} is {_plain(meant)} {unit} — did you mean {_plain(meant)}?"
    return f"{head}: enter it in {unit}, between {_plain(low)} and {_plain(high)}. Check the number and its unit."


def check_lab_value(test: str, value: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> float:
    """`value` as a float when it is a plausible result of `test` (in its canonical unit).

    The one plausibility check of a result: the lab form, the API and the CSV import all reach it through
    `recovery.services.labs.checked_value`, and the rules below refuse a stored value that fails it. Raises
    ValueError for an unknown test or a value that is not a finite number, and `ImplausibleValueError` (a
    ValueError) for one outside the test's plausible range (bounds inclusive), with `implausible_message`.
    """
    config.unit(test)  # ValueError for an unknown test
    low, high = config.plausible_range(test)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The {test} result {value!r} is not a number.") from exc
    if not math.isfinite(number):
        raise ValueError(f"The {test} result must be a finite number, not {value!r}.")
    if not low <= number <= high:
        raise ImplausibleValueError(implausible_message(test, number, config))
    return number


def is_plausible(test: str, value: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> bool:
    """Whether `check_lab_value` accepts `value`."""
    try:
        check_lab_value(test, value, config)
    except ValueError:
        return False
    return True


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
    supported: Callable[[date], bool] = lambda day: False,
) -> date | None:
    """The day of the first value of the first qualifying run of values (one a day, in date order), per the
    module docstring; a value on a day where `supported(day)` (transfusion-supported) breaks a run.
    """
    earliest = day0 + _DAY
    if config.engraftment_after_nadir:
        nadir = min((day for day, value in days.items() if day >= day0 and value < threshold), default=None)
        if nadir is None:
            return None
        earliest = max(earliest, nadir + _DAY)
    length = 1 if config.accept_first_qualifying_day else config.engraftment_consecutive_days
    if length < 1:
        raise ValueError("engraftment_consecutive_days must be at least 1.")
    run: list[date] = []
    for day in sorted(day for day in days if day >= earliest):
        if days[day] >= threshold and not supported(day):
            run.append(day)
            if len(run) == length:
                return run[0]
        else:
            run = []
    return None


def neutrophil_engraftment(
    counts: Sequence[tuple[date, float]], day0: date, config: LabConfig = DEFAULT_LAB_CONFIG
) -> date | None:
    """The neutrophil engraftment day from ANC counts (x10^9/L), or None when not (yet) reached.

    The day of the first of `engraftment_consecutive_days` consecutive values on different days after Day 0,
    after the nadir, each (the lowest of its day) >= `neutrophil_threshold`; the module docstring says how
    gaps, same-day repeats and the nadir are read. Raises ValueError for an implausible count.
    """
    return _first_run(daily_lowest(counts, ANC, config), day0, config.neutrophil_threshold, config)


def platelet_engraftment(
    counts: Sequence[tuple[date, float]],
    transfusions: Sequence[date],
    day0: date,
    config: LabConfig = DEFAULT_LAB_CONFIG,
) -> date | None:
    """The platelet engraftment day from platelet counts (x10^9/L) and platelet transfusion dates, or None.

    As `neutrophil_engraftment` with `platelet_threshold`, where each value of the run must be
    transfusion-free: taken at least `platelet_transfusion_free_days` days after every earlier platelet
    transfusion (none from its day - 6 through its day, by default), as in the CIBMTR worked example (module
    docstring).
    """

    def supported(day: date) -> bool:
        return transfusion_supported(day, transfusions, config)

    return _first_run(daily_lowest(counts, PLATELETS, config), day0, config.platelet_threshold, config, supported)


def transfusion_supported(day: date, transfusions: Sequence[date], config: LabConfig = DEFAULT_LAB_CONFIG) -> bool:
    """Whether a platelet count on `day` may be raised by a transfusion: one was given fewer than
    `platelet_transfusion_free_days` days before it, or on that day (0 <= day - transfusion < 7).
    """
    return any(0 <= (day - given).days < config.platelet_transfusion_free_days for given in transfusions)


def _never_below(days: dict[date, float], day0: date, on: date, threshold: float, config: LabConfig) -> bool:
    seen = {day: value for day, value in days.items() if day0 <= day <= on}
    if any(value < threshold for value in seen.values()):
        return False
    after = [day for day in seen if day > day0]
    return len(after) >= config.engraftment_consecutive_days and max(after) >= day0 + timedelta(
        days=config.never_below_from_day
    )


def neutrophil_never_below(
    counts: Sequence[tuple[date, float]], day0: date, on: date, config: LabConfig = DEFAULT_LAB_CONFIG
) -> bool:
    """Whether, on `on`, the ANC has never fallen below `neutrophil_threshold` from Day 0 on (no aplasia).

    The registry's "ANC never below 0.5": the counts from Day 0 through `on` (lowest of each day) are all at
    or above the threshold, on at least `engraftment_consecutive_days` days after Day 0, the last on or after
    Day 0 + `never_below_from_day`. Too few counts, or none late enough, is "not known yet" (False), so
    missing counts never silence the engraftment alerts. Raises ValueError for an implausible count.
    """
    return _never_below(daily_lowest(counts, ANC, config), day0, on, config.neutrophil_threshold, config)


def platelet_never_below(
    counts: Sequence[tuple[date, float]],
    transfusions: Sequence[date],
    day0: date,
    on: date,
    config: LabConfig = DEFAULT_LAB_CONFIG,
) -> bool:
    """As `neutrophil_never_below` for platelets and `platelet_threshold`, and no platelet transfusion from
    Day 0 through `on` (the registry's "not applicable": never below 20 and never transfused).
    """
    if any(day0 <= given <= on for given in transfusions):
        return False
    return _never_below(daily_lowest(counts, PLATELETS, config), day0, on, config.platelet_threshold, config)


def engraftment_flags(
    day0: date,
    today: date,
    neutrophil_date: date | None,
    config: PhaseConfig = DEFAULT_PHASE_CONFIG,
    never_below: bool = False,
) -> tuple[Flag, ...]:
    """The engraftment warnings on `today`: `delayed_engraftment` from Day 0 + `delayed_engraftment_day`, and
    also `possible_graft_failure` from Day 0 + `possible_graft_failure_day`, while neutrophil engraftment is
    not recorded on or before `today` (an engraftment dated later is not yet known). None before Day 0, and
    none when the ANC never fell below the threshold (`never_below`, see `neutrophil_never_below`).
    """
    if never_below or (neutrophil_date is not None and neutrophil_date <= today):
        return ()
    return engraftment_warnings((today - day0).days, config)


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
    lowest. No count after Day 0: not recovered. An implausible count (most often one in cells/uL) never
    counts as recovery, nor lets an older count stand in for it: see `after_last_implausible`.
    """
    latest = latest_lowest(after_last_implausible(cd4_results, CD4, config), day0, on, CD4, config)
    return latest is not None and latest[1] >= config.cd4_recovery_threshold


def after_last_implausible(
    values: Sequence[tuple[date, float]], test: str, config: LabConfig = DEFAULT_LAB_CONFIG
) -> list[tuple[date, float]]:
    """The values dated after the last implausible one (all of them when none is), as floats.

    A stored value can fail `check_lab_value` only when it predates the check or the centre narrowed the
    range; it is not a result, and the values before it are not the latest either. A rule that reads the
    latest value (CD4 recovery) therefore reads only what follows it: an implausible latest value gives
    "no result", never an older value in its place.
    """
    checked: list[tuple[date, float | None]] = []
    for day, value in values:
        try:
            checked.append((day, check_lab_value(test, value, config)))
        except ValueError:
            checked.append((day, None))
    last_bad = max((day for day, number in checked if number is None), default=None)
    return [(day, number) for day, number in checked if number is not None and (last_bad is None or day > last_bad)]


def ebv_above_threshold(copies: float, config: LabConfig = DEFAULT_LAB_CONFIG) -> bool:
    """Whether an EBV DNA load (copies/mL) is strictly above `ebv_alert_copies` (the high-risk flag)."""
    return check_lab_value(EBV_PCR, copies, config) > config.ebv_alert_copies
