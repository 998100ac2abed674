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

Fast, in timed stages (each prints its time; LOAD_STAGES then AFTER_STAGES):

* load: rows are planned in Python as tuples, CHUNK patients at a time, and written with `bulk.BulkTable` (COPY
  on PostgreSQL; executemany elsewhere), all in ONE transaction: an interrupted run leaves nothing, and running
  it again adds the TX- numbers not yet there. On PostgreSQL outside a caller's transaction, WORKERS forked
  processes plan the chunks (each patient from its own seeded generators, so the data is the same) while a
  second thread owns the transaction and writes them.
  Patient and episode ids are reserved from their sequences in blocks; on PostgreSQL the secondary indexes,
  unique constraints and foreign keys of the big tables (DEFERRED_MODELS) are dropped first and
* indexes: re-created as they were before the transaction commits; then
* analyze: the planner's statistics of the tables loaded.
* phases: each patient's current phase stored (`services.phases.refresh_phases`: what the patient list's filters
  and the high-risk list read);
* reminders: the patients in the high-risk window are planned here (plan_reminders: a handful); those up to D+180
  (weekly check-ins) were written marked as needing planning (`reminders_stale_since`, the planner's sweep);
  the rest are left to the hourly planner. Their stored outcomes (the cohort page) were written marked for the
  outcome refresh's sweep (`outcomes_stale_since`); their stored vaccination plans (the list of doses due:
  PlannedVaccination, VaccinationPlanState) were written with the load, computed as the plans' refresh does
  (`open_doses_from` over the doses given).

No per-patient service call. Deterministic for a given --seed and today. Progress on stderr.
"""

import multiprocessing
import os
import queue
import random
import signal
import threading
import time as clock
from collections import deque
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Centre, User
from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG
from recovery.clinical.phases import add_months, local_date
from recovery.clinical.reminders import high_risk_window
from recovery.clinical.timeline import Anchor, EventKind, EventStatus, TemplateEvent, plan_timeline
from recovery.clinical.timeline_rules import rule_dates
from recovery.management.bulk import BulkTable, defer_indexes, reseed_uuids, reserve_ids, restore_indexes
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
    PlannedVaccination,
    ProphylaxisStop,
    ProtocolTemplate,
    Relapse,
    SymptomReport,
    TimelineEvent,
    Transfusion,
    TransfusionProduct,
    TransplantEpisode,
    VaccinationDose,
    VaccinationPlanState,
)
from recovery.queries.configuration import active_config
from recovery.queries.vaccinations import due_summary, open_doses_from
from recovery.services.audit import AuditContext, record_event
from recovery.services.phases import refresh_phases
from recovery.services.reminders.planning import plan_reminders

PREFIX = "TX-"
DEFAULT_SEED = 1
YEARS = 20
CHUNK = 500  # patients planned (and handed to the writer) at a time
WORKERS = min(2, os.cpu_count() or 1)  # planning processes on PostgreSQL (the database's work on the other cores)
WINDOW = 4  # chunks planned ahead of the writer at most
# Day 0 of the newest patients, in days before today: aplasia (D+2, D+5, D+9), early recovery, recovery,
# reconstitution, so that every phase after Day 0 has a few patients however small the data set.
RECENT_OFFSETS = (2, 5, 9, 13, 17, 24, 40, 65, 95, 130, 170, 260, 420, 600)
HIGH_EBV_SHARE = 0.05  # an EBV reactivation in the first 100 days
CLINICIAN = "clinician"  # the demo login that confirms engraftment and stops prophylaxis (if present)


MISSED_SHARE = 0.12  # as the demo: a vaccine whose dose is missed then shows as overdue
PROGRAMME_MONTHS = 36  # the vaccination programme (to month 30) through the planner; yearly doses after it
# The big tables: their secondary indexes and constraints are dropped for the load and re-created after it.
DEFERRED_MODELS = (
    TimelineEvent,
    LabResult,
    VaccinationDose,
    EDSSAssessment,
    MRIScan,
    ProphylaxisStop,
    PlannedVaccination,
)
LOAD_STAGES = ("load", "indexes", "analyze")
AFTER_STAGES = ("phases", "reminders")
EPISODE_DATES = (
    "mobilisation_date",
    "gcsf_start_date",
    "apheresis_date",
    "cd34_dose",
    "cryostorage_date",
    "admission_date",
    "conditioning_start_date",
    "reinfusion_date",
    "neutrophil_engraftment_date",
    "platelet_engraftment_date",
    "discharge_date",
)
PATIENT_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "hospital_number",
    "timezone",
    "ms_type",
    "ms_onset_date",
    "baseline_edss",
    "previous_treatments",
)
COLUMNS = {  # the columns each table is given (in this order); the others take their defaults
    Patient: ("id", "centre_id", *PATIENT_FIELDS, "reminders_stale_since", "outcomes_stale_since"),
    TransplantEpisode: ("id", "patient_id", "protocol_id", *EPISODE_DATES),
    TimelineEvent: ("episode_id", "template_key", "kind", "title", "planned_date", "status", "actual_date"),
    EDSSAssessment: ("patient_id", "assessed_on", "score"),
    Relapse: (
        "patient_id",
        "onset_date",
        "domains",
        "description",
        "treated_with_steroids",
        "possible_pseudo_relapse",
    ),
    MRIScan: ("patient_id", "scan_date", "is_rebaseline", "new_t2_lesions", "gd_enhancing_lesions", "notes"),
    SymptomReport: ("patient_id", "recorded_at", "temperature_c", "notes", "phase", "day", "neutropenic_fever"),
    LabResult: ("patient_id", "test", "value", "unit", "collected_at", "source"),
    Transfusion: ("patient_id", "product", "given_at"),
    EngraftmentConfirmation: ("patient_id", "kind", "proposed_date", "confirmed_date", "confirmed_by_id"),
    VaccinationDose: ("patient_id", "vaccine", "dose", "given_date", "entered_by_id"),
    ProphylaxisStop: ("patient_id", "medication", "stopped_on", "stopped_by_id"),
    PlannedVaccination: ("patient_id", "centre_id", "vaccine", "dose", "due_date", "due_until"),
    VaccinationPlanState: ("patient_id", "day0", "config_version", "computed_at", "done", "first_due", "first_overdue"),
}
FEVER_NOTE = "Febrile neutropenia during aplasia (from the inpatient record)."


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

    def _patient(self, rng: random.Random, number: str, day0: date, baseline: Decimal) -> dict:
        return self.patient_values(rng, number, day0, baseline)  # the fields only: no model instance (and UUID)


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
        started = clock.perf_counter()
        created = seeder.run(progress.show)
        progress.finish()
        with seeder.stage("phases"):  # what the patient list's filters and the high-risk list read
            refresh_phases(centre_id=centre_obj.pk)
            if connection.vendor == "postgresql":  # the planner's statistics of the phases just stored
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(Patient._meta.db_table)}")
        with seeder.stage("reminders"):
            planned = seeder.plan_high_risk_reminders()
        elapsed = clock.perf_counter() - started
        if created:
            record_event(
                context=AuditContext.system("seed_transplanted"),
                action="transplanted.seed",
                detail={"patients": created, "seed": seed},
            )
        for name in (*LOAD_STAGES, *AFTER_STAGES):
            if name in seeder.times:
                self.stdout.write(f"  {name}: {seeder.times[name]:.1f} s{seeder.notes.get(name, '')}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{created} new transplanted patients at {centre} in {elapsed:.0f} s ({seeder.rows} rows); "
                f"reminders planned for {planned} in the high-risk window, {seeder.stale} marked for the planner, "
                f"{created} for the outcome refresh, {created} vaccination plans stored."
            )
        )


_WORKER_SEEDER: "Seeder | None" = None


def _plan_in_worker(job: tuple) -> tuple:
    return _WORKER_SEEDER._chunk(*job)


def _start_worker(parent: int) -> None:
    """A planning process: its own UUIDs; Ctrl-C is the parent's to handle; it ends if the parent dies."""
    reseed_uuids()
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            clock.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="seed-parent-watch", daemon=True).start()


class _AbortError(Exception):
    """The planning thread failed: the writer rolls the load back."""


class Stage:
    def __init__(self, seeder: "Seeder", name: str):
        self.seeder, self.name = seeder, name

    def __enter__(self):
        self.started = clock.perf_counter()

    def __exit__(self, *exc):
        self.seeder.times[self.name] = self.seeder.times.get(self.name, 0.0) + clock.perf_counter() - self.started


class Seeder:
    """Plans each chunk of patients in Python (rows as tuples) and loads them all in one transaction."""

    def __init__(self, centre: Centre, templates: dict, count: int, seed: int):
        self.centre = centre
        self.templates = templates
        self.count = count
        self.seed = seed
        self.config = active_config(centre)
        self.zone = ZoneInfo(centre.timezone)
        self.now = timezone.now()
        self.today = local_date(self.now, centre.timezone)
        self.protocols = {p.code: p.pk for p in ProtocolTemplate.objects.filter(code__in=[CY_ATG, BEAM_ATG])}
        clinician = User.objects.filter(username=CLINICIAN).first()
        self.clinician = clinician.pk if clinician else None
        self.simulation = TransplantedSimulation(
            centre=centre, config=self.config.outcomes, today=self.today, count=count, seed=seed
        )
        self.rows = 0
        self.stale = 0
        self.high_risk: list[int] = []
        self.patient_ids: list[int] = []
        self.times: dict[str, float] = {}
        self.notes: dict[str, str] = {}
        self.tables = {model: BulkTable(model, columns, now=self.now) for model, columns in COLUMNS.items()}
        self.units = {test: DEFAULT_LAB_CONFIG.unit(test) for test in ("anc", "platelets", "wbc", "haemoglobin")}
        self.units.update({test: DEFAULT_LAB_CONFIG.unit(test) for test in ("ebv_pcr", "cmv_pcr", "cd4", "cd8")})
        self.units.update({test: DEFAULT_LAB_CONFIG.unit(test) for test in ("cd19", "nk", "igg")})
        self._lab_times: dict[date, datetime] = {}
        self._lab_time = time(6, 30)

    def stage(self, name: str) -> Stage:
        return Stage(self, name)

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

    # --- the load -------------------------------------------------------------------------------------------------

    def run(self, progress) -> int:
        """Plan and write every patient not yet there, in one transaction; returns how many were created."""
        existing = set(
            Patient.objects.filter(centre=self.centre, hospital_number__startswith=PREFIX).values_list(
                "hospital_number", flat=True
            )
        )
        todo = [i for i in range(1, self.count + 1) if f"{PREFIX}{i:05d}" not in existing]
        chunks = [todo[start : start + CHUNK] for start in range(0, len(todo), CHUNK)]
        if not chunks:
            progress(self.count)
            return 0
        done = self.count - len(todo)
        # On PostgreSQL (outside a caller's transaction) a second thread owns the load's transaction and writes
        # each chunk while this one plans the next: the database's work and Python's overlap on two cores.
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self._run_threaded(chunks, progress, done)
        else:
            with transaction.atomic():
                with self.stage("load"):
                    deferred = defer_indexes(DEFERRED_MODELS)
                    for indices in chunks:
                        ids = reserve_ids(Patient, len(indices)), reserve_ids(TransplantEpisode, len(indices))
                        self._write(self._take(self._chunk(indices, *ids)))
                        done += len(indices)
                        progress(done)
                with self.stage("indexes"):
                    restore_indexes(deferred)
            self.notes["load"] = f" ({self.rows} rows)"
            self._analyze()
        return len(todo)

    def _run_threaded(self, chunks: list[list[int]], progress, done: int) -> None:
        payloads: queue.Queue = queue.Queue(maxsize=2)
        failure: list[BaseException] = []
        waited = 0.0

        def load() -> None:
            try:
                with transaction.atomic():
                    deferred = defer_indexes(DEFERRED_MODELS)
                    while (payload := payloads.get()) is not None:
                        if payload is _AbortError:
                            raise _AbortError
                        self._write(payload)
                    with self.stage("indexes"):
                        restore_indexes(deferred)
            except BaseException as error:  # handed to the planning thread
                failure.append(error)
            finally:
                connection.close()  # this thread's own connection

        writer = threading.Thread(target=load, name="seed-writer", daemon=True)
        with self.stage("load"):
            patient_ids = iter(reserve_ids(Patient, sum(map(len, chunks))))
            episode_ids = iter(reserve_ids(TransplantEpisode, sum(map(len, chunks))))
            jobs = [
                (indices, [next(patient_ids) for _ in indices], [next(episode_ids) for _ in indices])
                for indices in chunks
            ]
            planned = self._planned(jobs)  # the worker processes start before the writer thread
            writer.start()
            try:
                for indices in chunks:
                    payload = self._take(next(planned))
                    started = clock.perf_counter()
                    while writer.is_alive():
                        try:
                            payloads.put(payload, timeout=1)
                            break
                        except queue.Full:
                            continue
                    waited += clock.perf_counter() - started
                    if failure or not writer.is_alive():
                        break
                    done += len(indices)
                    progress(done)
            except BaseException:
                self._stop(writer, payloads, _AbortError)
                raise
            finally:
                planned.close()
            started = clock.perf_counter()
            self._stop(writer, payloads, None)
            waited += clock.perf_counter() - started
        self.times["load"] -= self.times.get("indexes", 0.0)
        if failure:
            if isinstance(failure[0], _AbortError):
                raise CommandError("The load was interrupted and rolled back.")
            raise failure[0]
        self.notes["load"] = f" ({self.rows} rows; waiting for the database {waited:.1f} s of it)"
        self._analyze()

    def _planned(self, jobs: list[tuple]):
        """What `_chunk` plans for each job, in order (an iterator; `close()` it): by WORKERS processes (forked
        now, so they share this seeder's state; they never touch the database), at most WINDOW chunks ahead."""
        global _WORKER_SEEDER
        if WORKERS < 2 or len(jobs) < 2:
            return (self._chunk(*job) for job in jobs)
        _WORKER_SEEDER = self
        pool = multiprocessing.get_context("fork").Pool(WORKERS, initializer=_start_worker, initargs=(os.getpid(),))
        _WORKER_SEEDER = None

        def results():
            try:
                pending = deque()
                for job in jobs:
                    pending.append(pool.apply_async(_plan_in_worker, (job,)))
                    if len(pending) >= WINDOW:
                        yield pending.popleft().get()
                while pending:
                    yield pending.popleft().get()
            finally:
                pool.terminate()
                pool.join()

        return results()

    @staticmethod
    def _stop(writer: threading.Thread, payloads: queue.Queue, last) -> None:
        while writer.is_alive():
            try:
                payloads.put(last, timeout=1)
                break
            except queue.Full:
                continue
        writer.join()

    def _analyze(self) -> None:
        with self.stage("analyze"), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for model in COLUMNS:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    def _write(self, payload) -> None:
        for model, data in payload:
            self.tables[model].write(data)

    def plan_high_risk_reminders(self) -> int:
        """The reminders of the patients in the high-risk window, planned now (they are due within hours)."""
        for patient in Patient.objects.filter(pk__in=self.high_risk).select_related("centre"):
            plan_reminders(patient, now=self.now)
        return len(self.high_risk)

    # --- planning -------------------------------------------------------------------------------------------------

    def _take(self, planned) -> list[tuple]:
        """The payload of what `_chunk` planned (here or in a worker process), its counts added to this seeder's."""
        payload, patient_ids, rows, stale, high_risk = planned
        self.patient_ids += patient_ids
        self.rows += rows
        self.stale += stale
        self.high_risk += high_risk
        return payload

    def _chunk(self, indices: list[int], patient_ids: list[int], episode_ids: list[int]) -> tuple:
        """The chunk's rows, planned: the payload ((model, what its BulkTable's `write` takes) for each table), the
        patients' ids, the number of rows, how many were marked for the reminder planner, those it plans now."""
        plans = [self.simulation.plan(i) for i in indices]
        high_risk, stale_count, rows = [], 0, 0
        reminder_config = self.config.reminders
        centre_id, now, today = self.centre.pk, self.now, self.today
        patients, episodes = self.tables[Patient], self.tables[TransplantEpisode]
        for plan, pid, eid in zip(plans, patient_ids, episode_ids, strict=True):
            episode = plan.episode
            for name in ("neutrophil_engraftment_date", "platelet_engraftment_date", "discharge_date"):
                if episode[name] is not None and episode[name] > today:
                    episode[name] = None  # not yet
            if episode["neutrophil_engraftment_date"] is None:
                episode["platelet_engraftment_date"] = episode["discharge_date"] = None
            if plan.fever is not None and plan.fever["recorded_at"] > now:
                plan.fever = None
            window = high_risk_window(
                episode["reinfusion_date"], episode["neutrophil_engraftment_date"], reminder_config
            )
            days = (today - episode["reinfusion_date"]).days
            stale = None
            if window is not None and today in window:
                high_risk.append(pid)
            elif days <= reminder_config.recovery_end_day:
                stale = now  # weekly check-ins: the planner's sweep plans them
                stale_count += 1
            values = plan.patient
            patients.add((pid, centre_id, *[values[name] for name in PATIENT_FIELDS], stale, now))
            episodes.add((eid, pid, self.protocols[plan.regimen], *[episode[name] for name in EPISODE_DATES]))
            self._records(plan, pid, eid, episode)
        payload = []
        for model, table in self.tables.items():
            rows += len(table)
            payload.append((model, table.take()))
        return payload, patient_ids, rows, stale_count, high_risk

    def _collected_at(self, on: date) -> datetime:
        at = self._lab_times.get(on)
        if at is None:
            at = self._lab_times[on] = datetime.combine(on, self._lab_time, tzinfo=self.zone)
        return at

    def _records(self, plan, pid: int, eid: int, episode: dict) -> None:
        """Every record of one patient, added to the tables."""
        today, now, tables = self.today, self.now, self.tables
        day0 = episode["reinfusion_date"]
        engrafted = episode["neutrophil_engraftment_date"]
        limit = today - timedelta(days=2)
        # The timeline from the protocol; what was planned more than two days ago happened.
        anchors = {
            Anchor.MOBILISATION: episode["mobilisation_date"],
            Anchor.CONDITIONING_START: episode["conditioning_start_date"],
            Anchor.DAY0: day0,
            Anchor.NEUTROPHIL_ENGRAFTMENT: engrafted,
            Anchor.DISCHARGE: episode["discharge_date"],
        }
        ruled = rule_dates(
            day0=day0,
            conditioning_start=episode["conditioning_start_date"],
            neutrophil_engraftment=engrafted,
            vaccination=self.config.vaccination,
            prophylaxis=self.config.prophylaxis,
        )
        add = tables[TimelineEvent].add
        done, planned = EventStatus.DONE.value, EventStatus.PLANNED.value
        for item in plan_timeline(self.templates[plan.regimen], anchors, [], ruled).create:
            on = item.planned_date
            if on < limit:
                add((eid, item.template_key, item.kind.value, item.title, on, done, on))
            else:
                add((eid, item.template_key, item.kind.value, item.title, on, planned, None))
        # Outcomes: EDSS, relapses, MRI (the cohort's simulation) and the febrile neutropenia in aplasia.
        tables[EDSSAssessment].extend((pid, on, score) for on, score in plan.assessments)
        tables[Relapse].extend(
            (
                pid,
                r["onset_date"],
                r["domains"],
                r["description"],
                r["treated_with_steroids"],
                r["possible_pseudo_relapse"],
            )
            for r in plan.relapses
        )
        tables[MRIScan].extend(
            (pid, s["scan_date"], s["is_rebaseline"], s["new_t2_lesions"], s["gd_enhancing_lesions"], s["notes"])
            for _, s in sorted(plan.scans.items())
        )
        if plan.fever is not None:
            fever = plan.fever
            tables[SymptomReport].add(
                (pid, fever["recorded_at"], fever["temperature_c"], FEVER_NOTE, "aplasia", fever["day"], True)
            )
        # Labs around engraftment, then at the visits; the immune panels for five years.
        rng = random.Random(f"{self.seed}-labs-{plan.number}")
        engraft_day = (engrafted - day0).days if engrafted else None
        high_ebv = rng.random() < HIGH_EBV_SHARE
        cd4 = []
        units, add, csv = self.units, tables[LabResult].add, LabSource.CSV.value
        collected_at, recent = self._collected_at, today - timedelta(days=1)
        for test, on, value in _lab_rows(rng, day0, today, engraft_day, high_ebv):
            at = collected_at(on)
            if on >= recent and at > now:
                continue  # later today
            add((pid, test, value, units[test], at, csv))
            if test == "cd4" and on > day0:
                cd4.append((on, Decimal(str(value))))
        if engraft_day is not None and engraft_day >= 11:
            given = datetime.combine(day0 + timedelta(days=engraft_day - 6), time(14, 0), tzinfo=self.zone)
            tables[Transfusion].add((pid, TransfusionProduct.PLATELETS.value, given))
        clinician, given = self.clinician, []
        if engrafted is not None:
            if clinician is not None:
                tables[EngraftmentConfirmation].add(
                    (pid, EngraftmentKind.NEUTROPHIL.value, engrafted, engrafted, clinician)
                )
            # Vaccinations given (some missed) and prophylaxis stopped, as the demo does.
            care = random.Random(f"{self.seed}-care-{plan.number}")
            given = self._doses(day0, care)
            tables[VaccinationDose].extend((pid, v, n, on, clinician) for v, n, on in given)
            if clinician is not None:
                tables[ProphylaxisStop].extend(
                    (pid, m, on, clinician)
                    for m, on in prophylaxis_stops(_Episode(episode), cd4, today, self.config.prophylaxis)
                )
        # The stored vaccination plan (what the list of doses due reads), as the plans' refresh computes it.
        doses = open_doses_from(day0, given, self.config.vaccination)
        tables[VaccinationPlanState].add((pid, day0, self.config.version, now, not doses, *due_summary(doses)))
        tables[PlannedVaccination].extend(
            (pid, self.centre.pk, d.vaccine, d.dose, d.due_date, d.due_until) for d in doses
        )


class _Episode:
    """The episode's dates as attributes (what `prophylaxis_stops` reads), without a model instance."""

    def __init__(self, values: dict):
        self.reinfusion_date = values["reinfusion_date"]
        self.conditioning_start_date = values["conditioning_start_date"]
        self.neutrophil_engraftment_date = values["neutrophil_engraftment_date"]
