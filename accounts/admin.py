from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from recovery.admin import AuditedReadsAdmin
from recovery.models import Patient

from .models import Centre, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["centre"]


@admin.register(User)
class UserAdmin(BaseUserAdmin, AuditedReadsAdmin):
    """A patient's login holds their name and email: its pages are audited as reads of that patient."""

    fieldsets = (*BaseUserAdmin.fieldsets, ("Role", {"fields": ("role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Role", {"fields": ("role",)}))
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_superuser")
    inlines = [MembershipInline]

    def patient_ids(self, objects) -> set[int]:
        return set(Patient.objects.filter(user__in=[obj.pk for obj in objects]).values_list("pk", flat=True))


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "phone_24h")
    search_fields = ("name",)
