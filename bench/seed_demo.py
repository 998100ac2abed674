"""How long `manage.py seed_demo --patients N [--transplanted]` takes on an empty database (printed, not asserted).

    .venv/bin/python bench/seed_demo.py [--patients 5000] [--transplanted]

With --transplanted: the demo plus N transplanted patients over 20 years (seed_transplanted), the data set at scale.

Uses a throwaway SQLite file under var/ unless DATABASE_URL is set (then that database, which must be empty of
demo data: e.g. `DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_bench_seed`, created if missing).
The database is migrated first, the seed is timed, and the number of synthetic patients is checked.
"""

import argparse
import io
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SQLITE_PATH = ROOT / "var" / "bench-seed.sqlite3"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{SQLITE_PATH}")
os.environ["DEBUG"] = "1"  # seed_demo refuses with DEBUG off; nothing is served
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")


def fresh_database() -> None:
    """An empty database: the SQLite file removed, or the PostgreSQL database created if missing."""
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite:"):
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        SQLITE_PATH.unlink(missing_ok=True)
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--transplanted", action="store_true", help="N transplanted patients (the data set at scale)")
    args = parser.parse_args()
    fresh_database()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from recovery.models import Patient

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    output = io.StringIO()
    quiet = open(os.devnull, "w")  # noqa: SIM115
    call_command("seed_demo", patients=args.patients, transplanted=args.transplanted, stdout=output, stderr=quiet)
    elapsed = time.perf_counter() - started
    prefix = "TX-" if args.transplanted else "SYN-"
    created = Patient.objects.filter(hospital_number__startswith=prefix).count()
    if created != args.patients:
        sys.exit(f"seed_demo made {created} {prefix} patients, not {args.patients}")
    flag = " --transplanted" if args.transplanted else ""
    print(
        f"seed_demo --patients {args.patients}{flag} on {connection.vendor}: {elapsed:.1f} s "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()})"
    )
    if args.transplanted:  # seed_transplanted's stages (time each) and its own line: its part of the time, the rows
        lines = output.getvalue().strip().splitlines()
        print("\n".join([line for line in lines if line.startswith("  ")] + lines[-1:]))
    if SQLITE_PATH.exists() and os.environ["DATABASE_URL"].startswith("sqlite:"):
        SQLITE_PATH.unlink()


if __name__ == "__main__":
    main()
