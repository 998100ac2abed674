from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from recovery.admin import AuditedReadsAdmin
from recovery.models import Patient
from recovery.services import api_tokens
from recovery.services.audit import AuditContext
from recovery.services.login_email import admin_changed_login_email

from .models import ApiToken, Centre, Membership, User


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed (never their secret, which is not stored) and revoked here; only their owner makes them."""

    list_display = ("name", "owner", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("owner__username", "name", "prefix")
    fields = ("owner", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    list_select_related = ("owner",)
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        context = AuditContext.from_request(request)
        count = sum(
            api_tokens.revoke_token(context=context, token=token, reason="revoked in the admin site")
            for token in queryset.filter(revoked_at__isnull=True)
        )
        self.message_user(request, f"{count} token{'s' if count != 1 else ''} revoked.")
