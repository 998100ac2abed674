"""Settings are read from the environment strictly: bad values stop start-up with a message naming them."""

import os
import re
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

    source = (ROOT / "recovery" / "settings.py").read_text()
    read = set(re.findall(r'(?:env_\w+|os\.environ\.get)\(\s*"([A-Z_]+)"', source))
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read == listed


def test_the_release_steps_build_the_static_files_with_debug_off(tmp_path):
    """The README's release steps with DEBUG off: collectstatic builds the hashed, compressed files (every vendored
    file's references resolve, e.g. no source map a file names but the vendor folder lacks), and the login page
    then renders with the hashed names."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}},
        "DEBUG": "0",
        "SECRET_KEY": "release-check-" + "x" * 50,
        "RESEARCH_PSEUDONYM_KEY": "release-check-pseudonym-" + "x" * 40,
        "ALLOWED_HOSTS": "recovery.example.org",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "VAR_DIR": str(tmp_path),
    }
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert collected.returncode == 0, collected.stderr[-2000:]
    manifest = tmp_path / "staticfiles" / "staticfiles.json"
    assert manifest.exists()
    assert "vendor/chartjs/chart.umd.min.js" in manifest.read_text()
    page = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.test import Client; "
            "r = Client(HTTP_HOST='recovery.example.org').get('/accounts/login/', secure=True); "
            "print(r.status_code); print(r.content.decode())",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "recovery.settings"},
        capture_output=True,
        text=True,
    )
    status, _, html = page.stdout.partition("\n")
    assert status == "200", page.stderr[-2000:]
    assert re.search(r'/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css"', html)  # the manifest's name
