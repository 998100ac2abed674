"""manage.py seed_demo: the demo data that `make run` shows, idempotent, refused on a production-like system.

Every test here reads the one demo this module seeds (the `demo` fixture: `seed_demo` with its defaults, once,
rolled back when the module ends), so the demo is built once instead of once per test. The refusal with
DEBUG off, which needs an empty database, is in tests/test_seed_demo_refusal.py; the timing of a
5,000-patient demo is a benchmark (`make bench-seed`, bench/seed_demo.py), not a test.
"""

import io

import pytest
from django.core.management import call_command
from django.test.utils import override_settings

from accounts.models import Centre, Role, User
from recovery.models import (
    Alert,
    AuditEvent,
    LabResult,
    Notification,
    Patient,
    ProphylaxisStop,
    SymptomReport,
    TimelineEvent,
    VaccinationDose,
)
from recovery.queries.configuration import DEFAULT_CONFIG
from recovery.queries.labs import engraftment_proposal
from recovery.queries.timeline import current_state
from recovery.queries.vaccinations import doses_due

pytestmark = pytest.mark.slow

SEEDED_MODELS = (Centre, User, Patient, TimelineEvent, SymptomReport, Alert, LabResult, VaccinationDose, Notification)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


def test_one_login_per_role_with_the_demo_password(demo, db):
    """One centre; a coordinator, a clinician and a patient login with password demo, all of that centre."""
    assert Centre.objects.count() == 1
    centre = Centre.objects.get()
    for username, role in [("coordinator", Role.COORDINATOR), ("clinician", Role.CLINICIAN), ("patient", Role.PATIENT)]:
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password("demo")
    assert Patient.objects.get(user__username="patient").centre == centre
    assert set(User.objects.get(username="coordinator").centres.all()) == {centre}
    assert Patient.objects.filter(hospital_number__startswith="SYN-").count() == 40
    assert Patient.objects.filter(hospital_number__startswith="COH-").count() == 174


def test_running_it_again_adds_nothing(demo, db):
    """A second run (as every `make run` does) adds no row anywhere: patients, events, reports, labs, doses."""
    before = _counts()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == before


def test_demo_covers_every_phase_and_has_open_alerts_of_each_severity(demo, db):
    """The demo shows every phase, the demo patient on Day +9, and an open alert of each severity."""
    phases = {current_state(p, DEFAULT_CONFIG).phase.value for p in Patient.objects.select_related("episode")}
    assert phases == {
        "evaluation",
        "mobilisation",
        "collection",
        "conditioning",
        "aplasia",
        "early_recovery",
        "recovery",
        "reconstitution",
        "follow_up",
    }
    assert current_state(demo["_patient"], DEFAULT_CONFIG).day == 9
    open_severities = set(Alert.objects.filter(status="open").values_list("severity", flat=True))
    assert open_severities == {"urgent", "same_day", "routine"}


def test_the_demo_has_realistic_count_curves_and_matching_proposals(demo, db):
    """The Day +9 demo patient is still below 0.5 (no proposal); engrafted patients' counts give their recorded
    date; the patients on Day +11 have a proposal waiting (the D+23 ones none: delayed engraftment);
    long-followed patients have CD4 over two years."""
    status = engraftment_proposal(demo["_patient"])
    assert status.day == 9
    assert status.neutrophil.proposed is None
    assert status.latest_anc[1] < 0.5
    assert status.nadir_started is not None
    matched, waiting, not_engrafted_days = 0, [], []
    for patient in Patient.objects.filter(hospital_number__startswith="SYN-", episode__reinfusion_date__isnull=False):
        status = engraftment_proposal(patient)
        if status.neutrophil.recorded:
            assert status.neutrophil.proposed == status.neutrophil.recorded, patient.hospital_number
            assert 10 <= (status.neutrophil.recorded - status.day0).days <= 13
            matched += 1
        elif status.day >= 0:
            not_engrafted_days.append(status.day)
            if status.neutrophil.awaiting_confirmation:
                waiting.append(status.day)
    assert matched >= 5
    assert waiting, "no proposal waiting for the clinician"
    assert set(waiting) == {11}
    assert 23 in not_engrafted_days  # delayed engraftment: no proposal
    long_followed = LabResult.objects.filter(test="cd4", patient__hospital_number__startswith="SYN-")
    assert long_followed.values("patient").distinct().count() >= 3


def test_the_demo_has_vaccinations_given_and_due(demo, db):
    """The long-followed synthetic patients have their doses, with some due or overdue, and stopped medicines."""
    assert VaccinationDose.objects.filter(vaccine="mmr").exists()  # the year-2 and year-6 patients
    assert doses_due(Patient.objects.all())
    assert ProphylaxisStop.objects.filter(medication="fluconazole").exists()


def test_the_demo_writes_its_history_to_the_audit_log_as_the_system(demo, db):
    """What the demo records goes through the services: the demo patient's reports are audited."""
    assert SymptomReport.objects.filter(patient=demo["_patient"]).exists()
    assert AuditEvent.objects.filter(patient=demo["_patient"]).exists()
