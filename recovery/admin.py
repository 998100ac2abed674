from django.contrib import admin

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
from recovery.services.audit import AuditContext
from recovery.services.login_email import admin_changed_login_email
from recovery.services.timeline import regenerate_centre_timelines


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "hospital_number", "centre", "timezone")
    list_filter = ("centre",)
    search_fields = ("last_name", "first_name", "hospital_number")
    raw_id_fields = ("user",)

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
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_username", "action", "patient", "ip", "request_id")
    list_filter = ("action",)
    search_fields = ("actor_username", "request_id")
    raw_id_fields = ("actor", "patient")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
class TransplantEpisodeAdmin(admin.ModelAdmin):
    list_display = ("patient", "protocol", "mobilisation_date", "reinfusion_date", "neutrophil_engraftment_date")
    list_filter = ("protocol",)
    raw_id_fields = ("patient",)


@admin.register(TransplantDateChange)
class TransplantDateChangeAdmin(admin.ModelAdmin):
    """The history of the transplants' dates, read only (restored from the transplant's page, with confirmation)."""

    list_display = ("episode", "kind", "changed_by_username", "changed_at")
    list_filter = ("kind",)
    raw_id_fields = ("episode", "changed_by", "restored_from")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
class AlertAdmin(admin.ModelAdmin):
    list_display = ("patient", "kind", "severity", "status", "created_at", "rule", "config_version")
    list_filter = ("severity", "status", "kind")
    raw_id_fields = ("patient", "reports", "acknowledged_by", "resolved_by")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
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
class CareTaskAdmin(admin.ModelAdmin):
    list_display = ("patient", "kind", "checkin_due_at", "high_risk", "status", "closed_at")
    list_filter = ("status", "high_risk")
    raw_id_fields = ("patient", "closed_by")


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(admin.ModelAdmin):
    list_display = ("patient", "email_enabled", "sms_enabled", "quiet_start", "quiet_end", "on_hold")
    raw_id_fields = ("patient", "hold_changed_by")
