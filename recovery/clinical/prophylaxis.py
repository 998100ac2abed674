"""Antimicrobial prophylaxis start and stop dates (domain.md section 3.1; section 8 items 11, 13).

Pure rules: episode dates and CD4 results in, one `MedicationPlan` per enabled template out. There is no
clock (`today` is an argument) and no database; the templates and the CD4 threshold come from a
`ProphylaxisConfig` (see `labs_config.py`). Default templates ([U] in domain.md, to be signed off locally):

=============  ========================  ===================================  ================================
medication     starts                    may stop from (planned stop)         and only when
=============  ========================  ===================================  ================================
aciclovir      conditioning start        month 12 after Day 0                 CD4 >= `cd4_threshold` [0.2]
cotrimoxazole  neutrophil engraftment    month 3 after Day 0 (centres: 3-6)   CD4 >= [0.2]
fluconazole    conditioning start        neutrophil engraftment               -
levofloxacin   Day 0                     neutrophil engraftment               -
=============  ========================  ===================================  ================================

* Months are calendar months (`phases.add_months`: 31 Jan + 1 month is 28 Feb). A planned stop earlier
  than the start (engraftment after month 3, say) is moved to the start.
* A date that is not known yet gives None: the start or planned stop of a course anchored on it (a stop at
  engraftment stays None until engraftment is recorded on or before `today`). A missing conditioning start
  leaves the start None, but the course counts as started from Day 0 (conditioning always precedes it).
* CD4: the latest result after Day 0 and on or before `today` (lowest of that day) must be at or above
  `cd4_threshold`; results on or before Day 0 predate the ATG depletion and are ignored.
* `stop_allowed`: the course has started, the planned stop is reached (on or before `today`) and, for a
  CD4-gated course, CD4 is recovered. The timeline's start and review events take their dates from
  `course_dates`, the same formula. `awaiting_cd4`: the planned stop is reached but CD4 is not recovered (or
  not measured): the prompt for the clinician to review the course and order a CD4 count.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from recovery.clinical.engraftment import is_plausible
from recovery.clinical.labs_config import (
    CD4,
    DEFAULT_PROPHYLAXIS_CONFIG,
    Anchor,
    LabConfig,
    ProphylaxisConfig,
    ProphylaxisTemplate,
)
from recovery.clinical.phases import add_months


class CourseStatus(StrEnum):
    """Where a prophylaxis course stands on `today`."""

    NOT_STARTED = "not_started"
    ACTIVE = "active"
    STOP_ALLOWED = "stop_allowed"


@dataclass(frozen=True)
class MedicationPlan:
    """One medication's course on `today`."""

    medication: str
    start: date | None
    planned_stop: date | None  # the earliest stop date; None while its anchor is not known
    until_cd4: bool
    cd4_recovered: bool
    stop_allowed: bool
    awaiting_cd4: bool  # planned stop reached, CD4 not recovered: the clinician prompt
    status: CourseStatus


_Value = TypeVar("_Value", Decimal, float)


def usable_cd4(results: Sequence[tuple[date, _Value]], day0: date, labs: LabConfig) -> list[tuple[date, _Value]]:
    """The CD4 counts (local date, value; oldest first) the courses read: those after Day 0, and only those after
    the last implausible count (one recorded before the plausibility check, or under a wider range: most often a
    count in cells/uL), which never counts as CD4 recovery, nor lets an older count stand in for it (as
    `recovery.clinical.engraftment.cd4_recovered`). The values keep their type (Decimal as stored)."""
    last_implausible = max((on for on, value in results if not is_plausible(CD4, float(value), labs)), default=None)
    return [(on, value) for on, value in results if on > day0 and (last_implausible is None or on > last_implausible)]


def _check_cd4(cd4_results: Sequence[tuple[date, float]]) -> None:
    for day, value in cd4_results:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"The CD4 result of {day} must be a number of at least 0 (x10^9/L), not {value!r}.")


def _cd4_recovered(cd4_results: Sequence[tuple[date, float]], day0: date, today: date, threshold: float) -> bool:
    usable = [(day, value) for day, value in cd4_results if day0 < day <= today]
    if not usable:
        return False
    latest = max(day for day, _ in usable)
    return min(value for day, value in usable if day == latest) >= threshold


def _dates(template: ProphylaxisTemplate, anchors: dict[str, date | None]) -> tuple[date | None, date | None]:
    """(start, planned stop) of `template` from the anchor dates; the one formula for the plan and the timeline."""
    try:
        start, stop_anchor = anchors[Anchor(template.start)], anchors[Anchor(template.stop)]
    except ValueError as exc:
        raise ValueError(
            f"The {template.medication} template has an unknown start or stop ({template.start!r}, "
            f"{template.stop!r}); use one of {', '.join(Anchor)}."
        ) from exc
    planned_stop = None if stop_anchor is None else add_months(stop_anchor, template.stop_months)
    if planned_stop is not None and start is not None:
        planned_stop = max(planned_stop, start)
    return start, planned_stop


def course_dates(
    medication: str,
    *,
    day0: date,
    conditioning_start: date | None,
    neutrophil_engraftment: date | None,
    config: ProphylaxisConfig = DEFAULT_PROPHYLAXIS_CONFIG,
) -> tuple[date | None, date | None]:
    """(start, planned stop) of `medication`'s course from the episode dates as recorded, as `prophylaxis_plan`
    computes them once those dates are reached; (None, None) when the medication has no enabled template.
    The timeline's start and "review stopping" events take their dates from here."""
    for template in config.template_list():
        if template.medication == medication and template.enabled:
            anchors: dict[str, date | None] = {
                Anchor.CONDITIONING_START: conditioning_start,
                Anchor.DAY0: day0,
                Anchor.NEUTROPHIL_ENGRAFTMENT: neutrophil_engraftment,
            }
            return _dates(template, anchors)
    return None, None


def _course(
    template: ProphylaxisTemplate,
    anchors: dict[str, date | None],
    day0: date,
    today: date,
    cd4_ok: bool,
) -> MedicationPlan:
    start, planned_stop = _dates(template, anchors)
    started_on = start if start is not None or template.start != Anchor.CONDITIONING_START else day0
    started = started_on is not None and started_on <= today
    # A course that has not started cannot be stopped (co-trimoxazole before engraftment is recorded).
    reached = started and planned_stop is not None and planned_stop <= today
    stop_allowed = reached and (cd4_ok or not template.until_cd4)
    if stop_allowed:
        status = CourseStatus.STOP_ALLOWED
    elif not started:
        status = CourseStatus.NOT_STARTED
    else:
        status = CourseStatus.ACTIVE
    return MedicationPlan(
        medication=template.medication,
        start=start,
        planned_stop=planned_stop,
        until_cd4=template.until_cd4,
        cd4_recovered=cd4_ok,
        stop_allowed=stop_allowed,
        awaiting_cd4=reached and template.until_cd4 and not cd4_ok,
        status=status,
    )


def prophylaxis_plan(
    day0: date,
    conditioning_start: date | None,
    neutrophil_engraftment: date | None,
    cd4_results: Sequence[tuple[date, float]],
    today: date,
    config: ProphylaxisConfig = DEFAULT_PROPHYLAXIS_CONFIG,
) -> list[MedicationPlan]:
    """Each enabled template's course on `today`, in the configured order (rules in the module docstring).

    Raises ValueError for a conditioning start after Day 0, an engraftment before Day 0, a CD4 result that
    is not a number of at least 0, or a template with an unknown anchor.
    """
    if conditioning_start is not None and conditioning_start > day0:
        raise ValueError(f"Conditioning cannot start ({conditioning_start}) after Day 0 ({day0}).")
    if neutrophil_engraftment is not None and neutrophil_engraftment < day0:
        raise ValueError(f"Neutrophil engraftment ({neutrophil_engraftment}) cannot be before Day 0 ({day0}).")
    _check_cd4(cd4_results)
    engrafted = (
        neutrophil_engraftment if neutrophil_engraftment is not None and neutrophil_engraftment <= today else None
    )
    anchors: dict[str, date | None] = {
        Anchor.CONDITIONING_START: conditioning_start,
        Anchor.DAY0: day0,
        Anchor.NEUTROPHIL_ENGRAFTMENT: engrafted,
    }
    cd4_ok = _cd4_recovered(cd4_results, day0, today, config.cd4_threshold)
    return [_course(template, anchors, day0, today, cd4_ok) for template in config.template_list() if template.enabled]
