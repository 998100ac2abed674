from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError

from recovery.models import (
    Alert,
    AuditEvent,
    CareTask,
    CentreConfiguration,
    Heartbeat,
    Notification,
    Patient,
    ProtocolEvent,
    ProtocolTemplate,
    ReminderSettings,
    TransplantDateChange,
    TransplantEpisode,
)
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.data_protection import deactivate_patient
from recovery.services.login_email import admin_changed_login_email
from recovery.services.timeline import regenerate_centre_timelines


class AuditedReadsAdmin(admin.ModelAdmin):
    """A ModelAdmin whose pages show patient data: every list, change (view), history and delete page answered
    with 200 to a GET writes audit rows, as the app's own pages do (action `admin.<page>`, the model in detail).

    `patient_ids(objects)` says which patients the shown objects are about: the object itself for a Patient,
    its `patient` otherwise; override it for other shapes (a patient's login)."""

    def patient_ids(self, objects) -> set[int]:
        if self.model is Patient:
            return {obj.pk for obj in objects}
        return {obj.patient_id for obj in objects if getattr(obj, "patient_id", None) is not None}

    def _record(self, request, page: str, objects) -> None:
        patients = list(Patient.objects.filter(pk__in=self.patient_ids(objects)))
        context = AuditContext.from_request(request)
        action = f"admin.{page}"
        detail = {"model": self.model._meta.label}
        if page == "list":
            record_reads(context=context, action=action, patients=patients)
        for patient in patients if page != "list" else []:
            record_event(context=context, action=action, patient=patient, detail=detail)

    def _shown(self, request, response) -> bool:
        return request.method in ("GET", "HEAD") and response.status_code == 200

    def _one(self, request, object_id):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        return [obj] if obj is not None else []

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if self._shown(request, response) else None
        if changelist is not None:
            self._record(request, "list", list(changelist.result_list))
        return response

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        response = super().changeform_view(request, object_id, form_url, extra_context)
        if object_id and self._shown(request, response):
            self._record(request, "view", self._one(request, object_id))
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if self._shown(request, response):
            self._record(request, "history", self._one(request, object_id))
        return response

    def delete_view(self, request, object_id, extra_context=None):
        response = super().delete_view(request, object_id, extra_context)
        if self._shown(request, response):
            self._record(request, "delete_form", self._one(request, object_id))
        return response


class ReadOnlyAdmin:
    """Shown, never added, changed or deleted in the admin: the app's own pages (or nobody) change these."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Patient)
class PatientAdmin(AuditedReadsAdmin):
    """Patients are never deleted (their record is kept by law): deactivate them (the action below, or the
    patient's page); erasure follows the retention rule on the patient's erasure page."""

    list_display = ("last_name", "first_name", "hospital_number", "centre", "timezone", "deactivated_at")
    list_filter = ("centre", ("deactivated_at", admin.EmptyFieldListFilter))
    search_fields = ("last_name", "first_name", "hospital_number")
    raw_id_fields = ("user",)
    readonly_fields = ("deactivated_at", "deactivation_reason", "erased_at")
    actions = ["deactivate"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Deactivate the selected patients (off every list, reminders stop, login disabled)")
    def deactivate(self, request, queryset) -> None:
        context = AuditContext.from_request(request)
        for patient in queryset.filter(deactivated_at__isnull=True):
            try:
                deactivate_patient(context=context, patient=patient, reason="Deactivated by an administrator.")
            except ValidationError as exc:
                self.message_user(request, f"{patient}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{patient} is deactivated.", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "email" in form.changed_data and obj.user_id:
            # the login's address too, audited, and both addresses told (services.login_email)
            admin_changed_login_email(
                context=AuditContext.from_request(request),
                patient=obj,
                old_email=form.initial.get("email") or "",
                new_email=obj.email,
            )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, AuditedReadsAdmin):
    list_display = ("at", "actor_username", "action", "patient", "ip", "request_id")
    list_filter = ("action",)
    search_fields = ("actor_username", "request_id")
    raw_id_fields = ("actor", "patient")


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "beat_at", "worker")


class ProtocolEventInline(admin.TabularInline):
    model = ProtocolEvent
    extra = 1
    fields = ("key", "anchor", "offset_days", "kind", "title")


@admin.register(ProtocolTemplate)
class ProtocolTemplateAdmin(admin.ModelAdmin):
    """Protocols are edited here without code; patients' timelines follow at their next regeneration."""

    list_display = ("name", "code", "is_active")
    inlines = [ProtocolEventInline]


@admin.register(TransplantEpisode)
class TransplantEpisodeAdmin(ReadOnlyAdmin, AuditedReadsAdmin):
    """Read only: the dates change on the patient's transplant page, which asks before a destructive change, keeps
    the history and regenerates the timeline (an admin form would do none of that)."""

    list_display = ("patient", "protocol", "mobilisation_date", "reinfusion_date", "neutrophil_engraftment_date")
    list_filter = ("protocol",)
    raw_id_fields = ("patient",)


@admin.register(TransplantDateChange)
class TransplantDateChangeAdmin(ReadOnlyAdmin, AuditedReadsAdmin):
    """The history of the transplants' dates, read only (restored from the transplant's page, with confirmation)."""

    list_display = ("episode", "kind", "changed_by_username", "changed_at")
    list_filter = ("kind",)
    raw_id_fields = ("episode", "changed_by", "restored_from")
    list_select_related = ("episode",)

    def patient_ids(self, objects) -> set[int]:
        return {change.episode.patient_id for change in objects}


@admin.register(CentreConfiguration)
class CentreConfigurationAdmin(admin.ModelAdmin):
    """A new version for every change: the form for an existing version is read-only."""

    list_display = ("centre", "version", "created_at", "created_by")
    list_filter = ("centre",)
    readonly_fields = ("created_at", "created_by")

    def get_readonly_fields(self, request, obj=None):
        return ("centre", "version", "values", "created_at", "created_by") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if not change:
            # The rule-dated timeline events (vaccinations, prophylaxis reviews) follow the new version.
            regenerate_centre_timelines(centre_id=obj.centre_id)


@admin.register(Alert)
class AlertAdmin(AuditedReadsAdmin):
    list_display = ("patient", "kind", "severity", "status", "created_at", "rule", "config_version")
    list_filter = ("severity", "status", "kind")
    raw_id_fields = ("patient", "reports", "acknowledged_by", "resolved_by")


@admin.register(Notification)
class NotificationAdmin(AuditedReadsAdmin):
    """Read-only: the dispatcher owns these rows (a failed one is shown with its reason)."""

    list_display = ("patient", "kind", "channel", "audience", "due_at", "status", "attempts", "sent_at")
    list_filter = ("status", "channel", "kind", "audience")
    search_fields = ("key", "patient__hospital_number")
    date_hierarchy = "due_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CareTask)
class CareTaskAdmin(AuditedReadsAdmin):
    list_display = ("patient", "kind", "checkin_due_at", "high_risk", "status", "closed_at")
    list_filter = ("status", "high_risk")
    raw_id_fields = ("patient", "closed_by")


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(AuditedReadsAdmin):
    list_display = ("patient", "email_enabled", "sms_enabled", "quiet_start", "quiet_end", "on_hold")
    raw_id_fields = ("patient", "hold_changed_by")
