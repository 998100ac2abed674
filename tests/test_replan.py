"""Re-planning after commit (recovery/services/reminders/replan.py).

A write that changes what the reminders depend on marks the patient and wakes the planner once the transaction
commits, once per patient however many writes it makes; the write itself plans nothing; a rolled-back write
neither marks nor wakes; the sweep plans every marked patient and clears the mark. The wake-up through a real
broker to a real worker is in tests/test_celery_integration.py.
"""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import transaction

from recovery.models import Notification, NotificationStatus, Patient
from recovery.services.audit import AuditContext
from recovery.services.patients import update_patient
from recovery.services.reminders.planning import set_reminder_hold
from tests.factories import replanned, transplant

NOW = datetime(2026, 11, 19, 6, 30, tzinfo=UTC)


@pytest.fixture
def in_aplasia(patient):
    with time_machine.travel(NOW, tick=False):
        transplant(patient, date(2026, 11, 16))
    return patient


def _wakes(callbacks, patient) -> int:
    return sum(1 for callback in callbacks if getattr(callback, "replans", None) == patient.pk)


def _stale(patient):
    return Patient.objects.values_list("reminders_stale_since", flat=True).get(pk=patient.pk)


def test_several_writes_in_one_transaction_wake_the_planner_once_after_commit(
    in_aplasia, coordinator, django_capture_on_commit_callbacks
):
    context = AuditContext(actor=coordinator)
    assert _stale(in_aplasia) is None  # the transplant's planning cleared the mark
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        set_reminder_hold(context=context, patient=in_aplasia, on_hold=True, reason="Readmitted")
        set_reminder_hold(context=context, patient=in_aplasia, on_hold=False)
        update_patient(context=context, patient=in_aplasia, changes={"timezone": "Europe/Oslo"})
    assert _wakes(callbacks, in_aplasia) == 1
    assert _stale(in_aplasia) is not None


def test_the_write_plans_nothing_itself_and_the_worker_plans_after_commit(in_aplasia, coordinator):
    pending = Notification.objects.filter(patient=in_aplasia, status=NotificationStatus.PENDING)
    count = pending.count()
    assert count > 0
    with time_machine.travel(NOW, tick=False):
        set_reminder_hold(context=AuditContext(actor=coordinator), patient=in_aplasia, on_hold=True, reason="Ward")
        assert pending.count() == count  # the write only marked the patient
        assert replanned() == 1  # the task the commit wakes
    assert pending.count() == 0
    assert _stale(in_aplasia) is None
    assert replanned() == 0  # nothing left to plan


def test_a_rolled_back_write_neither_marks_nor_wakes(in_aplasia, coordinator, django_capture_on_commit_callbacks):
    def a_write_that_fails_after_the_hold():
        with transaction.atomic():
            set_reminder_hold(context=AuditContext(actor=coordinator), patient=in_aplasia, on_hold=True, reason="x")
            raise RuntimeError("the rest of the write failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        a_write_that_fails_after_the_hold()
    assert _wakes(callbacks, in_aplasia) == 0
    assert _stale(in_aplasia) is None


def test_each_patient_gets_its_own_wake_up(in_aplasia, other_patient, coordinator, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False):
        transplant(other_patient, date(2026, 11, 16))
    context = AuditContext(actor=coordinator)
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        set_reminder_hold(context=context, patient=in_aplasia, on_hold=True, reason="x")
        set_reminder_hold(context=context, patient=other_patient, on_hold=True, reason="y")
    assert (_wakes(callbacks, in_aplasia), _wakes(callbacks, other_patient)) == (1, 1)
    assert replanned() == 2


def test_saving_a_patient_read_before_the_mark_keeps_the_mark(in_aplasia, coordinator):
    """The mark is the planner's state: a save of an older copy of the patient does not erase it."""
    older = Patient.objects.get(pk=in_aplasia.pk)
    set_reminder_hold(context=AuditContext(actor=coordinator), patient=in_aplasia, on_hold=True, reason="x")
    assert _stale(in_aplasia) is not None
    older.first_name = "Pia-Maria"
    older.save()
    assert _stale(in_aplasia) is not None
    assert Patient.objects.get(pk=in_aplasia.pk).first_name == "Pia-Maria"
