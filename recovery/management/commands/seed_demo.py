"""Demo data: a centre, one login per role (password "demo") and synthetic patients. Safe to run again."""

import random
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Centre, Membership, Role, User
from recovery.models import MSType, Patient, Sex

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
        self.stdout.write(self.style.SUCCESS(f"Demo centre ready; {created} new synthetic patients."))
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
