"""The stored current phase (services/phases.py) and the lists that filter on it (queries/phases.py,
queries/workspace.filter_patients, queries/dashboard.high_risk_patients): always exactly what the pure rule
`phase_on` gives for each patient's own today, stored or not, fresh or stale, in a fixed number of queries."""

import io
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recovery.clinical.phases import PHASE_ORDER, EpisodeDates, InfectionRisk, Phase, local_date, phase_on
from recovery.clinical.timeline import EventStatus, overdue_policy
from recovery.models import CentreConfiguration, Patient, TimelineEvent
from recovery.queries import phases as phases_queries
from recovery.queries.configuration import active_configs
from recovery.queries.dashboard import high_risk_patients
from recovery.queries.phases import stored_phase_unsure
from recovery.queries.workspace import filter_patients
from recovery.services.audit import AuditContext
from recovery.services.phases import due_phases, refresh_due_phases, refresh_phases, store_phase
from recovery.services.timeline import save_episode
from tests.factories import PatientFactory, transplant

TODAY = date(2026, 11, 20)
# 10:30 UTC: 21 November on Kiritimati (UTC+14), 19 November in Pago Pago (UTC-11): three different local todays.
NOON = "2026-11-20 10:30:00+00:00"
ZONES = ("Europe/Stockholm", "Pacific/Kiritimati", "Pacific/Pago_Pago")
# Day 0 offsets (days before today) and engraftment (days after Day 0, None: not engrafted) covering every
# phase, the engraftment flags and the days around each boundary.
EPISODES = [
    (-10, None),  # Day 0 in the future: before conditioning
    (-3, None),  # conditioning
    (0, None),  # Day 0
    (9, None),  # aplasia
    (20, None),  # aplasia, the day before delayed engraftment
    (21, None),  # delayed engraftment
    (23, None),
    (31, None),  # possible graft failure
    (14, 11),  # early recovery
    (90, 11),  # recovery starts
    (179, 12),
    (180, 12),  # reconstitution starts
    (729, 12),
    (731, 12),  # follow-up
    (2000, 15),
]


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOON, tick=False)


def _cohort(centre) -> list[Patient]:
    """Every episode of EPISODES in every zone of ZONES, and a patient without an episode in each zone."""
    patients = []
    for zone in ZONES:
        patients.append(PatientFactory(centre=centre, timezone=zone))
        for before, engrafted in EPISODES:
            patient = PatientFactory(centre=centre, timezone=zone)
            day0 = TODAY - timedelta(days=before)
            transplant(patient, day0, engrafted=None if engrafted is None else day0 + timedelta(days=engrafted))
            patients.append(patient)
    return patients


def _dates(patient: Patient) -> EpisodeDates:
    episode = getattr(patient, "episode", None)
    return EpisodeDates(
        getattr(episode, "mobilisation_date", None),
        getattr(episode, "apheresis_date", None),
        getattr(episode, "conditioning_start_date", None),
        getattr(episode, "reinfusion_date", None),
        getattr(episode, "neutrophil_engraftment_date", None),
    )


def _oracle(patients, *, phase: str = "", needs_attention: bool = False) -> set[int]:
    """The former filter: the pure rule per patient for their local today, and planned events before it that
    are still actionable."""
    now = timezone.now()
    rows = list(patients.select_related("episode"))
    configs = active_configs({p.centre_id for p in rows})
    keep = set()
    for patient in rows:
        today = local_date(now, patient.timezone)
        state = phase_on(_dates(patient), today, configs[patient.centre_id].phase)
        if phase and state.phase != Phase(phase):
            continue
        policy = overdue_policy(configs[patient.centre_id].transplant)  # still actionable only (OverduePolicy)
        past = TimelineEvent.objects.filter(
            episode__patient=patient, status=EventStatus.PLANNED, planned_date__lt=today
        )
        overdue = any(policy.is_actionable(kind, on, today) for kind, on in past.values_list("kind", "planned_date"))
        if needs_attention and not (state.flags or overdue):
            continue
        keep.add(patient.pk)
    return keep


def _assert_filters_match_the_oracle():
    patients = Patient.objects.all()
    for phase in PHASE_ORDER:
        assert set(filter_patients(patients, phase=phase).values_list("pk", flat=True)) == _oracle(
            patients, phase=phase
        ), phase
        both = set(filter_patients(patients, phase=phase, needs_attention=True).values_list("pk", flat=True))
        assert both == _oracle(patients, phase=phase, needs_attention=True), phase
    attention = set(filter_patients(patients, needs_attention=True).values_list("pk", flat=True))
    assert attention == _oracle(patients, needs_attention=True)
    high = {row.patient.pk for row in high_risk_patients(patients)}
    assert high == _high_risk_oracle(patients)


def _high_risk_oracle(patients) -> set[int]:
    now = timezone.now()
    return {
        p.pk
        for p in patients.select_related("episode")
        if phase_on(_dates(p), local_date(now, p.timezone)).infection_risk == InfectionRisk.HIGH
    }


def test_it_stores_what_phase_on_gives_for_every_patient(centre, now):
    """After refresh_phases() every patient's stored phase and flags are phase_on's for their local today."""
    _cohort(centre)
    Patient.objects.update(phase_as_of=None, phase="evaluation", phase_flagged=False)  # as after the migration
    assert refresh_phases() == Patient.objects.count()
    now_ = timezone.now()
    seen = set()
    for patient in Patient.objects.select_related("episode"):
        today = local_date(now_, patient.timezone)
        state = phase_on(_dates(patient), today)
        assert (patient.phase, patient.phase_flagged, patient.phase_as_of) == (state.phase, bool(state.flags), today)
        assert patient.phase_config_version == 0
        seen.add(state.phase)
    assert seen == set(PHASE_ORDER) - {Phase.MOBILISATION}  # Day 0 in 10 days is collection already
    assert not stored_phase_unsure(Patient.objects.all(), now_).exists()


@pytest.mark.parametrize("unsure_as_list", [5000, 0], ids=["unsure-rows-as-a-list", "every-row-compared"])
def test_the_filters_give_what_the_former_computation_gave_stored_or_not(centre, now, monkeypatch, unsure_as_list):
    """Freshly migrated (nothing stored), stored, and half stored: the same patients as the pure rule, whether
    "sure" is "not one of the few unsure rows" or (with many unsure) each row's stored columns compared."""
    monkeypatch.setattr(phases_queries, "UNSURE_AS_LIST", unsure_as_list)
    _cohort(centre)
    _assert_filters_match_the_oracle()  # stored by save_episode
    Patient.objects.update(phase_as_of=None)
    assert stored_phase_unsure(Patient.objects.all(), timezone.now()).count() == Patient.objects.count()
    _assert_filters_match_the_oracle()  # nothing stored: every row computed
    refresh_phases(Patient.objects.order_by("pk").values_list("pk", flat=True)[::2])
    _assert_filters_match_the_oracle()


@pytest.mark.parametrize("days", [1, 2, 7, 60, 400])
def test_stale_rows_fall_back_to_the_exact_computation(centre, time_machine, days):
    """Stored on one day and never refreshed: days later the filters still give exactly the pure rule's answer."""
    time_machine.move_to(NOON, tick=False)
    _cohort(centre)
    refresh_phases()
    time_machine.move_to(datetime.fromisoformat(NOON) + timedelta(days=days), tick=False)
    assert stored_phase_unsure(Patient.objects.all(), timezone.now()).exists()
    _assert_filters_match_the_oracle()
    refresh_due_phases()
    assert not stored_phase_unsure(Patient.objects.all(), timezone.now()).exists()
    _assert_filters_match_the_oracle()


def test_a_new_centre_configuration_makes_the_stored_rows_unsure(centre, now):
    """A new configuration version (added any way, here directly) is used at once, before any refresh."""
    _cohort(centre)
    CentreConfiguration.objects.create(centre=centre, version=1, values={"phase": {"early_recovery_end_day": 60}})
    assert stored_phase_unsure(Patient.objects.all(), timezone.now()).count() == Patient.objects.count()
    patients = Patient.objects.all()
    recovering = set(filter_patients(patients, phase="recovery").values_list("pk", flat=True))
    day90 = {p.pk for p in patients.filter(episode__reinfusion_date=TODAY - timedelta(days=90))}
    assert recovering >= day90
    assert refresh_due_phases() == Patient.objects.count()
    assert set(filter_patients(patients, phase="recovery").values_list("pk", flat=True)) == recovering


def test_a_date_change_stores_the_phase_again(patient, now):
    """Saving the episode (here: engraftment confirmed) stores the new phase in the same write."""
    day0 = TODAY - timedelta(days=12)
    transplant(patient, day0)
    patient.refresh_from_db()
    assert (patient.phase, patient.phase_changes_on) == (Phase.APLASIA, day0 + timedelta(days=21))
    save_episode(context=AuditContext.system("tests"), patient=patient, fields={"neutrophil_engraftment_date": TODAY})
    patient.refresh_from_db()
    assert (patient.phase, patient.phase_as_of, patient.phase_changes_on) == (
        Phase.EARLY_RECOVERY,
        TODAY,
        day0 + timedelta(days=90),
    )


def test_a_time_zone_change_stores_the_phase_for_the_new_local_date(patient, now):
    from recovery.services.patients import update_patient

    update_patient(context=AuditContext.system("tests"), patient=patient, changes={"timezone": "Pacific/Kiritimati"})
    patient.refresh_from_db()
    assert patient.phase_as_of == TODAY + timedelta(days=1)


def test_refresh_due_phases_refreshes_only_the_due_ones(centre, time_machine):
    """Due: never stored, a change date by tomorrow (UTC), stored over a day ago, or an older configuration."""
    time_machine.move_to(NOON, tick=False)
    fresh = PatientFactory(centre=centre)
    transplant(fresh, TODAY - timedelta(days=200), engrafted=TODAY - timedelta(days=188))  # changes at month 24
    changing = PatientFactory(centre=centre)
    transplant(changing, TODAY - timedelta(days=20))  # aplasia: delayed engraftment flag tomorrow
    unstored = PatientFactory(centre=centre)
    Patient.objects.filter(pk=unstored.pk).update(phase_as_of=None)
    assert set(due_phases().values_list("pk", flat=True)) == {changing.pk, unstored.pk}
    assert refresh_due_phases() == 2

    time_machine.move_to(datetime.fromisoformat(NOON) + timedelta(days=3), tick=False)
    before = Patient.objects.get(pk=fresh.pk).phase_as_of
    assert set(due_phases().values_list("pk", flat=True)) == {fresh.pk, changing.pk, unstored.pk}  # stored 3 days ago
    refresh_due_phases()
    assert Patient.objects.get(pk=fresh.pk).phase_as_of == before + timedelta(days=3)
    assert Patient.objects.get(pk=changing.pk).phase_flagged
    assert set(due_phases().values_list("pk", flat=True)) == set()


def test_the_refresh_task_is_on_the_beat_at_minute_5():
    from recovery.celery import _beat_schedule

    entry = _beat_schedule()["refresh-due-phases"]
    assert entry["task"] == "recovery.tasks.refresh_due_phases"
    assert entry["schedule"].minute == {5}
    assert entry["schedule"].hour == set(range(24))


def test_the_command_stores_every_patient_in_batches(centre, now):
    _cohort(centre)
    Patient.objects.update(phase_as_of=None)
    call_command("refresh_phases", "--batch-size", "7", stdout=io.StringIO())
    assert not stored_phase_unsure(Patient.objects.all(), timezone.now()).exists()


def test_store_phase_of_a_patient_without_episode_is_evaluation_forever(patient, now):
    stored = store_phase(patient)
    assert (stored.phase, stored.changes_on, stored.flagged) == (Phase.EVALUATION, None, False)


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def _counts(visible, client, listed) -> tuple[int, ...]:
    return (
        _queries(lambda: list(filter_patients(visible, phase="aplasia"))),
        _queries(lambda: list(filter_patients(visible, needs_attention=True))),
        _queries(lambda: high_risk_patients(visible)),
        _queries(lambda: client.get(listed, {"phase": "follow_up", "attention": "1"})),
        _queries(lambda: client.get(listed, {"attention": "1"})),
    )


@pytest.mark.parametrize("stale", [False, True])
def test_query_counts_do_not_grow_with_patients(centre, coordinator, client_for, now, stale):
    """40 or 400 patients (stored or all unsure): the filters and the high-risk list run the same queries."""
    counts = []
    client = client_for(coordinator)
    listed = reverse("recovery:patient-list")
    patients = PatientFactory.create_batch(36, centre=centre)
    for offset, patient in zip((3, 9, 23, 120), PatientFactory.create_batch(4, centre=centre), strict=True):
        transplant(patient, TODAY - timedelta(days=offset))
    for more in (0, 360):
        PatientFactory.create_batch(more, centre=centre)
        refresh_phases()
        if stale:
            Patient.objects.update(phase_as_of=None)
        counts.append(_counts(Patient.objects.filter(centre=centre), client, listed))
    assert Patient.objects.count() == len(patients) + 4 + 360
    assert counts[0] == counts[1]
