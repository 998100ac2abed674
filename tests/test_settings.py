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


# What a production start needs besides the variable a test is about.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "s" * 50,
    "CELERY_BROKER_URL": "redis://x",
    "RESEARCH_PSEUDONYM_KEY": "p" * 50,
}
HTTP_SMS = {
    "SMS_BACKEND": "recovery.sms.HttpBackend",
    "SMS_HTTP_URL": "https://sms.example.org/v1/messages",
    "SMS_HTTP_TOKEN": "provider-token",
}


def _import_settings(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "CELERY_BROKER_URL"} and not k.startswith(("SMS_", "EMAIL_"))
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import recovery.settings as s; print(s.SMS_BACKEND); print(s.EMAIL_BACKEND)"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0", "CELERY_BROKER_URL": "redis://x", **HTTP_SMS}, "SECRET_KEY is required when DEBUG is off"),
        ({"DEBUG": "0", "SECRET_KEY": "s" * 50, **HTTP_SMS}, "CELERY_BROKER_URL is required when DEBUG is off"),
        ({"DEBUG": "maybe"}, "DEBUG must be one of"),
        ({"DEBUG": "1", "HEARTBEAT_INTERVAL_SECONDS": "soon"}, "HEARTBEAT_INTERVAL_SECONDS must be a whole number"),
        ({"DEBUG": "1", "DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"DEBUG": "1", "DEFAULT_PATIENT_TIMEZONE": "Mars/Base"}, "not an IANA timezone"),
        ({"DEBUG": "1", "NOTIFY_LEASE_SECONDS": "20"}, "NOTIFY_LEASE_SECONDS must be more than twice"),
        ({"DEBUG": "1", "API_TOKEN_DAYS": "120"}, "API_TOKEN_DAYS must be between 1 and API_TOKEN_MAX_DAYS"),
        (PRODUCTION, "SMS_BACKEND is required when DEBUG is off"),
        ({**PRODUCTION, "SMS_BACKEND": "recovery.sms.ConsoleBackend"}, "SMS_BACKEND is recovery.sms.ConsoleBackend"),
        ({**PRODUCTION, "SMS_BACKEND": "recovery.sms.FileBackend"}, "SMS_BACKEND is recovery.sms.FileBackend"),
        (
            {**PRODUCTION, "SMS_BACKEND": "recovery.sms.HttpBackend", "SMS_HTTP_URL": "https://sms.example.org"},
            "SMS_HTTP_URL and SMS_HTTP_TOKEN are required",
        ),
        (
            {**PRODUCTION, "SMS_BACKEND": "recovery.sms.HttpBackend", "SMS_HTTP_TOKEN": "t"},
            "SMS_HTTP_URL and SMS_HTTP_TOKEN are required",
        ),
        (
            {**PRODUCTION, **HTTP_SMS, "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"},
            "EMAIL_BACKEND is django.core.mail.backends.console.EmailBackend",
        ),
    ],
    ids=[
        "no-secret",
        "no-broker",
        "bad-bool",
        "bad-int",
        "bad-db-url",
        "bad-timezone",
        "lease-shorter-than-a-send",
        "token-days-over-the-maximum",
        "no-sms-backend",
        "console-sms",
        "file-sms",
        "http-sms-without-token",
        "http-sms-without-url",
        "console-email",
    ],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(env, message):
    """Each misconfiguration fails at import with a message that names the variable."""
    result = _import_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("env", "sms", "email"),
    [
        (HTTP_SMS, "recovery.sms.HttpBackend", "django.core.mail.backends.smtp.EmailBackend"),
        ({"SMS_BACKEND": "disabled"}, "recovery.sms.DisabledBackend", "django.core.mail.backends.smtp.EmailBackend"),
        (
            {"SMS_BACKEND": "recovery.sms.DisabledBackend", "EMAIL_BACKEND": "disabled"},
            "recovery.sms.DisabledBackend",
            "django.core.mail.backends.dummy.EmailBackend",
        ),
        (
            {
                "SMS_BACKEND": "recovery.sms.FileBackend",
                "SMS_ALLOW_DEV_BACKEND": "1",
                "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
                "EMAIL_ALLOW_DEV_BACKEND": "1",
            },
            "recovery.sms.FileBackend",
            "django.core.mail.backends.console.EmailBackend",
        ),
    ],
    ids=["http-provider", "sms-disabled", "both-disabled", "staging-allows-dev-backends"],
)
def test_with_debug_off_the_message_backends_start_when_named_explicitly(env, sms, email):
    """A production start with a provider, with a channel switched off, or with development backends allowed."""
    result = _import_settings(**PRODUCTION, **env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [sms, email]


def test_with_debug_on_the_message_backends_default_to_the_console():
    result = _import_settings(DEBUG="1")
    assert result.stdout.split() == ["recovery.sms.ConsoleBackend", "django.core.mail.backends.console.EmailBackend"]


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
        **HTTP_SMS,
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
