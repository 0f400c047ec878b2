from django import forms
from django.contrib import admin

from portal.admin import AuditedModelAdmin

from .formschema import FormSchemaError
from .models import Task, TaskStep, TemplatePolicy
from .policies import check_extra_constraints


class TemplatePolicyForm(forms.ModelForm):
    class Meta:
        model = TemplatePolicy
        fields = ["name", "description", "enabled", "template_pattern", "allowed_groups", "extra_constraints",
                  "allowed_hosts", "allowed_owners"]

    @staticmethod
    def _text_list(value, what: str) -> list[str]:
        if value in (None, ""):
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise forms.ValidationError(f"Enter a JSON list of {what}, e.g. [\"...\"].")
        return [item.strip() for item in value]

    def clean_template_pattern(self):
        pattern = self.cleaned_data["template_pattern"].strip().lower()
        if not pattern:
            raise forms.ValidationError("Enter a template ref or pattern, e.g. template:default/*.")
        if ":" not in pattern:
            pattern = f"template:{pattern if '/' in pattern else 'default/' + pattern}"
        return pattern

    def clean_allowed_groups(self):
        groups = self._text_list(self.cleaned_data.get("allowed_groups"), "group refs")
        normalised = []
        for ref in groups:
            ref = ref.lower()
            if ":" not in ref:
                ref = f"group:{ref if '/' in ref else 'default/' + ref}"
            normalised.append(ref)
        return normalised

    def clean_extra_constraints(self):
        value = self.cleaned_data.get("extra_constraints") or {}
        if not isinstance(value, dict):
            raise forms.ValidationError('Enter a JSON object of field names to JSON Schema, e.g. {"name": {...}}.')
        try:
            check_extra_constraints(value)
        except FormSchemaError as exc:
            raise forms.ValidationError(str(exc))
        return value

    def clean_allowed_hosts(self):
        return [host.lower() for host in self._text_list(self.cleaned_data.get("allowed_hosts"), "host names")]

    def clean_allowed_owners(self):
        return self._text_list(self.cleaned_data.get("allowed_owners"), "owners")


@admin.register(TemplatePolicy)
class TemplatePolicyAdmin(AuditedModelAdmin):
    form = TemplatePolicyForm
    list_display = ("name", "template_pattern", "enabled", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("name", "template_pattern", "description")


class TaskStepInline(admin.TabularInline):
    model = TaskStep
    extra = 0
    can_delete = False
    fields = ("position", "step_id", "name", "action", "status", "started_at", "finished_at", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(AuditedModelAdmin):
    list_display = ("id", "template_ref", "status", "created_by", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("id", "template_ref", "created_by__username")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Task._meta.fields]
    inlines = [TaskStepInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
