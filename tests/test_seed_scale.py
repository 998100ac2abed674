"""A data set at scale: `seed_demo --patients N --transplanted` (the demo, then `seed_transplanted`).

Seeded once for the module (300 transplanted patients on top of the demo, see `kept_for_the_module`); the
timing of 5,000 and 50,000 patients is a benchmark (`make bench-seed`, README), not a test.
"""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Centre
from recovery.models import (
    EDSSAssessment,
    LabResult,
    MRIScan,
    Patient,
    TimelineEvent,
    TransplantEpisode,
    VaccinationDose,
)
from recovery.queries.configuration import DEFAULT_CONFIG
from recovery.queries.phases import stored_phase_unsure
from recovery.queries.timeline import current_state
from tests.conftest import FAST_HASHERS, kept_for_the_module

pytestmark = pytest.mark.slow

COUNT = 300
NAMESPACE = "recovery:"


@pytest.fixture(scope="module")
def scale(django_db_setup, django_db_blocker):
    with kept_for_the_module(django_db_blocker):
        errors = io.StringIO()
        with override_settings(DEBUG=True, PASSWORD_HASHERS=FAST_HASHERS):
            call_command("seed_demo", patients=COUNT, transplanted=True, seed=7, stdout=io.StringIO(), stderr=errors)
        yield errors.getvalue()


def _transplanted():
    return Patient.objects.filter(hospital_number__startswith="TX-").select_related("episode")


def test_n_transplanted_patients_spread_over_twenty_years(scale, db):
    """300 patients, each with a Day 0 in the past, the oldest about 20 years ago, the newest within days."""
    patients = list(_transplanted())
    assert len(patients) == COUNT
    day0s = [p.episode.reinfusion_date for p in patients]
    today = timezone.localdate()
    assert all(d <= today for d in day0s)
    span = (max(day0s) - min(day0s)).days / 365.25
    assert 19 <= span <= 20.1
    old = sum(1 for d in day0s if d < today - timedelta(days=365 * 10))
    assert 0.4 < old / COUNT < 0.6  # uniform: about half more than ten years ago


def test_every_patient_has_a_timeline_and_follow_up(scale, db):
    """A timeline from the protocol, labs; EDSS and MRI for everyone followed past month 6."""
    ids = set(_transplanted().values_list("pk", flat=True))
    with_events = set(TimelineEvent.objects.filter(episode__patient__in=ids).values_list("episode__patient", flat=True))
    assert with_events == ids
    assert set(LabResult.objects.filter(patient__in=ids).values_list("patient", flat=True)) == ids
    followed = set(
        TransplantEpisode.objects.filter(
            patient__in=ids, reinfusion_date__lt=timezone.localdate() - timedelta(days=240)
        ).values_list("patient", flat=True)
    )
    assert len(followed) > COUNT * 0.9
    edss = set(EDSSAssessment.objects.filter(patient__in=followed).values_list("patient", flat=True))
    mri = set(MRIScan.objects.filter(patient__in=followed).values_list("patient", flat=True))
    assert edss == followed
    assert mri == followed
    assert VaccinationDose.objects.filter(patient__in=ids, vaccine="mmr").exists()
    # Past events are done, the latest two days' and future ones still planned.
    assert TimelineEvent.objects.filter(episode__patient__in=ids, status="done").exists()
    assert TimelineEvent.objects.filter(episode__patient__in=ids, status="planned").exists()


def test_some_in_each_phase_after_day0(scale, db):
    phases = [current_state(p, DEFAULT_CONFIG).phase.value for p in _transplanted()]
    for phase in ("aplasia", "early_recovery", "recovery", "reconstitution", "follow_up"):
        assert phase in phases, phase
    assert phases.count("follow_up") > COUNT * 0.8


def test_every_seeded_patient_has_their_current_phase_stored(scale, db):
    """The patient list's filters read the stored phase: the seed stores it, so none is left to compute per view
    (the demo's and the cohort's patients included), and each says what the rule says today."""
    now = timezone.now()
    everyone = Patient.objects.all()
    assert everyone.count() > COUNT
    assert not stored_phase_unsure(everyone, now).exists()
    for patient in _transplanted():
        assert patient.phase == current_state(patient, DEFAULT_CONFIG).phase.value, patient.hospital_number


def test_reminders_planned_for_the_high_risk_window_and_marked_for_the_rest(scale, db):
    """The patients in aplasia have reminders now; those within D+180 are marked for the planner's sweep."""
    from recovery.models import Notification

    aplasia = [p for p in _transplanted() if current_state(p, DEFAULT_CONFIG).phase.value == "aplasia"]
    assert aplasia
    assert all(Notification.objects.filter(patient=p).exists() for p in aplasia)
    marked = _transplanted().filter(reminders_stale_since__isnull=False)
    assert marked.exists()
    assert all((timezone.localdate() - p.episode.reinfusion_date).days <= 180 for p in marked)


def test_progress_is_shown_on_stderr(scale, db):
    assert f"{COUNT}/{COUNT} patients" in scale
    assert "ETA" in scale


def test_the_same_seed_gives_the_same_data(scale, db, settings):
    """Another centre with the same seed gets the same patients and records (what they are, not their ids)."""
    settings.DEBUG = True
    Centre.objects.create(name="Second", timezone="Europe/Stockholm", phone_24h="+46 18 611 00 00")
    call_command(
        "seed_transplanted", patients=COUNT, seed=7, centre="Second", stdout=io.StringIO(), stderr=io.StringIO()
    )

    def content(centre_name):
        patients = Patient.objects.filter(centre__name=centre_name, hospital_number__startswith="TX-")
        return (
            sorted(
                patients.values_list(
                    "hospital_number", "first_name", "last_name", "date_of_birth", "episode__reinfusion_date"
                )
            ),
            sorted(
                EDSSAssessment.objects.filter(patient__in=patients).values_list(
                    "patient__hospital_number", "assessed_on", "score"
                )
            ),
            sorted(
                LabResult.objects.filter(patient__in=patients).values_list(
                    "patient__hospital_number", "test", "collected_at", "value"
                )
            ),
            sorted(
                TimelineEvent.objects.filter(episode__patient__in=patients).values_list(
                    "episode__patient__hospital_number", "template_key", "planned_date", "status"
                )
            ),
        )

    first = content(Centre.objects.exclude(name="Second").get().name)
    assert first == content("Second")
    assert len(first[2]) > COUNT * 50


def test_another_seed_gives_other_data(scale, db, settings):
    settings.DEBUG = True
    Centre.objects.create(name="Third", timezone="Europe/Stockholm", phone_24h="+46 18 611 00 00")
    call_command("seed_transplanted", patients=20, seed=8, centre="Third", stdout=io.StringIO(), stderr=io.StringIO())
    ours = dict(_transplanted().exclude(centre__name="Third").values_list("hospital_number", "date_of_birth"))
    theirs = dict(Patient.objects.filter(centre__name="Third").values_list("hospital_number", "date_of_birth"))
    assert len(theirs) == 20
    assert sum(ours[n] != born for n, born in theirs.items()) >= 19


def test_running_it_again_adds_nothing(scale, db, settings):
    settings.DEBUG = True
    before = (Patient.objects.count(), LabResult.objects.count(), TimelineEvent.objects.count())
    call_command("seed_transplanted", patients=COUNT, seed=7, stdout=io.StringIO(), stderr=io.StringIO())
    assert (Patient.objects.count(), LabResult.objects.count(), TimelineEvent.objects.count()) == before


def test_a_sample_of_patients_pages_render(scale, db, client_for):
    """The records pass the app's own pages: a sample of patients (one per phase and a few more) render 200."""
    from accounts.models import User

    clinician = User.objects.get(username="clinician")
    by_phase = {}
    for patient in _transplanted().order_by("hospital_number"):
        by_phase.setdefault(current_state(patient, DEFAULT_CONFIG).phase.value, []).append(patient)
    sample = [patients[0] for patients in by_phase.values()] + [p for ps in by_phase.values() for p in ps[1:3]]
    client = client_for(clinician)
    names = [
        "patient-detail",
        "patient-review",
        "patient-labs",
        "patient-immune",
        "patient-outcomes",
        "patient-vaccinations",
        "patient-prophylaxis",
        "patient-reminders",
    ]
    for patient in sample:
        for name in names:
            url = reverse(NAMESPACE + name, args=[patient.uuid])
            assert client.get(url).status_code == 200, (url, patient.hospital_number)


def test_the_stored_vaccination_plans_are_those_the_refresh_computes(scale, db):
    """Written with the load (no per-patient refresh): computing them again changes nothing, and none is marked."""
    from recovery.models import PlannedVaccination, VaccinationPlanState
    from recovery.services.vaccination_plans import rebuild_vaccination_plans

    ids = list(_transplanted().values_list("pk", flat=True))

    def stored():
        return (
            sorted(
                PlannedVaccination.objects.filter(patient__in=ids).values_list(
                    "patient_id", "centre_id", "vaccine", "dose", "due_date", "due_until"
                )
            ),
            sorted(
                VaccinationPlanState.objects.filter(patient__in=ids).values_list(
                    "patient_id", "day0", "config_version", "done"
                )
            ),
        )

    seeded = stored()
    assert len(seeded[1]) == COUNT
    assert seeded[0]
    assert not _transplanted().filter(vaccinations_stale_since__isnull=False).exists()
    assert rebuild_vaccination_plans(patient_ids=ids) == COUNT
    assert stored() == seeded
