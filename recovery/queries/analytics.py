"""Stored figures of the pages that aggregate over every patient of a centre (`AnalyticsSnapshot`): which stored
row a view reads (`snapshot_key`), and the cohort analysis as JSON and back (`cohort_payload`, `cohort_figures`).

A snapshot holds aggregates only (counts, curves, rates), never a patient's identity, and belongs to a set of
centres: a staff member's key names exactly the centres whose patients they may see (recovery.access), so two
people with the same centres and filters share one computation, and nobody reads another centre's figures.
The configuration versions of those centres are part of the key: a new version is a new snapshot.

The freshness rule (`is_fresh`): computed for today, less than `ANALYTICS_MAX_AGE_SECONDS` ago, and not marked
stale since (services/outcome_summaries.py marks a centre's snapshots when its stored outcomes change).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from recovery import access
from recovery.clinical.benchmarks import (
    EDSS_IMPROVED,
    EDSS_STABLE,
    EDSS_WORSE,
    FEBRILE_NEUTROPENIA,
    TREATMENT_RELATED_MORTALITY,
    benchmarks_for,
)
from recovery.clinical.config import DEFAULT_OUTCOME_CONFIG
from recovery.clinical.survival import Curve, CurvePoint
from recovery.models import AnalyticsSnapshot
from recovery.queries.cohort import ENDPOINTS, CohortAnalysis, CohortFilters, Endpoint, RegimenRate, Safety
from recovery.queries.configuration import active_configs

COHORT_PAGE = "cohort"
# Bump when the payload's shape changes: older snapshots then have another key and are computed again.
# 2: a curve's points are stored as the chart's JSON text (`chart_points`), ready for the page.
PAYLOAD_VERSION = 2


@dataclass(frozen=True)
class SnapshotKey:
    """What a snapshot stands for: the page, the centres counted, the filters and the configuration versions."""

    page: str
    centre_ids: tuple[int, ...]
    params: dict

    @property
    def key(self) -> str:
        canonical = json.dumps(
            {"page": self.page, "centres": self.centre_ids, "params": self.params, "v": PAYLOAD_VERSION},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def cohort_key(user: User, filters: CohortFilters) -> SnapshotKey:
    """The key of the user's cohort with these filters (two queries: the user's centres, their configurations).
    `filters.centre`, when set, is one of the user's centres (the form offers no other)."""
    centre_ids = (filters.centre.pk,) if filters.centre is not None else tuple(access.staff_centre_ids(user))
    versions = {str(pk): config.version for pk, config in sorted(active_configs(centre_ids).items())}
    detail = filters.as_detail()
    detail.pop("centre", None)  # the centre is in centre_ids
    return SnapshotKey(page=COHORT_PAGE, centre_ids=centre_ids, params={"filters": detail, "config": versions})


def find_snapshot(key: SnapshotKey) -> AnalyticsSnapshot | None:
    return AnalyticsSnapshot.objects.filter(key=key.key).first()


def figures_date(now: datetime | None = None) -> date:
    """The date stored figures are computed for: the server's (TIME_ZONE) date, whoever's zone a view runs in,
    so that a view and the worker agree on whether figures are today's."""
    return timezone.localdate(now or timezone.now(), timezone.get_default_timezone())


def max_age() -> timedelta:
    return timedelta(seconds=settings.ANALYTICS_MAX_AGE_SECONDS)


def is_fresh(snapshot: AnalyticsSnapshot, now: datetime | None = None) -> bool:
    """Computed for today, within ANALYTICS_MAX_AGE_SECONDS, and nothing it counts has changed since."""
    now = now or timezone.now()
    return (
        snapshot.payload is not None
        and snapshot.stale_since is None
        and snapshot.as_of == figures_date(now)
        and snapshot.computed_at is not None
        and now - snapshot.computed_at < max_age()
    )


def is_refreshing(snapshot: AnalyticsSnapshot, now: datetime | None = None) -> bool:
    return snapshot.refreshing_until is not None and snapshot.refreshing_until > (now or timezone.now())


# --- the cohort analysis as stored figures ---------------------------------------------------------------------


def chart_points(curve: Curve) -> list[dict]:
    """A curve's steps as static/js/cohort.js draws them; the last step is drawn out to the longest follow-up (an
    extra point with no number at risk)."""
    points = [{"x": p.months, "y": p.survival, "lo": p.ci_low, "hi": p.ci_high, "n": p.at_risk} for p in curve.points]
    if points and curve.last_follow_up > points[-1]["x"]:
        # The estimate holds until the longest follow-up: draw the last step out to it.
        points.append({**points[-1], "x": curve.last_follow_up, "n": None})
    return points


def _curve_points(chart_json: str) -> tuple[CurvePoint, ...]:
    """The points of a curve back from its `chart_points` JSON text."""
    points = json.loads(chart_json)
    if points and points[-1]["n"] is None:  # the drawn-out last step (at_risk is never None)
        points.pop()
    return tuple(CurvePoint(p["x"], p["y"], p["lo"], p["hi"], p["n"]) for p in points)


def _endpoint_payload(endpoint: Endpoint) -> dict:
    curve = endpoint.curve
    return {
        "key": endpoint.key,
        "curve": {
            "n": curve.n,
            "events": curve.events,
            "last_follow_up": curve.last_follow_up,
            # JSON text, not a list: a view reads it back as one string, and the page sends it as it is (tens of
            # thousands of numbers would otherwise be decoded and encoded again at every view)
            "chart_points": json.dumps(chart_points(curve)),
        },
        "at_risk": [list(pair) for pair in endpoint.at_risk],
        "estimates": [list(pair) for pair in endpoint.estimates],
    }


def cohort_payload(analysis: CohortAnalysis) -> dict:
    """The figures of a cohort analysis as JSON (counts, curves and rates: no patient's row)."""
    safety = analysis.safety
    fn_config = safety.fn_config
    return {
        "as_of": analysis.as_of.isoformat(),
        "n": analysis.n,
        "with_follow_up": analysis.with_follow_up,
        "endpoints": [_endpoint_payload(e) for e in analysis.endpoints],
        "safety": {
            "n": safety.n,
            "febrile_neutropenia": safety.febrile_neutropenia,
            "fn_n": safety.fn_n,
            "fn_pending": safety.fn_pending,
            "fn_no_anc": safety.fn_no_anc,
            "by_regimen": [
                {"regimen": r.regimen, "label": r.label, "n": r.n, "count": r.count} for r in safety.by_regimen
            ],
            "deaths": safety.deaths,
            "hospital_days_median": safety.hospital_days_median,
            "hospital_days_n": safety.hospital_days_n,
            "edss_n": safety.edss_n,
            "edss_improved": safety.edss_improved,
            "edss_stable": safety.edss_stable,
            "edss_worse": safety.edss_worse,
            "fn_config": None
            if fn_config is None
            else {name: value for name, value in fn_config.as_dict().items() if name.startswith("fn_")},
        },
    }


@dataclass(frozen=True)
class CohortFigures:
    """A cohort analysis as the dashboard shows it, read back from a snapshot: what `CohortAnalysis` has but the
    patients' rows."""

    as_of: date
    filters: CohortFilters
    n: int
    with_follow_up: int
    endpoints: tuple[Endpoint, ...]
    safety: Safety
    # each endpoint's `chart_points` as JSON text, by key: what the page's chart draws, ready to send
    chart_points_json: dict[str, str]


def _endpoint(data: dict, points: bool) -> Endpoint:
    definition = next(d for d in ENDPOINTS if d.key == data["key"])
    curve = data["curve"]
    return Endpoint(
        key=definition.key,
        label=definition.label,
        event=definition.event,
        curve=Curve(
            n=curve["n"],
            events=curve["events"],
            last_follow_up=curve["last_follow_up"],
            points=_curve_points(curve["chart_points"]) if points else (),
        ),
        at_risk=tuple(tuple(pair) for pair in data["at_risk"]),
        estimates=tuple(tuple(pair) for pair in data["estimates"]),
        benchmarks=tuple(benchmarks_for(definition.key)),
    )


def cohort_figures(payload: dict, filters: CohortFilters, *, points: bool = True) -> CohortFigures:
    """The figures stored by `cohort_payload`, with the published anchors of today's code. With points=False the
    curves come without their points (empty), which the page does not show but draws from `chart_points_json`."""
    data = payload["safety"]
    fn_benchmarks = {b.regimen: b for b in benchmarks_for(FEBRILE_NEUTROPENIA)}
    fn_config = data["fn_config"]
    safety = Safety(
        n=data["n"],
        febrile_neutropenia=data["febrile_neutropenia"],
        fn_n=data["fn_n"],
        fn_pending=data["fn_pending"],
        fn_no_anc=data["fn_no_anc"],
        by_regimen=tuple(
            RegimenRate(
                regimen=r["regimen"],
                label=r["label"],
                n=r["n"],
                count=r["count"],
                benchmark=fn_benchmarks.get(r["regimen"]),
            )
            for r in data["by_regimen"]
        ),
        deaths=data["deaths"],
        hospital_days_median=data["hospital_days_median"],
        hospital_days_n=data["hospital_days_n"],
        edss_n=data["edss_n"],
        edss_improved=data["edss_improved"],
        edss_stable=data["edss_stable"],
        edss_worse=data["edss_worse"],
        benchmarks={
            measure: tuple(benchmarks_for(measure))
            for measure in (FEBRILE_NEUTROPENIA, TREATMENT_RELATED_MORTALITY, EDSS_IMPROVED, EDSS_STABLE, EDSS_WORSE)
        },
        fn_config=None if fn_config is None else DEFAULT_OUTCOME_CONFIG.with_overrides(fn_config),
    )
    return CohortFigures(
        as_of=date.fromisoformat(payload["as_of"]),
        filters=filters,
        n=payload["n"],
        with_follow_up=payload["with_follow_up"],
        endpoints=tuple(_endpoint(e, points) for e in payload["endpoints"]),
        safety=safety,
        chart_points_json={e["key"]: e["curve"]["chart_points"] for e in payload["endpoints"]},
    )
