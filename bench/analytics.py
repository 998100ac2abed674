"""How long the all-patient pages take on a seeded database, and how many queries (printed, not asserted).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_analytics_5k .venv/bin/python bench/analytics.py

The database must hold the demo (`seed_demo [--patients N --transplanted]`, then `refresh_outcome_summaries`);
the demo's `clinician` and `coordinator` sign in through Django's test client (no server). Times the cohort
analysis as the old view computed it, the cohort page with no stored figures (computes and stores), with fresh
figures, and with stale ones (shown, one refresh claimed), the refresh itself, and the other pages that list or
count a centre's patients. Stored figures are deleted first and left fresh at the end.
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DEBUG"] = "1"  # the demo logins; nothing is served
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")  # the refreshes the stale views claim go nowhere
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from recovery.models import AnalyticsSnapshot, Patient  # noqa: E402
from recovery.queries.cohort import CohortFilters, cohort_analysis  # noqa: E402
from recovery.services.analytics import refresh_snapshot  # noqa: E402

PAGES = ("/dashboard/", "/alerts/queue/", "/week/", "/tasks/", "/patients/", "/vaccinations/due/")


def client(user: User | None) -> Client:
    signed_in = Client(HTTP_HOST="localhost")
    if user is not None:
        signed_in.force_login(user)
    return signed_in


def timed(c: Client, url: str, times: int = 3, before=None) -> tuple[float, list[int]]:
    seconds, queries = [], []
    for _ in range(times):
        if before:
            before()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = c.get(url)
            seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        queries.append(len(captured.captured_queries))
    return statistics.median(seconds), queries


def show(what: str, result: tuple[float, list[int]]) -> None:
    print(f"{what:<48} {result[0]:>8.3f} s  queries {result[1]}")


def main() -> None:
    clinician = User.objects.get(username="clinician")
    transplanted = Patient.objects.filter(episode__reinfusion_date__isnull=False).count()
    print(f"{connection.vendor}, {transplanted} transplanted patients, load average {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    analysis = cohort_analysis(clinician, CohortFilters())
    print(f"{'cohort analysis computed (the old view)':<48} {time.perf_counter() - started:>8.3f} s  n={analysis.n}")
    c = client(clinician)
    c.get("/accounts/login/")
    show("cohort page, nothing stored (computes)", timed(c, "/cohort/", before=AnalyticsSnapshot.objects.all().delete))
    show("cohort page, fresh figures", timed(c, "/cohort/", 5))

    def stale() -> None:
        AnalyticsSnapshot.objects.update(stale_since=timezone.now(), refreshing_until=None)

    show("cohort page, stale figures (shown, refresh claimed)", timed(c, "/cohort/", 3, before=stale))
    snapshot = AnalyticsSnapshot.objects.get()
    AnalyticsSnapshot.objects.filter(pk=snapshot.pk).update(refreshing_until=timezone.now() + timedelta(minutes=5))
    started = time.perf_counter()
    refresh_snapshot(snapshot_id=snapshot.pk)
    print(f"{'the refresh task (worker side)':<48} {time.perf_counter() - started:>8.3f} s")
    show("cohort CSV (lists and audits each patient)", timed(c, "/cohort/export.csv", 1))
    for url in PAGES:
        show(url, timed(client(clinician), url))
    show("/accounts/login/ (a trivial page)", timed(client(None), "/accounts/login/", 5))


if __name__ == "__main__":
    main()
