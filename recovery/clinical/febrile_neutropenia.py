"""Febrile neutropenia for the cohort's safety rate (CTCAE v5.0, domain.md section 2.3; section 8 items 22-23).

Pure rule: readings and ANC results in, a status out. No Django, no clock. Every threshold comes from an
`OutcomeConfig` (see `config.py`); none is written here as a literal. This is the *reporting* definition, so
that a centre's rate can stand next to the published 68% (Cy/ATG) and 88% (BEAM/ATG) [S6]; the urgent fever
alerts of `triage.py` follow their own (IDSA) rule and never wait for an ANC.

The rule (defaults in brackets):

* **Fever**: one temperature at or above `fn_single_c` [38.3 C], or a *sustained* fever: two readings at or
  above `fn_sustained_c` [38.0 C] more than `fn_sustained_minutes` [60] apart ("for more than one hour",
  strictly), at most `fn_sustained_max_gap_hours` [24, as the triage rule's look-back] apart, with no reading
  between them below `fn_sustained_c` (a reading below it means the fever did not last). The fever is *met*
  at the single reading, or at the later reading of the pair.
* **Neutropenia**: the ANC result nearest in time to the moment the fever is met, taken at most
  `fn_anc_window_hours` [24] before or after it (a tie: the earlier sample), is below `fn_anc_below`
  [1.0 x10^9/L], strictly. A fever without an ANC that close is not counted: the definition needs both.
* **Window**: readings from the start of conditioning (Day 0 when no conditioning date is recorded) through
  Day +`fn_window_end_day` [100] (the 100-day safety window of the Swedish cohort [S5]), as local dates of the
  patient. The caller turns the dates into the instants `start` (inclusive) and `end` (exclusive).
* **Status**, for a comparable rate: `YES` when a fever in the window meets the definition; otherwise `PENDING`
  while the window is still open (`closed` False: the patient may yet have one, and counting them as "no"
  would lower the rate), `NO_ANC` when no ANC result was taken in the window (the rate cannot be known), else
  `NO`. Only `YES` and `NO` enter the rate's denominator. A fever meeting the definition before the window
  closes is `YES` only once it has closed too: counting early events but not early non-events would raise the
  rate, so every patient still in the window is `PENDING`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from recovery.clinical.config import DEFAULT_OUTCOME_CONFIG, OutcomeConfig


class FNStatus(StrEnum):
    YES = "yes"
    NO = "no"
    PENDING = "pending"  # the window has not closed yet
    NO_ANC = "no_anc"  # no ANC result in the window


@dataclass(frozen=True)
class TimedValue:
    """A temperature (C) or an ANC (x10^9/L) and the aware instant it was taken."""

    at: datetime
    value: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal):
            object.__setattr__(self, "value", Decimal(str(self.value)))


@dataclass(frozen=True)
class FNResult:
    status: FNStatus
    met_at: datetime | None = None  # when the first qualifying fever was met
    anc: Decimal | None = None  # the ANC that made it neutropenic

    @property
    def counted(self) -> bool:
        """Whether the patient enters the rate's denominator."""
        return self.status in (FNStatus.YES, FNStatus.NO)


def _dec(value: float) -> Decimal:
    return Decimal(str(value))


def fever_moments(readings: Sequence[TimedValue], config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG) -> list[datetime]:
    """The instants at which a fever meets the definition (see the module docstring), in time order."""
    readings = sorted(readings, key=lambda r: r.at)
    single, sustained = _dec(config.fn_single_c), _dec(config.fn_sustained_c)
    longer_than = timedelta(minutes=config.fn_sustained_minutes)
    max_gap = timedelta(hours=config.fn_sustained_max_gap_hours)
    moments = []
    for index, reading in enumerate(readings):
        if reading.value >= single:
            moments.append(reading.at)
            continue
        if reading.value < sustained:
            continue
        # walk back through the unbroken run of readings at or above the sustained threshold
        for earlier in reversed(readings[:index]):
            if earlier.value < sustained or reading.at - earlier.at > max_gap:
                break
            if reading.at - earlier.at > longer_than:
                moments.append(reading.at)
                break
    return moments


def nearest_anc(
    results: Iterable[TimedValue], at: datetime, config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
) -> TimedValue | None:
    """The ANC result nearest in time to `at` within `fn_anc_window_hours` either side (a tie: the earlier), or
    None."""
    window = timedelta(hours=config.fn_anc_window_hours)
    close = [r for r in results if abs(r.at - at) <= window]
    return min(close, key=lambda r: (abs(r.at - at), r.at), default=None)


def febrile_neutropenia(
    *,
    readings: Iterable[TimedValue],
    anc_results: Iterable[TimedValue],
    start: datetime,
    end: datetime,
    closed: bool,
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
) -> FNResult:
    """The patient's febrile-neutropenia status for the window [`start`, `end`) (see the module docstring).

    `closed`: the window has ended (the day after Day +`fn_window_end_day` has begun for the patient).
    """
    if not closed:
        return FNResult(FNStatus.PENDING)
    anc_results = list(anc_results)
    in_window = [r for r in readings if start <= r.at < end]
    below = _dec(config.fn_anc_below)
    for moment in fever_moments(in_window, config):
        anc = nearest_anc(anc_results, moment, config)
        if anc is not None and anc.value < below:
            return FNResult(FNStatus.YES, met_at=moment, anc=anc.value)
    if not any(start <= r.at < end for r in anc_results):
        return FNResult(FNStatus.NO_ANC)
    return FNResult(FNStatus.NO)
