"""The one place that decides who sees which patient and who may do what.

- Staff (coordinators, clinicians) see the patients of the centres they belong to.
- A patient sees only their own record.
- A patient the caller may not see does not exist for them: 404, never 403.
- A role that can see a patient but may not perform an action gets 403 (PermissionDenied).

Views and API views call these functions; they never branch on the user's role themselves.
"""

import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Centre, Role, User
from recovery.models import Alert, BulkExport, CareTask, LabImport, Patient, Relapse


class Action(StrEnum):
    LIST_PATIENTS = "patients.list"
    VIEW_PATIENT = "patient.view"  # read the record through the API ("all who see the patient")
    VIEW_PATIENT_CHART = "patient.chart"  # the staff pages about one patient
    CREATE_PATIENT = "patient.create"
    EDIT_PATIENT = "patient.update"
    VIEW_AUDIT = "audit.view"
    VIEW_DASHBOARD = "dashboard.view"
    VIEW_OWN_RECOVERY = "own_recovery.view"
    EDIT_TRANSPLANT = "transplant.update"  # episode dates and the timeline's events
    INVITE_PATIENT = "patient.invite"
    REVIEW_ELIGIBILITY = "eligibility.review"
    MANAGE_OWN_CALENDAR = "own_calendar.manage"
    REPORT_SYMPTOMS = "symptoms.report"  # a patient for themself; staff on a patient's behalf
    TRIAGE_ALERTS = "alerts.triage"  # see the queue, acknowledge and resolve
    RECORD_OUTCOMES = "outcomes.record"  # EDSS, relapses, MRI
    VIEW_COHORT = "cohort.view"  # the centre's cohort outcomes and their export
    MANAGE_OWN_REMINDERS = "own_reminders.manage"  # a patient's channels and quiet hours
    HOLD_REMINDERS = "reminders.hold"  # put a patient's reminders on hold and lift the hold
    WORK_TASKS = "tasks.work"  # the care team's task list: see and close tasks
    RECORD_LABS = "labs.record"  # lab results (form, CSV import, API) and transfusions
    CONFIRM_ENGRAFTMENT = "engraftment.confirm"  # confirm the computed engraftment date (or another)
    RECORD_VACCINATIONS = "vaccinations.record"  # record a vaccine dose given
    VIEW_VACCINATIONS_DUE = "vaccinations.due"  # the centre's list of doses due or overdue
    STOP_PROPHYLAXIS = "prophylaxis.stop"  # record that a prophylactic medication was stopped
    EXPORT_PATIENT_DATA = "patient.export"  # produce a patient's own data (GDPR Art. 15 and 20) for them
    EXPORT_OWN_DATA = "own_data.export"  # a patient downloads their own data
    DEACTIVATE_PATIENT = "patient.deactivate"  # take a patient out of lists, reminders and sign-in
    ERASE_PATIENT = "patient.erase"  # erase a deactivated patient's personal data where the law allows it
    RESEARCH_EXPORT = "research.export"  # the pseudonymised research data set
    REGISTRY_EXPORT = "registry.export"  # the EBMT/CIBMTR registry items of a patient or a centre (staff only)
    # the FHIR bulk $export of a whole centre (identifiable; pseudonymised needs RESEARCH_EXPORT as well)
    BULK_EXPORT = "bulk.export"


_ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.COORDINATOR: frozenset(
        {
            Action.LIST_PATIENTS,
            Action.VIEW_PATIENT,
            Action.VIEW_PATIENT_CHART,
            Action.CREATE_PATIENT,
            Action.EDIT_PATIENT,
            Action.VIEW_AUDIT,
            Action.VIEW_DASHBOARD,
            Action.EDIT_TRANSPLANT,
            Action.INVITE_PATIENT,
            Action.REVIEW_ELIGIBILITY,
            Action.REPORT_SYMPTOMS,
            Action.TRIAGE_ALERTS,
            Action.HOLD_REMINDERS,
            Action.WORK_TASKS,
            Action.RECORD_LABS,
            Action.RECORD_VACCINATIONS,
            Action.VIEW_VACCINATIONS_DUE,
            Action.EXPORT_PATIENT_DATA,
            Action.DEACTIVATE_PATIENT,
            Action.ERASE_PATIENT,
            Action.REGISTRY_EXPORT,
        }
    ),
    Role.CLINICIAN: frozenset(
        {
            Action.LIST_PATIENTS,
            Action.VIEW_PATIENT,
            Action.VIEW_PATIENT_CHART,
            Action.VIEW_AUDIT,
            Action.VIEW_DASHBOARD,
            Action.REVIEW_ELIGIBILITY,
            Action.REPORT_SYMPTOMS,
            Action.TRIAGE_ALERTS,
            Action.RECORD_OUTCOMES,
            Action.VIEW_COHORT,
            Action.WORK_TASKS,
            Action.RECORD_LABS,
            Action.CONFIRM_ENGRAFTMENT,
            Action.RECORD_VACCINATIONS,
            Action.VIEW_VACCINATIONS_DUE,
            Action.STOP_PROPHYLAXIS,
            Action.EXPORT_PATIENT_DATA,
            Action.RESEARCH_EXPORT,
            Action.REGISTRY_EXPORT,
            Action.BULK_EXPORT,
        }
    ),
    Role.PATIENT: frozenset(
        {
            Action.VIEW_PATIENT,
            Action.VIEW_OWN_RECOVERY,
            Action.MANAGE_OWN_CALENDAR,
            Action.REPORT_SYMPTOMS,
            Action.MANAGE_OWN_REMINDERS,
            Action.EXPORT_OWN_DATA,
        }
    ),
}


def may(user: User, action: Action) -> bool:
    """Whether the user's role allows the action at all (which patients is a separate question)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return action in _ROLE_ACTIONS.get(user.role, frozenset())


def require(user: User, action: Action) -> None:
    if not may(user, action):
        raise PermissionDenied(f"Your role may not do this ({action}).")


def centres_for(user: User) -> QuerySet[Centre]:
    if not user.is_authenticated or user.role not in (Role.COORDINATOR, Role.CLINICIAN):
        return Centre.objects.none()
    return Centre.objects.filter(memberships__user=user)


def visible_patients(user: User, *, include_deactivated: bool = False) -> QuerySet[Patient]:
    """Every patient the user may see, and no other. Lists and worklists leave deactivated patients out; the
    pages about one patient (`get_patient`) still find them: their record is kept."""
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    patients = Patient.objects.all() if include_deactivated else Patient.objects.active()
    if user.role in (Role.COORDINATOR, Role.CLINICIAN):
        # The centres as a list of ids, not a join through the memberships: PostgreSQL then knows how many
        # patients they hold (a join was estimated at 2,000 of 50,000 and planned as 50,000 index lookups).
        return patients.filter(centre_id__in=staff_centre_ids(user))
    if user.role == Role.PATIENT:
        return patients.filter(user=user)
    return Patient.objects.none()


def staff_centre_ids(user: User) -> list[int]:
    """The ids of the centres a member of staff works at (one query, kept on the user object for its request)."""
    ids = getattr(user, "_recovery_centre_ids", None)
    if ids is None:
        ids = sorted(centres_for(user).values_list("pk", flat=True))
        user._recovery_centre_ids = ids
    return ids


def get_patient(user: User, patient_id, action: Action = Action.VIEW_PATIENT) -> Patient:
    """The patient with this public id if the user may see them (else 404) and perform the action (else 403)."""
    try:
        public_id = uuid.UUID(str(patient_id))
        patient = visible_patients(user, include_deactivated=True).select_related("centre").get(uuid=public_id)
    except (ValueError, Patient.DoesNotExist):
        raise Http404("No such patient.") from None
    require(user, action)
    return patient


def _about_visible_patient(user: User, model, public_id, action: Action, what: str):
    """The `model` row (with a `patient` and a `uuid`) about a patient the user may see (else 404), for a
    role that may perform `action` (else 403)."""
    try:
        row = (
            model.objects.filter(patient__in=visible_patients(user, include_deactivated=True))
            .select_related("patient__centre")
            .get(uuid=uuid.UUID(str(public_id)))
        )
    except (ValueError, model.DoesNotExist):
        raise Http404(f"No such {what}.") from None
    require(user, action)
    return row


def visible_alerts(user: User) -> QuerySet[Alert]:
    """Alerts about the patients the user may see, for a role that triages them."""
    if not may(user, Action.TRIAGE_ALERTS):
        return Alert.objects.none()
    return Alert.objects.filter(patient__in=visible_patients(user))


def get_alert(user: User, alert_id) -> Alert:
    """An alert about a patient the user may see (else 404), for a role that triages alerts (else 403)."""
    return _about_visible_patient(user, Alert, alert_id, Action.TRIAGE_ALERTS, "alert")


def visible_care_tasks(user: User) -> QuerySet[CareTask]:
    """Care-team tasks about the patients the user may see, for a role that works the task list."""
    if not may(user, Action.WORK_TASKS):
        return CareTask.objects.none()
    return CareTask.objects.filter(patient__in=visible_patients(user))


def get_care_task(user: User, task_id) -> CareTask:
    """A task about a patient the user may see (else 404), for a role that works the task list (else 403)."""
    return _about_visible_patient(user, CareTask, task_id, Action.WORK_TASKS, "task")


def get_relapse(user: User, patient_id, relapse_id, action: Action = Action.VIEW_PATIENT) -> Relapse:
    """A relapse of the patient `patient_id`: 404 unless the user may see that patient and the relapse is theirs,
    403 for a role that may not perform `action`."""
    patient = get_patient(user, patient_id, action)
    try:
        return patient.relapses.select_related("patient__centre").get(uuid=uuid.UUID(str(relapse_id)))
    except (ValueError, Relapse.DoesNotExist):
        raise Http404("No such relapse.") from None


def get_lab_import(user: User, import_id) -> LabImport:
    """A lab CSV import of one of the user's centres (else 404), for a role that records labs (else 403)."""
    require(user, Action.RECORD_LABS)
    try:
        public_id = uuid.UUID(str(import_id))
        return (
            LabImport.objects.select_related("centre", "uploaded_by")
            .defer("data")  # the uploaded file: only the import task reads it
            .get(uuid=public_id, centre__in=centres_for(user))
        )
    except (ValueError, LabImport.DoesNotExist):
        raise Http404("No such import.") from None


def may_bulk_export(user: User, *, pseudonymised: bool) -> bool:
    """A whole centre's export needs BULK_EXPORT, a pseudonymised one also the research data set
    (RESEARCH_EXPORT): `_pseudonymise=true` is the research set by another door."""
    return may(user, Action.BULK_EXPORT) and (not pseudonymised or may(user, Action.RESEARCH_EXPORT))


def require_bulk_export(user: User, *, pseudonymised: bool) -> None:
    """403 (naming the action missing) unless `may_bulk_export`."""
    require(user, Action.BULK_EXPORT)
    if pseudonymised:
        require(user, Action.RESEARCH_EXPORT)


def bulk_export_centre(user: User, centre_id) -> Centre:
    """The centre a Group $export names: one of the user's (else 404), for a role that may export it (else 403).
    Anyone but staff gets 403, as for every staff list."""
    require(user, Action.LIST_PATIENTS)
    centre = _own_centre(user, centre_id, "No such group.")
    require(user, Action.BULK_EXPORT)
    return centre


def _own_centre(user: User, centre_id, missing: str) -> Centre:
    """One of the user's centres by its public id; 404 for another centre's or a malformed id."""
    try:
        return centres_for(user).get(uuid=uuid.UUID(str(centre_id)))
    except (ValueError, Centre.DoesNotExist):
        raise Http404(missing) from None


def get_bulk_export(user: User, export_id) -> BulkExport:
    """A bulk export of one of the user's centres (else 404: for staff of other centres it does not exist), for a
    role that may make it (else 403; a pseudonymised one also needs RESEARCH_EXPORT). Anyone but staff: 403."""
    require(user, Action.LIST_PATIENTS)
    try:
        export = BulkExport.objects.select_related("centre").get(
            uuid=uuid.UUID(str(export_id)), centre_id__in=staff_centre_ids(user)
        )
    except (ValueError, BulkExport.DoesNotExist):
        raise Http404("No such export.") from None
    require_bulk_export(user, pseudonymised=export.pseudonymised)
    return export


def registry_patient(user: User, patient_id) -> Patient:
    """A patient for the registry export: staff of the patient's centre only. Anyone else, the patient themself
    included, gets 404: the registry export is not part of what a patient sees of their record."""
    if not may(user, Action.REGISTRY_EXPORT):
        raise Http404("No such patient.")
    return get_patient(user, patient_id, Action.REGISTRY_EXPORT)


def registry_centre(user: User, centre_id=None) -> Centre | None:
    """The centre whose registry export the user asks for: `centre_id` if it is one of theirs (else 404), or their
    only centre; None when they belong to several and did not choose. Anyone but staff gets 404."""
    if not may(user, Action.REGISTRY_EXPORT):
        raise Http404("No such centre.")
    centres = centres_for(user).order_by("name")
    if centre_id:
        return _own_centre(user, centre_id, "No such centre.")
    found = list(centres[:2])
    if not found:
        raise Http404("No centre.")
    return found[0] if len(found) == 1 else None


def own_patient(user: User) -> Patient:
    """The patient record linked to this login; 404 for anyone without one."""
    require(user, Action.VIEW_OWN_RECOVERY)
    try:
        return Patient.objects.select_related("centre").get(user=user)
    except Patient.DoesNotExist:
        raise Http404("No patient record is linked to this login.") from None


def home_url(user: User) -> str:
    if may(user, Action.VIEW_OWN_RECOVERY):
        return reverse("recovery:my-recovery")
    if may(user, Action.CREATE_PATIENT):
        return reverse("recovery:patient-list")
    if may(user, Action.VIEW_DASHBOARD):
        return reverse("recovery:dashboard")
    if user.is_authenticated and user.is_superuser:
        return reverse("admin:index")
    return reverse("accounts:login")


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str


_NAV: list[tuple[Action, NavItem]] = [
    (Action.VIEW_OWN_RECOVERY, NavItem(_("My recovery"), "recovery:my-recovery", "heart-pulse")),
    (Action.VIEW_OWN_RECOVERY, NavItem(_("Check in"), "recovery:checkin", "thermometer-half")),
    (Action.VIEW_OWN_RECOVERY, NavItem(_("My reports"), "recovery:my-history", "graph-up")),
    (Action.MANAGE_OWN_REMINDERS, NavItem(_("Reminders"), "recovery:my-reminders", "alarm")),
    (Action.EXPORT_OWN_DATA, NavItem(_("My data"), "recovery:my-data", "download")),
    (Action.LIST_PATIENTS, NavItem(_("Patients"), "recovery:patient-list", "people")),
    (Action.LIST_PATIENTS, NavItem(_("This week"), "recovery:this-week", "calendar-week")),
    (Action.VIEW_DASHBOARD, NavItem(_("Dashboard"), "recovery:dashboard", "speedometer2")),
    (Action.WORK_TASKS, NavItem(_("Tasks"), "recovery:tasks", "check2-square")),
    (Action.WORK_TASKS, NavItem(_("Not reported"), "recovery:reporting", "thermometer-half")),
    (Action.VIEW_VACCINATIONS_DUE, NavItem(_("Vaccinations"), "recovery:vaccinations-due", "shield-plus")),
    (Action.VIEW_COHORT, NavItem(_("Cohort"), "recovery:cohort", "graph-down")),
]


def navigation_for(user: User) -> list[NavItem]:
    return [item for action, item in _NAV if may(user, action)]
