from django.contrib import admin
from django.forms.models import model_to_dict

from . import audit
from .models import AuditEvent


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes land in the audit trail with before/after values."""

    def _snapshot(self, obj):
        if obj is None or obj.pk is None:
            return None
        return model_to_dict(obj)

    def save_model(self, request, obj, form, change):
        before = self._snapshot(type(obj).objects.filter(pk=obj.pk).first()) if change else None
        super().save_model(request, obj, form, change)
        action = f"{obj._meta.label_lower}.{'change' if change else 'add'}"
        audit.record(request.user, action, obj, before=before, after=self._snapshot(obj), request=request)

    def delete_model(self, request, obj):
        before = self._snapshot(obj)
        label, pk, text = obj._meta.label_lower, str(obj.pk), str(obj)
        super().delete_model(request, obj)
        audit.record(
            request.user, f"{label}.delete", None, before=before, request=request,
            object_type=label, object_id=pk, object_repr=text,
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_name", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "action", "object_repr", "object_id", "message")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# People and teams are edited by staff too: their changes belong in the trail.
from django.contrib.auth.admin import GroupAdmin, UserAdmin  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedModelAdmin, UserAdmin):
    pass


@admin.register(Group)
class AuditedGroupAdmin(AuditedModelAdmin, GroupAdmin):
    pass
