"""Per-patient MS outcomes after aHSCT (domain.md sections 4-5; section 8 items 18-23).

Pure rules: records in, plain values out. No Django, no clock: the date the outcome is computed for (`on`)
is an argument, and nothing dated after it is used. Every threshold comes from an `OutcomeConfig` (see
`config.py`); none is written here as a literal.

The rules (defaults in brackets):

* **Baseline EDSS**: the last usable assessment (see below) on or before Day 0; when there is none, the
  recorded baseline (the patient's `baseline_edss`). Two assessments on the same date: the later one in the
  given order (the later record). Without a Day 0 the recorded baseline is used.
* **Usable assessments**: an assessment from a relapse onset through `relapse_exclusion_days` [30] days
  after it is not used, *both ends included*: with the default, days 0 to 30 after the onset are excluded and
  day 31 is the first usable day. An assessment before the onset is usable. This applies to the baseline
  too (a score taken during a relapse is not a fair reference). A relapse a clinician classified as a
  *pseudo-relapse* opens the same window: a score taken while a fever or an infection brings old symptoms
  back is no fairer a measure of lasting disability than one taken in a relapse (the standard window's
  reason), and the clinician's classification says what the episode was, not that the score is sound.
* **Step**: an increase of `progression_step_low` [1.0] from a reference at or below
  `progression_baseline_cut` [5.5] (so 5.5 needs 6.5), `progression_step_high` [0.5] from a reference above
  it (6.0 needs 6.5), and `progression_step_from_zero` [off] from a reference of 0 when set.
* **Confirmed disability progression (CDP)**, over the usable assessments after Day 0 in date order:
  a *candidate* is an assessment at or above the threshold (reference + step). It is *confirmed* by the first
  assessment dated on or after `add_months(candidate date, confirmation_months)` [6; 3 and 12 are the other
  usual choices] provided every assessment from the candidate through that one (the ones in between
  included) is at or above the threshold: a dip below the threshold before the confirming visit breaks the
  candidate, and a later candidate starts afresh. The first confirmed candidate is the event, dated on the
  candidate (the first assessment of the confirmed rise), so earlier than the day it became known
  (`confirmed_on`). Once confirmed it is never taken back: later scores below the threshold are reported as
  *improvement after progression* (`improved_since`: the first of the trailing run of scores below the
  threshold), and the event still ends NEDA-3 and progression-free survival.
  A candidate whose run of scores at or above the threshold reaches the last usable assessment without a
  confirming visit yet is a *tentative* progression (`tentative_since`): shown to staff, not an event.
* **Reference** (`roving_reference`, per centre, default off): off, the reference is the baseline for the
  whole follow-up. On, it roves as in the roving-reference definitions (Kappos et al., Mult Scler 2018;
  domain.md 4.2): a run of usable scores after Day 0 all *below* the current reference resets it once the run
  reaches an assessment at least `confirmation_months` after its first score (the same confirmation as for
  progression); the new reference is the highest score of that confirming run (the level the patient held
  throughout, so a fluctuation down and back is not read as a rise), dated on the run's first score
  (`reference_on`). A lower score that is not confirmed changes nothing. Only the first confirmed progression
  is an event here (NEDA-3 and progression-free survival end at it), so the upward reset after a progression
  that roving definitions use to find a second event is not applied.
* **Confirmed improvement**: a state, not an event: a score at or below baseline - step (the step from the
  fixed baseline), with at least one usable assessment on or after `add_months(candidate, confirmation_months)`
  and every usable assessment from that date on still at or below the threshold (a later rise takes it back).
  A threshold below 0 (for example baseline 0.0) cannot be reached, so there is no improvement.
* **MRI activity**: lesions are counted against a reference scan. The reference is the *first* scan flagged
  as re-baseline on or after Day 0 (a later re-baseline flag does not wipe out activity already seen; a flag
  on a scan before Day 0 is a data error and is ignored). With no such flag, the first scan on or after
  Day 0 is the reference. Scans on or before the reference date do not count; the activity date is the
  first later scan with at least one new or enlarging T2 lesion or at least one gadolinium-enhancing lesion.
* **Relapses**: those with an onset after Day 0 (Day 0 itself excluded), except those a clinician classified
  as a pseudo-relapse (`RelapseRecord.pseudo`). A relapse auto-flagged as a *possible* pseudo-relapse (a fever
  near its onset) counts as a relapse until a clinician classifies it: an unreviewed flag must not quietly
  keep NEDA-3. A pseudo-relapse ends neither NEDA-3 nor relapse-free survival; it is counted apart
  (`pseudo_relapse_count`).
* **NEDA-3** holds until the earliest of the first relapse after Day 0, the progression date and the MRI
  activity date; that date is `neda3_lost_on`. `neda3_months` counts the whole calendar months NEDA-3 held:
  from Day 0 to its loss, or to `on` while it holds. Without a Day 0 (or before it) there is no NEDA-3
  status (`None`).
* **EDSS change category** (the "improved / stable / worse" proportions of domain.md section 4.6): "worse"
  with confirmed progression (an event later improvement does not erase), else "improved" with confirmed
  improvement, else "stable"; `None` without a baseline or without a usable assessment after Day 0.
* **Follow-up end**: the latest date of any record (assessment, relapse or scan) on or before `on`; the
  Kaplan-Meier curves censor there (`survival_endpoints`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from recovery.clinical.config import DEFAULT_OUTCOME_CONFIG, OutcomeConfig
from recovery.clinical.edss import EDSS_MIN
from recovery.clinical.phases import add_months
from recovery.clinical.survival import months_between

Direction = Literal["worse", "better"]

# Causes of NEDA-3 loss (`Outcome.neda3_lost_by`).
RELAPSE = "relapse"
PROGRESSION = "progression"
MRI_ACTIVITY = "mri_activity"

# Keys of `survival_endpoints`, as in the API's `cohort/outcomes` resource.
ENDPOINT_NEDA3 = "neda3"
ENDPOINT_PROGRESSION_FREE = "progression_free"
ENDPOINT_RELAPSE_FREE = "relapse_free"


@dataclass(frozen=True)
class Assessment:
    """One EDSS assessment."""

    on: date
    score: Decimal

    def __post_init__(self) -> None:
        # Scores are compared exactly; a float or int from a caller becomes the Decimal it was written as.
        if not isinstance(self.score, Decimal):
            object.__setattr__(self, "score", Decimal(str(self.score)))


@dataclass(frozen=True)
class RelapseRecord:
    """One relapse, by its onset date. `pseudo`: a clinician classified it as a pseudo-relapse."""

    onset: date
    pseudo: bool = False


@dataclass(frozen=True)
class Scan:
    """One MRI scan: counts of new or enlarging T2 lesions and of gadolinium-enhancing lesions."""

    on: date
    new_t2: int = 0
    gd_enhancing: int = 0
    is_rebaseline: bool = False

    @property
    def active(self) -> bool:
        return self.new_t2 > 0 or self.gd_enhancing > 0


@dataclass(frozen=True)
class Progression:
    """What the disability-progression rule found (see the module docstring); every field None when nothing.

    `reference` and `threshold` are those the event (or the tentative rise) was measured against; without
    either, those in force at the last usable assessment.
    """

    onset: date | None = None  # the first assessment of the confirmed rise: the event's date
    confirmed_on: date | None = None  # the assessment that confirmed it
    reference: Decimal | None = None
    reference_on: date | None = None  # the date a roving reference was set; None while it is the baseline
    threshold: Decimal | None = None
    tentative_since: date | None = None  # an unconfirmed rise running to the last usable assessment
    improved_since: date | None = None  # after the event: every later usable score is below the threshold

    @property
    def confirmed(self) -> bool:
        return self.onset is not None


@dataclass(frozen=True)
class Outcome:
    """A patient's outcomes as of `as_of` (every field is computed from records dated on or before it)."""

    day0: date | None
    as_of: date
    baseline_edss: Decimal | None
    last_edss: Decimal | None  # the latest recorded score (relapse-adjacent or not, either side of Day 0)
    last_assessed: date | None
    confirmed_progression: bool
    progression_date: date | None
    progression: Progression  # the details: reference, threshold, confirmation, tentative rise, later improvement
    confirmed_improvement: bool
    improvement_date: date | None
    relapse_count: int  # relapses with an onset after Day 0, pseudo-relapses left out
    first_relapse: date | None
    pseudo_relapse_count: int  # relapses after Day 0 a clinician classified as pseudo-relapses
    mri_reference_date: date | None  # the scan new lesions are counted against
    mri_activity_date: date | None
    neda3: bool | None  # None without a Day 0, or before it
    neda3_lost_on: date | None
    neda3_lost_by: tuple[str, ...]  # RELAPSE, PROGRESSION, MRI_ACTIVITY: the causes dated `neda3_lost_on`
    neda3_months: int | None  # whole months NEDA-3 held since Day 0 (to its loss, or to `as_of`)
    follow_up_end: date | None
    edss_change_category: Literal["improved", "stable", "worse"] | None


def _dec(value: float) -> Decimal:
    """A configuration number as the Decimal it was written as (1.0 -> Decimal('1.0'))."""
    return Decimal(str(value))


def _by_date(assessments: Iterable[Assessment]) -> list[Assessment]:
    # sorted() is stable: assessments sharing a date keep their given order.
    return sorted(assessments, key=lambda a: a.on)


def whole_months(start: date, end: date) -> int:
    """Complete calendar months from `start` to `end` (0 when `end` is before `start`).

    The largest k with `add_months(start, k) <= end`: 7 Feb to 6 Aug is 5 months, to 7 Aug is 6.
    """
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return months


def baseline_edss(
    assessments: Iterable[Assessment], day0: date | None, recorded_baseline: Decimal | None
) -> Decimal | None:
    """The last assessment on or before Day 0, else the recorded baseline (see the module docstring).

    Pass the usable assessments (`usable`) to leave out scores taken during a relapse; `patient_outcome` does.
    """
    if day0 is not None:
        before = [a for a in _by_date(assessments) if a.on <= day0]
        if before:
            return before[-1].score
    return None if recorded_baseline is None else _dec_score(recorded_baseline)


def _dec_score(score: Decimal | float) -> Decimal:
    return score if isinstance(score, Decimal) else Decimal(str(score))


def _excluded(on: date, relapses: Iterable[RelapseRecord], config: OutcomeConfig) -> bool:
    window = timedelta(days=config.relapse_exclusion_days)
    return any(r.onset <= on <= r.onset + window for r in relapses)


def usable(
    assessments: Iterable[Assessment], relapses: Iterable[RelapseRecord], config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
) -> list[Assessment]:
    """The assessments (by date) not taken from a relapse onset through `relapse_exclusion_days` after it.

    Both ends are excluded: with the default of 30, an assessment on the onset day or up to 30 days after it
    is not used, one 31 days after it is. An assessment before the onset is used.
    """
    relapses = list(relapses)
    return [a for a in _by_date(assessments) if not _excluded(a.on, relapses, config)]


def required_step(baseline: Decimal, config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG) -> Decimal:
    """The EDSS change that counts from `baseline`: the low step at or below the cut, the high step above it.

    With `progression_step_from_zero` set, a baseline of 0 needs that step instead.
    """
    baseline = _dec_score(baseline)
    if baseline == EDSS_MIN and config.progression_step_from_zero is not None:
        return _dec(config.progression_step_from_zero)
    if baseline <= _dec(config.progression_baseline_cut):
        return _dec(config.progression_step_low)
    return _dec(config.progression_step_high)


def _run_to(kept: Sequence[Assessment], start: int, inside, confirm_from: date) -> int | None:
    """The index of the first assessment from `start` on dated on or after `confirm_from`, when every
    assessment from `start` through it is `inside`; None when one outside comes first or none is late enough."""
    for index in range(start, len(kept)):
        if not inside(kept[index].score):
            return None
        if kept[index].on >= confirm_from:
            return index
    return None


def disability_progression(
    assessments: Iterable[Assessment],
    relapses: Iterable[RelapseRecord],
    baseline: Decimal | None,
    day0: date | None,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
) -> Progression:
    """Confirmed disability progression from `baseline` (fixed or roving reference), as the module docstring
    defines it. No baseline or no Day 0: an empty `Progression`."""
    if baseline is None or day0 is None:
        return Progression()
    kept = usable(assessments, relapses, config)
    reference, reference_on = _dec_score(baseline), None
    for index, candidate in enumerate(kept):
        if candidate.on <= day0:
            continue
        threshold = reference + required_step(reference, config)
        confirm_from = add_months(candidate.on, config.confirmation_months)
        if candidate.score >= threshold:
            confirmer = _run_to(kept, index, lambda score, t=threshold: score >= t, confirm_from)
            if confirmer is not None:
                last_above = max(i for i in range(confirmer, len(kept)) if kept[i].score >= threshold)
                return Progression(
                    onset=candidate.on,
                    confirmed_on=kept[confirmer].on,
                    reference=reference,
                    reference_on=reference_on,
                    threshold=threshold,
                    improved_since=kept[last_above + 1].on if last_above + 1 < len(kept) else None,
                )
            if all(a.score >= threshold for a in kept[index:]):
                return Progression(
                    reference=reference, reference_on=reference_on, threshold=threshold, tentative_since=candidate.on
                )
        elif config.roving_reference and candidate.score < reference:
            confirmer = _run_to(kept, index, lambda score, r=reference: score < r, confirm_from)
            if confirmer is not None:
                reference = max(a.score for a in kept[index : confirmer + 1])
                reference_on = candidate.on
    return Progression(
        reference=reference, reference_on=reference_on, threshold=reference + required_step(reference, config)
    )


def confirmed_change(
    assessments: Iterable[Assessment],
    relapses: Iterable[RelapseRecord],
    baseline: Decimal | None,
    day0: date | None,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
    direction: Direction = "worse",
) -> date | None:
    """The date of the first assessment of a confirmed change from `baseline`, or None.

    `direction` "worse" is confirmed disability progression (`disability_progression(...).onset`, an event).
    "better" is confirmed improvement, a state: a usable assessment after Day 0 at or below baseline -
    `required_step`, with at least one usable assessment dated on or after `add_months(candidate,
    confirmation_months)` and every usable assessment from that date on still at or below it. No baseline or
    no Day 0: None.
    """
    if direction not in ("worse", "better"):
        raise ValueError(f"direction must be 'worse' or 'better', not {direction!r}.")
    if direction == "worse":
        return disability_progression(assessments, relapses, baseline, day0, config).onset
    if baseline is None or day0 is None:
        return None
    baseline = _dec_score(baseline)
    threshold = baseline - required_step(baseline, config)
    if threshold < EDSS_MIN:
        return None  # a full step down from this baseline is not possible

    def beyond(score: Decimal) -> bool:
        return score <= threshold

    kept = usable(assessments, relapses, config)
    for candidate in kept:
        if candidate.on <= day0 or not beyond(candidate.score):
            continue
        confirm_from = add_months(candidate.on, config.confirmation_months)
        later = [a for a in kept if a.on >= confirm_from]
        if later and all(beyond(a.score) for a in later):
            return candidate.on
    return None


def mri_reference(scans: Iterable[Scan], day0: date | None) -> Scan | None:
    """The scan lesions are counted against: the first re-baseline scan on or after Day 0, else the first scan
    on or after Day 0. None without a Day 0 or without such a scan."""
    if day0 is None:
        return None
    after = sorted((s for s in scans if s.on >= day0), key=lambda s: s.on)
    flagged = [s for s in after if s.is_rebaseline]
    if flagged:
        return flagged[0]
    return after[0] if after else None


def mri_activity_date(scans: Iterable[Scan], day0: date | None) -> date | None:
    """The first scan after the reference scan (`mri_reference`) with a new or enlarging T2 lesion or a
    gadolinium-enhancing lesion; scans on or before the reference date do not count."""
    scans = list(scans)
    reference = mri_reference(scans, day0)
    if reference is None:
        return None
    active = sorted(s.on for s in scans if s.on > reference.on and s.active)
    return active[0] if active else None


def first_relapse_after(relapses: Iterable[RelapseRecord], day0: date | None) -> date | None:
    """The earliest relapse onset after Day 0 (a relapse on Day 0 itself does not count), pseudo-relapses left
    out."""
    if day0 is None:
        return None
    onsets = [r.onset for r in relapses if r.onset > day0 and not r.pseudo]
    return min(onsets, default=None)


def patient_outcome(
    *,
    day0: date | None,
    assessments: Sequence[Assessment],
    relapses: Sequence[RelapseRecord],
    scans: Sequence[Scan],
    recorded_baseline: Decimal | None,
    on: date,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
) -> Outcome:
    """Everything the outcome views show for one patient on `on` (records dated after `on` are ignored)."""
    assessments = _by_date(a for a in assessments if a.on <= on)
    relapses = [r for r in relapses if r.onset <= on]
    scans = [s for s in scans if s.on <= on]
    transplanted = day0 is not None and day0 <= on
    post_day0 = day0 if transplanted else None  # the rules below see no Day 0 before it has happened

    kept = usable(assessments, relapses, config)
    baseline = baseline_edss(kept, day0, recorded_baseline)
    found = disability_progression(assessments, relapses, baseline, post_day0, config)
    progression = found.onset
    improvement = confirmed_change(assessments, relapses, baseline, post_day0, config, "better")
    first_relapse = first_relapse_after(relapses, post_day0)
    reference = mri_reference(scans, post_day0)
    mri_date = mri_activity_date(scans, post_day0)

    causes = {RELAPSE: first_relapse, PROGRESSION: progression, MRI_ACTIVITY: mri_date}
    dated = {cause: when for cause, when in causes.items() if when is not None}
    lost_on = min(dated.values(), default=None)
    lost_by = tuple(cause for cause, when in dated.items() if when == lost_on)

    neda3: bool | None = None
    neda3_months: int | None = None
    if post_day0 is not None:
        neda3 = lost_on is None
        neda3_months = whole_months(post_day0, on if lost_on is None else lost_on)

    category: Literal["improved", "stable", "worse"] | None = None
    if baseline is not None and post_day0 is not None and any(a.on > post_day0 for a in kept):
        category = "worse" if progression else "improved" if improvement else "stable"

    record_dates = [a.on for a in assessments] + [r.onset for r in relapses] + [s.on for s in scans]
    last = assessments[-1] if assessments else None
    return Outcome(
        day0=day0,
        as_of=on,
        baseline_edss=baseline,
        last_edss=None if last is None else last.score,
        last_assessed=None if last is None else last.on,
        confirmed_progression=progression is not None,
        progression_date=progression,
        progression=found,
        confirmed_improvement=improvement is not None,
        improvement_date=improvement,
        relapse_count=0 if post_day0 is None else sum(1 for r in relapses if r.onset > post_day0 and not r.pseudo),
        first_relapse=first_relapse,
        pseudo_relapse_count=0 if post_day0 is None else sum(1 for r in relapses if r.onset > post_day0 and r.pseudo),
        mri_reference_date=None if reference is None else reference.on,
        mri_activity_date=mri_date,
        neda3=neda3,
        neda3_lost_on=lost_on,
        neda3_lost_by=lost_by,
        neda3_months=neda3_months,
        follow_up_end=max(record_dates, default=None),
        edss_change_category=category,
    )


def survival_endpoints(outcome: Outcome) -> dict[str, tuple[float, bool]] | None:
    """(months from Day 0, event) for each Kaplan-Meier endpoint, or None without a post-Day-0 period.

    Keys: "neda3" (event: NEDA-3 lost), "progression_free" (confirmed progression), "relapse_free" (first
    relapse). Without the event, the patient is censored at the last follow-up (`follow_up_end`; 0 months when
    there is no record after Day 0).
    """
    day0 = outcome.day0
    if day0 is None or outcome.neda3 is None:
        return None
    follow_up = outcome.follow_up_end if outcome.follow_up_end is not None else day0
    censored_at = months_between(day0, max(follow_up, day0))

    def endpoint(event_on: date | None) -> tuple[float, bool]:
        if event_on is None:
            return censored_at, False
        return months_between(day0, event_on), True

    return {
        ENDPOINT_NEDA3: endpoint(outcome.neda3_lost_on),
        ENDPOINT_PROGRESSION_FREE: endpoint(outcome.progression_date),
        ENDPOINT_RELAPSE_FREE: endpoint(outcome.first_relapse),
    }


_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(value: date) -> str:
    """'3 March 2025' (not locale-dependent)."""
    return f"{value.day} {_MONTH_NAMES[value.month - 1]} {value.year}"
