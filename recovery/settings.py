"""Settings for the recovery tracker.

Every value that differs between deployments comes from the environment and is parsed strictly:
a malformed value stops start-up with a message that names the variable. Secrets have no
production defaults.
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "accounts.apps.SecondFactorAdminConfig",  # django.contrib.admin, with the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "csp",
    "accounts",
    "recovery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "recovery.middleware.ContentSecurityPolicyMiddleware",
    "recovery.middleware.PermissionsPolicyMiddleware",
    "recovery.middleware.RequestIdMiddleware",
    "recovery.middleware.RefuseControlCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (the language cookie, then Accept-Language, else English); UserLanguageMiddleware then
    # puts the signed-in person's own setting first.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "recovery.middleware.NoStoreMiddleware",
    "recovery.middleware.TimezoneMiddleware",
    "recovery.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",  # after messages: it says why a session ended
    "accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "recovery.urls"
WSGI_APPLICATION = "recovery.wsgi.application"
ASGI_APPLICATION = "recovery.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "recovery.context_processors.navigation",
            ],
        },
    },
]

# Database: DATABASE_URL, e.g. postgres://user:password@host:5432/recovery.
# Without it, an SQLite file under var/ so that a first run needs no server.
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'recovery.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL could not be parsed: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: the lists' queries are short, and PostgreSQL's estimate for a filter over every
    # patient's local date can set it off, spending more on compiling than the query takes (measured: hundreds of
    # ms per list page at 50,000 patients).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a Celery worker started by a test sees the same test database; one per
    # test process, so that two test runs on one machine do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    # IMMEDIATE: a transaction takes the write lock when it begins and waits for it (up to the timeout), instead
    # of failing at once with "database is locked" when it reads first and then writes while another process
    # (the Celery worker beside the dev server) writes.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.AccountSlowdownBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Passwords: at least PASSWORD_MIN_LENGTH characters and not one of the 20,000 most common passwords (Django's
# offline list, drawn from breach corpora). The demo password is set directly by seed_demo (DEBUG only).
PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 12)
if PASSWORD_MIN_LENGTH < 8:  # OWASP ASVS 6.2.1: never fewer than 8
    raise ImproperlyConfigured(f"PASSWORD_MIN_LENGTH must be 8 or more (it is {PASSWORD_MIN_LENGTH}).")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "recovery:home"
LOGOUT_REDIRECT_URL = "accounts:login"
# A password-reset (or invitation) link works once, for this long.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_SECONDS", 60 * 60)
# At most this many reset e-mails asked for per address, and per e-mail address, in the window.
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_LIMIT_PER_ADDRESS", 5)
PASSWORD_RESET_LIMIT_PER_EMAIL = env_int("PASSWORD_RESET_LIMIT_PER_EMAIL", 5)
PASSWORD_RESET_LIMIT_WINDOW_MINUTES = env_int("PASSWORD_RESET_LIMIT_WINDOW_MINUTES", 60)
# How long the link that confirms a patient's new login e-mail address works (it goes to the new address).
EMAIL_CHANGE_LINK_MAX_AGE_SECONDS = env_int("EMAIL_CHANGE_LINK_MAX_AGE_SECONDS", 60 * 60)

# Failed-login lockout: by the pair (username, client address), after 5 failures, for 15 minutes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# 15 minutes from the lockout, not from the latest retry: someone retrying is not punished for longer.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_VERBOSE = False
# Every failure is kept (for the per-account count below); old rows go with `axes_reset_logs`.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The client address, for the lockout, the reset limits and audit rows alike: behind TRUSTED_PROXY_COUNT reverse
# proxies that each append the address they were called from to X-Forwarded-For, the client is the
# TRUSTED_PROXY_COUNT-th entry from the right (entries further left are whatever the client sent); with none,
# REMOTE_ADDR and the header is ignored (recovery.middleware.client_ip).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 or more (it is {TRUSTED_PROXY_COUNT}).")
AXES_CLIENT_IP_CALLABLE = "recovery.middleware.client_ip"
# Per account, across all addresses: after this many failures within the window, each further attempt
# from a browser that has not signed in to that account before waits (doubling from LOGIN_ACCOUNT_DELAY_SECONDS
# up to LOGIN_ACCOUNT_DELAY_MAX_SECONDS) instead of being blocked, so nobody can lock a user out from afar.
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", 20)
LOGIN_ACCOUNT_WINDOW_MINUTES = env_int("LOGIN_ACCOUNT_WINDOW_MINUTES", 60)
LOGIN_ACCOUNT_DELAY_SECONDS = env_int("LOGIN_ACCOUNT_DELAY_SECONDS", 5)
LOGIN_ACCOUNT_DELAY_MAX_SECONDS = env_int("LOGIN_ACCOUNT_DELAY_MAX_SECONDS", 300)
# The signed "device cookie" a browser gets when it signs in (OWASP): it exempts that browser from the wait above.
LOGIN_DEVICE_COOKIE_DAYS = env_int("LOGIN_DEVICE_COOKIE_DAYS", 180)

# Swedish and English: the signed-in person's setting (a patient's preferred language, a member of staff's own
# language), else the browser's, else English (recovery.middleware.UserLanguageMiddleware). The catalogue is
# locale/sv/LC_MESSAGES/django.po, built by `make messages` and checked by tests/test_translations.py.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("sv", "Svenska")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "language"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
LANGUAGE_COOKIE_HTTPONLY = True
# Dates, times and numbers in the active language's formats: recovery/formats/en is British English (3 Dec 2026),
# Swedish is Django's own (decimal comma, 3 december 2026, 14:30). No thousands separator: a number
# shown is also a number typed back into a form, and "1 234" is no valid input.
FORMAT_MODULE_PATH = ["recovery.formats"]
USE_THOUSAND_SEPARATOR = False
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail. The console backend prints messages when DEBUG is on and no backend is named; SMTP otherwise.
# `EMAIL_BACKEND=disabled` is a service without email: messages on that channel are recorded as failed, never
# as sent. With DEBUG off a development backend (console, file, in-memory) stops start-up unless
# EMAIL_ALLOW_DEV_BACKEND=1 (a staging server that must not mail anyone).
EMAIL_DISABLED_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
_DEV_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
}
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
if EMAIL_BACKEND == "disabled":
    EMAIL_BACKEND = EMAIL_DISABLED_BACKEND
EMAIL_ALLOW_DEV_BACKEND = env_bool("EMAIL_ALLOW_DEV_BACKEND", False)
if not DEBUG and EMAIL_BACKEND in _DEV_EMAIL_BACKENDS and not EMAIL_ALLOW_DEV_BACKEND:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND is {EMAIL_BACKEND}, a development backend that sends nothing, and DEBUG is off: name a real "
        "one (e.g. django.core.mail.backends.smtp.EmailBackend), or EMAIL_BACKEND=disabled for a service without "
        "email, or set EMAIL_ALLOW_DEV_BACKEND=1 on a staging server."
    )
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds; never unbounded: a send must end within its lease
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "recovery-tracker@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address people open the app at, for links in emails and text messages.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")

# Second factor (accounts/mfa.py): an authenticator app (TOTP) with recovery codes, or a passkey. Staff and
# administrators without one are sent to set one up and reach nothing else while this is on; patients are offered it.
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", not DEBUG)
MFA_MAX_WRONG_CODES = env_int("MFA_MAX_WRONG_CODES", 5)  # then the sign-in starts again from the password
MFA_RECOVERY_CODE_COUNT = 10
OTP_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Recovery tracker")
# Each wrong code doubles the wait before the device checks another (1 s, 2 s, 4 s, ...), until a right one.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Passkeys: the relying party is the site's host name (from SITE_URL unless WEBAUTHN_RP_ID says otherwise), and
# only the site's own origin may use them. A passkey is a second factor after the password, never instead of it.
_SITE = urlsplit(SITE_URL)
OTP_WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID", _SITE.hostname or "localhost")
OTP_WEBAUTHN_RP_NAME = env_str("WEBAUTHN_RP_NAME", "Recovery tracker")
# Browsers offer passkeys only over HTTPS or on localhost: a site served otherwise (e.g. at a bare IP) offers none.
_SITE_CAN_USE_PASSKEYS = _SITE.scheme == "https" or _SITE.hostname == "localhost"
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list(
    "WEBAUTHN_ALLOWED_ORIGINS", [f"{_SITE.scheme}://{_SITE.netloc}"] if _SITE_CAN_USE_PASSKEYS else []
)
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False

# Text messages (SMS). The console backend logs them; `recovery.sms.FileBackend` appends them to
# SMS_FILE_PATH; `recovery.sms.HttpBackend` posts them to the provider at SMS_HTTP_URL; `disabled`
# (recovery.sms.DisabledBackend) is a service without text messages: they are recorded as failed, never as sent.
# With DEBUG off the backend must be named, and a development one stops start-up unless SMS_ALLOW_DEV_BACKEND=1.
SMS_DISABLED_BACKEND = "recovery.sms.DisabledBackend"
_DEV_SMS_BACKENDS = {"recovery.sms.ConsoleBackend", "recovery.sms.FileBackend"}
SMS_BACKEND = env_str("SMS_BACKEND", "recovery.sms.ConsoleBackend" if DEBUG else "")
if SMS_BACKEND == "disabled":
    SMS_BACKEND = SMS_DISABLED_BACKEND
SMS_ALLOW_DEV_BACKEND = env_bool("SMS_ALLOW_DEV_BACKEND", False)
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(VAR_DIR / "sms.jsonl"))
SMS_HTTP_URL = env_str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN", "")
if not DEBUG:
    if not SMS_BACKEND:
        raise ImproperlyConfigured(
            "SMS_BACKEND is required when DEBUG is off: recovery.sms.HttpBackend (with SMS_HTTP_URL and "
            "SMS_HTTP_TOKEN), or SMS_BACKEND=disabled for a service without text messages."
        )
    if SMS_BACKEND in _DEV_SMS_BACKENDS and not SMS_ALLOW_DEV_BACKEND:
        raise ImproperlyConfigured(
            f"SMS_BACKEND is {SMS_BACKEND}, a development backend that sends nothing to patients, and DEBUG is off: "
            "use recovery.sms.HttpBackend, or SMS_BACKEND=disabled, or set SMS_ALLOW_DEV_BACKEND=1 on a staging server."
        )
    if SMS_BACKEND == "recovery.sms.HttpBackend" and not (SMS_HTTP_URL and SMS_HTTP_TOKEN):
        raise ImproperlyConfigured(
            "SMS_BACKEND is recovery.sms.HttpBackend and DEBUG is off: SMS_HTTP_URL and SMS_HTTP_TOKEN are required."
        )
SMS_HTTP_SENDER = env_str("SMS_HTTP_SENDER", "Recovery")
SMS_HTTP_TIMEOUT_SECONDS = env_int("SMS_HTTP_TIMEOUT_SECONDS", 10)

# Security: strict by default when DEBUG is off; each can be relaxed from the environment
# (for example behind a TLS-terminating proxy that already redirects).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_REFERRER_POLICY = "same-origin"
# HSTS preloading commits the whole domain (often the hospital's) to HTTPS for ever: the hospital decides.
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [] if SECURE_HSTS_PRELOAD else ["security.W021"])
if not OTP_WEBAUTHN_ALLOWED_ORIGINS:  # passkeys are off (see above), not misconfigured
    SILENCED_SYSTEM_CHECKS.append("otp_webauthn.E030")
X_FRAME_OPTIONS = "DENY"
# Sessions end after this long without activity (staff, patients) and, whatever the activity, this long after
# signing in; staff session cookies also end when the browser closes. A warning shows this long before the end.
SESSION_IDLE_MINUTES_STAFF = env_int("SESSION_IDLE_MINUTES_STAFF", 30)
SESSION_IDLE_MINUTES_PATIENT = env_int("SESSION_IDLE_MINUTES_PATIENT", 12 * 60)
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12)
SESSION_WARNING_SECONDS = env_int("SESSION_WARNING_SECONDS", 120)
if min(SESSION_IDLE_MINUTES_STAFF, SESSION_IDLE_MINUTES_PATIENT, SESSION_ABSOLUTE_HOURS) < 1:
    raise ImproperlyConfigured(
        "SESSION_IDLE_MINUTES_STAFF, SESSION_IDLE_MINUTES_PATIENT and SESSION_ABSOLUTE_HOURS must be 1 or more."
    )
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", SESSION_ABSOLUTE_HOURS * 60 * 60)

# API tokens (accounts.ApiToken): stored as a SHA-256 hash, shown once. A token from POST /api/v1/auth/token/
# lasts API_TOKEN_DAYS; one made on the "API tokens" page lasts what its owner chooses, up to API_TOKEN_MAX_DAYS.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 30)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 90)
if not 1 <= API_TOKEN_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured(
        f"API_TOKEN_DAYS must be between 1 and API_TOKEN_MAX_DAYS (now {API_TOKEN_DAYS} and {API_TOKEN_MAX_DAYS})."
    )
# A token's "last used" time is written at most this often, not on every request.
API_TOKEN_LAST_USED_INTERVAL_SECONDS = env_int("API_TOKEN_LAST_USED_INTERVAL_SECONDS", 60)
# Another site's window cannot keep a handle on ours (SecurityMiddleware sends it; named here so it is seen).
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy, enforced (django-csp; recovery.middleware.ContentSecurityPolicyMiddleware sends it).
# Scripts, styles, fonts and fetches come from this site only; no inline script, style or event attribute
# anywhere (tests/test_security_headers.py checks every page). Only the admin site, whose own templates carry an
# inline <style>, gets 'unsafe-inline' for styles (never for scripts), and, with DEBUG on, DRF's browsable API page
# (see recovery.middleware.ContentSecurityPolicyMiddleware). CSP_REPORT_URI, when set, is where browsers report a
# blocked resource.
# (Not a setting named CSP_*: django-csp's system check takes those for its old, pre-4.0 settings.)
_csp_report_uri = env_str("CSP_REPORT_URI", "")
if _csp_report_uri and not re.fullmatch(r"(https?://|/)[^\s;,'\"]+", _csp_report_uri):
    raise ImproperlyConfigured(
        f"CSP_REPORT_URI must be an http(s) address or a path starting with / (no spaces, ';' or ','); "
        f"got {_csp_report_uri!r}."
    )
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        **({"report-uri": [_csp_report_uri]} if _csp_report_uri else {}),
    },
}
# What the browser may use on our pages: nothing that a recovery tracker does not need; passkeys (WebAuthn) for
# this site only.
PERMISSIONS_POLICY = {
    "accelerometer": "()",
    "autoplay": "()",
    "camera": "()",
    "display-capture": "()",
    "encrypted-media": "()",
    "geolocation": "()",
    "gyroscope": "()",
    "hid": "()",
    "idle-detection": "()",
    "magnetometer": "()",
    "microphone": "()",
    "midi": "()",
    "payment": "()",
    "publickey-credentials-create": "(self)",
    "publickey-credentials-get": "(self)",
    "screen-wake-lock": "()",
    "serial": "()",
    "usb": "()",
    "xr-spatial-tracking": "()",
    "browsing-topics": "()",
}

# REST API: token first so that a request without credentials gets 401, not 403.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "recovery.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "recovery.api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "recovery.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")
SPECTACULAR_SETTINGS = {
    "TITLE": "Recovery tracker API",
    "DESCRIPTION": "Public JSON API, version 1: patients through aHSCT for multiple sclerosis.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set that two fields share (neutrophil and platelet engraftment state).
    "ENUM_NAME_OVERRIDES": {
        "EngraftmentStateEnum": "recovery.queries.labs.ENGRAFTMENT_STATES",
        # a patient's phase, and the phase before and after a transplant change that needs confirmation
        "PhaseEnum": "recovery.api.serializers.PHASE_CHOICES",
    },
}

# Celery. Redis is the production broker. With DEBUG on and no broker named, kombu's
# filesystem transport under var/ lets `make run` work on a bare machine.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if not CELERY_BROKER_URL:
    if not DEBUG:
        raise ImproperlyConfigured("CELERY_BROKER_URL is required when DEBUG is off (e.g. redis://host:6379/0).")
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
# The cache holds the password-reset request counts, which every web process must share: set CACHE_URL (a Redis
# URL, e.g. redis://host:6379/1, another database than the broker's) in production. Without it, the memory of
# each process (development).
CACHE_URL = env_str("CACHE_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "rt"}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 5 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 4 * 60)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# FHIR bulk $export (docs/fhir-bulk-export.md): patients per batch (one transaction, one NDJSON part per type),
# and how many days an export and its files are kept before the sweep deletes them.
BULK_EXPORT_BATCH_SIZE = env_int("BULK_EXPORT_BATCH_SIZE", 200)
BULK_EXPORT_RETENTION_DAYS = env_int("BULK_EXPORT_RETENTION_DAYS", 7)
if BULK_EXPORT_BATCH_SIZE < 1 or BULK_EXPORT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("BULK_EXPORT_BATCH_SIZE and BULK_EXPORT_RETENTION_DAYS must be at least 1.")

# How often beat records a heartbeat, and how old the last one may be before /healthz says 503.
HEARTBEAT_INTERVAL_SECONDS = env_int("HEARTBEAT_INTERVAL_SECONDS", 60)
HEARTBEAT_MAX_AGE_SECONDS = env_int("HEARTBEAT_MAX_AGE_SECONDS", 300)

# Reminders and messages (see recovery/services/reminders/planning.py). Rows are planned this many days ahead;
# the dispatcher claims due rows in batches, holds each claim for a lease, retries a failing row with
# exponential backoff and marks it failed after the last attempt. Several dispatcher tasks run at once
# when many rows are due; each stops after its time budget and the next wake-up carries on.
REMINDER_PLAN_AHEAD_DAYS = env_int("REMINDER_PLAN_AHEAD_DAYS", 14)
NOTIFY_BATCH_SIZE = env_int("NOTIFY_BATCH_SIZE", 200)
NOTIFY_LEASE_SECONDS = env_int("NOTIFY_LEASE_SECONDS", 120)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5)
NOTIFY_BACKOFF_SECONDS = env_int("NOTIFY_BACKOFF_SECONDS", 60)
NOTIFY_TASK_BUDGET_SECONDS = env_int("NOTIFY_TASK_BUDGET_SECONDS", 50)
NOTIFY_MAX_PARALLEL = env_int("NOTIFY_MAX_PARALLEL", 4)
# A claim must outlast any single send, or a slow provider could see a message twice.
if 2 * max(SMS_HTTP_TIMEOUT_SECONDS, EMAIL_TIMEOUT) >= NOTIFY_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "NOTIFY_LEASE_SECONDS must be more than twice SMS_HTTP_TIMEOUT_SECONDS and EMAIL_TIMEOUT "
        f"(now {NOTIFY_LEASE_SECONDS}, {SMS_HTTP_TIMEOUT_SECONDS} and {EMAIL_TIMEOUT})."
    )
NOTIFY_DISPATCH_INTERVAL_SECONDS = env_int("NOTIFY_DISPATCH_INTERVAL_SECONDS", 60)
REMINDER_PLAN_INTERVAL_SECONDS = env_int("REMINDER_PLAN_INTERVAL_SECONDS", 3600)
# Planning that scales out: every REMINDER_PLAN_INTERVAL_SECONDS the planning dispatcher hands out, in batch
# tasks of REMINDER_PLAN_BATCH_SIZE patients (soonest planning horizon first, at most
# REMINDER_PLAN_MAX_PER_RUN a run), the patients in follow-up whose reminders were last planned more than
# REMINDER_PLAN_REFRESH_HOURS ago; a handed-out patient is not handed out again for
# REMINDER_PLAN_LEASE_SECONDS (a batch that died is picked again after it). A change to a patient's record
# re-plans them at once, whatever these say.
REMINDER_PLAN_BATCH_SIZE = env_int("REMINDER_PLAN_BATCH_SIZE", 200)
REMINDER_PLAN_REFRESH_HOURS = env_int("REMINDER_PLAN_REFRESH_HOURS", 24)
REMINDER_PLAN_MAX_PER_RUN = env_int("REMINDER_PLAN_MAX_PER_RUN", 50_000)
REMINDER_PLAN_LEASE_SECONDS = env_int("REMINDER_PLAN_LEASE_SECONDS", REMINDER_PLAN_INTERVAL_SECONDS)
if not 1 <= REMINDER_PLAN_REFRESH_HOURS < 24 * REMINDER_PLAN_AHEAD_DAYS:
    raise ImproperlyConfigured(
        "REMINDER_PLAN_REFRESH_HOURS must be at least 1 and less than REMINDER_PLAN_AHEAD_DAYS in hours "
        f"(now {REMINDER_PLAN_REFRESH_HOURS} and {REMINDER_PLAN_AHEAD_DAYS} days), or the planned reminders run out."
    )
if REMINDER_PLAN_BATCH_SIZE < 1 or REMINDER_PLAN_MAX_PER_RUN < 1 or REMINDER_PLAN_LEASE_SECONDS < 1:
    raise ImproperlyConfigured(
        "REMINDER_PLAN_BATCH_SIZE, REMINDER_PLAN_MAX_PER_RUN and REMINDER_PLAN_LEASE_SECONDS must be at least 1."
    )
# Stored outcome summaries (services/outcome_summaries.py): patients computed per task by the sweep of marked
# patients and by the daily refresh of everyone.
OUTCOME_REFRESH_BATCH_SIZE = env_int("OUTCOME_REFRESH_BATCH_SIZE", 500)
if OUTCOME_REFRESH_BATCH_SIZE < 1:
    raise ImproperlyConfigured(f"OUTCOME_REFRESH_BATCH_SIZE must be 1 or more (now {OUTCOME_REFRESH_BATCH_SIZE}).")
# Stored current phase (services/phases.py): patients read, computed and written per batch by `refresh_phases`
# (the hourly refresh of patients whose phase may have moved, and the command run after an upgrade).
PHASE_REFRESH_BATCH_SIZE = env_int("PHASE_REFRESH_BATCH_SIZE", 2000)
if PHASE_REFRESH_BATCH_SIZE < 1:
    raise ImproperlyConfigured(f"PHASE_REFRESH_BATCH_SIZE must be 1 or more (now {PHASE_REFRESH_BATCH_SIZE}).")
# Stored figures of the pages that aggregate over a centre's patients (recovery/services/analytics.py): shown
# as they are for this long, then shown while a Celery task on the "analytics" queue computes them again; a
# refresh is claimed for at most ANALYTICS_REFRESH_LEASE_SECONDS (a worker that died is replaced after it).
ANALYTICS_MAX_AGE_SECONDS = env_int("ANALYTICS_MAX_AGE_SECONDS", 300)
ANALYTICS_REFRESH_LEASE_SECONDS = env_int("ANALYTICS_REFRESH_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT)
if ANALYTICS_MAX_AGE_SECONDS < 1 or ANALYTICS_REFRESH_LEASE_SECONDS < 1:
    raise ImproperlyConfigured("ANALYTICS_MAX_AGE_SECONDS and ANALYTICS_REFRESH_LEASE_SECONDS must be at least 1.")


# Stored vaccination plans (services/vaccination_plans.py): patients computed per batch by the sweep and the rebuild.
VACCINATION_REFRESH_BATCH_SIZE = env_int("VACCINATION_REFRESH_BATCH_SIZE", 500)
if VACCINATION_REFRESH_BATCH_SIZE < 1:
    raise ImproperlyConfigured(
        f"VACCINATION_REFRESH_BATCH_SIZE must be 1 or more (now {VACCINATION_REFRESH_BATCH_SIZE})."
    )

# Data protection (docs/operations.md). The research export names each patient by an HMAC-SHA256 of their
# UUID with this key: keep it secret and keep it stable (a new key gives every patient a new pseudonym).
RESEARCH_PSEUDONYM_KEY = env_str("RESEARCH_PSEUDONYM_KEY")
if not RESEARCH_PSEUDONYM_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("RESEARCH_PSEUDONYM_KEY is required when DEBUG is off (a long random string).")
    RESEARCH_PSEUDONYM_KEY = "insecure-development-pseudonym-key"
# Patientdatalagen 3 kap. 17 §: a record is kept at least 10 years after its last entry; the daily retention
# job erases deactivated patients' records once this many years have passed.
RETENTION_YEARS = env_int("RETENTION_YEARS", 10)
if RETENTION_YEARS < 10:
    raise ImproperlyConfigured(
        f"RETENTION_YEARS must be at least 10 (the Patient Data Act's minimum); got {RETENTION_YEARS}."
    )

DEMO_PASSWORD = "demo"  # noqa: S105 (seed_demo refuses to run with DEBUG off)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}


def _validate_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"DEFAULT_PATIENT_TIMEZONE is not an IANA timezone: {name!r}.") from None


DEFAULT_PATIENT_TIMEZONE = env_str("DEFAULT_PATIENT_TIMEZONE", "Europe/Stockholm")
_validate_timezone(DEFAULT_PATIENT_TIMEZONE)
