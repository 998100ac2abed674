"""The patient list's phase and attention filters and the dashboard's high-risk list, at scale.

    .venv/bin/python bench/phase_filters.py [--database recovery_bench_phases_5000] [--stale]

Uses DATABASE_URL from the environment, else the PostgreSQL database given (seeded beforehand with
`manage.py seed_demo --patients N --transplanted` and `manage.py refresh_phases`). Times `refresh_phases()` over
every patient, then each page (best of three, as the demo coordinator or clinician) and counts its queries.
With --stale every stored phase is cleared first (as right after the migration): the pages then compute every
row in Python, which is exact but slow. Target (issue 15): every page well under a second at 50,000 patients,
the refresh well under a minute.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--database", default="recovery_bench_phases_5000")
parser.add_argument("--stale", action="store_true", help="clear the stored phases first")
OPTIONS = parser.parse_args()
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{OPTIONS.database}")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from recovery.models import Patient  # noqa: E402
from recovery.services.phases import refresh_phases  # noqa: E402

PAGES = [
    ("coordinator", "/patients/?phase=follow_up"),
    ("coordinator", "/patients/?phase=aplasia"),
    ("coordinator", "/patients/?attention=1"),
    ("coordinator", "/patients/?phase=reconstitution&attention=1"),
    ("coordinator", "/api/v1/patients/?phase=follow_up"),
    ("clinician", "/dashboard/"),
]


def main() -> None:
    print(f"{Patient.objects.count()} patients in {connection.settings_dict['NAME']}")
    started = time.perf_counter()
    stored = refresh_phases()
    print(f"refresh_phases(): {stored} patients in {time.perf_counter() - started:.2f} s")
    if OPTIONS.stale:
        Patient.objects.update(phase_as_of=None)
        print("stored phases cleared (--stale)")
    clients = {}
    for username in {user for user, _ in PAGES}:
        clients[username] = Client(HTTP_HOST="localhost")
        clients[username].force_login(User.objects.get(username=username))
    for username, url in PAGES:
        client = clients[username]
        times = []
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{url:50} {min(times) * 1000:8.0f} ms  {len(queries.captured_queries):3} queries")


if __name__ == "__main__":
    main()
