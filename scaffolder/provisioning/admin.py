"""What platform admins edit: offerings, per-group quota policies; claims are read here and released."""

from django.contrib import admin, messages

from portal import audit
from portal.admin import AuditedModelAdmin

from .actions import AlreadyReleased, Requester, release_claim
from .gitops import GitOpsError
from .models import Claim, Offering, QuotaPolicy, offering_to_dict
from .offerings import builtin_offerings


@admin.register(Offering)
class OfferingAdmin(AuditedModelAdmin):
    list_display = ("title", "key", "resource_type", "enabled", "builtin", "position", "updated_at")
    list_filter = ("enabled", "builtin")
    list_editable = ("enabled", "position")
    search_fields = ("key", "title")
    readonly_fields = ("builtin", "updated_at")
    fields = ("key", "title", "enabled", "position", "definition", "builtin", "updated_at")
    actions = ["reset_to_builtin"]

    @admin.display(description="Type")
    def resource_type(self, obj):
        return (obj.definition or {}).get("resource_type", "")

    @admin.action(description="Reset the selected built-in offerings to their shipped definition")
    def reset_to_builtin(self, request, queryset):
        shipped = builtin_offerings()
        reset = 0
        for row in queryset:
            offering = shipped.get(row.key)
            if offering is None:
                continue
            data = offering_to_dict(offering)
            before = self._snapshot(row)
            row.title = data.pop("title")
            data.pop("key")
            row.definition = data
            row.save()
            audit.record(request.user, "provisioning.offering.reset", row, before=before,
                         after=self._snapshot(row), request=request)
            reset += 1
        self.message_user(request, f"{reset} offering(s) reset to the shipped definition.")


@admin.register(QuotaPolicy)
class QuotaPolicyAdmin(AuditedModelAdmin):
    list_display = ("group", "max_monthly_cost", "allowed_tiers", "max_ttl", "summary", "updated_at")
    search_fields = ("group",)
    fieldsets = (
        (None, {"fields": ("group",)}),
        ("Counts", {"fields": ("max_count_by_offering", "max_count_by_resource_type")}),
        ("Cost and tiers", {"fields": ("max_monthly_cost", "allowed_tiers")}),
        ("Names and lifetimes", {"fields": ("name_pattern", "name_rule_help", "max_ttl")}),
    )

    @admin.display(description="Limits")
    def summary(self, obj):
        return "; ".join(obj.describe()) or "none"


@admin.register(Claim)
class ClaimAdmin(AuditedModelAdmin):
    list_display = ("name", "team", "offering", "status", "reconciler_state", "estimated_monthly_cost",
                    "expires_at", "requested_by_ref", "requested_at")
    list_filter = ("status", "reconciler_state", "offering", "team")
    search_fields = ("name", "team", "claim_path", "requested_by_ref")
    date_hierarchy = "requested_at"
    actions = ["release_selected"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Claim._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # claims are released (a commit), never deleted

    @admin.action(description="Release the selected claims (remove them from the GitOps repository)")
    def release_selected(self, request, queryset):
        requester = Requester.from_user(request.user)
        released = 0
        for claim in queryset:
            try:
                release_claim(claim, requester, reason=f"released by {request.user.get_username()} in admin",
                              request=request)
                released += 1
            except AlreadyReleased:
                continue
            except GitOpsError as exc:
                self.message_user(request, f"{claim}: {exc}", level=messages.ERROR)
        self.message_user(request, f"{released} claim(s) released.")
