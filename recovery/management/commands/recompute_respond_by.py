"""manage.py recompute_respond_by: the acknowledgement target of every open alert, computed again.

An alert's target (`respond_by`) is computed when it is raised, from the centre's configuration then. When the
targets or the working hours change (the same-day target became the end of the working day, AlertConfig and
clinical/working_hours.py), the alerts already open keep the old one until this is run. Run it once after such an
upgrade (docs/operations.md); safe to run again at any time. Acknowledged and resolved alerts are left as they
are. Each run is in the audit log (alert.respond_by_recomputed).
"""

from django.core.management.base import BaseCommand, CommandError

from recovery.services.alerts import recompute_response_targets
from recovery.services.audit import AuditContext


class Command(BaseCommand):
    help = "Compute the acknowledgement target (respond_by) of every open alert again, with today's configuration."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Alerts per batch (default 500).")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        changed = recompute_response_targets(context=AuditContext.system("recompute_respond_by"), batch_size=batch_size)
        self.stdout.write(self.style.SUCCESS(f"respond_by: changed for {changed} open alerts."))
