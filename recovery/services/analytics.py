"""Stored figures of the pages that aggregate over a centre's patients (`AnalyticsSnapshot`, issue 15 item 5:
heavy pages never block the light ones).

A view asks `cohort_snapshot` for its figures:

* **Fresh** (recovery.queries.analytics.is_fresh): served as stored, in a few queries whatever the number of
  patients.
* **Expired or marked stale**: served as stored, with their time ("as of 14:02, being refreshed"), and the
  refresh is claimed (a conditional UPDATE of `refreshing_until`, so at most one refresh of a key runs at a
  time, in any number of web processes) and handed to a Celery task on the `analytics` queue once the view's
  transaction commits. A claim whose worker died runs out after ANALYTICS_REFRESH_LEASE_SECONDS and the next
  view claims it again.
* **Never computed** (a new key: the first view of these centres, filters and configuration versions): the view
  that claims the refresh computes the figures itself, once; a view that finds it claimed by another says the
  figures are being computed and reloads.

A database table, not Django's cache: `make run` (SQLite, the filesystem broker) has no cache shared by the web
processes and the worker, and a table gives the claim (one refresh per key) and the stale marks (an UPDATE over
a centre's snapshots) the same way on SQLite and PostgreSQL.

When the stored outcome summaries of a centre's patients are refreshed (services/outcome_summaries.py), that
centre's snapshots are marked stale (`mark_snapshots_stale`).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from recovery.celery import app
from recovery.models import AnalyticsSnapshot
from recovery.queries.analytics import (
    COHORT_PAGE,
    CohortFigures,
    SnapshotKey,
    cohort_figures,
    cohort_key,
    cohort_payload,
    figures_date,
    find_snapshot,
    is_fresh,
)
from recovery.queries.cohort import CohortFilters, centre_cohort_analysis

logger = logging.getLogger(__name__)
REFRESH_TASK = "recovery.tasks.refresh_analytics_snapshot"
# A snapshot nobody has looked at for this long is deleted by the next refresh of its page (filters and
# configuration versions come and go).
UNUSED_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class CohortSnapshot:
    """What the cohort dashboard shows: the figures (None while another view computes them for the first time),
    when they were computed, whether a refresh is under way, and the key of the stored row they come from."""

    figures: CohortFigures | None
    computed_at: datetime | None
    refreshing: bool
    key: str = ""


# --- the view's side --------------------------------------------------------------------------------------------


def cohort_snapshot(*, user: User, filters: CohortFilters, points: bool = False) -> CohortSnapshot:
    """The figures of the user's cohort with these filters, stored or, the first time, computed here; without the
    curves' points unless asked (the page draws them from the stored chart text, `CohortFigures.chart_points_json`;
    the API lists them)."""
    key = cohort_key(user, filters)
    snapshot = find_snapshot(key)
    if snapshot is None or snapshot.payload is None:
        snapshot = snapshot or _create(key)
        if not _claim(snapshot):
            return CohortSnapshot(figures=None, computed_at=None, refreshing=True)
        snapshot = refresh_snapshot(snapshot_id=snapshot.pk)
        return CohortSnapshot(
            cohort_figures(snapshot.payload, filters, points=points), snapshot.computed_at, False, key.key
        )
    refreshing = False
    if not is_fresh(snapshot):
        refreshing = request_snapshot_refresh(snapshot) or snapshot.refreshing_until is not None
    figures = cohort_figures(snapshot.payload, filters, points=points)
    return CohortSnapshot(figures, snapshot.computed_at, refreshing, key.key)


def _create(key: SnapshotKey) -> AnalyticsSnapshot:
    try:
        with transaction.atomic():
            snapshot = AnalyticsSnapshot.objects.create(key=key.key, page=key.page, params=key.params)
            snapshot.centres.set(key.centre_ids)
            return snapshot
    except IntegrityError:  # another view created it at the same moment
        return AnalyticsSnapshot.objects.get(key=key.key)


def _claim(snapshot: AnalyticsSnapshot) -> bool:
    """Claim the refresh of a snapshot unless a claim is running (one refresh per key at a time)."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.ANALYTICS_REFRESH_LEASE_SECONDS)
    claimed = (
        AnalyticsSnapshot.objects.filter(pk=snapshot.pk)
        .filter(Q(refreshing_until__isnull=True) | Q(refreshing_until__lte=now))
        .update(refreshing_until=until)
    )
    if claimed:
        snapshot.refreshing_until = until
    return bool(claimed)


def _wake(snapshot_id: int) -> None:
    try:
        app.signature(REFRESH_TASK, args=[snapshot_id]).apply_async()
    except Exception as exc:  # the broker is down: the claim runs out and the next view claims it again
        logger.warning("Could not wake the analytics refresh of snapshot %s: %s", snapshot_id, exc)


def request_snapshot_refresh(snapshot: AnalyticsSnapshot) -> bool:
    """Claim the snapshot's refresh and hand it to a worker after commit; False when a refresh is already
    claimed (nothing is sent)."""
    if not _claim(snapshot):
        return False
    wake = partial(_wake, snapshot.pk)
    wake.refreshes_snapshot = snapshot.pk
    transaction.on_commit(wake)
    return True


# --- the worker's side ------------------------------------------------------------------------------------------


def _filters(params: dict) -> CohortFilters:
    return CohortFilters(**params.get("filters", {}))


def refresh_snapshot(*, snapshot_id: int) -> AnalyticsSnapshot | None:
    """Compute a claimed snapshot's figures again and release the claim. A snapshot that is not claimed (a task
    delivered twice, after the first run finished) is left alone: returns None."""
    snapshot = AnalyticsSnapshot.objects.filter(pk=snapshot_id, refreshing_until__isnull=False).first()
    if snapshot is None:
        return None
    if snapshot.page != COHORT_PAGE:
        raise ValueError(f"No figures are computed for the page {snapshot.page!r}.")
    centre_ids = sorted(snapshot.centres.values_list("pk", flat=True))
    on = figures_date()
    started = time.monotonic()
    try:
        payload = cohort_payload(centre_cohort_analysis(centre_ids, _filters(snapshot.params), on))
    except Exception:
        # let the next view claim it again at once rather than after the lease
        AnalyticsSnapshot.objects.filter(pk=snapshot.pk).update(refreshing_until=None)
        raise
    now = timezone.now()
    with transaction.atomic():
        # a stale mark set while this computed stays: the figures may not include that change
        fields = {"payload": payload, "computed_at": now, "as_of": on, "refreshing_until": None}
        fields["compute_seconds"] = round(time.monotonic() - started, 3)
        AnalyticsSnapshot.objects.filter(pk=snapshot.pk).update(**fields)
        AnalyticsSnapshot.objects.filter(pk=snapshot.pk, stale_since__lte=_started_at(now, started)).update(
            stale_since=None
        )
        AnalyticsSnapshot.objects.filter(page=snapshot.page, computed_at__lt=now - UNUSED_AFTER).delete()
    snapshot.refresh_from_db()
    return snapshot


def _started_at(now: datetime, started: float) -> datetime:
    return now - timedelta(seconds=time.monotonic() - started)


def mark_snapshots_stale(centre_ids) -> int:
    """Mark the snapshots that count these centres' patients as stale (their next view refreshes them)."""
    ids = sorted(set(centre_ids))
    if not ids:
        return 0
    snapshots = AnalyticsSnapshot.objects.filter(centres__in=ids, stale_since__isnull=True)
    return AnalyticsSnapshot.objects.filter(pk__in=list(snapshots.values_list("pk", flat=True))).update(
        stale_since=timezone.now()
    )
