"""Pathway phase, Day number and infection-risk phase (domain.md sections 1, 2.1, 2.4; section 8 items 1, 2, 8, 11).

Pure rules: dates in, plain values out. Today is always an argument, and every boundary comes from a
`PhaseConfig` (see `config.py`); none is written here as a literal.

How a phase is chosen: each phase has a milestone (the date it begins). A milestone counts from its own
date inclusive, and **the latest phase whose milestone has been reached wins**. The milestones are:

========================  ========================================================================
phase                     milestone (the date the phase begins)
========================  ========================================================================
evaluation                none (the phase when no other milestone has been reached)
mobilisation              `mobilisation`
collection                `apheresis` (first session)
conditioning              `conditioning_start`
aplasia                   `reinfusion` (Day 0)
early_recovery            `neutrophil_engraftment`
recovery                  Day 0 + `early_recovery_end_day`, once engraftment is recorded
reconstitution            Day 0 + `recovery_end_day`, once engraftment is recorded
follow_up                 `add_months(Day 0, reconstitution_end_months)`, once engraftment is recorded
========================  ========================================================================

So a patient stays in aplasia (with the engraftment flags) until neutrophil engraftment is recorded,
however long that takes, and a late engraftment (say on D+95) moves them straight to the phase for that day
(recovery). Engraftment counts as recorded when its date is on or before today.

Data errors (the forms refuse them, but these rules must not crash on them):

* A missing date is a milestone that has not been reached; later milestones still count (apheresis without
  a mobilisation date gives collection).
* Dates out of order are not reordered: the latest phase whose milestone is reached still wins, so the
  phase never moves backwards as days pass (a conditioning date after Day 0 leaves the patient in aplasia).
* Engraftment without a Day 0 is ignored (there is no post-transplant clock). Engraftment dated before
  Day 0 is treated as engraftment on Day 0: aplasia is skipped and early_recovery starts on Day 0.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recovery.clinical.config import DEFAULT_PHASE_CONFIG, PhaseConfig


class Phase(StrEnum):
    """Pathway phases, in pathway order (the API's `phase` values)."""

    EVALUATION = "evaluation"
    MOBILISATION = "mobilisation"
    COLLECTION = "collection"
    CONDITIONING = "conditioning"
    APLASIA = "aplasia"
    EARLY_RECOVERY = "early_recovery"
    RECOVERY = "recovery"
    RECONSTITUTION = "reconstitution"
    FOLLOW_UP = "follow_up"


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class InfectionRisk(StrEnum):
    """Infection-risk phase (domain.md section 2.4, section 8 item 11); drives reminder intensity."""

    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"
    BASELINE = "baseline"


class Flag(StrEnum):
    """Engraftment warnings (domain.md section 2.1, section 8 item 8); raised only during aplasia."""

    DELAYED_ENGRAFTMENT = "delayed_engraftment"
    POSSIBLE_GRAFT_FAILURE = "possible_graft_failure"


# Share of `recovery_progress` given to the steps before Day 0 (mobilisation, collection, conditioning).
# A display weighting, not a clinical threshold.
PRE_TRANSPLANT_SHARE = 0.1

# The pre-transplant steps used by `recovery_progress`; reaching Day 0 completes the last one.
_PRE_TRANSPLANT_STEPS = (Phase.MOBILISATION, Phase.COLLECTION, Phase.CONDITIONING, Phase.APLASIA)

# Infection risk is high exactly in these phases (`phase_on`); the dashboard's high-risk list filters on them.
HIGH_RISK_PHASES = frozenset({Phase.CONDITIONING, Phase.APLASIA})


@dataclass(frozen=True)
class EpisodeDates:
    """The recorded dates of one transplant episode; any of them may be missing."""

    mobilisation: date | None = None
    apheresis: date | None = None  # first apheresis session
    conditioning_start: date | None = None
    reinfusion: date | None = None  # Day 0
    neutrophil_engraftment: date | None = None


@dataclass(frozen=True)
class PhaseState:
    """Where an episode stands on one day."""

    phase: Phase
    day: int | None  # days since Day 0 (Day 0 is 0, the day before is -1); None without a reinfusion date
    infection_risk: InfectionRisk
    flags: tuple[Flag, ...]
    phase_started: date | None  # the date the current phase began (None for evaluation)
    phase_ends: date | None  # the date the next phase begins, when the dates and config fix it; else None


def local_date(moment: datetime, tz_name: str) -> date:
    """The calendar date of an aware `moment` in the IANA zone `tz_name`.

    Raises ValueError for a naive datetime (its instant is unknown) and for an unknown zone name.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("local_date needs an aware datetime (with a time zone), not a naive one.")
    try:
        zone = ZoneInfo(tz_name)
    except ZoneInfoNotFoundError as exc:
        raise ValueError(f"Unknown time zone: {tz_name!r}.") from exc
    return moment.astimezone(zone).date()


def day_number(reinfusion: date | None, on: date) -> int | None:
    """Days since Day 0: 0 on the reinfusion date, -1 the day before, 1 the day after; None without Day 0."""
    if reinfusion is None:
        return None
    return (on - reinfusion).days


def add_months(start: date, months: int) -> date:
    """`start` moved by whole calendar months (may be negative), clamping the day to the month's length.

    31 Jan + 1 month is 28 Feb (29 Feb in a leap year); 29 Feb + 12 months is 28 Feb.
    """
    year, month_index = divmod(start.year * 12 + (start.month - 1) + months, 12)
    month = month_index + 1
    return date(year, month, min(start.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    first_of_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (first_of_next - timedelta(days=1)).day


def phase_index(phase: Phase) -> int:
    """Position of `phase` in the pathway: evaluation is 0, follow_up is 8."""
    return PHASE_ORDER.index(phase)


def _milestones(dates: EpisodeDates, config: PhaseConfig) -> dict[Phase, date | None]:
    """The date each phase after evaluation begins (None: not known from the dates), per the module docstring."""
    day_zero = dates.reinfusion
    engrafted: date | None = None
    if day_zero is not None and dates.neutrophil_engraftment is not None:
        # Engraftment before Day 0 is a data error: count it as engraftment on Day 0.
        engrafted = max(dates.neutrophil_engraftment, day_zero)

    def after_engraftment(boundary: date | None) -> date | None:
        # Phases after early_recovery begin at their boundary, but never before engraftment is recorded.
        if engrafted is None or boundary is None:
            return None
        return max(boundary, engrafted)

    def day_plus(days: int) -> date | None:
        return None if day_zero is None else day_zero + timedelta(days=days)

    return {
        Phase.MOBILISATION: dates.mobilisation,
        Phase.COLLECTION: dates.apheresis,
        Phase.CONDITIONING: dates.conditioning_start,
        Phase.APLASIA: day_zero,
        Phase.EARLY_RECOVERY: engrafted,
        Phase.RECOVERY: after_engraftment(day_plus(config.early_recovery_end_day)),
        Phase.RECONSTITUTION: after_engraftment(day_plus(config.recovery_end_day)),
        Phase.FOLLOW_UP: after_engraftment(
            None if day_zero is None else add_months(day_zero, config.reconstitution_end_months)
        ),
    }


def phase_starts(dates: EpisodeDates, config: PhaseConfig = DEFAULT_PHASE_CONFIG) -> dict[Phase, date | None]:
    """The date each phase after evaluation begins, where the recorded dates fix it (else None)."""
    return _milestones(dates, config)


def _current_phase(milestones: dict[Phase, date | None], today: date) -> Phase:
    """The latest phase whose milestone is on or before `today` (evaluation when none is)."""
    reached = [phase for phase, start in milestones.items() if start is not None and start <= today]
    return max(reached, key=phase_index, default=Phase.EVALUATION)


def _next_phase_start(milestones: dict[Phase, date | None], current: Phase) -> tuple[Phase, date] | None:
    """The first later phase to begin and its date; None when no later milestone date is known.

    Every later milestone is still in the future (otherwise it would be the current phase), so the earliest
    of their dates is the day the phase next changes. On a tie the later phase wins, as in `_current_phase`.
    """
    later = [
        (start, phase_index(phase), phase)
        for phase, start in milestones.items()
        if start is not None and phase_index(phase) > phase_index(current)
    ]
    if not later:
        return None
    earliest = min(start for start, _, _ in later)
    _, _, phase = max(entry for entry in later if entry[0] == earliest)
    return phase, earliest


def _infection_risk(phase: Phase, day_zero: date | None, today: date, config: PhaseConfig) -> InfectionRisk:
    if phase in HIGH_RISK_PHASES:
        return InfectionRisk.HIGH
    if day_zero is None or phase_index(phase) < phase_index(Phase.EARLY_RECOVERY):
        return InfectionRisk.BASELINE  # before conditioning, or conditioning not recorded
    if today < day_zero + timedelta(days=config.moderate_risk_end_day):
        return InfectionRisk.MODERATE
    if today < add_months(day_zero, config.low_risk_end_months):
        return InfectionRisk.LOW
    return InfectionRisk.BASELINE


def engraftment_warnings(day: int, config: PhaseConfig = DEFAULT_PHASE_CONFIG) -> tuple[Flag, ...]:
    """The warnings of a patient not engrafted on Day `day`: delayed engraftment from `delayed_engraftment_day`,
    and also possible graft failure from `possible_graft_failure_day`. The one rule for both the phase's flags
    and the engraftment alerts (`engraftment.engraftment_flags`)."""
    flags = []
    if day >= config.delayed_engraftment_day:
        flags.append(Flag.DELAYED_ENGRAFTMENT)
    if day >= config.possible_graft_failure_day:
        flags.append(Flag.POSSIBLE_GRAFT_FAILURE)
    return tuple(flags)


def _flags(phase: Phase, day: int | None, config: PhaseConfig) -> tuple[Flag, ...]:
    # Aplasia means engraftment has not been recorded yet, and Day 0 is known.
    if phase is not Phase.APLASIA or day is None:
        return ()
    return engraftment_warnings(day, config)


def phase_on(dates: EpisodeDates, today: date, config: PhaseConfig = DEFAULT_PHASE_CONFIG) -> PhaseState:
    """Phase, Day number, infection risk and engraftment flags of an episode on `today`.

    The rules (and what happens with missing or out-of-order dates) are in the module docstring.
    Infection risk: high in conditioning and aplasia; after engraftment moderate until Day 0 +
    `moderate_risk_end_day` (exclusive), then low until `add_months(Day 0, low_risk_end_months)` (exclusive),
    then baseline; baseline before conditioning. Flags (aplasia only): delayed engraftment from Day 0 +
    `delayed_engraftment_day`, and also possible graft failure from Day 0 + `possible_graft_failure_day`.
    """
    milestones = _milestones(dates, config)
    phase = _current_phase(milestones, today)
    day = day_number(dates.reinfusion, today)
    following = _next_phase_start(milestones, phase)
    return PhaseState(
        phase=phase,
        day=day,
        infection_risk=_infection_risk(phase, dates.reinfusion, today, config),
        flags=_flags(phase, day, config),
        phase_started=milestones.get(phase),
        phase_ends=None if following is None else following[1],
    )


def phase_changes_on(dates: EpisodeDates, today: date, config: PhaseConfig = DEFAULT_PHASE_CONFIG) -> date | None:
    """The first date after `today` on which `phase_on` gives another phase or other flags; None if never.

    With the same dates and config, `phase_on(dates, d).phase` and `.flags` are those of `today` for every d
    from `today` up to the day before this date, whatever the time zone that decides which day is "today";
    so a phase stored for `today` holds until then. The phase moves when the earliest later milestone is
    reached (see `_next_phase_start`); in aplasia the flags are raised on Day 0 + `delayed_engraftment_day`
    and Day 0 + `possible_graft_failure_day`.
    """
    milestones = _milestones(dates, config)
    phase = _current_phase(milestones, today)
    candidates: list[date] = []
    following = _next_phase_start(milestones, phase)
    if following is not None:
        candidates.append(following[1])
    if phase is Phase.APLASIA and dates.reinfusion is not None:
        for day in (config.delayed_engraftment_day, config.possible_graft_failure_day):
            raised = dates.reinfusion + timedelta(days=day)
            if raised > today:
                candidates.append(raised)
    return min(candidates, default=None)


def recovery_progress(dates: EpisodeDates, today: date, config: PhaseConfig = DEFAULT_PHASE_CONFIG) -> float:
    """How far through the pathway the episode is on `today`, from 0.0 to 1.0 (never decreasing over time).

    With S = PRE_TRANSPLANT_SHARE (0.1) and R = `add_months(Day 0, reconstitution_end_months)`:

    * From Day 0: ``S + (1 - S) * min(1, (today - Day 0) / (R - Day 0))`` in days; 1.0 from R on.
    * Before Day 0, the pre-transplant steps mobilisation, collection and conditioning are each a third of S.
      In step k (0, 1, 2; the phase from `phase_on` rules, so missing or out-of-order dates are handled the
      same way) progress is ``S * (k + (j - k) * t) / 3``, where j is the step of the next milestone with a
      known date (Day 0 counts as step 3) and t the fraction of the days from the current step's start to
      that milestone already passed. With no later date known, progress stays at ``S * k / 3``.
    * 0.0 in evaluation (before mobilisation, or no dates at all).
    """
    day_zero = dates.reinfusion
    if day_zero is not None and today >= day_zero:
        span = (add_months(day_zero, config.reconstitution_end_months) - day_zero).days
        fraction = 1.0 if span <= 0 else min(1.0, (today - day_zero).days / span)
        return PRE_TRANSPLANT_SHARE + (1.0 - PRE_TRANSPLANT_SHARE) * fraction

    milestones = _milestones(dates, config)
    phase = _current_phase(milestones, today)
    if phase not in _PRE_TRANSPLANT_STEPS:
        return 0.0  # evaluation (a post-Day-0 phase needs today >= Day 0, handled above)
    steps = len(_PRE_TRANSPLANT_STEPS) - 1
    step = _PRE_TRANSPLANT_STEPS.index(phase)
    started = milestones[phase]
    following = _next_phase_start(milestones, phase)
    position = float(step)
    if following is not None and started is not None:
        next_phase, next_start = following
        next_step = _PRE_TRANSPLANT_STEPS.index(next_phase) if next_phase in _PRE_TRANSPLANT_STEPS else steps
        elapsed = (today - started).days / (next_start - started).days
        position = step + (next_step - step) * elapsed
    return min(1.0, max(0.0, PRE_TRANSPLANT_SHARE * position / steps))
