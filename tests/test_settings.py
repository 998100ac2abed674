"""Settings are read from the environment strictly: bad values stop start-up with a message naming them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Each case starts a Python process: part of `make test`, not of the quicker `make check`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _import_settings(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "CELERY_BROKER_URL"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import recovery.settings"], cwd=ROOT, env=clean, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0", "CELERY_BROKER_URL": "redis://x"}, "SECRET_KEY is required when DEBUG is off"),
        ({"DEBUG": "0", "SECRET_KEY": "s" * 50}, "CELERY_BROKER_URL is required when DEBUG is off"),
        ({"DEBUG": "maybe"}, "DEBUG must be one of"),
        ({"DEBUG": "1", "HEARTBEAT_INTERVAL_SECONDS": "soon"}, "HEARTBEAT_INTERVAL_SECONDS must be a whole number"),
        ({"DEBUG": "1", "DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"DEBUG": "1", "DEFAULT_PATIENT_TIMEZONE": "Mars/Base"}, "not an IANA timezone"),
        ({"DEBUG": "1", "NOTIFY_LEASE_SECONDS": "20"}, "NOTIFY_LEASE_SECONDS must be more than twice"),
    ],
    ids=["no-secret", "no-broker", "bad-bool", "bad-int", "bad-db-url", "bad-timezone", "lease-shorter-than-a-send"],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(env, message):
    """Each misconfiguration fails at import with a message that names the variable."""
    result = _import_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_debug_without_a_broker_uses_the_filesystem_transport():
    """With DEBUG on and no broker named, Celery uses kombu's filesystem transport under var/."""
    result = subprocess.run(
        [sys.executable, "-c", "import recovery.settings as s; print(s.CELERY_BROKER_URL, s.TIME_ZONE)"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}, "DEBUG": "1"},
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["filesystem://", "UTC"]


def test_env_example_lists_every_variable_the_settings_read():
    """.env.example names every environment variable that recovery/settings.py reads, and no stale ones."""
    import re

    source = (ROOT / "recovery" / "settings.py").read_text()
    read = set(re.findall(r'(?:env_\w+|os\.environ\.get)\(\s*"([A-Z_]+)"', source))
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read == listed
