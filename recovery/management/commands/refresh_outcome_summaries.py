"""manage.py refresh_outcome_summaries: compute every transplanted patient's stored outcome summary now.

The cohort dashboard, its CSV and the API read these rows (services/outcome_summaries.py). The workers keep
them current (after each change, and daily for everyone); this builds them all at once: after an upgrade, a
restore or seeding. Safe to run at any time, as often as wanted.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from recovery.services.outcome_summaries import outcome_refresh_batches, refresh_outcome_summaries


class Command(BaseCommand):
    help = "Compute every transplanted patient's stored outcome summary (the cohort dashboard reads them)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Patients per batch (default OUTCOME_REFRESH_BATCH_SIZE)."
        )

    def handle(self, *args, batch_size: int | None, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        started = time.monotonic()
        batches = outcome_refresh_batches(batch_size)
        total = sum(len(ids) for ids in batches)
        done = stored = 0
        for ids in batches:
            stored += refresh_outcome_summaries(ids)
            done += len(ids)
            if len(batches) > 1:
                self.stdout.write(f"  {done} of {total} patients")
        self.stdout.write(
            self.style.SUCCESS(
                f"Outcome summaries: {stored} stored for {total} patients with a Day 0 "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
