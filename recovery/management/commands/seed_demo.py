"""Demo data: a centre, one login per role (password "demo") and synthetic patients. Safe to run again."""

import random
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Centre, Membership, Role, User
from recovery.clinical.timeline import EventStatus
from recovery.models import MSType, Patient, ProtocolTemplate, Sex, TimelineEvent
from recovery.services.audit import AuditContext
from recovery.services.timeline import episode_of, save_episode

DEMO_CENTRE = "Demo Transplant Centre"
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
MAX_EPISODES = 200  # synthetic patients beyond this stay in evaluation, so that --patients 5000 stays quick
TIMEZONES = ["Europe/Stockholm"] * 8 + ["Europe/Oslo", "Europe/Helsinki", "Europe/London", "America/New_York"]
DEMO_LOGINS = [
    ("coordinator", Role.COORDINATOR, "Cora", "Lind"),
    ("clinician", Role.CLINICIAN, "Karl", "Wiberg"),
    ("patient", Role.PATIENT, "Pia", "Holmgren"),
]


class Command(BaseCommand):
    help = "Create or refresh demo data: a centre, one login per role and synthetic patients."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=40, help="How many synthetic patients (default 40).")
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off (never on a real system).")

    def handle(self, *args, patients: int, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to create demo logins with DEBUG off. Use --force if you really mean it.")
        if patients < 0:
            raise CommandError("--patients must be 0 or more.")
        with transaction.atomic():
            centre = self._centre()
            self._logins(centre)
            created = self._patients(centre, patients)
            episodes = self._episodes(centre)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo centre ready; {created} new synthetic patients, {episodes} new transplant episodes."
            )
        )
        self.stdout.write("Demo logins (password: demo): " + ", ".join(name for name, *_ in DEMO_LOGINS))

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
        today = timezone.localdate()
        context = AuditContext.system("seed_demo")
        protocols = {p.code: p for p in ProtocolTemplate.objects.all()}
        created = 0
        demo = Patient.objects.filter(user__username="patient").first()
        if demo is not None and episode_of(demo) is None:
            self._episode(context, demo, protocols["cy_atg"], today, day0_offset=-9, engrafted_after=None)
            created += 1
        synthetic = Patient.objects.filter(centre=centre, hospital_number__startswith="SYN-").select_related("episode")
        for i, patient in enumerate(synthetic.order_by("hospital_number")[:MAX_EPISODES]):
            if episode_of(patient) is not None:
                continue
            position, day0_offset, engrafted_after = PATHWAY_POSITIONS[i % len(PATHWAY_POSITIONS)]
            if position == "evaluation":
                continue
            protocol = protocols["beam_atg" if i % 5 == 4 else "cy_atg"]
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
