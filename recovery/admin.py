from django.contrib import admin

from recovery.models import AuditEvent, Heartbeat, Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "hospital_number", "centre", "timezone")
    list_filter = ("centre",)
    search_fields = ("last_name", "first_name", "hospital_number")
    raw_id_fields = ("user",)


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
