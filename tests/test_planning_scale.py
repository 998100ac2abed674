"""Planning that scales out (recovery/services/reminders/horizon.py; issue 15 item 3).

Each patient's planning horizon is stored; the hourly dispatcher hands out the patients whose horizon needs
extending, soonest first, in batch tasks under a lease; patients past follow-up
(recovery/clinical/follow_up.py) are not planned. The run through a real broker and worker is at the end.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recovery.clinical.follow_up import earliest_day0_in_follow_up, follow_up_end
from recovery.clinical.phases import add_months
from recovery.clinical.reminders import checkin_slots
from recovery.clinical.surveillance import surveillance_schedule
from recovery.clinical.vaccination import vaccination_plan
from recovery.models import (
    CentreConfiguration,
    Notification,
    NotificationKind,
    Patient,
    PatientStatus,
    TimelineEvent,
    TransplantEpisode,
)
from recovery.queries.configuration import DEFAULT_CONFIG
from recovery.queries.timeline import episode_dates
from recovery.services.reminders.horizon import batches, claim_patients_to_plan, needs_planning, plan_batch
from recovery.services.reminders.planning import patients_to_plan, plan_reminders
from recovery.tasks import plan_reminders_due
from tests.celery_processes import start_celery_fixture  # noqa: F401 (a fixture)
from tests.factories import CentreFactory, PatientFactory

NOW = datetime(2026, 11, 19, 6, 30, tzinfo=UTC)
TODAY = NOW.date()
C = DEFAULT_CONFIG


def _transplanted(centre, day0: date, *, engrafted: date | None = None, **fields) -> Patient:
    """A patient with a Day 0 (the episode alone: the dispatcher reads only the dates)."""
    patient = PatientFactory(centre=centre, **fields)
    TransplantEpisode.objects.create(
        patient=patient,
        reinfusion_date=day0,
        conditioning_start_date=day0 - timedelta(days=5),
        neutrophil_engraftment_date=engrafted or day0 + timedelta(days=10),
    )
    return Patient.objects.get(pk=patient.pk)


def _horizon(patient) -> datetime | None:
    return Patient.objects.values_list("reminders_planned_until", flat=True).get(pk=patient.pk)


def _set_horizon(patient, at: datetime | None) -> None:
    Patient.objects.filter(pk=patient.pk).update(reminders_planned_until=at)


def _end(day0: date, engrafted: date | None = None) -> date:
    return follow_up_end(day0, C.reminders, C.surveillance, C.vaccination, C.prophylaxis, engrafted)


# --- the end of follow-up (pure rules) ----------------------------------------------------------------------


@pytest.mark.parametrize("day0", [date(2016, 1, 31), date(2020, 2, 29), date(2024, 8, 31)])
def test_follow_up_ends_with_the_last_thing_the_rules_plan_from_day0(day0):
    """By default the last surveillance draw (month 120) and its missed-lab task 30 days later; every other
    schedule (check-ins, the vaccination calendar, prophylaxis) ends before it."""
    end = _end(day0)
    draws = surveillance_schedule(day0, {}, day0, C.surveillance)
    assert end == draws[-1].missed_on == add_months(day0, 120) + timedelta(days=30)
    assert max(dose.due_date for dose in vaccination_plan(day0, (), day0, C.vaccination)) < end
    dates = episode_dates(TransplantEpisode(reinfusion_date=day0, neutrophil_engraftment_date=day0))
    assert checkin_slots(dates, day0, end, "Europe/Stockholm", C.reminders)[-1].local_date < end
    assert checkin_slots(dates, end - timedelta(days=365 * 9), end, "Europe/Stockholm", C.reminders) == []


def test_follow_up_follows_the_centres_configuration():
    """Fifteen years of surveillance: follow-up moves with it; a surveillance of one year leaves the vaccination
    calendar (month 25, MMR and varicella dose 2) as the last thing."""
    longer = C.surveillance.with_overrides({"until_month": 180})
    assert follow_up_end(date(2020, 1, 1), C.reminders, longer, C.vaccination, C.prophylaxis) == date(2035, 1, 31)
    short = C.surveillance.with_overrides({"until_month": 12})
    last_dose = max(dose.due_date for dose in vaccination_plan(date(2020, 1, 1), (), date(2020, 1, 1), C.vaccination))
    assert follow_up_end(date(2020, 1, 1), C.reminders, short, C.vaccination, C.prophylaxis) == last_dose


def test_the_earliest_day0_in_follow_up_is_exact_to_the_day():
    cutoff = earliest_day0_in_follow_up(TODAY, C.reminders, C.surveillance, C.vaccination, C.prophylaxis)
    assert _end(cutoff) >= TODAY
    assert _end(cutoff - timedelta(days=1)) < TODAY


# --- the horizon ---------------------------------------------------------------------------------------------


def test_planning_stores_the_patients_horizon_and_ends_the_dispatchers_claim(centre, settings):
    patient = _transplanted(centre, TODAY - timedelta(days=3))
    Patient.objects.filter(pk=patient.pk).update(reminders_plan_claimed_until=NOW + timedelta(hours=1))
    plan_reminders(patient, now=NOW)
    row = Patient.objects.get(pk=patient.pk)
    assert row.reminders_planned_until == NOW + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS)
    assert row.reminders_plan_claimed_until is None
    assert Notification.objects.filter(patient=patient, kind=NotificationKind.TEMPERATURE_CHECKIN).exists()


def test_saving_a_patient_read_before_planning_keeps_the_horizon(centre):
    patient = _transplanted(centre, TODAY - timedelta(days=3))
    plan_reminders(patient, now=NOW)
    patient.first_name = "Renamed"
    patient.save()  # this object was read before planning: its horizon is None
    assert _horizon(patient) is not None


# --- who is handed out, in which order -------------------------------------------------------------------


def test_the_dispatcher_hands_out_the_soonest_horizon_first_and_never_planned_before_anyone(centre, settings):
    settings.REMINDER_PLAN_REFRESH_HOURS = 24
    day0 = TODAY - timedelta(days=40)
    soon, later, never, fresh = (_transplanted(centre, day0) for _ in range(4))
    _set_horizon(soon, NOW + timedelta(days=2))
    _set_horizon(later, NOW + timedelta(days=10))
    _set_horizon(fresh, NOW + timedelta(days=13, hours=1))  # planned less than a day ago: not yet
    assert claim_patients_to_plan(now=NOW) == [never.pk, soon.pk, later.pk]


def test_with_fewer_places_than_patients_repeated_runs_reach_everyone(centre):
    """Five patients, two a run: the three runs plan all five; a day later, the ones planned first go first."""
    patients = [_transplanted(centre, TODAY - timedelta(days=40)) for _ in range(5)]
    handed_out = []
    for run in range(3):
        ids = claim_patients_to_plan(now=NOW + timedelta(minutes=run), limit=2)
        assert len(ids) == min(2, 5 - len(handed_out))
        handed_out += ids
        assert plan_batch(ids, now=NOW + timedelta(minutes=run)).planned == len(ids)
    assert sorted(handed_out) == sorted(p.pk for p in patients)
    assert claim_patients_to_plan(now=NOW + timedelta(minutes=3), limit=2) == []  # all planned: nothing to do
    # a day later everyone needs planning again, in the order they were planned
    assert claim_patients_to_plan(now=NOW + timedelta(days=1, minutes=5), limit=5) == handed_out


def test_a_claimed_patient_is_not_handed_out_again_until_the_lease_ends(centre, settings):
    """Two dispatcher runs at once hand out different patients; a batch that died leaves its patients to be
    handed out again once the lease has ended (their horizon was never extended)."""
    settings.REMINDER_PLAN_LEASE_SECONDS = 3600
    patients = [_transplanted(centre, TODAY - timedelta(days=40)) for _ in range(4)]
    first = claim_patients_to_plan(now=NOW, limit=2)
    second = claim_patients_to_plan(now=NOW + timedelta(seconds=1), limit=10)
    assert (len(first), len(second)) == (2, 2)
    assert not set(first) & set(second)
    # the first batch died: nothing planned; within the lease nobody is handed out again
    assert claim_patients_to_plan(now=NOW + timedelta(minutes=59)) == []
    assert claim_patients_to_plan(now=NOW + timedelta(hours=1, seconds=2)) == sorted(p.pk for p in patients)


def test_a_batch_out_of_time_releases_the_rest_for_the_next_run(centre):
    patients = [_transplanted(centre, TODAY - timedelta(days=40)) for _ in range(3)]
    ids = claim_patients_to_plan(now=NOW)
    result = plan_batch(ids, now=NOW, budget_seconds=0)
    assert (result.planned, result.released) == (1, 2)  # one is always planned, so a batch always progresses
    assert claim_patients_to_plan(now=NOW + timedelta(seconds=1)) == ids[1:]
    assert _horizon(patients[0]) is not None


def test_a_patient_whose_planning_fails_does_not_stop_the_batch(centre, caplog):
    broken = _transplanted(centre, TODAY - timedelta(days=40), timezone="Europe/Stockholm")
    Patient.objects.filter(pk=broken.pk).update(timezone="Not/AZone")  # data the planner cannot use
    others = [_transplanted(centre, TODAY - timedelta(days=40)) for _ in range(2)]
    ids = claim_patients_to_plan(now=NOW)
    assert ids[0] == broken.pk
    result = plan_batch(ids, now=NOW)
    assert (result.planned, result.failed) == (2, 1)
    assert all(_horizon(p) is not None for p in others)
    assert _horizon(broken) is None
    assert f"patient {broken.pk}" in caplog.text


# --- past follow-up ------------------------------------------------------------------------------------------


def test_patients_past_follow_up_are_not_planned(centre):
    cutoff = earliest_day0_in_follow_up(
        TODAY - timedelta(days=1), C.reminders, C.surveillance, C.vaccination, C.prophylaxis
    )
    still = _transplanted(centre, cutoff)
    past = _transplanted(centre, cutoff - timedelta(days=1))
    long_past = _transplanted(centre, date(2004, 3, 1))
    ids = claim_patients_to_plan(now=NOW)
    assert still.pk in ids
    assert past.pk not in ids
    assert long_past.pk not in ids
    assert set(patients_to_plan(NOW)) == {still}


def test_past_follow_up_the_planner_plans_nothing_from_day0_but_a_planned_appointment(centre):
    """Ten and a half years after Day 0 (a yearly flu vaccine given last year): no vaccination, lab or check-in
    reminders; a clinic visit planned next week is still reminded of, and puts the patient back in the run."""
    patient = _transplanted(centre, date(2016, 3, 1))
    patient.vaccinations.create(vaccine="influenza", dose=12, given_date=TODAY - timedelta(days=360))
    plan_reminders(patient, now=NOW)
    assert not Notification.objects.filter(patient=patient).exists()
    assert patient.pk not in claim_patients_to_plan(now=NOW)
    TimelineEvent.objects.create(
        episode=patient.episode, kind="visit", title="Clinic visit", planned_date=TODAY + timedelta(days=7)
    )
    assert patient.pk in claim_patients_to_plan(now=NOW + timedelta(days=1))  # the horizon needs extending
    plan_reminders(patient, now=NOW)
    kinds = set(Notification.objects.filter(patient=patient).values_list("kind", flat=True))
    assert kinds == {NotificationKind.APPOINTMENT_EVE, NotificationKind.APPOINTMENT_MORNING}


def test_a_centre_with_longer_surveillance_keeps_its_patients_in_follow_up(centre):
    day0 = add_months(TODAY, -132)  # eleven years ago: past the default ten years and thirty days
    here = _transplanted(centre, day0)
    longer = CentreFactory(name="Longer surveillance")
    CentreConfiguration.objects.create(centre=longer, version=1, values={"surveillance": {"until_month": 180}})
    there = _transplanted(longer, day0)
    assert set(patients_to_plan(NOW)) == {there}
    assert claim_patients_to_plan(now=NOW) == [there.pk]
    assert here.pk not in claim_patients_to_plan(now=NOW + timedelta(seconds=1))


def test_withdrawn_and_deactivated_patients_are_not_handed_out(centre):
    day0 = TODAY - timedelta(days=40)
    withdrawn = _transplanted(centre, day0, status=PatientStatus.WITHDRAWN)
    deactivated = _transplanted(centre, day0)
    Patient.objects.filter(pk=deactivated.pk).update(deactivated_at=NOW)
    active = _transplanted(centre, day0)
    ids = claim_patients_to_plan(now=NOW)
    assert ids == [active.pk]
    assert {withdrawn.pk, deactivated.pk}.isdisjoint(ids)


# --- the tasks -----------------------------------------------------------------------------------------------


def test_the_hourly_dispatcher_task_plans_everyone_in_batches(centre, settings, celery_eager):
    """Beat runs the dispatcher (not one task for everyone); it enqueues batches of REMINDER_PLAN_BATCH_SIZE,
    which (run here in-process, as a worker would) plan every patient and record their horizon."""
    from recovery.celery import _beat_schedule

    assert _beat_schedule()["plan-reminders"]["task"] == "recovery.tasks.plan_reminders_due"
    settings.REMINDER_PLAN_BATCH_SIZE = 2
    patients = [_transplanted(centre, TODAY - timedelta(days=3)) for _ in range(5)]
    with time_machine.travel(NOW, tick=False):
        assert plan_reminders_due() == 5
        assert plan_reminders_due() == 0  # everyone's horizon is extended
    assert all(_horizon(p) == NOW + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS) for p in patients)
    assert Notification.objects.filter(patient__in=patients).values("patient").distinct().count() == 5
    assert [len(b) for b in batches(list(range(5)))] == [2, 2, 1]


def test_the_dispatchers_query_count_does_not_grow_with_the_number_of_patients(centre, other_centre):
    def queries(count: int, at: datetime) -> int:
        Patient.objects.update(reminders_planned_until=at + timedelta(days=30))  # the earlier ones are planned
        for index in range(count):
            _transplanted(centre if index % 2 else other_centre, TODAY - timedelta(days=40 + index))
        with CaptureQueriesContext(connection) as captured:
            ids = claim_patients_to_plan(now=at)
        assert len(ids) == count
        return len(captured)

    assert queries(3, NOW) == queries(30, NOW + timedelta(seconds=1)) <= 4
    assert needs_planning(NOW + timedelta(seconds=2)).count() == 0  # all claimed


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REMINDER_PLAN_REFRESH_HOURS": "336"}, "REMINDER_PLAN_REFRESH_HOURS must be at least 1 and less than"),
        ({"REMINDER_PLAN_REFRESH_HOURS": "0"}, "REMINDER_PLAN_REFRESH_HOURS must be at least 1 and less than"),
        ({"REMINDER_PLAN_BATCH_SIZE": "0"}, "REMINDER_PLAN_BATCH_SIZE, REMINDER_PLAN_MAX_PER_RUN and"),
    ],
)
def test_a_planning_configuration_that_would_let_reminders_run_out_stops_start_up(env, message):
    from tests.test_settings import _import_settings

    result = _import_settings(DEBUG="1", **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert _import_settings(DEBUG="1", REMINDER_PLAN_REFRESH_HOURS="335").returncode == 0


# --- through a real broker and worker ---------------------------------------------------------------------


@pytest.mark.services(needs="a real Redis and a Celery worker process")
def test_a_real_worker_runs_the_dispatcher_and_its_batches(start_celery, redis_url):
    from recovery.celery import app as celery_app
    from tests.celery_processes import start_worker, wait_for

    centre = CentreFactory()
    patients = [_transplanted(centre, timezone.now().date() - timedelta(days=3)) for _ in range(5)]
    with celery_app.connection_for_write(redis_url) as conn:
        celery_app.send_task("recovery.tasks.plan_reminders_due", connection=conn)
    worker = start_worker(start_celery, REMINDER_PLAN_BATCH_SIZE="2")
    wait_for(lambda: all(_horizon(p) is not None for p in patients), worker, what="The batches planning every patient")
    wait_for(lambda: worker.output().count("plan_reminder_batch") >= 3, worker, what="Three batch tasks")


def test_a_new_centre_configuration_puts_the_centres_patients_first_in_the_next_run(centre, other_centre):
    """Reminder times may have changed: the centre's patients are planned again in the next run, not a day later."""
    from recovery.services.timeline import regenerate_centre_timelines

    here = _transplanted(centre, TODAY - timedelta(days=40))
    there = _transplanted(other_centre, TODAY - timedelta(days=40))
    for patient in (here, there):
        plan_reminders(patient, now=NOW)
    CentreConfiguration.objects.create(centre=centre, version=1, values={"reminders": {"checkin_time": [10, 0]}})
    regenerate_centre_timelines(centre_id=centre.pk)
    assert claim_patients_to_plan(now=NOW + timedelta(minutes=1)) == [here.pk]
