from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from recovery.models import Patient
from recovery.services.audit import AuditContext
from recovery.services.login_email import admin_changed_login_email

from .models import Centre, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["centre"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Role", {"fields": ("role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Role", {"fields": ("role",)}))
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_superuser")
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or "email" not in form.changed_data:
            return
        patient = Patient.objects.filter(user=obj).first()
        if patient is not None:  # a patient's login: the record follows, audited, both addresses told
            admin_changed_login_email(
                context=AuditContext.from_request(request),
                patient=patient,
                old_email=form.initial.get("email") or "",
                new_email=obj.email,
            )


@admin.register(Centre)
class CentreAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "phone_24h")
    search_fields = ("name",)
