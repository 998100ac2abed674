"""The range picker of the patients' time charts: which window a request asks for, and the links to the others.

The picker is plain links (`?range=100d|year|all`), so it works without JavaScript: the server draws the chosen
window and sends only its data. The rules (what each window is, which one is the default) are in
`recovery.clinical.charts`.
"""

from dataclasses import dataclass
from datetime import date

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from recovery.clinical.charts import (
    FIRST_DAYS,
    FROM_DAY0,
    YEAR,
    ChartConfig,
    Window,
    available_ranges,
    default_range,
    parse_range,
    window,
)


@dataclass(frozen=True)
class RangeLink:
    key: str
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class ChartRange:
    key: str  # the window shown
    window: Window | None  # its dates, cut at today; None for everything
    links: list[RangeLink]


def _label(key: str, anchor: str, config: ChartConfig) -> str:
    if key == FIRST_DAYS:
        days = config.first_days_end_day
        return ngettext("First %(days)d day", "First %(days)d days", days) % {"days": days}
    if key == YEAR:
        return _("First year") if anchor == FROM_DAY0 else _("Last 12 months")
    return _("All")


def chart_range(
    request: HttpRequest,
    *,
    day0: date | None,
    today: date,
    anchor: str,
    config: ChartConfig,
    default: str | None = None,
    fragment: str = "",
) -> ChartRange:
    """The window `?range=` asks for (the default when it is missing, unknown or needs a Day 0 there is none)."""
    allowed = available_ranges(day0, anchor)
    fallback = default if default in allowed else default_range(day0, today, anchor, config)
    key = parse_range(request.GET.get("range"), allowed, fallback)
    dates = window(key, day0, today, anchor, config)
    links = []
    for option in allowed:
        query = request.GET.copy()
        query["range"] = option
        links.append(
            RangeLink(
                key=option,
                label=_label(option, anchor, config),
                url=f"{request.path}?{query.urlencode()}{'#' + fragment if fragment else ''}",
                current=option == key,
            )
        )
    return ChartRange(key=key, window=dates.until(today) if dates else None, links=links)
