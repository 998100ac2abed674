"""Time windows and gaps of the patients' charts, as pure rules over plain values.

A chart shows one of three windows (`FIRST_DAYS`, `YEAR`, `ALL`), chosen with `?range=` and defaulting to the
window that matters at the patient's point in the transplant (`default_range`). The server sends only the data
inside the window, so a chart of ten years' follow-up does not squeeze the first hundred days into a sliver.

A line between two points says "the value went from here to there". Where no value was expected to be missing
(the points are closer than the chart's expected interval) the line is drawn; across a longer gap `break_gaps`
puts a point with no value, which Chart.js (with `spanGaps` off, its default) draws as a break in the line.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from recovery.clinical.config import Config, ReminderConfig

FIRST_DAYS = "100d"
YEAR = "year"
ALL = "all"
RANGES = (FIRST_DAYS, YEAR, ALL)

# What "Year" means: on charts drawn against Day 0 (labs, immune recovery, EDSS) the first year after Day 0,
# as the follow-up schedule counts it; on charts of the patient's own reports (temperature, symptoms, alerts) the
# last twelve months, which is what a clinician reviewing a patient in follow-up looks at.
FROM_DAY0 = "day0"
TO_TODAY = "today"


@dataclass(frozen=True)
class ChartConfig(Config):
    """Chart windows and the longest gap each kind of chart joins with a line (see the module docstring)."""

    # "First 100 days": from this day (conditioning starts at most 14 days before Day 0) through this day
    first_days_start_day: int = -14
    first_days_end_day: int = 100
    year_days: int = 365
    # a report up to this much later than the schedule asked for still joins the line
    report_gap_slack_hours: int = 12
    # blood counts are taken daily in aplasia, and engraftment counts consecutive days: a missed day breaks
    count_gap_days: int = 1
    # immune panels (CD4, CD19, IgG) at months 3, 6, 12, 18 and 24: six months and a little more join
    immune_gap_days: int = 200
    # EDSS is assessed at least yearly: a score older than this (a year and a month) is not carried forward
    edss_gap_days: int = 396


DEFAULT_CHART_CONFIG = ChartConfig()


@dataclass(frozen=True)
class Window:
    """The dates a chart shows, both inclusive (patient-local dates)."""

    start: date
    end: date

    def contains(self, on: date) -> bool:
        return self.start <= on <= self.end

    def until(self, today: date) -> "Window":
        """The window cut at `today` (a patient at Day +9 sees Day -14 to Day +9, not an empty future)."""
        return Window(self.start, max(self.start, min(self.end, today)))

    def utc_bounds(self, tz_name: str) -> tuple[datetime, datetime]:
        """[first moment, first moment after) of the window's dates in the zone `tz_name`, as aware datetimes."""
        zone = ZoneInfo(tz_name)
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )


def parse_range(value: str | None, allowed: tuple[str, ...], default: str) -> str:
    """`value` when it is one of `allowed`, else `default` (a bad or missing ?range= is not an error)."""
    return value if value in allowed else default


def available_ranges(day0: date | None, anchor: str) -> tuple[str, ...]:
    """The windows that mean something: without Day 0 there is no "first 100 days" (nor a first year)."""
    if day0 is not None:
        return RANGES
    return (YEAR, ALL) if anchor == TO_TODAY else (ALL,)


def default_range(day0: date | None, today: date, anchor: str, config: ChartConfig = DEFAULT_CHART_CONFIG) -> str:
    """The window a clinician (or the patient) wants first.

    Reports (anchor TO_TODAY): the first 100 days while the patient is in them, else the last twelve months.
    Charts against Day 0 (anchor FROM_DAY0): the first 100 days while the patient is in them, the first year while
    in it, then everything (EDSS and immune recovery are read over years). Pages with a fixed default (the blood
    counts: engraftment happens in the first 100 days) do not call this.
    """
    if day0 is None:
        return YEAR if anchor == TO_TODAY else ALL
    day = (today - day0).days
    if day <= config.first_days_end_day:
        return FIRST_DAYS
    if anchor == TO_TODAY:
        return YEAR
    return YEAR if day <= config.year_days else ALL


def window(
    range_key: str, day0: date | None, today: date, anchor: str, config: ChartConfig = DEFAULT_CHART_CONFIG
) -> Window | None:
    """The dates of `range_key`; None for everything (or when the window needs a Day 0 there is none)."""
    if range_key == FIRST_DAYS and day0 is not None:
        return Window(
            day0 + timedelta(days=config.first_days_start_day), day0 + timedelta(days=config.first_days_end_day)
        )
    if range_key == YEAR:
        if anchor == TO_TODAY:
            return Window(today - timedelta(days=config.year_days), today)
        if day0 is not None:
            return Window(day0 + timedelta(days=config.first_days_start_day), day0 + timedelta(days=config.year_days))
    return None


def break_gaps(points: list[dict], max_gap: float | Callable[[float], float]) -> list[dict]:
    """`points` (dicts with "x", in order) with {"x": midpoint, "y": None} between any two further apart than
    `max_gap` (in x units; or a function of the earlier point's x, for charts whose expected interval changes)."""
    out: list[dict] = []
    for point in points:
        if out:
            previous = out[-1]["x"]
            limit = max_gap(previous) if callable(max_gap) else max_gap
            if point["x"] - previous > limit:
                out.append({"x": (previous + point["x"]) / 2, "y": None})
        out.append(point)
    return out


def _longest_weekday_gap(weekdays: tuple[int, ...]) -> int:
    """Days between the two scheduled weekdays furthest apart (Mon, Wed, Fri: Friday to Monday, 3)."""
    days = sorted(set(weekdays))
    if not days:
        return 7
    return max(((b - a) % 7 or 7) for a, b in zip(days, days[1:] + days[:1], strict=True))


def report_gap_hours(day: int | None, reminders: ReminderConfig, config: ChartConfig = DEFAULT_CHART_CONFIG) -> float:
    """The longest gap between two reports that still joins the temperature or symptom line, on Day `day`.

    The patient is asked for reports on the reminders' schedule: at each of `temperature_times` in the
    high-infection-risk days, on `early_recovery_weekdays` through the early recovery, weekly after. A gap longer
    than the schedule's own (plus some slack) means readings are missing, and the line is broken there. Without a
    Day 0, and after the schedule ends, reports come weekly at most: a week joins.
    """
    slack = config.report_gap_slack_hours
    if day is None or day > reminders.early_recovery_end_day:
        return 7 * 24 + slack
    if day <= reminders.high_risk_days_after_day0:
        times = sorted(h * 60 + m for h, m in reminders.temperature_times) or [0]
        minutes = [(b - a) % (24 * 60) or 24 * 60 for a, b in zip(times, times[1:] + times[:1], strict=True)]
        return max(minutes) / 60 + slack
    return _longest_weekday_gap(reminders.early_recovery_weekdays) * 24 + slack
