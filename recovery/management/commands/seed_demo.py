"""Demo data: a centre, one login per role (password "demo") and synthetic patients. Safe to run again."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Centre, Membership, Role, User
from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG
from recovery.clinical.timeline import EventStatus
from recovery.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    Channel,
    EngraftmentConfirmation,
    EngraftmentKind,
    LabResult,
    LabSource,
    MSType,
    Notification,
    NotificationStatus,
    Patient,
    ProtocolTemplate,
    ResolutionAction,
    Sex,
    SymptomReport,
    TimelineEvent,
    Transfusion,
    TransfusionProduct,
    TransplantEpisode,
)
from recovery.queries.configuration import active_config
from recovery.queries.timeline import episode_of, patient_today
from recovery.services.audit import AuditContext
from recovery.services.labs import check_ebv_alert
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.reminders.planning import plan_reminders
from recovery.services.symptoms import record_symptom_report
from recovery.services.timeline import save_episode

DEMO_CENTRE = "Demo Transplant Centre"
COHORT_PREFIX = "COH-"  # hospital numbers of the historical cohort (seed_cohort)
FIRST_NAMES = [
    "Astrid",
    "Erik",
    "Maja",
    "Lars",
    "Elsa",
    "Johan",
    "Sara",
    "Anders",
    "Ingrid",
    "Nils",
    "Freja",
    "Oskar",
    "Amira",
    "Daniel",
    "Hanna",
    "Mehmet",
    "Lina",
    "Jonas",
    "Karin",
    "Ali",
    "Emma",
    "Viktor",
    "Noor",
    "Felix",
]
LAST_NAMES = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Lindberg",
    "Berg",
    "Holm",
    "Ekström",
    "Sandberg",
    "Forsberg",
]
# Day 0 relative to today (and the engraftment day after Day 0, or None), one per stretch of the pathway, so that
# the demo shows every phase. None as Day 0: mobilisation and collection are set relative to today instead.
PATHWAY_POSITIONS = [
    ("evaluation", None, None),
    ("mobilisation", None, None),
    ("collection", None, None),
    ("conditioning", 3, None),
    ("aplasia", -6, None),
    ("aplasia", -11, None),
    ("aplasia-delayed", -23, None),
    ("early_recovery", -25, 11),
    ("early_recovery", -60, 12),
    ("recovery", -120, 10),
    ("recovery", -160, 13),
    ("reconstitution", -260, 11),
    ("reconstitution", -540, 12),
    ("follow_up", -900, 11),
    ("follow_up", -2200, 12),
]
MAX_EPISODES = 200
DEFAULT_PATIENTS = 40
REPORTING_PATIENTS = 16  # how many patients after Day 0 get a history of check-ins
REPORT_HISTORY_DAYS = 120
DAILY_REPORT_DAYS = 30
WEEKLY_REPORT_UNTIL_DAY = 180  # synthetic patients beyond this stay in evaluation, so that --patients 5000 stays quick
TIMEZONES = ["Europe/Stockholm"] * 8 + ["Europe/Oslo", "Europe/Helsinki", "Europe/London", "America/New_York"]
DEMO_LOGINS = [
    ("coordinator", Role.COORDINATOR, "Cora", "Lind"),
    ("clinician", Role.CLINICIAN, "Karl", "Wiberg"),
    ("patient", Role.PATIENT, "Pia", "Holmgren"),
]


class Command(BaseCommand):
    help = "Create or refresh demo data: a centre, one login per role and synthetic patients."

    def add_arguments(self, parser):
        parser.add_argument(
            "--patients",
            type=int,
            default=DEFAULT_PATIENTS,
            help=f"How many synthetic patients (default {DEFAULT_PATIENTS}); with --transplanted, how many "
            "transplanted patients to add to the demo.",
        )
        parser.add_argument(
            "--transplanted",
            action="store_true",
            help="A data set at scale: the demo, then N transplanted patients over 20 years (seed_transplanted).",
        )
        parser.add_argument("--seed", type=int, default=1, help="With --transplanted: the same seed, the same data.")
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off (never on a real system).")

    def handle(self, *args, patients: int, transplanted: bool, seed: int, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to create demo logins with DEBUG off. Use --force if you really mean it.")
        if patients < 0:
            raise CommandError("--patients must be 0 or more.")
        if transplanted:
            self.handle(patients=DEFAULT_PATIENTS, transplanted=False, seed=seed, force=force)
            call_command(
                "seed_transplanted", patients=patients, seed=seed, force=force, stdout=self.stdout, stderr=self.stderr
            )
            return
        with transaction.atomic():
            centre = self._centre()
            self._logins(centre)
            created = self._patients(centre, patients)
            episodes = self._episodes(centre)
            reports = self._reports(centre)
            labs = self._labs(centre)
            self._care(centre)
            reminders = self._reminders(centre)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo centre ready; {created} new synthetic patients, {episodes} new transplant episodes, "
                f"{labs} new lab results, {reports} new symptom reports, {reminders} reminders and messages."
            )
        )
        self.stdout.write("Demo logins (password: demo): " + ", ".join(name for name, *_ in DEMO_LOGINS))
        call_command("seed_cohort", force=force, stdout=self.stdout)

    def _centre(self) -> Centre:
        centre, _ = Centre.objects.get_or_create(
            name=DEMO_CENTRE, defaults={"timezone": "Europe/Stockholm", "phone_24h": "+46 18 611 00 00"}
        )
        return centre

    def _logins(self, centre: Centre) -> None:
        password = make_password(settings.DEMO_PASSWORD)
        for username, role, first, last in DEMO_LOGINS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"role": role, "first_name": first, "last_name": last, "email": f"{username}@example.org"},
            )
            if created or not user.check_password(settings.DEMO_PASSWORD):
                user.password = password
                user.save(update_fields=["password"])
            if role == Role.PATIENT:
                Patient.objects.get_or_create(
                    user=user,
                    defaults={
                        "centre": centre,
                        "first_name": first,
                        "last_name": last,
                        "date_of_birth": date(1991, 4, 12),
                        "sex": Sex.FEMALE,
                        "hospital_number": "DEMO-PATIENT",
                        "email": user.email,
                        "phone": "+46701234567",
                        "timezone": "Europe/Stockholm",
                        "ms_type": MSType.RRMS,
                        "ms_onset_date": date(2017, 9, 1),
                        "baseline_edss": "3.5",
                    },
                )
            else:
                Membership.objects.get_or_create(user=user, centre=centre)

    def _patients(self, centre: Centre, count: int) -> int:
        rng = random.Random(20231125)  # the same synthetic people on every run
        existing = set(
            Patient.objects.filter(centre=centre, hospital_number__startswith="SYN-").values_list(
                "hospital_number", flat=True
            )
        )
        new = []
        for i in range(1, count + 1):
            number = f"SYN-{i:05d}"
            born = date(1965, 1, 1) + timedelta(days=rng.randrange(0, 365 * 38))
            onset = born + timedelta(days=rng.randrange(365 * 18, 365 * 26))
            if number in existing:
                continue
            new.append(
                Patient(
                    centre=centre,
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES),
                    date_of_birth=born,
                    sex=rng.choice([Sex.FEMALE, Sex.FEMALE, Sex.MALE]),
                    hospital_number=number,
                    timezone=rng.choice(TIMEZONES),
                    ms_type=rng.choice([MSType.RRMS] * 5 + [MSType.SPMS]),
                    ms_onset_date=min(onset, date(2024, 1, 1)),
                    baseline_edss=rng.choice(["2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0", "5.5", "6.0"]),
                )
            )
        Patient.objects.bulk_create(new, batch_size=1000)
        return len(new)

    def _episodes(self, centre: Centre) -> int:
        """Transplant dates for the demo patient (Day +9) and synthetic patients spread over every phase."""
        context = AuditContext.system("seed_demo")
        protocols = {p.code: p for p in ProtocolTemplate.objects.all()}
        created = 0
        demo = Patient.objects.filter(user__username="patient").first()
        if demo is not None and episode_of(demo) is None:
            self._episode(context, demo, protocols["cy_atg"], patient_today(demo), day0_offset=-9, engrafted_after=None)
            created += 1
        synthetic = Patient.objects.filter(centre=centre, hospital_number__startswith="SYN-").select_related("episode")
        for i, patient in enumerate(synthetic.order_by("hospital_number")[:MAX_EPISODES]):
            if episode_of(patient) is not None:
                continue
            position, day0_offset, engrafted_after = PATHWAY_POSITIONS[i % len(PATHWAY_POSITIONS)]
            if position == "evaluation":
                continue
            protocol = protocols["beam_atg" if i % 5 == 4 else "cy_atg"]
            today = patient_today(patient)  # the patient's own date, so that Day numbers come out as intended
            if position == "mobilisation":
                fields = {"protocol": protocol, "mobilisation_date": today - timedelta(days=3)}
                save_episode(context=context, patient=patient, fields=fields)
            elif position == "collection":
                fields = {
                    "protocol": protocol,
                    "mobilisation_date": today - timedelta(days=13),
                    "apheresis_date": today - timedelta(days=3),
                    "cd34_dose": "5.4",
                }
                save_episode(context=context, patient=patient, fields=fields)
            else:
                self._episode(context, patient, protocol, today, day0_offset, engrafted_after)
            created += 1
        return created

    def _episode(self, context, patient, protocol, today, day0_offset, engrafted_after) -> None:
        day0 = today + timedelta(days=day0_offset)
        conditioning = day0 - timedelta(days=6 if protocol.code == "beam_atg" else 5)
        engrafted = day0 + timedelta(days=engrafted_after) if engrafted_after is not None else None
        fields = {
            "protocol": protocol,
            "mobilisation_date": day0 - timedelta(days=40),
            "gcsf_start_date": day0 - timedelta(days=39),
            "apheresis_date": day0 - timedelta(days=30),
            "cd34_dose": "6.3",
            "cryostorage_date": day0 - timedelta(days=30),
            "admission_date": conditioning - timedelta(days=1),
            "conditioning_start_date": conditioning,
            "reinfusion_date": day0,
            "neutrophil_engraftment_date": engrafted if engrafted and engrafted <= today else None,
            "platelet_engraftment_date": engrafted + timedelta(days=2)
            if engrafted and engrafted + timedelta(days=2) <= today
            else None,
            "discharge_date": engrafted + timedelta(days=3)
            if engrafted and engrafted + timedelta(days=3) <= today
            else None,
        }
        episode = save_episode(context=context, patient=patient, fields=fields).episode
        # What happened more than two days ago happened; the last two days stay open, so some show as overdue.
        TimelineEvent.objects.filter(
            episode=episode, status=EventStatus.PLANNED, planned_date__lt=today - timedelta(days=2)
        ).update(status=EventStatus.DONE, actual_date=models.F("planned_date"))

    def _care(self, centre: Centre) -> int:
        """Vaccine doses given (most on time, some missed, so that the coordinators' list has doses due and
        overdue) and prophylaxis stops (short courses at engraftment, CD4-gated ones once CD4 recovered) for the
        patients after Day 0. The demo patient, on Day +9, keeps all courses running. Returns the doses added."""
        from recovery.models import ProphylaxisStop, VaccinationDose
        from recovery.queries.configuration import active_config
        from recovery.queries.prophylaxis import cd4_results

        if VaccinationDose.objects.filter(patient__centre=centre).exists():
            return 0
        clinician = User.objects.filter(username="clinician").first()
        config = active_config(centre)
        doses, stops = [], []
        episodes = TransplantEpisode.objects.filter(
            patient__centre=centre, reinfusion_date__isnull=False, neutrophil_engraftment_date__isnull=False
        ).select_related("patient")
        for episode in episodes:
            patient = episode.patient
            today = patient_today(patient)
            rng = random.Random(f"care-{patient.hospital_number}")
            given = doses_given(episode.reinfusion_date, today, config.vaccination, rng)
            doses += [
                VaccinationDose(patient=patient, vaccine=v, dose=n, given_date=on, entered_by=clinician)
                for v, n, on in given
            ]
            if clinician is None:
                continue
            cd4 = cd4_results(patient, episode.reinfusion_date)
            stops += [
                ProphylaxisStop(patient=patient, medication=medication, stopped_on=on, stopped_by=clinician)
                for medication, on in prophylaxis_stops(episode, cd4, today, config.prophylaxis)
            ]
        VaccinationDose.objects.bulk_create(doses, ignore_conflicts=True)
        ProphylaxisStop.objects.bulk_create(stops, ignore_conflicts=True)
        return len(doses)

    def _labs(self, centre: Centre) -> int:
        """Blood counts, immune cells and viral loads for every patient after Day 0 (see `_lab_rows`).

        Counts recover on the episode's engraftment day, so the proposal matches the recorded date; the D+11
        patient in aplasia has counts that already meet the rule (a proposal waiting for the clinician), the D+23
        one has none (delayed engraftment), and the demo patient on Day +9 is still below 0.5.
        """
        clinician = User.objects.filter(username="clinician").first()
        episodes = (
            TransplantEpisode.objects.filter(patient__centre=centre, reinfusion_date__isnull=False)
            .exclude(patient__lab_results__isnull=False)
            # The historical cohort (seed_cohort, run after this) has outcomes, not labs: without this, a second
            # run would give its 174 patients years of counts that the first run did not.
            .exclude(patient__hospital_number__startswith=COHORT_PREFIX)
            .select_related("patient")
        )
        rows, transfusions, confirmations, ebv_patients = [], [], [], []
        now = timezone.now()
        for episode in episodes:
            patient = episode.patient
            today = patient_today(patient)
            day0 = episode.reinfusion_date
            if day0 > today:
                continue
            recorded = episode.neutrophil_engraftment_date
            engraft_day = (recorded - day0).days if recorded else None
            if recorded is None and (today - day0).days < 10:
                engraft_day = 11  # still to come: the counts so far show the nadir and perhaps the first rise
            elif recorded is None and (today - day0).days < 16:
                engraft_day = 9  # counts up since D+9: the rule is met, the clinician has not confirmed yet
            rng = random.Random(patient.hospital_number)
            high_ebv = patient.hospital_number.endswith("9")
            for test, on, value in _lab_rows(rng, day0, today, engraft_day, high_ebv):
                at = datetime.combine(on, time(6, 30), tzinfo=patient.tz)
                if on == today and at > now:  # before the morning round: today's sample was taken just now
                    at = max(datetime.combine(on, time(0, 0), tzinfo=patient.tz), now.replace(second=0, microsecond=0))
                if at <= now:
                    rows.append(
                        LabResult(
                            patient=patient,
                            test=test,
                            value=Decimal(str(value)),
                            unit=DEFAULT_LAB_CONFIG.unit(test),
                            collected_at=at,
                            source=LabSource.CSV,
                        )
                    )
            if engraft_day is not None and engraft_day >= 11:
                on = day0 + timedelta(days=engraft_day - 6)
                if on < today:
                    transfusions.append(
                        Transfusion(
                            patient=patient,
                            product=TransfusionProduct.PLATELETS,
                            given_at=datetime.combine(on, time(14, 0), tzinfo=patient.tz),
                        )
                    )
            if recorded is not None and clinician is not None:
                confirmations.append(
                    EngraftmentConfirmation(
                        patient=patient,
                        kind=EngraftmentKind.NEUTROPHIL,
                        proposed_date=recorded,
                        confirmed_date=recorded,
                        confirmed_by=clinician,
                    )
                )
            if high_ebv and (today - day0).days >= 45:
                ebv_patients.append(patient)
        LabResult.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        Transfusion.objects.bulk_create(transfusions, ignore_conflicts=True)
        EngraftmentConfirmation.objects.bulk_create(confirmations)
        for patient in ebv_patients[:1]:  # one open EBV alert in the demo
            results = list(patient.lab_results.filter(test="ebv_pcr").order_by("-collected_at")[:1])
            check_ebv_alert(patient=patient, results=results, config=active_config(centre))
        return len(rows)

    def _reports(self, centre: Centre) -> int:
        """Months of plausible check-ins for the demo patient and patients after Day 0; some open alerts."""
        if SymptomReport.objects.filter(patient__centre=centre).exists():
            return 0
        rng = random.Random(7)
        now = timezone.now()
        clinician = User.objects.filter(username="clinician").first()
        patients = list(
            Patient.objects.filter(centre=centre, episode__reinfusion_date__isnull=False)
            .select_related("episode", "centre")
            .order_by("hospital_number")[:REPORTING_PATIENTS]
        )
        count = 0
        for patient in patients:
            day0 = patient.episode.reinfusion_date
            start = max(day0, timezone.localdate() - timedelta(days=REPORT_HISTORY_DAYS))
            for moment in _report_times(patient, start, now, rng):
                day = (moment.date() - day0).days
                aplasia = patient.episode.neutrophil_engraftment_date is None or moment.date() < (
                    patient.episode.neutrophil_engraftment_date
                )
                temperature = round(rng.gauss(37.0 if aplasia else 36.8, 0.35), 1)
                symptoms = {}
                if rng.random() < 0.5:
                    symptoms = {
                        "fatigue": rng.choice([1, 1, 2, 2, 3] if day < 30 else [0, 1, 1]),
                        "nausea": rng.choice([0, 1, 2] if day < 14 else [0, 0, 1]),
                        "mouth_sores": rng.choice([0, 1, 2] if 3 < day < 14 else [0]),
                        "appetite_loss": rng.choice([0, 1, 2] if day < 21 else [0, 0, 1]),
                    }
                outcome = record_symptom_report(
                    context=AuditContext(actor=patient.user, request_id="seed-demo"),
                    patient=patient,
                    recorded_at=moment,
                    temperature_c=min(temperature, 37.7),
                    symptoms=symptoms,
                )
                if outcome.alert is not None and moment < now - timedelta(days=1):
                    self._resolve_as_then(outcome.alert, moment, clinician)
                count += 1
        count += self._open_alerts_of_each_severity(patients, now)
        return count

    def _reminders(self, centre: Centre) -> int:
        """Reminders: the last three days as sent (so the inbox and delivery log have a history, with one
        missed evening check-in of the demo patient that became a coordinator's task) and the next two weeks."""
        patients = Patient.objects.filter(centre=centre).select_related("centre", "user")
        if Notification.objects.filter(patient__centre=centre, status=NotificationStatus.SENT).exists():
            return 0  # seeded before (planning alone, from saving the episodes, sends nothing)
        now = timezone.now()
        # Synthetic reports were entered "as then": a report answers the check-ins of its own time.
        SymptomReport.objects.filter(patient__centre=centre).update(created_at=models.F("recorded_at"))
        demo = patients.filter(user__username="patient").first()
        if demo is not None:
            yesterday_evening = datetime.combine(patient_today(demo) - timedelta(days=1), time(18, 0), tzinfo=demo.tz)
            SymptomReport.objects.filter(
                patient=demo,
                recorded_at__gte=yesterday_evening,
                recorded_at__lt=yesterday_evening + timedelta(hours=5),
                alerts__isnull=True,
            ).delete()
        history_from = now - timedelta(days=3)
        for patient in patients:
            plan_reminders(patient, now=history_from)
        step = history_from
        while step < now:
            step = min(step + timedelta(minutes=5), now)
            # The history is in the app only: no demo emails or text messages about the past.
            Notification.objects.filter(
                patient__centre=centre, status=NotificationStatus.PENDING, next_attempt_at__lte=step
            ).exclude(channel=Channel.IN_APP).update(
                status=NotificationStatus.SUPPRESSED, status_reason="Demo history: in the app only."
            )
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
                dispatch_due(now=step, budget_seconds=600)  # staff messages fanned out from the history
        Notification.objects.filter(patient__centre=centre, status=NotificationStatus.SENT).update(
            sent_at=models.F("next_attempt_at")
        )
        for patient in patients:
            plan_reminders(patient, now=now)
        return Notification.objects.filter(patient__centre=centre).count()

    def _resolve_as_then(self, alert, reported_at, clinician) -> None:
        """A past alert was dealt with at the time: acknowledged within the hour, then resolved."""
        raised = reported_at + timedelta(minutes=3)
        Alert.objects.filter(pk=alert.pk).update(
            created_at=raised,
            respond_by=raised + (alert.respond_by - alert.created_at if alert.respond_by else timedelta(hours=1)),
            status=AlertStatus.RESOLVED,
            acknowledged_at=raised + timedelta(minutes=25),
            acknowledged_by=clinician,
            resolved_at=raised + timedelta(hours=2),
            resolved_by=clinician,
            resolution=ResolutionAction.ADVICE,
            resolution_note="Phoned; advice given.",
        )
        alert.history.filter(action="raised").update(at=raised)
        AlertEvent.objects.bulk_create(
            [
                AlertEvent(alert=alert, at=raised + timedelta(minutes=25), actor=clinician, action="acknowledged"),
                AlertEvent(
                    alert=alert,
                    at=raised + timedelta(hours=2),
                    actor=clinician,
                    action="resolved",
                    detail={"action": "advice"},
                ),
            ]
        )

    def _open_alerts_of_each_severity(self, patients, now) -> int:
        """Today's queue: an urgent fever (the demo patient, Day +9), a same-day and a routine report."""
        demo = Patient.objects.filter(user__username="patient").select_related("centre").first()
        examples = []
        if demo is not None:
            examples.append((demo, {"temperature_c": "38.4", "symptoms": {"chills": 1, "fatigue": 2}}, 40))
        others = [p for p in patients if p != demo]
        if len(others) >= 2:
            examples.append((others[0], {"temperature_c": "37.1", "symptoms": {"nausea": 3, "vomiting": 2}}, 95))
            examples.append((others[1], {"temperature_c": "36.9", "symptoms": {"fatigue": 1}}, 180))
        for patient, values, minutes_ago in examples:
            record_symptom_report(
                context=AuditContext(actor=patient.user, request_id="seed-demo"),
                patient=patient,
                recorded_at=now - timedelta(minutes=minutes_ago),
                notes="Feeling shivery since this morning." if values["temperature_c"] == "38.4" else "",
                **values,
            )
        return len(examples)


def doses_given(day0: date, today: date, config, rng: random.Random) -> list[tuple[str, int, date]]:
    """(vaccine, dose, date) of the doses given: each that came due more than three weeks ago, most within ten
    days of their date, some missed (about one in eight: that vaccine then shows as overdue)."""
    from recovery.clinical.vaccination import DoseStatus
    from recovery.queries.vaccinations import plan_from

    given: list[tuple[str, int, date]] = []
    skipped: set[str] = set()
    while True:  # give each dose that came due more than three weeks ago, then look again
        plan = plan_from(day0, given, today, config)
        ready = [
            d
            for d in plan
            if d.status in (DoseStatus.DUE, DoseStatus.OVERDUE)
            and d.due_date <= today - timedelta(days=21)
            and d.vaccine not in skipped
        ]
        if not ready:
            return given
        for dose in ready:
            if rng.random() < 0.12:
                skipped.add(dose.vaccine)  # missed: shows as overdue
                continue
            on = min(dose.due_date + timedelta(days=rng.randrange(0, 10)), today)
            given.append((dose.vaccine, dose.dose, on))


def prophylaxis_stops(episode, cd4: list, today: date, config) -> list[tuple[str, date]]:
    """(medication, date) of the courses stopped: short courses the day after their planned stop, CD4-gated ones
    once CD4 recovered; only those whose stop was allowed a week ago or more."""
    from recovery.queries.prophylaxis import courses_from

    stops = []
    for course in courses_from(episode, cd4, [], today, config):
        planned = course.plan.planned_stop
        if course.plan.stop_allowed and planned is not None and planned <= today - timedelta(days=7):
            latest_cd4 = max([on for on, _ in cd4 if on <= today] or [planned])
            stopped_on = max(planned, latest_cd4) if course.plan.until_cd4 else planned + timedelta(days=1)
            stops.append((course.medication, min(stopped_on, today)))
    return stops


def _anc(day: int, engraft_day: int | None, rng: random.Random) -> float:
    """ANC (x10^9/L) on a Day: falls after conditioning, nadir from about D+5, >= 0.5 from `engraft_day` on."""
    if day < 0:
        return round(3.2 + rng.uniform(-0.6, 0.8), 2)
    fall = {0: 2.1, 1: 1.4, 2: 0.8, 3: 0.35, 4: 0.15}
    if engraft_day is None or day < engraft_day - 2:
        return fall.get(day, round(rng.uniform(0.01, 0.06) if day < 12 else rng.uniform(0.05, 0.3), 2))
    rise = [0.12, 0.3, 0.62, 0.95, 1.4, 1.9, 2.4]
    step = day - (engraft_day - 2)
    return rise[step] if step < len(rise) else round(2.4 + rng.uniform(0, 1.6), 2)


def _platelets(day: int, engraft_day: int | None, rng: random.Random) -> int:
    """Platelets (x10^9/L): nadir below 20 from about D+5, >= 20 from two days after neutrophil engraftment."""
    if day < 0:
        return rng.randint(190, 260)
    fall = {0: 140, 1: 110, 2: 80, 3: 52, 4: 31}
    if day in fall:
        return fall[day]
    if engraft_day is None or day < engraft_day + 2:
        if engraft_day is not None and engraft_day >= 11 and day == engraft_day - 6:
            return 8  # the day of the platelet transfusion
        return rng.randint(9, 17)
    return min(260, 22 + 14 * (day - engraft_day - 2) + rng.randint(0, 6))


# (months after Day 0, CD4, CD19, IgG) medians of the slow recovery after ATG; each patient varies around them
_IMMUNE_RECOVERY = [
    (3, 0.08, 0.02, 4.6),
    (6, 0.13, 0.12, 5.4),
    (12, 0.19, 0.28, 6.8),
    (18, 0.26, 0.32, 7.6),
    (24, 0.34, 0.35, 8.3),
    (36, 0.45, 0.3, 9.0),
    (48, 0.55, 0.3, 9.4),
    (60, 0.6, 0.3, 9.6),
]


def _lab_rows(rng, day0: date, today: date, engraft_day, high_ebv: bool):
    """(test, date, value) of a realistic course: daily counts from conditioning to discharge, then at visits;
    weekly EBV/CMV PCR to D+100; CD4, CD19, IgG at months 3, 6, 12, 18, 24 and yearly after."""
    last = (today - day0).days
    daily_until = min(last, 40 if engraft_day is None else engraft_day + 5)
    visit_days = [d for d in (35, 42, 56, 70, 100, 130, 180) if d <= last]
    for day in [*range(-5, daily_until + 1), *visit_days]:
        on = day0 + timedelta(days=day)
        anc = _anc(day, engraft_day, rng)
        yield "anc", on, anc
        yield "platelets", on, _platelets(day, engraft_day, rng)
        yield "wbc", on, round(anc + rng.uniform(0.05, 0.4) if day < 30 else anc + rng.uniform(0.6, 1.4), 2)
        yield "haemoglobin", on, rng.randint(84, 102) if 0 <= day < 30 else rng.randint(108, 135)
    for day in range(7, min(last, 100) + 1, 7):
        on = day0 + timedelta(days=day)
        if high_ebv and day >= 28:
            ebv = {28: 4200, 35: 85000, 42: 640000}.get(day, 120000)
        else:
            ebv = rng.choice([0, 0, 0, 0, 0, 350, 900])
        yield "ebv_pcr", on, ebv
        yield "cmv_pcr", on, rng.choice([0, 0, 0, 0, 0, 0, 150])
    for months, cd4, cd19, igg in _IMMUNE_RECOVERY:
        on = day0 + timedelta(days=round(months * 30.44))
        if on > today:
            break
        factor = rng.uniform(0.75, 1.3)
        yield "cd4", on, round(cd4 * factor, 3)
        yield "cd8", on, round(min(1.2, 0.35 + months * 0.02) * rng.uniform(0.8, 1.2), 3)
        yield "cd19", on, round(cd19 * rng.uniform(0.7, 1.3), 3)
        yield "nk", on, round(rng.uniform(0.15, 0.35), 3)
        yield "igg", on, round(igg * rng.uniform(0.85, 1.15), 1)


def _report_times(patient, start, now, rng):
    """Twice a day in the first month after Day 0, then about weekly: at plausible local times."""
    day0 = patient.episode.reinfusion_date
    day = start
    while day < now.date():
        offset = (day - day0).days
        if offset <= DAILY_REPORT_DAYS:
            hours = [8, 20]
        elif offset <= WEEKLY_REPORT_UNTIL_DAY and day.weekday() in (0, 3):
            hours = [9]
        else:
            hours = []
        for hour in hours:
            local = datetime.combine(day, time(hour, rng.randrange(0, 50)), tzinfo=patient.tz)
            if local < now - timedelta(hours=4):
                yield local
        day += timedelta(days=1)
