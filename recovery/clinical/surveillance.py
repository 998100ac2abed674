"""Long-term surveillance labs for secondary autoimmunity (domain.md section 3.2; section 8 item 14).

Thyroid function (TSH) and the platelet count, every 6-12 months for years after the transplant: in 507
patients, hypothyroidism 3.5%, hyperthyroidism 3.3% and immune thrombocytopenia up to 2.8% (14% after
alemtuzumab). The frequency is [U] in domain.md: the defaults below are for the centre to confirm.

Pure rules: Day 0, the dates on which each test has a result, and today in; the scheduled draws with their
status out. There is no clock and no database; the schedule comes from a `SurveillanceConfig`.

* Draws are due at Day 0 + `first_month`, then every `interval_months` (calendar months from Day 0, so
  31 Aug + 6 months is 28 Feb and the draws never drift), up to and including month `until_month`.
* A draw is `done` when every test in `tests` has a result from `done_window_days` before its due date
  (`counts_from`) up to the day before the next draw's `counts_from` (and on or before `today`): a late
  result still counts, but a later draw's result does not make up for a missed one. Otherwise the draw is
  `upcoming` before its due date, `due` from the due date for `missed_grace_days`, then `missed` from
  `missed_on` (the due date + `missed_grace_days`): the day the coordinator is given a task.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from recovery.clinical.config import Config
from recovery.clinical.phases import add_months


@dataclass(frozen=True)
class SurveillanceConfig(Config):
    """TSH and platelets every 6 months from month 6 for ten years [U]; a draw not done within 30 days of its
    due date becomes a task for the coordinator."""

    tests: tuple[str, ...] = ("tsh", "platelets")
    first_month: int = 6
    interval_months: int = 6  # domain.md: every 6-12 months
    until_month: int = 120  # the last draw is at most this many months after Day 0
    done_window_days: int = 30  # a result this many days before the due date already counts
    missed_grace_days: int = 30  # due date + this many days: the draw is missed, the coordinator is told

    def __post_init__(self) -> None:
        if self.interval_months < 1 or self.first_month < 0:
            raise ValueError("Surveillance draws need a first month of 0 or more and an interval of at least 1 month.")
        if self.done_window_days < 0 or self.missed_grace_days < 0:
            raise ValueError("The surveillance window and grace period cannot be negative.")


DEFAULT_SURVEILLANCE_CONFIG = SurveillanceConfig()


class DrawStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    MISSED = "missed"
    DONE = "done"


@dataclass(frozen=True)
class SurveillanceDraw:
    """One scheduled draw on `today`."""

    month: int  # months after Day 0
    due_date: date
    missed_on: date  # from this day the draw counts as missed
    counts_from: date  # a result from this day on counts for the draw
    tests: tuple[str, ...]
    missing: tuple[str, ...]  # the tests without a result that counts (empty when done)
    status: DrawStatus

    @property
    def key(self) -> str:
        """Stable per patient and draw: "surveillance:2026-08-31"."""
        return f"surveillance:{self.due_date.isoformat()}"


def surveillance_schedule(
    day0: date,
    results: Mapping[str, Sequence[date]],
    today: date,
    config: SurveillanceConfig = DEFAULT_SURVEILLANCE_CONFIG,
) -> list[SurveillanceDraw]:
    """Every scheduled draw from month `first_month` to month `until_month`, in date order.

    `results` maps a test code to the (local) dates on which it has a result; other tests are ignored.
    """
    tests = tuple(config.tests)
    window = timedelta(days=config.done_window_days)
    months = range(config.first_month, config.until_month + 1, config.interval_months)
    draws = []
    for month in months:
        due = add_months(day0, month)
        counts_from = due - window
        counts_until = min(add_months(day0, month + config.interval_months) - window - timedelta(days=1), today)
        missed_on = due + timedelta(days=config.missed_grace_days)
        missing = tuple(
            test for test in tests if not any(counts_from <= on <= counts_until for on in results.get(test, ()))
        )
        if not missing:
            status = DrawStatus.DONE
        elif today < due:
            status = DrawStatus.UPCOMING
        elif today < missed_on:
            status = DrawStatus.DUE
        else:
            status = DrawStatus.MISSED
        draws.append(SurveillanceDraw(month, due, missed_on, counts_from, tests, missing, status))
    return draws
