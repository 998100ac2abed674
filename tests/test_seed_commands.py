"""The seed commands' options and their refusal on a production-like system, each on an empty database.

(The demo and the cohort themselves are read in tests/test_seed_demo.py and tests/test_seed_cohort.py, each
seeded once for its module.)
"""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from recovery.models import Patient
from tests.test_seed_cohort import cohort


def test_seed_demo_refuses_with_debug_off(db, settings):
    """With DEBUG off the command refuses, so no demo password reaches a real system by accident."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo", patients=1)
    assert not User.objects.exists()
    assert not Patient.objects.exists()


@pytest.mark.slow
def test_seed_demo_with_debug_off_runs_when_forced(db, settings):
    settings.DEBUG = False
    call_command("seed_demo", patients=1, force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert User.objects.filter(username="coordinator").exists()


def test_seed_cohort_refuses_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_cohort", patients=3)
    assert not Patient.objects.exists()
    call_command("seed_cohort", patients=3, force=True)
    assert len(cohort()) == 3


def test_seed_cohort_for_another_centre_adds_only_the_missing_patients(db, settings):
    settings.DEBUG = True
    call_command("seed_cohort", patients=12, centre="Karolinska")
    assert len(cohort("Karolinska")) == 12
    call_command("seed_cohort", patients=15, centre="Karolinska")
    assert len(cohort("Karolinska")) == 15  # only the three missing ones are added
