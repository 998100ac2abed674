"""A data set at scale: N transplanted patients, Day 0 spread over the last 20 years, with realistic records.

    manage.py seed_transplanted --patients 50000 [--seed 1] [--centre "Demo Transplant Centre"]
    manage.py seed_demo --patients 50000 --transplanted     # the demo first, then this

Each patient (hospital numbers TX-00001 onwards, oldest transplant first) gets:

* the transplant episode (mobilisation, apheresis, conditioning, Day 0, engraftment, discharge: as the cohort of
  `seed_cohort`, dates not yet reached left empty) and its timeline from the protocol (`plan_timeline` with the
  centre's rule dates; what was planned more than two days ago is done);
* EDSS at baseline and at M6, M12 and yearly, an MRI at each of those visits (the M6 one the re-baseline),
  relapses after NEDA-3 is lost: `seed_cohort`'s simulation (NEDA-3 about 73% at 5 years, 65% at 10);
* labs as the demo has them (`seed_demo._lab_rows`): daily counts from conditioning to engraftment, counts at
  the visits to D+180, weekly EBV/CMV PCR to D+100, CD4/CD8/CD19/NK/IgG at months 3 to 60; a platelet
  transfusion for the late engrafters, the engraftment confirmed by the demo clinician;
* vaccinations given and prophylaxis stopped as the demo does (`seed_demo.doses_given`, `prophylaxis_stops`).

Day 0 is uniform over the last 20 years (stratified, so the phases have their realistic share today: about 90%
in follow-up), and the newest RECENT_OFFSETS patients are placed at fixed Days, so that even a small data set has
a handful in each phase after Day 0, the high-risk window included.

Fast: rows are planned in Python and written with bulk_create, CHUNK patients per transaction (an interrupted run
is resumed by running it again: existing TX- numbers are left alone); no per-patient service call. Reminders:
the patients in the high-risk window are planned here (plan_reminders: a handful); those up to D+180 (weekly
check-ins) are marked as needing planning (`reminders_stale_since`, the planner's sweep picks them up); the rest
are left to the hourly planner. Deterministic for a given --seed and today. Progress on stderr.
"""

import os
import random
import time as clock
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import Centre, User
from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG
from recovery.clinical.phases import add_months, local_date
from recovery.clinical.reminders import high_risk_window
from recovery.clinical.timeline import Anchor, EventKind, EventStatus, TemplateEvent, plan_timeline
from recovery.clinical.timeline_rules import rule_dates
from recovery.management.commands.seed_cohort import BEAM_ATG, CY_ATG, CohortSimulation
from recovery.management.commands.seed_demo import DEMO_CENTRE, _lab_rows, doses_given, prophylaxis_stops
from recovery.models import (
    EDSSAssessment,
    EngraftmentConfirmation,
    EngraftmentKind,
    LabResult,
    LabSource,
    MRIScan,
    Patient,
    ProphylaxisStop,
    ProtocolTemplate,
    Relapse,
    SymptomReport,
    TimelineEvent,
    Transfusion,
    TransfusionProduct,
    TransplantEpisode,
    VaccinationDose,
)
from recovery.queries.configuration import active_config
from recovery.services.audit import AuditContext, record_event
from recovery.services.reminders.planning import plan_reminders
from recovery.services.vaccination_plans import rebuild_vaccination_plans

PREFIX = "TX-"
DEFAULT_SEED = 1
YEARS = 20
CHUNK = 500  # patients per transaction
# Day 0 of the newest patients, in days before today: aplasia (D+2, D+5, D+9), early recovery, recovery,
# reconstitution, so that every phase after Day 0 has a few patients however small the data set.
RECENT_OFFSETS = (2, 5, 9, 13, 17, 24, 40, 65, 95, 130, 170, 260, 420, 600)
HIGH_EBV_SHARE = 0.05  # an EBV reactivation in the first 100 days
CLINICIAN = "clinician"  # the demo login that confirms engraftment and stops prophylaxis (if present)


MISSED_SHARE = 0.12  # as the demo: a vaccine whose dose is missed then shows as overdue
PROGRAMME_MONTHS = 36  # the vaccination programme (to month 30) through the planner; yearly doses after it
FAST_MODELS = (TimelineEvent, EDSSAssessment, MRIScan, LabResult, VaccinationDose)  # the big tables


_UUIDS = random.Random(int.from_bytes(os.urandom(16)))  # random row ids (uuid.uuid4 took 15% of the time)
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


def _uuid4_text() -> str:
    """A random (version 4) UUID as 32 hex digits, as both databases take it."""
    return f"{(_UUIDS.getrandbits(128) & _VERSION_MASK) | _VERSION_BITS:032x}"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """A value in COPY's text format (dates, times with their offset, decimals and booleans as PostgreSQL reads
    them)."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def fast_insert(model, rows: list[dict], now: datetime) -> int:
    """Insert `rows` (values by column name) into `model`'s table (COPY on PostgreSQL, else executemany), without
    Django's per-value SQL compiler (most of bulk_create's time at this size). Every column not given takes
    its field's default: a new UUID per row, `now` for auto_now(_add), else the field's default. The values are
    adapted as the backend stores them (dates and times as text on SQLite, UUIDs as hex where not native)."""
    if not rows:
        return 0
    ops = connection.ops
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = set(rows[0])
    columns, makers = [], []
    for f in fields:
        columns.append(connection.ops.quote_name(f.column))
        if f.attname in given:
            if isinstance(f, models.DateTimeField):
                makers.append((f.attname, ops.adapt_datetimefield_value))
            elif isinstance(f, models.DateField):
                makers.append((f.attname, ops.adapt_datefield_value))
            else:
                makers.append((f.attname, None))
        elif isinstance(f, models.UUIDField):
            makers.append((None, _uuid4_text))
        else:
            value = now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
            constant = f.get_db_prep_save(value, connection)
            makers.append((None, lambda constant=constant: constant))
    # The table and column names come from the model (quoted); every value is a parameter.
    table = ops.quote_name(model._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    values = []
    for row in rows:
        out = []
        for name, function in makers:
            if name is None:
                out.append(function())
            else:
                value = row[name]
                out.append(value if function is None or value is None else function(value))
        values.append(out)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # COPY: one stream, no statement per row
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write("".join("\t".join(map(_copy_text, row)) + "\n" for row in values))
        else:
            for start in range(0, len(values), 2000):
                cursor.executemany(sql, values[start : start + 2000])
    return len(rows)


class TransplantedSimulation(CohortSimulation):
    """The cohort's simulation, with Day 0 over the last YEARS years and the newest few at RECENT_OFFSETS."""

    def __init__(self, *, today: date, count: int, seed: int, **kwargs):
        first = add_months(today, -12 * YEARS)
        super().__init__(
            today=today, count=count, seed=seed, prefix=PREFIX, first_day0=first, last_day0=today, **kwargs
        )

    def day0(self, index: int, rng: random.Random) -> date:
        uniform = super().day0(index, rng)
        recent = self.count - index  # 0 for the newest
        if recent < len(RECENT_OFFSETS):
            return self.today - timedelta(days=RECENT_OFFSETS[recent])
        return uniform


def _templates() -> dict[str, list[TemplateEvent]]:
    protocols = ProtocolTemplate.objects.filter(code__in=[CY_ATG, BEAM_ATG]).prefetch_related("events")
    return {
        p.code: [
            TemplateEvent(
                key=e.key,
                anchor=Anchor(e.anchor),
                offset_days=e.offset_days,
                kind=EventKind(e.kind),
                title=e.title,
            )
            for e in p.events.all()
        ]
        for p in protocols
    }


class Progress:
    """patients done / total, rate and ETA on one line of stderr, rewritten in place."""

    def __init__(self, stream, total: int):
        self.stream, self.total, self.started = stream, total, clock.perf_counter()

    def show(self, done: int) -> None:
        elapsed = clock.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        width = 30
        filled = round(width * done / self.total) if self.total else width
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} patients, {rate:.0f}/s, "
            f"ETA {int(eta) // 60}m{int(eta) % 60:02d}s ",
            ending="",
        )
        self.stream.flush()

    def finish(self) -> float:
        elapsed = clock.perf_counter() - self.started
        self.stream.write("")
        return elapsed


class Command(BaseCommand):
    help = "Create N transplanted patients, Day 0 over the last 20 years, with realistic records (fast)."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=5000, help="How many patients (default 5000).")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="The same seed gives the same data.")
        parser.add_argument("--centre", default=DEMO_CENTRE, help=f'The centre\'s name (default "{DEMO_CENTRE}").')
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off (never on a real system).")

    def handle(self, *args, patients: int, seed: int, centre: str, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create synthetic patients with DEBUG off. Use --force if you really mean it."
            )
        if patients < 0:
            raise CommandError("--patients must be 0 or more.")
        templates = _templates()
        if set(templates) != {CY_ATG, BEAM_ATG}:
            raise CommandError("The cy_atg and beam_atg protocols are missing: run migrate first.")
        centre_obj, _ = Centre.objects.get_or_create(
            name=centre, defaults={"timezone": "Europe/Stockholm", "phone_24h": "+46 18 611 00 00"}
        )
        seeder = Seeder(centre_obj, templates, patients, seed)
        progress = Progress(self.stderr, patients)
        created = seeder.run(progress.show)
        planned = seeder.plan_high_risk_reminders()
        # Their stored outcomes (the cohort page) are built by the outcome refresh's sweep, in batches, after this.
        marked = Patient.objects.filter(
            centre=centre_obj, hospital_number__startswith="TX-", outcomes_stale_since__isnull=True
        ).update(outcomes_stale_since=timezone.now())
        # The list of doses due reads stored vaccination plans: computed here in batches (a fixed number of queries
        # each), as the seeded doses were written around the services.
        plans = rebuild_vaccination_plans(
            patient_ids=Patient.objects.filter(centre=centre_obj, hospital_number__startswith="TX-").values_list(
                "pk", flat=True
            )
        )
        elapsed = progress.finish()
        if created:
            record_event(
                context=AuditContext.system("seed_transplanted"),
                action="transplanted.seed",
                detail={"patients": created, "seed": seed},
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{created} new transplanted patients at {centre} in {elapsed:.0f} s ({seeder.rows} rows); "
                f"reminders planned for {planned} in the high-risk window, {seeder.stale} marked for the planner, "
                f"{marked} for the outcome refresh, {plans} vaccination plans stored."
            )
        )


class Seeder:
    """Plans each chunk of patients in Python and writes it with bulk_create, one transaction per chunk."""

    def __init__(self, centre: Centre, templates: dict, count: int, seed: int):
        self.centre = centre
        self.templates = templates
        self.count = count
        self.seed = seed
        self.config = active_config(centre)
        self.zone = ZoneInfo(centre.timezone)
        self.now = timezone.now()
        self.today = local_date(self.now, centre.timezone)
        self.protocols = {p.code: p for p in ProtocolTemplate.objects.filter(code__in=[CY_ATG, BEAM_ATG])}
        self.clinician = User.objects.filter(username=CLINICIAN).first()
        self.simulation = TransplantedSimulation(
            centre=centre, config=self.config.outcomes, today=self.today, count=count, seed=seed
        )
        self.rows = 0
        self.stale = 0
        self.high_risk: list[int] = []
        self.parallel = False
        self.units = {test: DEFAULT_LAB_CONFIG.unit(test) for test in ("anc", "platelets", "wbc", "haemoglobin")}
        self.units.update({test: DEFAULT_LAB_CONFIG.unit(test) for test in ("ebv_pcr", "cmv_pcr", "cd4", "cd8")})
        self.units.update({test: DEFAULT_LAB_CONFIG.unit(test) for test in ("cd19", "nk", "igg")})

    def _doses(self, day0: date, rng: random.Random) -> list[tuple[str, int, date]]:
        """The demo's doses (`doses_given`) through the programme; after it, the yearly vaccines a year after the
        last dose, as the plan dates them (planning each year again would cost a plan per year per patient)."""
        vaccination, today = self.config.vaccination, self.today
        end = add_months(day0, PROGRAMME_MONTHS)
        given = doses_given(day0, min(today, end), vaccination, rng)
        if today <= end:
            return given
        for vaccine in vaccination.yearly_vaccines:
            doses = [(n, on) for v, n, on in given if v == vaccine]
            if not doses:
                continue  # missed: stays overdue
            number, last = max(doses)
            while rng.random() >= MISSED_SHARE:
                due = add_months(last, vaccination.yearly_interval_months)
                if due > today - timedelta(days=21):
                    break
                number, last = number + 1, min(due + timedelta(days=rng.randrange(0, 10)), today)
                given.append((vaccine, number, last))
        return given

    def run(self, progress) -> int:
        existing = set(
            Patient.objects.filter(centre=self.centre, hospital_number__startswith=PREFIX).values_list(
                "hospital_number", flat=True
            )
        )
        # On PostgreSQL (outside a caller's transaction) a second thread writes each chunk while this one plans
        # the next: the database's work and Python's overlap on two cores. Row ids come from the sequences, so
        # a chunk is planned complete and written in one transaction (an interrupted run leaves whole patients).
        self.parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
        created = 0
        with ThreadPoolExecutor(max_workers=1) as writer:
            pending = None
            for start in range(1, self.count + 1, CHUNK):
                indices = [
                    i for i in range(start, min(start + CHUNK, self.count + 1)) if f"{PREFIX}{i:05d}" not in existing
                ]
                if indices and self.parallel:
                    payload = self._chunk(indices)
                    if pending is not None:
                        pending.result()
                    pending = writer.submit(self._write, payload)
                elif indices:
                    with transaction.atomic():
                        self._write(self._chunk(indices))
                created += len(indices)
                progress(min(start + CHUNK - 1, self.count))
            if pending is not None:
                pending.result()
            writer.submit(lambda: connection.close()).result()  # the writer thread's own connection
        return created

    def _reserve(self, model, count: int) -> list[int]:
        """`count` new ids of `model`'s table from its sequence (PostgreSQL)."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]

    def _write(self, payload) -> None:
        patients, episodes, rows = payload
        with transaction.atomic():
            Patient.objects.bulk_create(patients)
            TransplantEpisode.objects.bulk_create(episodes)
            for model, objects in rows.items():
                if model in FAST_MODELS:
                    fast_insert(model, objects, self.now)
                else:
                    model.objects.bulk_create(objects, batch_size=2000)
                self.rows += len(objects)
            self.rows += len(patients) + len(episodes)

    def plan_high_risk_reminders(self) -> int:
        """The reminders of the patients in the high-risk window, planned now (they are due within hours)."""
        for patient in Patient.objects.filter(pk__in=self.high_risk).select_related("centre"):
            plan_reminders(patient, now=self.now)
        return len(self.high_risk)

    def _chunk(self, indices: list[int]):
        """The chunk's patients, episodes and records, planned; what `_write` writes. Without `parallel` the
        patients and episodes are written here (inside the caller's transaction), for their ids."""
        plans = [self.simulation.plan(i) for i in indices]
        reminder_config = self.config.reminders
        high_risk = set()
        for plan in plans:
            episode = plan.episode
            for name in ("neutrophil_engraftment_date", "platelet_engraftment_date", "discharge_date"):
                if episode[name] is not None and episode[name] > self.today:
                    episode[name] = None  # not yet
            if episode["neutrophil_engraftment_date"] is None:
                episode["platelet_engraftment_date"] = episode["discharge_date"] = None
            if plan.fever is not None and plan.fever["recorded_at"] > self.now:
                plan.fever = None
            window = high_risk_window(
                episode["reinfusion_date"], episode["neutrophil_engraftment_date"], reminder_config
            )
            days = (self.today - episode["reinfusion_date"]).days
            if window is not None and self.today in window:
                high_risk.add(plan.number)
            elif days <= reminder_config.recovery_end_day:
                plan.patient.reminders_stale_since = self.now  # weekly check-ins: the planner's sweep plans them
                self.stale += 1
        patients = [p.patient for p in plans]
        if self.parallel:
            for patient, pk in zip(patients, self._reserve(Patient, len(patients)), strict=True):
                patient.pk = patient.id = pk
        else:  # written now, for their ids
            patients = Patient.objects.bulk_create(patients)
            self.rows += len(patients)
        ids = {p.hospital_number: p.pk for p in patients}
        if None in ids.values():  # a database that returns no ids from a bulk insert
            ids = dict(
                Patient.objects.filter(centre=self.centre, hospital_number__in=list(ids)).values_list(
                    "hospital_number", "id"
                )
            )
        self.high_risk += [ids[number] for number in sorted(high_risk)]
        episodes = [
            TransplantEpisode(patient_id=ids[p.number], protocol=self.protocols[p.regimen], **p.episode) for p in plans
        ]
        if self.parallel:
            for episode, pk in zip(episodes, self._reserve(TransplantEpisode, len(episodes)), strict=True):
                episode.pk = episode.id = pk
        else:
            episodes = TransplantEpisode.objects.bulk_create(episodes)
            self.rows += len(episodes)
        rows: dict[type, list] = {
            model: []
            for model in (
                TimelineEvent,
                EDSSAssessment,
                Relapse,
                MRIScan,
                SymptomReport,
                LabResult,
                Transfusion,
                EngraftmentConfirmation,
                VaccinationDose,
                ProphylaxisStop,
            )
        }
        for plan, episode in zip(plans, episodes, strict=True):
            self._records(plan, ids[plan.number], episode, rows)
        if self.parallel:
            return patients, episodes, rows
        return [], [], rows

    def _records(self, plan, pid: int, episode: TransplantEpisode, rows: dict) -> None:
        """Every record of one patient, appended to `rows` (by model)."""
        today, zone = self.today, self.zone
        day0 = episode.reinfusion_date
        engrafted = episode.neutrophil_engraftment_date
        limit = today - timedelta(days=2)
        # The timeline from the protocol; what was planned more than two days ago happened.
        anchors = {
            Anchor.MOBILISATION: episode.mobilisation_date,
            Anchor.CONDITIONING_START: episode.conditioning_start_date,
            Anchor.DAY0: day0,
            Anchor.NEUTROPHIL_ENGRAFTMENT: engrafted,
            Anchor.DISCHARGE: episode.discharge_date,
        }
        ruled = rule_dates(
            day0=day0,
            conditioning_start=episode.conditioning_start_date,
            neutrophil_engraftment=engrafted,
            vaccination=self.config.vaccination,
            prophylaxis=self.config.prophylaxis,
        )
        for item in plan_timeline(self.templates[plan.regimen], anchors, [], ruled).create:
            done = item.planned_date < limit
            rows[TimelineEvent].append(
                {
                    "episode_id": episode.pk,
                    "template_key": item.template_key,
                    "kind": item.kind.value,
                    "title": item.title,
                    "planned_date": item.planned_date,
                    "status": EventStatus.DONE.value if done else EventStatus.PLANNED.value,
                    "actual_date": item.planned_date if done else None,
                }
            )
        # Outcomes: EDSS, relapses, MRI (the cohort's simulation) and the febrile neutropenia in aplasia.
        rows[EDSSAssessment] += [{"patient_id": pid, "assessed_on": on, "score": s} for on, s in plan.assessments]
        rows[Relapse] += [Relapse(patient_id=pid, **values) for values in plan.relapses]
        rows[MRIScan] += [{"patient_id": pid, **values} for _, values in sorted(plan.scans.items())]
        if plan.fever is not None:
            rows[SymptomReport].append(
                SymptomReport(
                    patient_id=pid,
                    recorded_at=plan.fever["recorded_at"],
                    temperature_c=plan.fever["temperature_c"],
                    notes="Febrile neutropenia during aplasia (from the inpatient record).",
                    phase="aplasia",
                    day=plan.fever["day"],
                    neutropenic_fever=True,
                )
            )
        # Labs around engraftment, then at the visits; the immune panels for five years.
        rng = random.Random(f"{self.seed}-labs-{plan.number}")
        engraft_day = (engrafted - day0).days if engrafted else None
        high_ebv = rng.random() < HIGH_EBV_SHARE
        cd4 = []
        units = self.units
        for test, on, value in _lab_rows(rng, day0, today, engraft_day, high_ebv):
            at = datetime.combine(on, time(6, 30), tzinfo=zone)
            if at > self.now:
                continue
            amount = Decimal(str(value))
            rows[LabResult].append(
                {
                    "patient_id": pid,
                    "test": test,
                    "value": amount,
                    "unit": units[test],
                    "collected_at": at,
                    "source": LabSource.CSV.value,
                }
            )
            if test == "cd4" and on > day0:
                cd4.append((on, amount))
        if engraft_day is not None and engraft_day >= 11:
            given = datetime.combine(day0 + timedelta(days=engraft_day - 6), time(14, 0), tzinfo=zone)
            rows[Transfusion].append(Transfusion(patient_id=pid, product=TransfusionProduct.PLATELETS, given_at=given))
        if engrafted is None:
            return
        clinician = self.clinician
        if clinician is not None:
            rows[EngraftmentConfirmation].append(
                EngraftmentConfirmation(
                    patient_id=pid,
                    kind=EngraftmentKind.NEUTROPHIL,
                    proposed_date=engrafted,
                    confirmed_date=engrafted,
                    confirmed_by=clinician,
                )
            )
        # Vaccinations given (some missed) and prophylaxis stopped, as the demo does.
        care = random.Random(f"{self.seed}-care-{plan.number}")
        rows[VaccinationDose] += [
            {"patient_id": pid, "vaccine": v, "dose": n, "given_date": on, "entered_by_id": clinician and clinician.pk}
            for v, n, on in self._doses(day0, care)
        ]
        if clinician is not None:
            rows[ProphylaxisStop] += [
                ProphylaxisStop(patient_id=pid, medication=m, stopped_on=on, stopped_by=clinician)
                for m, on in prophylaxis_stops(episode, cd4, today, self.config.prophylaxis)
            ]
