"""Reminders for vaccinations, prophylaxis and surveillance labs (recovery/services/reminders/care.py), planned
with the check-ins and dispatched once, with time travel across the whole timeline."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from recovery.models import (
    Audience,
    CareTask,
    Channel,
    LabResult,
    Notification,
    NotificationKind,
    NotificationStatus,
    ProphylaxisStop,
    VaccinationDose,
)
from recovery.queries.reminders import CARE_KINDS
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.reminders.messages import render
from recovery.services.reminders.planning import plan_reminders
from tests.factories import replanned, transplant

DAY0 = date(2026, 8, 31)  # Stockholm; month 3 is 30 Nov 2026, month 6 is 28 Feb 2027, month 12 is 31 Aug 2027
ENGRAFTED = date(2026, 9, 11)
KINDS = CARE_KINDS


@pytest.fixture(autouse=True)
def _outboxes(settings, tmp_path):
    settings.SMS_BACKEND = "recovery.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def plan_on(patient, when: str):
    with time_machine.travel(at(when), tick=False):
        plan_reminders(patient)


def dispatch_at(when: str):
    with time_machine.travel(at(when), tick=False):
        return dispatch_due(now=at(when), budget_seconds=60)


def care_rows(patient, **filters):
    return Notification.objects.filter(patient=patient, kind__in=KINDS, step__isnull=True, **filters)


def cd4(patient, on: date, value: str):
    LabResult.objects.create(
        patient=patient,
        test="cd4",
        value=Decimal(value),
        unit="x10^9/L",
        collected_at=datetime(on.year, on.month, on.day, 9, tzinfo=UTC),
    )


@pytest.fixture
def transplanted(patient):
    with time_machine.travel(at("2026-09-12T10:00:00+02:00"), tick=False):
        transplant(patient, DAY0, engrafted=ENGRAFTED)
    return patient


# --- vaccinations ---------------------------------------------------------------------------------------------


def test_a_dose_due_is_reminded_the_morning_of_its_due_date_on_every_channel(transplanted):
    plan_on(transplanted, "2026-11-25T12:00:00+01:00")
    rows = care_rows(transplanted, kind=NotificationKind.VACCINATION_DUE, key="vaccination_due:pcv13:1:2026-11-30")
    assert {r.channel for r in rows} == {Channel.IN_APP, Channel.EMAIL, Channel.SMS}
    assert {r.due_at for r in rows} == {at("2026-11-30T07:30:00+01:00")}
    assert rows.first().detail["vaccine_name"].startswith("PCV13")
    # a later dose waits for the one it follows
    assert not care_rows(transplanted, key__startswith="vaccination_due:pcv13:2").exists()


def test_reminder_times_follow_the_patients_clock_across_daylight_saving(transplanted):
    plan_on(transplanted, "2027-02-20T12:00:00+01:00")  # winter: month 6
    plan_on(transplanted, "2027-08-25T12:00:00+02:00")  # summer: month 12
    winter = care_rows(transplanted, key="vaccination_due:tdap:1:2027-02-28", channel=Channel.IN_APP).get()
    summer = care_rows(transplanted, key="vaccination_due:ppsv23:1:2027-08-31", channel=Channel.IN_APP)
    assert winter.due_at == at("2027-02-28T06:30:00+00:00")
    assert not summer.exists()  # PPSV23 follows PCV13 dose 3, which was never given
    aciclovir_stop = care_rows(
        transplanted, key="prophylaxis_reminder:aciclovir:stop:2027-08-31", channel=Channel.IN_APP
    ).get()
    assert aciclovir_stop.due_at == at("2027-08-31T05:30:00+00:00")


def test_the_reminder_is_sent_once_and_not_at_all_if_the_dose_was_given_first(transplanted, patient):
    plan_on(transplanted, "2026-11-25T12:00:00+01:00")
    VaccinationDose.objects.create(patient=transplanted, vaccine="influenza", dose=1, given_date=date(2026, 11, 28))
    dispatch_at("2026-11-30T07:31:00+01:00")
    pcv = care_rows(transplanted, key="vaccination_due:pcv13:1:2026-11-30")
    flu = care_rows(transplanted, key="vaccination_due:influenza:1:2026-11-30")
    assert set(pcv.values_list("status", flat=True)) == {NotificationStatus.SENT}
    assert set(flu.values_list("status", flat=True)) == {NotificationStatus.CANCELLED}
    assert "given on 2026-11-28" in flu.first().status_reason
    assert dispatch_at("2026-11-30T07:40:00+01:00").sent == 0


@pytest.mark.slow  # 30 months of planning and sending
def test_every_dose_of_the_schedule_is_reminded_from_day0_to_month_30(transplanted):
    """Weekly planning over 30 months, each dose given on its due date: every dose gets its reminder once."""
    moment = at("2026-09-12T06:00:00+02:00")
    end = at("2029-03-01T06:00:00+01:00")
    while moment < end:
        with time_machine.travel(moment, tick=False):
            plan_reminders(transplanted)
        today = moment.date()
        for row in care_rows(transplanted, kind=NotificationKind.VACCINATION_DUE, channel=Channel.IN_APP):
            due = date.fromisoformat(row.detail["due_date"])
            if due <= today:
                VaccinationDose.objects.get_or_create(
                    patient=transplanted,
                    vaccine=row.detail["vaccine"],
                    dose=row.detail["dose"],
                    defaults={"given_date": due},
                )
        moment += timedelta(days=7)
    reminded = set(
        care_rows(transplanted, kind=NotificationKind.VACCINATION_DUE, channel=Channel.IN_APP).values_list(
            "detail__vaccine", "detail__dose"
        )
    )
    expected = {
        ("influenza", 1),
        ("influenza", 2),
        ("influenza", 3),
        ("pcv13", 1),
        ("pcv13", 2),
        ("pcv13", 3),
        ("ppsv23", 1),
        ("zoster_recombinant", 1),
        ("zoster_recombinant", 2),
        *((v, n) for v in ("tdap", "ipv", "hib", "hepb", "hpv") for n in (1, 2, 3)),
        ("meningococcal", 1),
        ("meningococcal", 2),
        ("hepa", 1),
        ("hepa", 2),
        ("mmr", 1),
        ("mmr", 2),
        ("varicella", 1),
        ("varicella", 2),
    }
    assert reminded == expected
    assert care_rows(transplanted, kind=NotificationKind.VACCINATION_DUE, channel=Channel.IN_APP).count() == len(
        expected
    )
    # surveillance: draws at months 6, 12, 18 and 24 without results each became a coordinator's step
    lab_steps = care_rows(transplanted, kind=NotificationKind.MISSED_LAB_TASK).values_list("key", flat=True)
    assert sorted(lab_steps)[:4] == [
        "missed_lab_task:surveillance:2027-02-28",
        "missed_lab_task:surveillance:2027-08-31",
        "missed_lab_task:surveillance:2028-02-29",
        "missed_lab_task:surveillance:2028-08-31",
    ]


# --- prophylaxis ------------------------------------------------------------------------------------------------


def test_the_patient_is_reminded_when_a_course_starts_and_on_its_planned_stop(patient):
    with time_machine.travel(at("2026-09-05T10:00:00+02:00"), tick=False):
        episode = transplant(patient, DAY0)
    with time_machine.travel(at("2026-09-10T06:00:00+02:00"), tick=False):
        # engraftment recorded early on its day: the courses that start or stop with it are reminded that morning
        from recovery.services.audit import AuditContext
        from recovery.services.timeline import save_episode

        save_episode(
            context=AuditContext.system("tests"),
            patient=patient,
            fields={"neutrophil_engraftment_date": date(2026, 9, 10)},
        )
        replanned()  # after the write commits
    assert episode.pk
    starts = care_rows(patient, kind=NotificationKind.PROPHYLAXIS_REMINDER, channel=Channel.IN_APP)
    assert set(starts.values_list("key", flat=True)) >= {
        "prophylaxis_reminder:cotrimoxazole:start:2026-09-10",
        "prophylaxis_reminder:fluconazole:stop:2026-09-10",
        "prophylaxis_reminder:levofloxacin:stop:2026-09-10",
    }
    start = starts.get(key="prophylaxis_reminder:cotrimoxazole:start:2026-09-10")
    assert "keep taking it until your team tells you to stop" in render(start).text
    plan_on(patient, "2026-11-20T12:00:00+01:00")
    stop = care_rows(patient, key="prophylaxis_reminder:cotrimoxazole:stop:2026-11-30", channel=Channel.IN_APP).get()
    assert "Do not stop it on your own" in render(stop).text


def test_stop_date_reached_without_cd4_recovery_prompts_the_clinicians_only(transplanted, clinician, coordinator):
    plan_on(transplanted, "2026-11-20T12:00:00+01:00")
    step = care_rows(transplanted, kind=NotificationKind.PROPHYLAXIS_REVIEW).get()
    assert (step.key, step.audience) == ("prophylaxis_review:cotrimoxazole:2026-11-30", Audience.CARE_TEAM)
    dispatch_at("2026-11-30T07:31:00+01:00")
    messages = Notification.objects.filter(step=step)
    assert {m.recipient for m in messages} == {clinician}
    assert "CD4 not yet recovered" in render(messages.first()).subject


def test_no_review_prompt_when_cd4_has_recovered(transplanted, clinician):
    cd4(transplanted, date(2026, 11, 20), "0.25")
    plan_on(transplanted, "2026-11-21T12:00:00+01:00")
    assert not care_rows(transplanted, kind=NotificationKind.PROPHYLAXIS_REVIEW).exists()


def test_cd4_recovering_after_planning_cancels_the_prompt(transplanted, clinician):
    plan_on(transplanted, "2026-11-20T12:00:00+01:00")
    cd4(transplanted, date(2026, 11, 25), "0.31")
    dispatch_at("2026-11-30T07:31:00+01:00")
    step = care_rows(transplanted, kind=NotificationKind.PROPHYLAXIS_REVIEW).get()
    assert step.status == NotificationStatus.CANCELLED
    assert not Notification.objects.filter(step=step).exists()


def test_a_course_stopped_meanwhile_cancels_its_reminders(transplanted, clinician):
    plan_on(transplanted, "2026-11-20T12:00:00+01:00")
    ProphylaxisStop.objects.create(
        patient=transplanted, medication="cotrimoxazole", stopped_on=date(2026, 11, 22), stopped_by=clinician
    )
    dispatch_at("2026-11-30T07:31:00+01:00")
    rows = care_rows(transplanted, key__contains="cotrimoxazole")
    assert rows.exists()
    assert set(rows.values_list("status", flat=True)) == {NotificationStatus.CANCELLED}


# --- surveillance labs ------------------------------------------------------------------------------------------


def test_a_missed_surveillance_draw_becomes_a_coordinator_task(transplanted, coordinator, clinician):
    plan_on(transplanted, "2027-03-25T12:00:00+01:00")
    step = care_rows(transplanted, kind=NotificationKind.MISSED_LAB_TASK).get()
    assert step.due_at == at("2027-03-30T07:30:00+02:00")  # month 6 + 30 days, after the spring DST change
    dispatch_at("2027-03-30T07:31:00+02:00")
    task = CareTask.objects.get(patient=transplanted, kind="missed_lab")
    assert (task.kind, task.key) == ("missed_lab", "surveillance:2027-02-28")
    messages = Notification.objects.filter(step=step)
    assert {m.recipient for m in messages} == {coordinator}
    assert "thyroid function (TSH)" in render(messages.first()).text


def test_results_arriving_before_the_grace_ends_cancel_the_task(transplanted, coordinator):
    plan_on(transplanted, "2027-03-25T12:00:00+01:00")
    for test in ("tsh", "platelets"):
        LabResult.objects.create(
            patient=transplanted,
            test=test,
            value=Decimal("2.1"),
            unit="x",
            collected_at=at("2027-03-26T09:00:00+01:00"),
        )
    dispatch_at("2027-03-30T07:31:00+02:00")
    assert care_rows(transplanted, kind=NotificationKind.MISSED_LAB_TASK).get().status == NotificationStatus.CANCELLED
    assert not CareTask.objects.filter(kind="missed_lab").exists()


def test_the_patient_is_reminded_of_a_surveillance_draw_on_its_due_date_and_not_once_it_is_done(transplanted):
    plan_on(transplanted, "2027-02-20T12:00:00+01:00")
    due = care_rows(transplanted, kind=NotificationKind.LAB_DUE)
    assert set(due.values_list("channel", flat=True)) == {Channel.IN_APP, Channel.EMAIL, Channel.SMS}
    assert {row.due_at for row in due} == {at("2027-02-28T07:30:00+01:00")}  # month 6, the morning, Stockholm
    assert "thyroid function (TSH)" in render(due.filter(channel=Channel.IN_APP).get()).text
    for test in ("tsh", "platelets"):
        LabResult.objects.create(
            patient=transplanted,
            test=test,
            value=Decimal("2.1"),
            unit="x",
            collected_at=at("2027-02-26T09:00:00+01:00"),
        )
    dispatch_at("2027-02-28T07:31:00+01:00")
    assert set(due.values_list("status", flat=True)) == {NotificationStatus.CANCELLED}


def test_a_draw_already_done_is_not_planned(transplanted):
    for test in ("tsh", "platelets"):
        LabResult.objects.create(
            patient=transplanted,
            test=test,
            value=Decimal("2.1"),
            unit="x",
            collected_at=at("2027-02-20T09:00:00+01:00"),
        )
    plan_on(transplanted, "2027-03-25T12:00:00+01:00")
    assert not care_rows(transplanted, kind=NotificationKind.MISSED_LAB_TASK).exists()


def test_planning_again_changes_nothing(transplanted):
    plan_on(transplanted, "2026-11-25T12:00:00+01:00")
    before = care_rows(transplanted).count()
    with time_machine.travel(at("2026-11-25T13:00:00+01:00"), tick=False):
        result = plan_reminders(transplanted)
    assert (result.created, result.cancelled) == (0, 0)
    assert care_rows(transplanted).count() == before > 0


def test_a_patient_without_day0_gets_no_care_reminders(patient):
    plan_on(patient, "2026-11-25T12:00:00+01:00")
    assert not care_rows(patient).exists()


def test_every_care_kind_renders_in_english_and_swedish(transplanted):
    plan_on(transplanted, "2026-11-20T12:00:00+01:00")
    plan_on(transplanted, "2027-02-20T12:00:00+01:00")
    plan_on(transplanted, "2027-03-25T12:00:00+01:00")
    for language in ("en", "sv"):
        transplanted.preferred_language = language
        transplanted.save(update_fields=["preferred_language"])
        for kind in KINDS:
            row = care_rows(transplanted, kind=kind).select_related("patient").first()
            assert row is not None, kind
            message = render(row)
            assert message.subject
            assert message.text
            assert "<html" in message.html
