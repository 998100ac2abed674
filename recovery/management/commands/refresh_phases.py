"""manage.py refresh_phases: store every patient's current phase now.

The patient list's phase and attention filters and the dashboard's high-risk list read the stored phase
(services/phases.py); a row not stored yet or out of date is computed afresh on each view, which is exact but
slow with many patients. The workers keep the rows current (on each change of the dates, and hourly); this
stores them all at once: after an upgrade (run it after `migrate`), a restore or seeding. Safe to run at any
time, as often as wanted.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from recovery.services.phases import refresh_phases


class Command(BaseCommand):
    help = "Store every patient's current phase (the patient list's filters and the dashboard read it)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Patients per batch (default PHASE_REFRESH_BATCH_SIZE)."
        )

    def handle(self, *args, batch_size: int | None, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        started = time.monotonic()
        stored = refresh_phases(batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(f"Phases: stored for {stored} patients in {time.monotonic() - started:.1f} s.")
        )
