"""manage.py refresh_vaccination_plans: compute every transplanted patient's stored vaccination plan now.

The coordinators' list of doses due reads these rows (services/vaccination_plans.py). The workers keep them
current (after each change, and the sweep every minute); this builds them all at once: after an upgrade, a restore
or seeding. Safe to run at any time, as often as wanted.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from recovery.models import PlannedVaccination
from recovery.services.vaccination_plans import rebuild_vaccination_plans


class Command(BaseCommand):
    help = "Compute every transplanted patient's stored vaccination plan (the list of doses due reads them)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Patients per batch (default VACCINATION_REFRESH_BATCH_SIZE)."
        )

    def handle(self, *args, batch_size: int | None, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        started = time.monotonic()
        stored = rebuild_vaccination_plans(batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(
                f"Vaccination plans: {stored} stored ({PlannedVaccination.objects.count()} open doses) "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
