from django.contrib import admin, messages

from portal import audit
from portal.admin import AuditedModelAdmin

from .models import DocPage, DocSite
from .publish import build_entity_docs


class DocPageInline(admin.TabularInline):
    model = DocPage
    fields = ("order", "path", "title", "edit_url")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DocSite)
class DocSiteAdmin(AuditedModelAdmin):
    list_display = ("entity_ref", "site_name", "status", "page_count", "built_at", "revision", "last_attempt_at")
    list_filter = ("status",)
    search_fields = ("entity_ref", "site_name", "techdocs_ref")
    readonly_fields = (
        "entity", "entity_ref", "techdocs_ref", "site_name", "site_description", "status", "built_at", "revision",
        "source_hash", "last_attempt_at", "last_error", "failed_hash", "build_log", "errors", "warnings",
        "page_count", "nav",
    )
    inlines = [DocPageInline]
    actions = ["rebuild"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Rebuild the docs of the selected sites")
    def rebuild(self, request, queryset):
        for site in queryset.select_related("entity", "entity__location"):
            outcome = build_entity_docs(site.entity, force=True)
            audit.record(request.user, "techdocs.site.rebuild", site, message=outcome.message, request=request)
            level = messages.ERROR if outcome.status == "failed" else messages.SUCCESS
            self.message_user(request, f"{site.entity_ref}: {outcome.message}", level)
