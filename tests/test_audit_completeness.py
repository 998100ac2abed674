"""Every page and API response that shows patient data writes an audit row: walked over EVERY URL of the project.

Each named URL is GET by every role the access matrix (tests/test_access_matrix.py) lets see it (200): staff and
the patient alike. A 200 must leave at least one new AuditEvent, and one about the cast's patient when the URL
is about that patient. The URLs that show no patient data are listed below, each with its reason: a new URL
fails here until it is either audited or classified.

The admin site is walked the same way: each registered model's list, change, history and delete pages, as a
superuser. A model whose rows are about a patient must audit those pages (recovery.admin.AuditedReadsAdmin);
the others are listed with their reason.
"""

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import get_resolver, reverse
from django.utils import timezone

from accounts.models import User
from recovery.models import (
    AuditEvent,
    LabImport,
    Notification,
    Patient,
    ReminderSettings,
    TransplantEpisode,
)
from recovery.models.notifications import Audience, Channel, NotificationKind, NotificationStatus
from tests.factories import UserFactory
from tests.test_access_matrix import (
    MATRIX,
    _module_cast,  # noqa: F401 (the matrix's cast, a module fixture)
    _url,
    _url_names,
)

pytestmark = pytest.mark.slow

# URL name -> why its GET shows no patient data (so it writes no audit row).
NO_PATIENT_DATA = {
    "recovery:home": "redirects to the role's home page",
    "recovery:patient-create": "an empty enrolment form",
    "recovery:apheresis-add": "GET redirects to the transplant page (audited); its POST is audited by the service",
    "recovery:outcome-add": "GET redirects to the outcomes page (audited); its POST is audited by the service",
    "recovery:lab-panel-add": "GET redirects to the labs page (audited); its POST is audited by the service",
    "recovery:transfusion-add": "GET redirects to the labs page (audited); its POST is audited by the service",
    "recovery:engraftment-confirm": "GET redirects to the labs page (audited); its POST is audited by the service",
    "recovery:checkin-question": "a check-in step: only what the patient typed this session (the first step is "
    "audited, the report by the service); without a check-in in progress, a redirect to the first step",
    "recovery:checkin-details": "a check-in step, as above",
    "recovery:checkin-answers": "a check-in step, as above; Send records the report through the audited service",
    "recovery:lab-import": "the upload form: names no patient",
    "recovery:lab-import-template": "an example CSV with made-up values",
    "recovery:inbox-read": "POST only (405 to a GET); marks the user's own messages read",
    "accounts:login": "the sign-in form",
    "accounts:logout": "POST only",
    "accounts:password-change": "the user's own password form",
    "accounts:set-language": "POST only: the viewer's own language (a patient's is saved by update_patient, audited)",
    "accounts:password-change-done": "a confirmation",
    "accounts:password-reset": "the reset form",
    "accounts:password-reset-done": "a confirmation",
    "accounts:password-reset-confirm": "the new-password form",
    "accounts:password-reset-complete": "a confirmation",
    "healthz": "the service's health, no data",
    "api:token": "POST only: exchanges a password for a token",
    "api:me": "the signed-in user's own account (name, role, centres), not a patient's health data",
    "api:relapse-detail": "PATCH only (405 to a GET); the classification is audited by the service",
    "api:alert-acknowledge": "POST only; audited by the service",
    "api:alert-resolve": "POST only; audited by the service",
    "api:schema": "the API's description",
    "fhir:bulk-export": "a bulk export's kick-off: queues the export (audited by the service), answers with a URL",
    "fhir:bulk-export-group": "a bulk export's kick-off, as above",
    "fhir:bulk-export-status": "a bulk export's progress or manifest: file URLs and counts, no patient",
    "api:docs": "the API's documentation page",
    "fhir:batch": "POST only (a laboratory's Bundle, audited by the service per patient); a GET is a 405",
    "fhir:metadata": "the FHIR CapabilityStatement: what the server offers, no patient",
    # the signed-in user's own account (their name in the menu, their own tokens and factors), no health data
    "accounts:api-tokens": "the user's own API tokens",
    "accounts:api-token-revoke": "POST only; audited by the service",
    "accounts:api-tokens-revoke-all": "POST only; audited by the service",
    "api:token-revoke": "POST only: ends the calling token, audited",
    "accounts:session-keep-alive": "how long the user's own session has left",
    "accounts:security": "the user's own second factors",
    "accounts:mfa-totp-setup": "setting up the user's own authenticator app",
    "accounts:mfa-totp-remove": "removing the user's own factor (audited)",
    "accounts:mfa-passkey-remove": "removing the user's own passkey (audited)",
    "accounts:mfa-recovery-codes": "the user's own recovery codes",
    "accounts:mfa-verify": "the second step of signing in",
    "otp_webauthn:credential-authentication-begin": "POST only: the passkey script's sign-in challenge",
    "otp_webauthn:credential-authentication-complete": "POST only: the passkey script's sign-in answer",
    "otp_webauthn:credential-registration-begin": "POST only: the passkey script's registration challenge",
    "otp_webauthn:credential-registration-complete": "POST only: the passkey script's registration answer",
    "otp_webauthn:js-i18n-catalog": "the passkey script's words",
}

# URL name -> why its GET, which shows figures about many patients and names none, is audited as ONE row naming
# the query (its filters and the number of patients) rather than one row per patient (issue 15). They are still
# walked below (a 200 must write a row); test_aggregate_pages_write_one_row_naming_the_query checks the one row.
AGGREGATE_PAGES = {
    "recovery:cohort": "the cohort's curves and safety figures: aggregate, audited as one cohort.view row",
    "api:cohort-outcomes": "the cohort's Kaplan-Meier estimates: aggregate, audited as one cohort.outcomes row",
}

# Admin URL names that are no model's pages.
ADMIN_PAGES_WITHOUT_PATIENT_DATA = {
    "admin:index": "the list of models",
    "admin:app_list": "the list of one app's models",
    "admin:login": "the sign-in form",
    "admin:logout": "POST only",
    "admin:password_change": "the administrator's own password form",
    "admin:password_change_done": "a confirmation",
    "admin:jsi18n": "translations for the admin's scripts",
    "admin:autocomplete": "search endpoint for the admin's own autocomplete fields (centres)",
    "admin:view_on_site": "a redirect to the object's page on the site (audited there)",
    "admin:otp_totp_totpdevice_config": "an authenticator app's set-up page (a login's factor, no health data)",
    "admin:otp_totp_totpdevice_qrcode": "an authenticator app's QR code (a login's factor, no health data)",
}
# Registered admin models that hold no patient data.
ADMIN_MODELS_WITHOUT_PATIENT_DATA = {
    "auth.Group": "permission groups",
    "axes.AccessAttempt": "sign-in attempts (username, address): security records, no health data",
    "axes.AccessLog": "sign-ins (username, address): security records, no health data",
    "axes.AccessFailureLog": "failed sign-ins (username, address): security records, no health data",
    "recovery.Heartbeat": "the workers' heartbeats",
    "recovery.ProtocolTemplate": "treatment protocols (templates, no patient)",
    "recovery.CentreConfiguration": "a centre's clinical settings",
    "accounts.Centre": "the centres",
    "accounts.ApiToken": "API tokens (owner, name, dates; never a secret): security records, no health data",
    "otp_totp.TOTPDevice": "authenticator apps of logins: security records, no health data",
    "otp_static.StaticDevice": "recovery codes of logins: security records, no health data",
}
ADMIN_PAGES = ("changelist", "change", "history", "delete")
ADMIN_ACTIONS = {
    "changelist": "admin.list",
    "change": "admin.view",
    "history": "admin.history",
    "delete": "admin.delete_form",
}

# The roles that may see data: each one the matrix gives a 200 is walked.
SEEING_ROLES = ("coordinator", "clinician", "patient", "anonymous")


@pytest.fixture(scope="module")
def audit_cast(_module_cast, django_db_blocker):  # noqa: F811 (the fixture imported above)
    """The access matrix's cast, plus what some pages need to show a patient: an import report line naming the
    patient, a notification and reminder settings (for their admin pages)."""
    patient = _module_cast["_patient"]
    with django_db_blocker.unblock():
        LabImport.objects.filter(pk=_module_cast["_lab_import"].pk).update(
            report=[
                {
                    "line": 2,
                    "outcome": "accepted",
                    "hospital_number": patient.hospital_number,
                    "test": "anc",
                    "value": "1.2",
                    "message": "",
                }
            ],
            accepted=1,
        )
        now = timezone.now()
        for role in ("coordinator", "clinician", "patient"):  # one delivered message about the patient each
            Notification.objects.create(
                patient=patient,
                recipient=_module_cast[role],
                audience=Audience.PATIENT if role == "patient" else Audience.STAFF,
                kind=NotificationKind.CHECKIN,
                channel=Channel.IN_APP,
                status=NotificationStatus.SENT,
                key=f"checkin:audit-completeness-{role}",
                dedupe_key=f"audit-completeness-{role}",
                due_at=now - timedelta(hours=1),
                next_attempt_at=now - timedelta(hours=1),
                sent_at=now - timedelta(hours=1),
            )
        ReminderSettings.objects.get_or_create(patient=patient)
        superuser = UserFactory(username="root-admin", role="", is_staff=True, is_superuser=True)
    return {**_module_cast, "_superuser": superuser}


@pytest.fixture
def cast(audit_cast, db):
    return audit_cast


def _site_url_names() -> list[str]:
    return sorted(name for name in _url_names(get_resolver().url_patterns) if not name.startswith("admin:"))


def test_every_url_is_audited_or_classified():
    """A URL that is neither walked below (some role sees it with 200) nor listed as showing no patient data
    fails: classify it."""
    unclassified = []
    for name in _site_url_names():
        if name in NO_PATIENT_DATA:
            continue
        statuses = MATRIX.get(name, (None, {}))[1]
        if not any(statuses.get(role) == 200 for role in SEEING_ROLES):
            unclassified.append(name)
    assert not unclassified, f"Audit these pages or list them in NO_PATIENT_DATA with a reason: {unclassified}"
    stale = set(NO_PATIENT_DATA) - set(_site_url_names())
    assert not stale, f"NO_PATIENT_DATA names no URL: {sorted(stale)}"


def _audited_names() -> list[str]:
    return [name for name in _site_url_names() if name not in NO_PATIENT_DATA and name in MATRIX]


def _named(body: str, patients) -> list[Patient]:
    """The patients a response names (by last name as a word, or by uuid)."""
    return [
        patient
        for patient in patients
        if re.search(rf"\b{re.escape(patient.last_name)}\b", body) or str(patient.uuid) in body
    ]


@pytest.mark.parametrize("name", _audited_names())
def test_every_page_showing_patient_data_writes_an_audit_row(name, cast, client_for, api_for):
    """GET by each role allowed to see it: 200, and a new audit row about each patient the response names, about
    the patient when the URL is about them or the role is the patient, and at least one in any case unless the
    response (a list, empty for this role) names no patient at all."""
    kind, statuses = MATRIX[name]
    url = _url(name, kind, cast)
    patient = cast["_patient"]
    patients = list(Patient.objects.filter(centre=patient.centre))
    wrong = []
    for role in SEEING_ROLES:
        if statuses.get(role) != 200:
            continue
        user = cast[role]
        api = name.startswith("api:")
        client = api_for(user) if api else client_for(user)
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.get(url)
        if response.status_code != 200:
            wrong.append(f"{role}: {response.status_code}, the matrix says 200")
            continue
        content = b"".join(response.streaming_content) if response.streaming else response.content
        body = content.decode(response.charset or "utf-8", "replace")
        new = AuditEvent.objects.filter(id__gt=last)
        about = set(new.values_list("patient_id", flat=True))
        must = {p.pk for p in _named(body, patients)}
        if kind not in (None, "lab_import") or role == "patient":
            must.add(patient.pk)
        if must - about:
            names = [p.full_name for p in patients if p.pk in must - about]
            actions = sorted(new.values_list("action", flat=True))
            wrong.append(f"{role}: shows {names} and writes no audit row about them ({actions})")
        elif not new.exists() and kind is not None:
            wrong.append(f"{role}: 200 and no audit row")
        elif kind != "calendar" and new.exclude(actor=user).exists():  # the calendar's token is its credential
            wrong.append(f"{role}: an audit row names another actor")
    assert not wrong, f"GET {url} ({name}): " + "; ".join(wrong)


@pytest.mark.parametrize("name", sorted(AGGREGATE_PAGES))
def test_aggregate_pages_write_one_row_naming_the_query(name, cast, client_for, api_for):
    """A page of aggregate figures names no patient: exactly one new audit row, about no patient, with the query
    (filters) and how many patients it covered; and the response names no patient."""
    kind, statuses = MATRIX[name]
    patients = list(Patient.objects.filter(centre=cast["_patient"].centre))
    for role in SEEING_ROLES:
        if statuses.get(role) != 200:
            continue
        user = cast[role]
        client = api_for(user) if name.startswith("api:") else client_for(user)
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.get(_url(name, kind, cast))
        assert response.status_code == 200
        assert _named(response.content.decode(), patients) == []
        new = list(AuditEvent.objects.filter(id__gt=last))
        assert len(new) == 1, f"{name} as {role}: {[e.action for e in new]}"
        assert (new[0].patient_id, new[0].actor) == (None, user)
        assert new[0].action.startswith("cohort.")
        assert set(new[0].detail) >= {"filters", "patients"}


# --- the admin site ---------------------------------------------------------------------------------------------


def _registered() -> dict[str, admin.ModelAdmin]:
    return {model._meta.label: model_admin for model, model_admin in admin.site._registry.items()}


def _is_about_patients(model) -> bool:
    if model in (Patient, User):
        return True
    return any(
        getattr(field, "related_model", None) in (Patient, TransplantEpisode)
        and (field.many_to_one or field.one_to_one)
        for field in model._meta.get_fields()
    )


def test_every_admin_model_is_audited_or_classified():
    """Each model registered in the admin is either about patients (and audited) or listed with a reason."""
    unclassified, unaudited = [], []
    for label, model_admin in _registered().items():
        if label in ADMIN_MODELS_WITHOUT_PATIENT_DATA:
            continue
        if not _is_about_patients(model_admin.model):
            unclassified.append(label)
        elif not hasattr(model_admin, "patient_ids"):
            unaudited.append(label)
    assert not unclassified, f"List these in ADMIN_MODELS_WITHOUT_PATIENT_DATA with a reason: {unclassified}"
    assert not unaudited, f"These admin pages show patient data and write no audit row: {unaudited}"
    names = {name for name in _url_names(get_resolver().url_patterns) if name.startswith("admin:")}
    model_pages = {name for name in names if name.rsplit("_", 1)[-1] in (*ADMIN_PAGES, "add")}
    assert names - model_pages - set(ADMIN_PAGES_WITHOUT_PATIENT_DATA) == set(), "classify the new admin pages"


def _object_of(model, patient: Patient):
    if model is Patient:
        return patient
    if model is User:
        return patient.user
    if any(field.name == "episode" for field in model._meta.get_fields()):  # a record of the patient's transplant
        return model._default_manager.filter(episode__patient=patient).first()
    return model._default_manager.filter(patient=patient).first()


PATIENT_ADMIN_MODELS = sorted(
    label
    for label, model_admin in _registered().items()
    if label not in ADMIN_MODELS_WITHOUT_PATIENT_DATA and _is_about_patients(model_admin.model)
)


@pytest.mark.parametrize("label", PATIENT_ADMIN_MODELS)
def test_admin_pages_about_a_patient_write_audit_rows(label, cast, client_for):
    """The list, change (view), history and delete pages of a model about patients each write an audit row
    about the patient shown."""
    model = _registered()[label].model
    patient = cast["_patient"]
    obj = _object_of(model, patient)
    assert obj is not None, f"seed a {label} of the patient in audit_cast"
    client = client_for(cast["_superuser"])
    info = (model._meta.app_label, model._meta.model_name)
    wrong = []
    for page in ADMIN_PAGES:
        args = [] if page == "changelist" else [obj.pk]
        url = reverse(f"admin:{info[0]}_{info[1]}_{page}", args=args)
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.get(url)
        if page == "delete" and not _registered()[label].has_delete_permission(response.wsgi_request, obj):
            if response.status_code != 403:  # audit rows are never deleted, not even offered
                wrong.append(f"{page}: {response.status_code}, expected 403")
        elif response.status_code != 200:
            wrong.append(f"{page}: {response.status_code}")
        elif not AuditEvent.objects.filter(id__gt=last, patient=patient, action=ADMIN_ACTIONS[page]).exists():
            wrong.append(f"{page}: no audit row about the patient")
    assert not wrong, f"{label}: " + "; ".join(wrong)
