"""Reminders planned into rows and dispatched once: planning, sending, missed check-ins and escalation."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from accounts.models import Role
from recovery.clinical.triage import SYMPTOM_CODES
from recovery.models import (
    Alert,
    AlertStatus,
    CareTask,
    CareTaskStatus,
    CentreConfiguration,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
    PatientStatus,
)
from recovery.queries.reminders import CHAIN_KINDS, PATIENT_REMINDER_KINDS, unread_count
from recovery.services.alerts import acknowledge_alert
from recovery.services.audit import AuditContext
from recovery.services.reminders.dispatch import claim_due, dispatch_due
from recovery.services.reminders.planning import plan_reminders, set_reminder_hold, update_reminder_settings
from recovery.services.symptoms import record_symptom_report
from recovery.services.timeline import change_event
from tests.factories import PatientFactory, UserFactory, replanned, transplant

SYSTEM = AuditContext.system("tests")
# Day 0 on Monday 2026-11-16; the patient is in Stockholm (CET, UTC+1 in November).
DAY0 = date(2026, 11, 16)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture(autouse=True)
def _sms_to_file(settings, tmp_path):
    settings.SMS_BACKEND = "recovery.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def sms_sent(settings) -> list[dict]:
    try:
        with open(settings.SMS_FILE_PATH, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]
    except FileNotFoundError:
        return []


@pytest.fixture
def in_aplasia(patient):
    with time_machine.travel(at("2026-11-19T07:00:00+01:00"), tick=False):
        transplant(patient, DAY0)
    return patient


def rows(patient, **filters):
    return Notification.objects.filter(patient=patient, **filters)


def test_high_risk_window_plans_two_temperature_and_one_red_flag_reminder_a_day_on_each_channel(in_aplasia):
    day = rows(in_aplasia, local_date=date(2026, 11, 20), channel=Channel.IN_APP)
    assert sorted((r.kind, r.due_at) for r in day.filter(kind__in=PATIENT_REMINDER_KINDS)) == [
        (NotificationKind.RED_FLAG_CHECKIN, at("2026-11-20T08:00:00+01:00")),
        (NotificationKind.TEMPERATURE_CHECKIN, at("2026-11-20T08:00:00+01:00")),
        (NotificationKind.TEMPERATURE_CHECKIN, at("2026-11-20T20:00:00+01:00")),
    ]
    channels = set(rows(in_aplasia, key="temperature_checkin:2026-11-20T08:00").values_list("channel", flat=True))
    assert channels == {Channel.IN_APP, Channel.EMAIL, Channel.SMS}


def test_planning_again_creates_nothing_new(in_aplasia):
    before = rows(in_aplasia).count()
    with time_machine.travel(at("2026-11-19T07:30:00+01:00"), tick=False):
        result = plan_reminders(in_aplasia)
    assert (result.created, result.cancelled, result.updated) == (0, 0, 0)
    assert rows(in_aplasia).count() == before


def test_planning_covers_only_the_days_ahead_and_never_the_past(in_aplasia, settings):
    dates = set(rows(in_aplasia).values_list("local_date", flat=True))
    assert min(dates) == date(2026, 11, 19)
    assert max(dates) == date(2026, 11, 19) + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS)
    assert not rows(in_aplasia, due_at__lt=at("2026-11-19T07:00:00+01:00")).exists()


def test_due_reminder_is_sent_once_on_every_channel(in_aplasia, settings):
    with time_machine.travel(at("2026-11-19T08:00:30+01:00"), tick=False):
        first = dispatch_due()
        second = dispatch_due()
    due = rows(in_aplasia, due_at=at("2026-11-19T08:00:00+01:00"))
    assert due.count() == 6  # temperature and red flag, three channels each
    assert set(due.values_list("status", flat=True)) == {NotificationStatus.SENT}
    assert first.sent == 6
    assert second.claimed == 0
    assert len(mail.outbox) == 2
    assert {m.to[0] for m in mail.outbox} == {in_aplasia.email}
    assert len(sms_sent(settings)) == 2
    assert {s["to"] for s in sms_sent(settings)} == {in_aplasia.phone}
    assert unread_count(in_aplasia.user) == 2


def test_nothing_is_sent_before_it_is_due(in_aplasia):
    with time_machine.travel(at("2026-11-19T07:59:00+01:00"), tick=False):
        result = dispatch_due()
    assert result.claimed == 0


def test_a_report_before_the_reminder_answers_it_and_it_is_not_sent(in_aplasia):
    with time_machine.travel(at("2026-11-19T07:15:00+01:00"), tick=False):
        record_symptom_report(
            context=SYSTEM, patient=in_aplasia, recorded_at=at("2026-11-19T07:10:00+01:00"), temperature_c="36.8"
        )
    with time_machine.travel(at("2026-11-19T08:01:00+01:00"), tick=False):
        dispatch_due()
    due = rows(in_aplasia, due_at=at("2026-11-19T08:00:00+01:00"))
    assert set(due.values_list("status", flat=True)) == {NotificationStatus.CANCELLED}
    assert all(row.answered_at is not None for row in due)


def test_missed_high_risk_checkin_reminds_the_patient_then_tasks_the_coordinator_and_tells_the_clinician(
    in_aplasia, coordinator, clinician
):
    checkin = at("2026-11-19T08:00:00+01:00")
    with time_machine.travel(checkin + timedelta(hours=2, minutes=1), tick=False):
        dispatch_due()
    reminded = rows(in_aplasia, kind=NotificationKind.MISSED_CHECKIN, about_at=checkin, status=NotificationStatus.SENT)
    assert reminded.count() == 3
    assert not CareTask.objects.exists()
    with time_machine.travel(checkin + timedelta(hours=4, minutes=1), tick=False):
        dispatch_due()
        dispatch_due()
    task = CareTask.objects.get(patient=in_aplasia)
    assert task.checkin_due_at == checkin
    assert task.high_risk
    assert task.status == CareTaskStatus.OPEN
    to_staff = rows(in_aplasia, audience="staff", status=NotificationStatus.SENT)
    assert set(to_staff.values_list("recipient__username", "kind")) == {
        ("cora", NotificationKind.MISSED_CHECKIN_TASK),
        ("karl", NotificationKind.MISSED_CHECKIN_CLINICIAN),
    }
    assert unread_count(coordinator) == 1


def test_a_late_report_closes_the_missed_checkin_chain(in_aplasia, coordinator):
    checkin = at("2026-11-19T08:00:00+01:00")
    with time_machine.travel(checkin + timedelta(hours=2, minutes=1), tick=False):
        dispatch_due()
    with time_machine.travel(checkin + timedelta(hours=3), tick=False):
        record_symptom_report(
            context=SYSTEM, patient=in_aplasia, recorded_at=checkin + timedelta(hours=3), temperature_c="37.0"
        )
    with time_machine.travel(checkin + timedelta(hours=4, minutes=1), tick=False):
        dispatch_due()
    assert not CareTask.objects.exists()
    chain = rows(in_aplasia, kind=NotificationKind.MISSED_CHECKIN_TASK, about_at=checkin)
    assert chain.get().status == NotificationStatus.CANCELLED
    assert "Answered" in chain.get().status_reason


def test_after_the_window_a_checkin_is_missed_after_24_hours_and_routine_reminders_wait_for_quiet_hours_to_end(
    patient,
):
    with time_machine.travel(at("2026-12-27T12:00:00+01:00"), tick=False):
        transplant(patient, DAY0, engrafted=date(2026, 11, 27))  # window ends D+30 = 2026-12-16
    checkin = rows(patient, kind=NotificationKind.CHECKIN, channel=Channel.IN_APP).order_by("due_at").first()
    assert checkin.due_at == at("2026-12-28T09:00:00+01:00")  # Monday, 09:00 Stockholm
    assert not checkin.safety_critical
    missed = rows(patient, kind=NotificationKind.MISSED_CHECKIN, about_at=checkin.due_at, channel=Channel.IN_APP).get()
    assert missed.due_at == checkin.due_at + timedelta(hours=24)
    task = rows(patient, kind=NotificationKind.MISSED_CHECKIN_TASK, about_at=checkin.due_at).get()
    assert task.due_at == checkin.due_at + timedelta(hours=48)
    assert not rows(patient, kind=NotificationKind.MISSED_CHECKIN_CLINICIAN).exists()


def test_quiet_hours_delay_a_routine_reminder_but_not_a_temperature_reminder(patient):
    update_reminder_settings(
        context=SYSTEM,
        patient=patient,
        changes={"quiet_start": datetime(2000, 1, 1, 19, 0).time(), "quiet_end": datetime(2000, 1, 1, 9, 30).time()},
    )
    with time_machine.travel(at("2026-11-18T12:00:00+01:00"), tick=False):
        transplant(patient, DAY0)
    evening = rows(patient, key="temperature_checkin:2026-11-20T20:00", channel=Channel.IN_APP).get()
    assert evening.due_at == at("2026-11-20T20:00:00+01:00")
    visit = rows(patient, kind=NotificationKind.APPOINTMENT_MORNING, channel=Channel.IN_APP).first()
    local = visit.due_at.astimezone(patient.tz)
    assert (local.hour, local.minute) == (9, 30)


def test_moving_a_visit_cancels_its_old_reminders_and_plans_new_ones(in_aplasia):
    visit_row = rows(in_aplasia, kind=NotificationKind.APPOINTMENT_MORNING, channel=Channel.IN_APP).first()
    event = visit_row.event
    with time_machine.travel(at("2026-11-19T07:30:00+01:00"), tick=False):
        change_event(context=SYSTEM, event=event, action="move", on=event.planned_date + timedelta(days=2))
        replanned()  # after the write commits
    visit_row.refresh_from_db()
    assert visit_row.status == NotificationStatus.CANCELLED
    new = rows(in_aplasia, event=event, kind=NotificationKind.APPOINTMENT_MORNING, status=NotificationStatus.PENDING)
    assert new.count() == 3
    assert {r.local_date for r in new} == {event.planned_date}


def test_engraftment_that_ends_the_window_cancels_the_twice_daily_reminders_after_it(in_aplasia):
    with time_machine.travel(at("2026-11-19T07:30:00+01:00"), tick=False):
        from recovery.services.timeline import save_episode

        save_episode(context=SYSTEM, patient=in_aplasia, fields={"neutrophil_engraftment_date": date(2026, 11, 17)})
    # window: through max(D+30, engraftment + 14) = 2026-12-16, beyond the planning horizon: nothing changes
    assert rows(in_aplasia, kind=NotificationKind.TEMPERATURE_CHECKIN, status=NotificationStatus.CANCELLED).count() == 0


def test_a_hold_cancels_pending_reminders_and_lifting_it_restores_the_future_ones(in_aplasia, coordinator):
    context = AuditContext(actor=coordinator)
    with time_machine.travel(at("2026-11-19T07:30:00+01:00"), tick=False):
        set_reminder_hold(context=context, patient=in_aplasia, on_hold=True, reason="Readmitted")
        replanned()
        assert not rows(in_aplasia, status=NotificationStatus.PENDING).exists()
        plan_reminders(in_aplasia)  # regeneration never undoes a hold
        assert not rows(in_aplasia, status=NotificationStatus.PENDING).exists()
        set_reminder_hold(context=context, patient=in_aplasia, on_hold=False)
        replanned()
    assert rows(in_aplasia, status=NotificationStatus.PENDING, kind=NotificationKind.TEMPERATURE_CHECKIN).exists()


def test_a_withdrawn_patient_gets_no_more_reminders(in_aplasia, coordinator):
    from recovery.services.patients import update_patient

    with time_machine.travel(at("2026-11-19T07:30:00+01:00"), tick=False):
        update_patient(
            context=AuditContext(actor=coordinator), patient=in_aplasia, changes={"status": PatientStatus.WITHDRAWN}
        )
        replanned()
    assert not rows(in_aplasia, status=NotificationStatus.PENDING).exists()


def test_moving_to_another_time_zone_moves_the_reminders_without_duplicating_them(in_aplasia, coordinator):
    from recovery.services.patients import update_patient

    before = rows(in_aplasia, key="temperature_checkin:2026-11-20T08:00").count()
    with time_machine.travel(at("2026-11-19T07:30:00+01:00"), tick=False):
        update_patient(
            context=AuditContext(actor=coordinator), patient=in_aplasia, changes={"timezone": "America/New_York"}
        )
        replanned()
    assert rows(in_aplasia, key="temperature_checkin:2026-11-20T08:00").count() == before == 3
    row = rows(in_aplasia, key="temperature_checkin:2026-11-20T08:00", channel=Channel.IN_APP).get()
    assert row.due_at == at("2026-11-20T08:00:00-05:00")


def test_a_sender_that_always_fails_backs_off_then_fails_and_the_others_still_go(in_aplasia, settings):
    settings.SMS_BACKEND = "tests.test_notifications.BrokenSms"
    settings.NOTIFY_MAX_ATTEMPTS = 3
    moment = at("2026-11-19T08:00:30+01:00")
    for minutes in (0, 2, 5, 10):
        with time_machine.travel(moment + timedelta(minutes=minutes), tick=False):
            dispatch_due()
    due = rows(in_aplasia, due_at=at("2026-11-19T08:00:00+01:00"))
    failed = due.filter(status=NotificationStatus.FAILED)
    assert set(failed.values_list("channel", flat=True)) == {Channel.SMS}
    assert all(r.attempts == 3 and "provider is down" in r.status_reason for r in failed)
    assert due.filter(status=NotificationStatus.SENT).count() == 4


class BrokenSms:
    def send(self, *, to, text, reference):
        raise RuntimeError("provider is down")


def test_with_text_messages_switched_off_a_text_is_failed_with_the_reason_and_never_sent(in_aplasia, settings):
    """SMS_BACKEND=disabled: the channel is unconfigured; its rows fail at once (no retries) in words, nothing
    reaches a provider, and the app and email still deliver the same reminder."""
    settings.SMS_BACKEND = settings.SMS_DISABLED_BACKEND
    with time_machine.travel(at("2026-11-19T08:00:30+01:00"), tick=False):
        result = dispatch_due()
    due = rows(in_aplasia, due_at=at("2026-11-19T08:00:00+01:00"))
    texts = due.filter(channel=Channel.SMS)
    assert texts.count() == 2
    assert set(texts.values_list("status", flat=True)) == {NotificationStatus.FAILED}
    assert all("text messages are switched off" in r.status_reason and r.sent_at is None for r in texts)
    assert {r.attempts for r in texts} == {1}
    assert result.failed == 2
    assert result.sent == 4
    assert sms_sent(settings) == []
    assert set(due.exclude(channel=Channel.SMS).values_list("status", flat=True)) == {NotificationStatus.SENT}


def test_with_email_switched_off_an_email_is_failed_with_the_reason_and_never_sent(in_aplasia, settings):
    settings.EMAIL_BACKEND = settings.EMAIL_DISABLED_BACKEND
    with time_machine.travel(at("2026-11-19T08:00:30+01:00"), tick=False):
        dispatch_due()
    emails = rows(in_aplasia, due_at=at("2026-11-19T08:00:00+01:00"), channel=Channel.EMAIL)
    assert set(emails.values_list("status", flat=True)) == {NotificationStatus.FAILED}
    assert all("email is switched off" in r.status_reason for r in emails)
    assert mail.outbox == []


def test_the_disabled_text_backend_refuses_to_send_rather_than_pretend():
    from recovery.sms import DisabledBackend, SmsError

    with pytest.raises(SmsError, match="switched off"):
        DisabledBackend().send(to="+46700000000", text="hello", reference="r")


def test_a_claim_whose_worker_died_is_claimed_again_after_its_lease(in_aplasia, settings):
    moment = at("2026-11-19T08:00:30+01:00")
    _token, ids = claim_due(now=moment, limit=100)
    assert len(ids) == 6
    assert claim_due(now=moment, limit=100)[1] == []  # leased: nobody else gets them
    later = moment + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        result = dispatch_due()
    assert result.sent == 6
    assert set(rows(in_aplasia, id__in=ids).values_list("attempts", flat=True)) == {2}


def test_an_unacknowledged_urgent_alert_goes_to_the_care_team_then_to_the_on_call_clinician(
    in_aplasia, coordinator, clinician, centre
):
    on_call = UserFactory(username="oncall", role=Role.CLINICIAN, centres=[centre])
    centre.on_call_clinician = on_call
    centre.save()
    raised = at("2026-11-19T03:00:00+01:00")
    with time_machine.travel(raised, tick=False):
        outcome = record_symptom_report(context=SYSTEM, patient=in_aplasia, recorded_at=raised, temperature_c="38.6")
    alert = outcome.alert
    assert alert.severity == "urgent"
    with time_machine.travel(raised + timedelta(minutes=16), tick=False):
        dispatch_due()
        dispatch_due()
    resent = rows(in_aplasia, alert=alert, kind=NotificationKind.ALERT_RESEND, audience="staff", channel=Channel.IN_APP)
    assert set(resent.values_list("recipient__username", flat=True)) == {"cora", "karl", "oncall"}
    with time_machine.travel(raised + timedelta(minutes=61), tick=False):
        dispatch_due()
        dispatch_due()
    on_call_rows = rows(in_aplasia, alert=alert, kind=NotificationKind.ALERT_ON_CALL, audience="staff")
    assert set(on_call_rows.values_list("recipient__username", flat=True)) == {"oncall"}


def test_acknowledging_an_urgent_alert_stops_its_escalation(in_aplasia, clinician):
    raised = at("2026-11-19T03:00:00+01:00")
    with time_machine.travel(raised, tick=False):
        alert = record_symptom_report(
            context=SYSTEM, patient=in_aplasia, recorded_at=raised, temperature_c="38.6"
        ).alert
    with time_machine.travel(raised + timedelta(minutes=10), tick=False):
        acknowledge_alert(context=AuditContext(actor=clinician), alert=alert)
    with time_machine.travel(raised + timedelta(minutes=61), tick=False):
        dispatch_due()
    steps = rows(in_aplasia, alert=alert, audience="care_team")
    assert set(steps.values_list("status", flat=True)) == {NotificationStatus.CANCELLED}
    assert not rows(in_aplasia, alert=alert, audience="staff").exists()
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.ACKNOWLEDGED


def test_two_dispatchers_claim_different_rows(in_aplasia):
    moment = at("2026-11-19T08:00:30+01:00")
    first = claim_due(now=moment, limit=4)[1]
    second = claim_due(now=moment, limit=4)[1]
    assert len(first) == 4
    assert len(second) == 2
    assert not set(first) & set(second)


@pytest.mark.parametrize(
    ("tz_name", "spring", "autumn"),
    [
        ("Europe/Stockholm", date(2027, 3, 28), date(2026, 10, 25)),
        ("America/New_York", date(2027, 3, 14), date(2026, 11, 1)),
    ],
)
def test_a_week_across_each_clock_change_has_one_reminder_per_slot_at_08_and_20_local(centre, tz_name, spring, autumn):
    from tests.factories import patient_with_login

    for change in (spring, autumn):
        patient = patient_with_login(centre=centre, timezone=tz_name)
        day0 = change - timedelta(days=3)
        with time_machine.travel(datetime.combine(day0, datetime.min.time(), tzinfo=UTC), tick=False):
            transplant(patient, day0)
        week = rows(patient, kind=NotificationKind.TEMPERATURE_CHECKIN, channel=Channel.IN_APP).filter(
            local_date__gte=day0, local_date__lt=day0 + timedelta(days=7)
        )
        assert week.count() == 14
        local_times = [r.due_at.astimezone(patient.tz) for r in week.order_by("due_at")]
        assert [(t.hour, t.minute) for t in local_times] == [(8, 0), (20, 0)] * 7
        assert [t.date() for t in local_times] == [day0 + timedelta(days=i // 2) for i in range(14)]
        offsets = {t.utcoffset() for t in local_times}
        assert len(offsets) == 2  # the clocks changed within the week


# --- a patient without a login (issue 12, item 6) ----------------------------------------------------------


@pytest.fixture
def without_login(centre):
    patient = PatientFactory(centre=centre, first_name="Nils", user=None)
    with time_machine.travel(at("2026-11-19T07:00:00+01:00"), tick=False):
        transplant(patient, DAY0)
    return patient


def test_a_patient_without_a_login_gets_the_window_temperature_reminders_by_text_and_email(without_login):
    """Twice a day in the high-risk window, by SMS and email only, and without a missed-check-in chain."""
    day = rows(without_login, local_date=date(2026, 11, 20), kind=NotificationKind.TEMPERATURE_CHECKIN)
    assert sorted((r.channel, r.due_at) for r in day) == [
        (Channel.EMAIL, at("2026-11-20T08:00:00+01:00")),
        (Channel.EMAIL, at("2026-11-20T20:00:00+01:00")),
        (Channel.SMS, at("2026-11-20T08:00:00+01:00")),
        (Channel.SMS, at("2026-11-20T20:00:00+01:00")),
    ]
    assert all(r.safety_critical for r in day)
    assert not rows(without_login, kind__in=CHAIN_KINDS).exists()
    assert not rows(without_login, kind=NotificationKind.RED_FLAG_CHECKIN).exists()
    assert not rows(without_login, kind=NotificationKind.TEMPERATURE_CHECKIN, channel=Channel.IN_APP).exists()


def test_the_text_tells_a_patient_without_a_login_to_call_at_once_with_a_fever_or_when_unwell(without_login, settings):
    with time_machine.travel(at("2026-11-20T08:01:00+01:00"), tick=False):
        dispatch_due()
    texts = {sms["text"] for sms in sms_sent(settings)}  # the three due since planning, all the same text
    assert texts == {
        "Hello Nils, please take your temperature now.\n"
        "If it is 38.0 °C or higher or below 35.5 °C, or you feel unwell, call the unit at once: "
        f"{without_login.centre.phone_24h}. Day or night; do not wait."
    }
    assert "/my/" not in mail.outbox[0].body
    assert "call the unit at once" in mail.outbox[0].body


def test_the_texts_use_the_centres_fever_threshold(without_login, settings):
    CentreConfiguration.objects.create(centre=without_login.centre, version=1, values={"triage": {"fever_c": 37.8}})
    with time_machine.travel(at("2026-11-20T08:01:00+01:00"), tick=False):
        dispatch_due()
    assert "If it is 37.8 °C or higher" in sms_sent(settings)[0]["text"]


def test_without_a_phone_or_email_there_is_nothing_to_plan_and_outside_the_window_nothing_either(centre):
    patient = PatientFactory(centre=centre, user=None, phone="", email="")
    with time_machine.travel(at("2026-11-19T07:00:00+01:00"), tick=False):
        transplant(patient, DAY0)
    assert not rows(patient, kind=NotificationKind.TEMPERATURE_CHECKIN).exists()
    late = PatientFactory(centre=centre, user=None)
    with time_machine.travel(at("2027-03-01T07:00:00+01:00"), tick=False):
        transplant(late, DAY0, engrafted=DAY0 + timedelta(days=12))
    assert not rows(late, kind=NotificationKind.TEMPERATURE_CHECKIN).exists()


def test_an_im_fine_check_in_answers_the_red_flag_check_in_but_not_the_temperature(in_aplasia):
    """Every symptom at 0 and no temperature: accepted, it answers the 08:00 red-flag check-in, but the 08:00
    temperature reminder asks for a reading, so its missed chain goes on until one comes (hazard H-40)."""
    checkin = at("2026-11-19T08:00:00+01:00")
    with time_machine.travel(checkin + timedelta(hours=2, minutes=1), tick=False):
        dispatch_due()
    with time_machine.travel(checkin + timedelta(hours=3), tick=False):
        outcome = record_symptom_report(
            context=SYSTEM,
            patient=in_aplasia,
            recorded_at=checkin + timedelta(hours=3),
            symptoms=dict.fromkeys(SYMPTOM_CODES, 0),
        )
    assert outcome.result.level == "none"
    assert rows(in_aplasia, kind=NotificationKind.RED_FLAG_CHECKIN, due_at=checkin).first().answered_at is not None
    assert rows(in_aplasia, kind=NotificationKind.TEMPERATURE_CHECKIN, due_at=checkin).first().answered_at is None
    with time_machine.travel(checkin + timedelta(hours=4, minutes=1), tick=False):
        dispatch_due()
    task = CareTask.objects.get()  # the coordinator is asked to follow up the missing reading
    assert task.status == CareTaskStatus.OPEN
    assert rows(in_aplasia, kind=NotificationKind.MISSED_CHECKIN_TASK, about_at=checkin).get().status == "sent"
    with time_machine.travel(checkin + timedelta(hours=4, minutes=30), tick=False):
        record_symptom_report(
            context=SYSTEM, patient=in_aplasia, recorded_at=checkin + timedelta(hours=4, minutes=30), temperature_c=37.0
        )
    task.refresh_from_db()
    assert task.status == CareTaskStatus.DONE  # a reading answers it


def test_a_report_without_a_temperature_cancels_no_pending_temperature_chain(in_aplasia):
    """Sent before the chain's steps are due: the red-flag prompt is answered, the temperature's chain stays."""
    checkin = at("2026-11-19T08:00:00+01:00")
    with time_machine.travel(checkin + timedelta(minutes=30), tick=False):
        dispatch_due()
        record_symptom_report(
            context=SYSTEM,
            patient=in_aplasia,
            recorded_at=checkin + timedelta(minutes=30),
            symptoms=dict.fromkeys(SYMPTOM_CODES, 0),
        )
    chain = rows(in_aplasia, kind=NotificationKind.MISSED_CHECKIN, about_at=checkin)
    assert chain.exists()
    assert not chain.filter(status=NotificationStatus.CANCELLED).exists()
    with time_machine.travel(checkin + timedelta(hours=2, minutes=1), tick=False):
        dispatch_due()  # the dispatcher, too, counts only a reading for it
    assert chain.filter(status=NotificationStatus.SENT).exists()


def test_a_check_in_does_not_close_a_missed_lab_task(in_aplasia):
    """A report answers missed check-ins only: the coordinator's missed-lab-draw task stays open."""
    lab = CareTask.objects.create(
        patient=in_aplasia,
        kind="missed_lab",
        key="lab:m6",
        checkin_due_at=at("2026-11-19T07:00:00+01:00"),
        created_at=at("2026-11-19T07:00:00+01:00"),
    )
    with time_machine.travel(at("2026-11-19T09:00:00+01:00"), tick=False):
        record_symptom_report(
            context=SYSTEM, patient=in_aplasia, recorded_at=at("2026-11-19T08:55:00+01:00"), temperature_c="36.8"
        )
    lab.refresh_from_db()
    assert lab.status == CareTaskStatus.OPEN
