"""manage.py seed_demo: idempotent demo data, refused on a production-like system."""

import time

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Centre, Role, User
from recovery.models import Patient


def test_seed_demo_creates_one_login_per_role_and_is_idempotent(db, settings):
    """Running twice gives the same centre, three logins with password demo, and no duplicate patients."""
    settings.DEBUG = True
    call_command("seed_demo", patients=12)
    call_command("seed_demo", patients=12)
    assert Centre.objects.count() == 1
    for username, role in [("coordinator", Role.COORDINATOR), ("clinician", Role.CLINICIAN), ("patient", Role.PATIENT)]:
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password("demo")
    assert Patient.objects.filter(hospital_number__startswith="SYN-").count() == 12
    assert Patient.objects.get(user__username="patient").centre == Centre.objects.get()
    assert set(User.objects.get(username="coordinator").centres.all()) == {Centre.objects.get()}


def test_seed_demo_refuses_with_debug_off_unless_forced(db, settings):
    """With DEBUG off the command refuses, so no demo password reaches a real system by accident."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo", patients=1)
    assert not User.objects.exists()
    call_command("seed_demo", patients=1, force=True)
    assert User.objects.filter(username="coordinator").exists()


def test_seed_demo_handles_five_thousand_patients(db, settings, capsys):
    """5,000 synthetic patients are created in reasonable time (the figure is printed, not asserted)."""
    settings.DEBUG = True
    started = time.perf_counter()
    call_command("seed_demo", patients=5000)
    elapsed = time.perf_counter() - started
    assert Patient.objects.filter(hospital_number__startswith="SYN-").count() == 5000
    with capsys.disabled():
        print(f"\nseed_demo --patients 5000: {elapsed:.1f} s")  # noqa: T201 (a printed figure, not an assertion)


def test_demo_covers_every_phase_and_has_open_alerts_of_each_severity(db, settings):
    """The demo shows every phase, the demo patient on Day +9, and an open alert of each severity."""
    from recovery.models import Alert
    from recovery.services.configuration import DEFAULT_CONFIG
    from recovery.services.timeline import current_state

    settings.DEBUG = True
    call_command("seed_demo")
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
    demo = Patient.objects.get(user__username="patient")
    assert current_state(demo, DEFAULT_CONFIG).day == 9
    open_severities = set(Alert.objects.filter(status="open").values_list("severity", flat=True))
    assert open_severities == {"urgent", "same_day", "routine"}
