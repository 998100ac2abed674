"""The stored current phase on each patient row (`Patient.phase`, `phase_flagged`, `phase_as_of`,
`phase_changes_on`, `phase_config_version`; what they mean is in queries/phases.py).

`store_phase` writes one patient's, in the write that changed what it depends on (the episode dates:
services/timeline.py `save_episode`, which the engraftment confirmation and the restore go through too; a new
patient; a time zone change). `refresh_phases` computes many at once, in batches: after an upgrade or seeding
(`manage.py refresh_phases`), after a centre's configuration changed, and hourly for the patients whose phase may
have moved since it was stored (`refresh_due_phases`). A stale row never gives a wrong answer (the lists compute
it afresh), only a slower one.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Centre
from recovery.clinical.phases import local_date
from recovery.models import Patient
from recovery.queries.configuration import active_configs
from recovery.queries.phases import PHASE_COLUMNS, StoredPhase, dates_from, other_config_version, stored_phase_of

PHASE_FIELDS = ["phase", "phase_flagged", "phase_as_of", "phase_changes_on", "phase_config_version"]
# A patient's local date is at most this far from UTC's (UTC-12 to UTC+14), so a bound widened by it is safe.
_TZ_SLACK = timedelta(days=1)


def _values(stored: StoredPhase) -> dict:
    return {
        "phase": stored.phase.value,
        "phase_flagged": stored.flagged,
        "phase_as_of": stored.as_of,
        "phase_changes_on": stored.changes_on,
        "phase_config_version": stored.config_version,
    }


def store_phase(patient: Patient | int, *, now: datetime | None = None) -> StoredPhase | None:
    """Compute and store the patient's current phase from the dates in the database (two queries and an UPDATE).

    Call it inside the write that changed the episode dates (after saving them), so the row is never behind.
    """
    patient_id = patient if isinstance(patient, int) else patient.pk
    row = Patient.objects.filter(pk=patient_id).values_list(*PHASE_COLUMNS).first()
    if row is None:
        return None
    _pk, tz, centre_id, *columns = row
    config = active_configs({centre_id})[centre_id]
    stored = stored_phase_of(dates_from(columns), local_date(now or timezone.now(), tz), config)
    Patient.objects.filter(pk=patient_id).update(**_values(stored))
    return stored


def _refresh(patients: QuerySet[Patient], batch_size: int | None, now: datetime | None) -> int:
    """Recompute the stored phase of `patients`, by primary key in batches: read the few columns, compute with
    the pure rule, and write the rows whose values changed with one UPDATE per distinct set of values (most
    patients share theirs: follow-up, never changing). Rows locked by a write in progress (which stores its own)
    are skipped on PostgreSQL. Returns the number of patients looked at."""
    size = batch_size or settings.PHASE_REFRESH_BATCH_SIZE
    now = now or timezone.now()
    todays: dict[str, date] = {}
    done = 0
    last = 0
    while True:
        with transaction.atomic():
            page = patients.filter(pk__gt=last).order_by("pk")
            if connection.features.has_select_for_update_skip_locked:
                page = page.select_for_update(skip_locked=True, of=("self",))
            rows = list(page.values_list(*PHASE_COLUMNS, *PHASE_FIELDS)[:size])
            if not rows:
                return done
            configs = active_configs({row[2] for row in rows})
            groups: dict[tuple, list[int]] = defaultdict(list)
            for row in rows:
                pk, tz, centre_id = row[:3]
                if tz not in todays:
                    todays[tz] = local_date(now, tz)
                dates = dates_from(row[3 : len(PHASE_COLUMNS)])
                values = tuple(_values(stored_phase_of(dates, todays[tz], configs[centre_id])).values())
                if values != row[len(PHASE_COLUMNS) :]:
                    groups[values].append(pk)
            for values, ids in groups.items():
                Patient.objects.filter(pk__in=ids).update(**dict(zip(PHASE_FIELDS, values, strict=True)))
        done += len(rows)
        last = rows[-1][0]


def refresh_phases(
    patient_ids=None, *, centre_id: int | None = None, batch_size: int | None = None, now: datetime | None = None
) -> int:
    """Recompute the stored phase of the given patients (all without `patient_ids`; a centre's with `centre_id`),
    `batch_size` (default PHASE_REFRESH_BATCH_SIZE) at a time. Returns the number of patients looked at."""
    patients = Patient.objects.all()
    if patient_ids is not None:
        patients = patients.filter(pk__in=list(patient_ids))
    if centre_id is not None:
        patients = patients.filter(centre_id=centre_id)
    return _refresh(patients, batch_size, now)


def due_phases(now: datetime | None = None) -> QuerySet[Patient]:
    """Patients whose stored phase may no longer hold for their local today, or soon will not: never stored, a
    phase change date reached by tomorrow (UTC, so in every time zone), stored more than a day ago (the lists
    check each row exactly; this keeps the rows fresh), or stored under an older centre configuration."""
    now = now or timezone.now()
    utc_today = now.date()
    older_config = other_config_version(active_configs(set(Centre.objects.values_list("pk", flat=True))))
    return Patient.objects.filter(
        Q(phase_as_of__isnull=True)
        | Q(phase_changes_on__lte=utc_today + _TZ_SLACK)
        | Q(phase_as_of__lt=utc_today - _TZ_SLACK)
        | older_config
    )


def refresh_due_phases(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Recompute the stored phase of the patients `due_phases` finds (the hourly beat). Returns how many."""
    return _refresh(due_phases(now), batch_size, now)
