"""Factories for the test cast. Dates are fixed so that tests do not depend on the day they run."""

from datetime import date, timedelta

import factory
from django.utils import timezone

from accounts.models import ApiToken, Centre, Membership, Role, User
from recovery.models import MSType, Patient, Sex


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Centre
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Centre {n}")
    timezone = "Europe/Stockholm"
    phone_24h = "+46 18 611 00 00"


def api_token_for(user: User, *, name: str = "tests", expires_at=None, last_used_at=None) -> tuple[ApiToken, str]:
    """A saved API token for `user` (30 days unless `expires_at`) and its key; writes no audit row."""
    token, key = ApiToken.build(owner=user, name=name, expires_at=expires_at or timezone.now() + timedelta(days=30))
    token.last_used_at = last_used_at
    token.save()
    return token, key


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    role = Role.COORDINATOR
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def centres(self, create, extracted, **kwargs):
        if create and extracted:
            for centre in extracted:
                Membership.objects.create(user=self, centre=centre)
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    centre = factory.SubFactory(CentreFactory)
    first_name = factory.Sequence(lambda n: f"Patient{n}")
    last_name = factory.Sequence(lambda n: f"Lastname{n}")
    date_of_birth = date(1990, 5, 17)
    sex = Sex.FEMALE
    hospital_number = factory.Sequence(lambda n: f"H{n:06d}")
    email = factory.LazyAttribute(lambda p: f"{p.first_name.lower()}@example.org")
    phone = "+46701234567"
    timezone = "Europe/Stockholm"
    ms_type = MSType.RRMS
    ms_onset_date = date(2015, 3, 1)
    baseline_edss = "3.5"


def patient_with_login(**kwargs) -> Patient:
    user = UserFactory(role=Role.PATIENT)
    return PatientFactory(user=user, **kwargs)


def transplant(
    patient: Patient,
    day0,
    *,
    engrafted=None,
    protocol: str = "cy_atg",
    mobilised_days_before: int = 30,
    collected_days_before: int = 20,
    conditioning_days_before: int = 5,
):
    """Give the patient a transplant episode (and its generated timeline) with Day 0 on `day0`."""
    from datetime import timedelta

    from recovery.models import ProtocolTemplate
    from recovery.services.audit import AuditContext
    from recovery.services.timeline import save_episode

    fields = {
        "protocol": ProtocolTemplate.objects.get(code=protocol),
        "mobilisation_date": day0 - timedelta(days=mobilised_days_before),
        "apheresis_date": day0 - timedelta(days=collected_days_before),
        "conditioning_start_date": day0 - timedelta(days=conditioning_days_before),
        "reinfusion_date": day0,
    }
    if engrafted is not None:
        fields["neutrophil_engraftment_date"] = engrafted
    episode = save_episode(context=AuditContext.system("tests"), patient=patient, fields=fields).episode
    replanned()
    return episode


def replanned() -> int:
    """What the worker does after a write commits: plan the reminders of the patients the write marked.

    Tests run inside a transaction that never commits, so the after-commit wake-up never fires; this is the
    task it would have woken (`recovery.tasks.plan_stale_reminders` runs the same service)."""
    from recovery.services.reminders.planning import plan_stale_reminders

    return plan_stale_reminders()
