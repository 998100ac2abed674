"""The role x URL access matrix: every page and API path, every role, the expected status.

A URL added to the project without a row here fails `test_every_url_is_in_the_matrix`.
The patient whose data is requested is always `patient` (centre A). Another centre's staff and another
patient must get 404 for it: for them it does not exist.
"""

from datetime import timedelta

import pytest
from django.test.utils import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Role
from recovery.models import BulkExport, BulkExportFile, BulkExportStatus, CareTask, Heartbeat, LabImport, Relapse
from recovery.services.audit import AuditContext
from recovery.services.symptoms import record_symptom_report
from tests.conftest import FAST_HASHERS, kept_for_the_module
from tests.factories import CentreFactory, UserFactory, api_token_for, patient_with_login, transplant

# Every URL for every role: part of `make test`, not of the quicker `make check`.
pytestmark = pytest.mark.slow

ROLES = [
    "anonymous",
    "coordinator",
    "clinician",
    "patient",
    "other_patient",
    "other_centre_coordinator",
    "other_centre_clinician",
]

# Django's admin is gated by Django itself (is_staff); its index stands for it in the matrix.
EXCLUDED_NAMESPACES = {"admin"}
ALWAYS_CHECKED = {"admin:index"}

LOGIN = "login"  # a redirect to the login page


def _row(anonymous, coordinator, clinician, patient, other_patient, other_coordinator, other_clinician):
    return dict(
        zip(
            ROLES,
            [anonymous, coordinator, clinician, patient, other_patient, other_coordinator, other_clinician],
            strict=True,
        )
    )


def _all(status):
    return _row(*([status] * len(ROLES)))


def _signed_in(status, anonymous=LOGIN):
    return _row(anonymous, *([status] * (len(ROLES) - 1)))


# url name -> (kwargs kind, expected status per role)
MATRIX = {
    "recovery:home": (None, _signed_in(302)),
    "recovery:patient-list": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:patient-create": (None, _row(LOGIN, 200, 403, 403, 403, 200, 403)),
    "recovery:patient-detail": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:patient-edit": ("patient", _row(LOGIN, 200, 403, 403, 404, 404, 404)),
    "recovery:patient-access-log": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:patient-access-log-export": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:episode-edit": ("patient", _row(LOGIN, 200, 403, 403, 404, 404, 404)),
    "recovery:episode-restore": ("date_change", _row(LOGIN, 200, 403, 403, 404, 404, 404)),  # GET: the confirmation
    "recovery:apheresis-add": ("patient", _row(LOGIN, 302, 403, 403, 404, 404, 404)),  # GET: to the dates page
    "recovery:event-add": ("patient", _row(LOGIN, 200, 403, 403, 404, 404, 404)),
    "recovery:event-change": ("event", _row(LOGIN, 200, 403, 403, 404, 404, 404)),
    "recovery:patient-invite": ("patient", _row(LOGIN, 200, 403, 403, 404, 404, 404)),
    "recovery:eligibility": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:this-week": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:dashboard": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:patient-review": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:patient-outcomes": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:outcome-add": ("outcome", _row(LOGIN, 403, 302, 403, 404, 404, 404)),  # GET: to the outcomes page
    "recovery:patient-labs": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    # the labs page's three forms, each with its URL (GET: back to the labs page)
    "recovery:lab-panel-add": ("patient", _row(LOGIN, 302, 302, 403, 404, 404, 404)),
    "recovery:transfusion-add": ("patient", _row(LOGIN, 302, 302, 403, 404, 404, 404)),
    "recovery:engraftment-confirm": ("engraftment", _row(LOGIN, 403, 302, 403, 404, 404, 404)),
    "recovery:patient-immune": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:lab-import": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:lab-import-template": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:lab-import-report": ("lab_import", _row(LOGIN, 200, 200, 403, 403, 404, 404)),
    "recovery:my-immune": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:cohort": (None, _row(LOGIN, 403, 200, 403, 403, 403, 200)),
    "recovery:cohort-export": (None, _row(LOGIN, 403, 200, 403, 403, 403, 200)),
    "recovery:alert-queue": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:alert-detail": ("alert", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:alert-acknowledge": ("alert", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:alert-resolve": ("alert", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:checkin": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    # the check-in's later steps: without a check-in in progress (this session's), back to its first step
    "recovery:checkin-question": ("symptom", _row(LOGIN, 403, 403, 302, 302, 403, 403)),
    "recovery:checkin-details": (None, _row(LOGIN, 403, 403, 302, 302, 403, 403)),
    "recovery:checkin-answers": (None, _row(LOGIN, 403, 403, 302, 302, 403, 403)),
    "recovery:temperature": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:checkin-result": ("report", _row(LOGIN, 403, 403, 200, 404, 403, 403)),
    "recovery:my-history": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:my-recovery": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:my-calendar": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:my-access-log": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:my-access-log-export": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:my-email": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    # a link that does not work is a page that says so (a working one is for its own patient only)
    "recovery:my-email-confirm": ("email_link", _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:calendar-feed": ("calendar", _all(200)),  # the secret token in the URL is the credential
    "recovery:patient-reminders": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:reminder-hold": ("patient", _row(LOGIN, 200, 403, 403, 404, 404, 404)),
    "recovery:my-reminders": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:tasks": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:task-done": ("task", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:reporting": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:phone-reading": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:inbox": (None, _signed_in(200)),
    "recovery:inbox-read": (None, _signed_in(405)),  # marking read is a POST
    "recovery:patient-vaccinations": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:patient-prophylaxis": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:vaccinations-due": (None, _row(LOGIN, 200, 200, 403, 403, 200, 200)),
    "recovery:my-vaccinations": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:my-data": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:my-data-json": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:patient-data": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:patient-data-json": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    # the summary for the patient's own doctor (PDF): staff of the patient's centre, and the patient of themself
    "recovery:patient-summary-pdf": ("patient", _row(LOGIN, 200, 200, 403, 404, 404, 404)),
    "recovery:my-summary-pdf": (None, _row(LOGIN, 403, 403, 200, 200, 403, 403)),
    "recovery:patient-deactivate": ("patient", _row(LOGIN, 200, 403, 403, 404, 404, 404)),
    "recovery:patient-erase": ("patient", _row(LOGIN, 200, 403, 403, 404, 404, 404)),
    "recovery:research-export-csv": (None, _row(LOGIN, 403, 200, 403, 403, 403, 200)),
    "recovery:research-export-json": (None, _row(LOGIN, 403, 200, 403, 403, 403, 200)),
    # the registry export: staff only; the patient themself gets 404 too (recovery.access.registry_patient)
    "recovery:patient-registry-csv": ("patient", _row(LOGIN, 200, 200, 404, 404, 404, 404)),
    "recovery:patient-registry-json": ("patient", _row(LOGIN, 200, 200, 404, 404, 404, 404)),
    # the centre's: each member of staff gets their own centre's
    "recovery:centre-registry-csv": (None, _row(LOGIN, 200, 200, 404, 404, 200, 200)),
    "recovery:centre-registry-json": (None, _row(LOGIN, 200, 200, 404, 404, 200, 200)),
    "accounts:login": (None, _signed_in(302, anonymous=200)),
    "accounts:logout": (None, _all(405)),  # signing out is a POST
    "accounts:session-keep-alive": (None, _signed_in(200, anonymous=401)),  # JSON: seconds left
    "accounts:set-language": (None, _all(405)),  # the language switch is a POST
    "accounts:password-change": (None, _signed_in(200)),
    "accounts:password-change-done": (None, _signed_in(200)),
    "accounts:password-reset": (None, _all(200)),
    "accounts:password-reset-done": (None, _all(200)),
    "accounts:password-reset-confirm": ("reset", _all(200)),
    "accounts:password-reset-complete": (None, _all(200)),
    "accounts:api-tokens": (None, _signed_in(200)),
    "accounts:api-tokens-revoke-all": (None, _signed_in(405)),  # POST only
    "accounts:api-token-revoke": ("api_token", _signed_in(405)),  # POST only
    # The second factor (accounts/mfa_views.py): the signed-in user's own factors, never patient data.
    "accounts:security": (None, _signed_in(200)),
    "accounts:mfa-totp-setup": (None, _signed_in(200)),
    "accounts:mfa-totp-remove": ("no_device", _signed_in(404)),  # only one's own device exists for one
    "accounts:mfa-passkey-remove": ("no_device", _signed_in(404)),
    "accounts:mfa-recovery-codes": (None, _signed_in(302)),  # without a factor: to the Security page
    "accounts:mfa-verify": (None, _signed_in(302)),  # without a factor: nothing to verify, on to the home page
    # django-otp-webauthn's endpoints are POSTs from its script; without a session they answer in JSON
    "otp_webauthn:credential-registration-begin": (None, _signed_in(405, anonymous=403)),
    "otp_webauthn:credential-registration-complete": (None, _signed_in(405, anonymous=403)),
    "otp_webauthn:credential-authentication-begin": (None, _signed_in(405, anonymous=403)),
    "otp_webauthn:credential-authentication-complete": (None, _signed_in(405, anonymous=403)),
    "otp_webauthn:js-i18n-catalog": (None, _all(200)),  # the passkey script's words
    "healthz": (None, _all(200)),
    "api:token": (None, _all(405)),  # POST only
    "api:token-revoke": (None, _signed_in(405, anonymous=401)),  # POST only
    "api:me": (None, _signed_in(200, anonymous=401)),
    "api:patient-list": (None, _signed_in(200, anonymous=401)),
    "api:patient-detail": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:transplant": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:timeline": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:symptom-reports": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:alert-list": (None, _row(401, 200, 200, 403, 403, 200, 200)),
    "api:edss": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:relapses": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:relapse-detail": ("relapse", _signed_in(405, anonymous=401)),  # PATCH only
    "api:mri": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:outcomes": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:notifications": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:labs": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:transfusions": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:vaccinations": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "api:cohort-outcomes": (None, _row(401, 403, 200, 403, 403, 403, 200)),
    "api:alert-acknowledge": ("alert", _signed_in(405, anonymous=401)),  # POST only
    "api:alert-resolve": ("alert", _signed_in(405, anonymous=401)),  # POST only
    # POST a laboratory's Bundle of Observations; GET is not an interaction here (405), a patient may not (403)
    "fhir:batch": (None, _row(401, 405, 405, 403, 403, 405, 405)),
    # FHIR bulk $export (recovery/api/fhir_export.py): clinicians of the export's centre only (BULK_EXPORT; a
    # coordinator sees the centre but may not export it: 403). A kick-off without `Prefer: respond-async` is a
    # 400 for those who may export (the matrix sends none, so nothing is queued).
    "fhir:bulk-export": (None, _row(401, 403, 400, 403, 403, 403, 400)),
    "fhir:bulk-export-group": ("centre", _row(401, 403, 400, 403, 403, 404, 404)),
    "fhir:bulk-export-status": ("bulk_export", _row(401, 403, 200, 403, 403, 404, 404)),
    "fhir:bulk-export-file": ("bulk_export_file", _row(401, 403, 200, 403, 403, 404, 404)),
    "api:schema": (None, _all(200)),
    "api:docs": (None, _all(200)),
    "admin:index": (None, _all(LOGIN)),
    # FHIR R4 (recovery/api/fhir/): the CapabilityStatement is open to all (clients read it before signing in);
    # the rest as /api/v1/, each answer FHIR JSON. A search without `patient` lists what the caller may see.
    "fhir:metadata": (None, _all(200)),
    "fhir:read": ("fhir_patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "fhir:everything": ("patient", _row(401, 200, 200, 200, 404, 404, 404)),
    "fhir:search": ("fhir_search", _signed_in(200, anonymous=401)),
}


def _url_names(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _url_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


def test_every_url_is_in_the_matrix():
    """Every named URL of the project has a row in the access matrix (Django's admin aside)."""
    names = {name for name in _url_names(get_resolver().url_patterns) if name.split(":")[0] not in EXCLUDED_NAMESPACES}
    missing = names - set(MATRIX)
    assert not missing, f"Add these URLs to the access matrix: {sorted(missing)}"
    stale = set(MATRIX) - names - ALWAYS_CHECKED
    assert not stale, f"These matrix rows name no URL: {sorted(stale)}"


@pytest.fixture(scope="module")
def _module_cast(django_db_setup, django_db_blocker):
    """The cast and their data, made once for the module (every test here only reads); see tests/conftest.py."""
    with kept_for_the_module(django_db_blocker), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        centre = CentreFactory(name="Uppsala Transplant Centre")
        other_centre = CentreFactory(name="Other Centre")
        coordinator = UserFactory(username="cora", role=Role.COORDINATOR, centres=[centre])
        clinician = UserFactory(username="karl", role=Role.CLINICIAN, centres=[centre])
        patient = patient_with_login(centre=centre, first_name="Pia", last_name="Holmgren")
        other_patient = patient_with_login(centre=centre, first_name="Olle", last_name="Berg")
        other_centre_coordinator = UserFactory(
            username="other-coordinator", role=Role.COORDINATOR, centres=[other_centre]
        )
        other_centre_clinician = UserFactory(username="other-clinician", role=Role.CLINICIAN, centres=[other_centre])
        other_centre_patient = patient_with_login(centre=other_centre, first_name="Bo", last_name="Ek")
        Heartbeat.objects.create(name="beat", beat_at=timezone.now())
        # Day +5 today (the factory's helper, which saves the episode through the service).
        day0 = timezone.localdate() - timedelta(days=5)
        transplant(patient, day0, mobilised_days_before=25, collected_days_before=15, conditioning_days_before=5)
        outcome = record_symptom_report(
            context=AuditContext.system("tests"),
            patient=patient,
            recorded_at=timezone.now() - timedelta(minutes=5),
            temperature_c="38.6",
        )
        patient.calendar_token = "matrix-test-calendar-token"
        patient.save(update_fields=["calendar_token"])
        task = CareTask.objects.create(
            patient=patient,
            key="2026-01-05T08:00",
            checkin_due_at=timezone.now() - timedelta(hours=3),
            created_at=timezone.now(),
        )
        lab_import = LabImport.objects.create(centre=patient.centre, uploaded_by=coordinator, filename="labs.csv")
        relapse = Relapse.objects.create(patient=patient, onset_date=day0 + timedelta(days=2))
        bulk_export = BulkExport.objects.create(
            centre=patient.centre, requested_by=clinician, types=["Patient"], status=BulkExportStatus.DONE
        )
        BulkExportFile.objects.create(
            export=bulk_export,
            resource_type="Patient",
            part=0,
            ndjson=f'{{"resourceType":"Patient","id":"{patient.uuid}"}}\n',
            count=1,
            patients=[patient.pk],
        )
        api_token, _ = api_token_for(patient.user, name="matrix")
        yield {
            "anonymous": None,
            "coordinator": coordinator,
            "clinician": clinician,
            "patient": patient.user,
            "other_patient": other_patient.user,
            "other_centre_coordinator": other_centre_coordinator,
            "other_centre_clinician": other_centre_clinician,
            "_patient": patient,
            "_other_centre_patient": other_centre_patient,
            "_report": outcome.report,
            "_alert": outcome.alert,
            "_task": task,
            "_lab_import": lab_import,
            "_relapse": relapse,
            "_bulk_export": bulk_export,
            "_api_token": api_token,
        }


@pytest.fixture
def cast(_module_cast, db):
    return _module_cast


def _url(name, kind, cast):
    if kind == "patient":
        key = "patient_id"
        return reverse(name, kwargs={key: cast["_patient"].uuid})
    if kind == "fhir_patient":
        return reverse(name, kwargs={"resource_type_name": "Patient", "resource_id": cast["_patient"].uuid})
    if kind == "fhir_search":
        return reverse(name, kwargs={"resource_type_name": "Condition"})
    if kind == "event":
        event = cast["_patient"].episode.events.first()
        return reverse(name, kwargs={"patient_id": cast["_patient"].uuid, "event_id": event.uuid})
    if kind == "email_link":
        return reverse(name, kwargs={"token": "not-a-real-link"})
    if kind == "date_change":
        change = cast["_patient"].episode.date_changes.first()
        return reverse(name, kwargs={"patient_id": cast["_patient"].uuid, "change_id": change.uuid})
    if kind == "outcome":
        return reverse(name, kwargs={"patient_id": cast["_patient"].uuid, "kind": "edss"})
    if kind == "engraftment":
        return reverse(name, kwargs={"patient_id": cast["_patient"].uuid, "kind": "neutrophil"})
    if kind == "report":
        return reverse(name, kwargs={"report_id": cast["_report"].uuid})
    if kind == "alert":
        return reverse(name, kwargs={"alert_id": cast["_alert"].uuid})
    if kind == "relapse":
        return reverse(name, kwargs={"patient_id": cast["_patient"].uuid, "relapse_id": cast["_relapse"].uuid})
    if kind == "lab_import":
        return reverse(name, kwargs={"import_id": cast["_lab_import"].uuid})
    if kind == "centre":
        return reverse(name, kwargs={"centre_id": cast["_patient"].centre.uuid})
    if kind == "bulk_export":
        return reverse(name, kwargs={"export_id": cast["_bulk_export"].uuid})
    if kind == "bulk_export_file":
        return reverse(name, kwargs={"export_id": cast["_bulk_export"].uuid, "resource_type": "Patient"})
    if kind == "task":
        return reverse(name, kwargs={"task_id": cast["_task"].uuid})
    if kind == "calendar":
        return reverse(name, kwargs={"token": cast["_patient"].calendar_token})
    if kind == "api_token":
        return reverse(name, kwargs={"token_id": cast["_api_token"].uuid})
    if kind == "no_device":
        return reverse(name, kwargs={"device_id": 999_999})
    if kind == "symptom":
        return reverse(name, kwargs={"code": "cough"})
    if kind == "reset":
        return reverse(name, kwargs={"uidb64": "MQ", "token": "set-password"})
    return reverse(name)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_access_matrix(name, cast, client_for, api_for):
    """Each role gets exactly the status the matrix names for each URL (one cast per URL, every role in turn)."""
    kind, expected_by_role = MATRIX[name]
    url = _url(name, kind, cast)
    wrong = []
    for role in ROLES:
        expected = expected_by_role[role]
        user = cast[role]
        api = name.startswith(("api:", "fhir:")) and name not in {"api:schema", "api:docs"}
        client = api_for(user) if api else client_for(user)
        response = client.get(url)
        if expected == LOGIN:
            if response.status_code != 302 or "login" not in response.get("Location", ""):
                wrong.append(f"{role}: {response.status_code} {response.get('Location', '')}, expected the login page")
        elif response.status_code != expected:
            wrong.append(f"{role}: {response.status_code}, expected {expected}")
    assert not wrong, f"GET {url}: " + "; ".join(wrong)


def test_malformed_patient_id_in_the_api_is_a_404(api_for, cast):
    """An id that is not a UUID is simply not found, never a 500."""
    response = api_for(cast["coordinator"]).get("/api/v1/patients/not-a-uuid/")
    assert response.status_code == 404


def test_a_fhir_search_for_a_patient_out_of_sight_is_404(api_for, cast):
    """`patient=` naming someone the caller may not see is a 404, as reading them is."""
    patient = cast["_patient"]
    for role in ("other_patient", "other_centre_coordinator", "other_centre_clinician"):
        response = api_for(cast[role]).get(f"/fhir/R4/Condition?patient=Patient/{patient.uuid}")
        assert response.status_code == 404, role
        assert response.json()["resourceType"] == "OperationOutcome"


def test_a_fhir_read_of_a_patients_resource_by_id_follows_the_patient_read(api_for, cast):
    """`fhir:read` of a resource of the patient (a relapse as a Condition) answers each role as reading the
    Patient does (the `fhir:read` row): 401, 200 for the centre's staff and the patient, 404 for the rest."""
    url = reverse("fhir:read", kwargs={"resource_type_name": "Condition", "resource_id": str(cast["_relapse"].uuid)})
    wrong = []
    for role in ROLES:
        expected = MATRIX["fhir:read"][1][role]
        status = api_for(cast[role]).get(url).status_code
        if status != expected:
            wrong.append(f"{role}: {status}, expected {expected}")
    assert not wrong, f"GET {url}: " + "; ".join(wrong)


def test_another_centres_patient_is_404_even_for_a_coordinator_who_knows_the_id(api_for, client_for, cast):
    """Knowing another centre's patient id reveals nothing: the page and the API both say 404."""
    coordinator, other_centre_patient = cast["coordinator"], cast["_other_centre_patient"]
    assert api_for(coordinator).get(f"/api/v1/patients/{other_centre_patient.uuid}/").status_code == 404
    assert client_for(coordinator).get(f"/patients/{other_centre_patient.uuid}/").status_code == 404
