"""Run by `.ci/release-smoke` through `manage.py shell` on the freshly migrated production-like database: the
people the smoke test signs in as (staff with a second factor, as production requires), and two patients on
Day +5: one with a login, one without a login but with a phone (text-message reminders). Writes their
credentials as JSON to the path in SMOKE_CREDENTIALS."""

import json
import os
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import transaction

from accounts.models import Centre, Membership, Role, User
from recovery.models import Patient, ProtocolTemplate
from recovery.services.audit import AuditContext
from recovery.services.patients import create_patient
from recovery.services.timeline import save_episode

context = AuditContext.system("release-smoke")
credentials = {}


def person(username: str, role: str, centre: Centre) -> User:
    password = secrets.token_urlsafe(18)
    user = User.objects.create_user(username=username, password=password, role=role, email=f"{username}@example.org")
    if role != Role.PATIENT:
        Membership.objects.create(user=user, centre=centre)
    entry = {"username": username, "password": password}
    if apps.is_installed("django_otp.plugins.otp_totp") and role != Role.PATIENT:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.create(user=user, name="smoke", confirmed=True)
        entry["totp_key"] = device.key
    credentials[role] = entry
    return user


with transaction.atomic():
    centre = Centre.objects.create(name="Release smoke centre", phone_24h="+46 8 123 456 00")
    person("smoke-coordinator", Role.COORDINATOR, centre)
    person("smoke-clinician", Role.CLINICIAN, centre)
    login = person("smoke-patient", Role.PATIENT, centre)
    day0 = datetime.now(ZoneInfo("Europe/Stockholm")).date() - timedelta(days=5)  # Day +5 in the patient's zone
    for number, (first, phone, user) in enumerate((("Ada", "", login), ("Bo", "+46701234567", None)), start=1):
        patient = create_patient(
            context=context,
            centres=[centre],
            fields={
                "first_name": first,
                "last_name": "Smoke",
                "date_of_birth": date(1985, 3, number),
                "hospital_number": f"SMOKE-{number}",
                "phone": phone,
                "timezone": "Europe/Stockholm",
            },
        )
        if user is not None:
            Patient.objects.filter(pk=patient.pk).update(user=user)
        save_episode(
            context=context,
            patient=patient,
            fields={
                "protocol": ProtocolTemplate.objects.get(code="cy_atg"),
                "mobilisation_date": day0 - timedelta(days=30),
                "apheresis_date": day0 - timedelta(days=20),
                "conditioning_start_date": day0 - timedelta(days=5),
                "reinfusion_date": day0,
            },
        )
        credentials[f"patient_{number}"] = str(patient.uuid)

with open(os.environ["SMOKE_CREDENTIALS"], "w", encoding="utf-8") as handle:
    json.dump(credentials, handle)
print(f"release smoke: centre, 3 logins and 2 patients on Day +5 created ({day0} is Day 0)")
