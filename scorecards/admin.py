"""What staff edit: scorecards with their levels and rules, initiatives, and (rarely) DORA events.

Every save and delete, including rows edited inline, lands in the audit trail. A rule's check
is validated with ``checks.validate_check``; each problem is shown on the check field.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.forms.models import model_to_dict

from portal import audit
from portal.admin import AuditedModelAdmin

from . import checks, evaluation
from .models import (
    Change,
    Deployment,
    DeploymentCommit,
    Incident,
    Initiative,
    Level,
    Rule,
    Scorecard,
    normalise_owner_ref,
)

_REF = re.compile(r"^[a-z0-9][a-z0-9._-]*:[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$")


class CommaListField(forms.CharField):
    """A list of words typed as "a, b, c" (or one per line), stored as a JSON list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 60}))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            return [str(item).strip() for item in value if str(item).strip()]
        text = super().to_python(value) or ""
        return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        for item in value:
            if len(item) > 200:
                raise forms.ValidationError(f"{item[:40]}…: each value must be at most 200 characters.")


class EntityFilterForm(forms.ModelForm):
    kinds = CommaListField(help_text="Entity kinds, e.g. component, api. Empty: every kind.")
    spec_types = CommaListField(help_text="spec.type values, e.g. service, website. Empty: any.")
    lifecycles = CommaListField(help_text="spec.lifecycle values, e.g. production. Empty: any.")
    tags = CommaListField(help_text="Entities with any of these tags. Empty: any.")
    owners = CommaListField(help_text="Owning groups, e.g. team-a or group:default/team-a. Empty: any owner.")

    def clean_owners(self):
        owners = []
        for value in self.cleaned_data["owners"]:
            ref = normalise_owner_ref(value)
            if not _REF.match(ref):
                raise forms.ValidationError(f"{value!r} is not an entity reference such as group:default/team-a.")
            owners.append(ref)
        return owners


class ScorecardForm(EntityFilterForm):
    class Meta:
        model = Scorecard
        fields = ["name", "description", "kinds", "spec_types", "lifecycles", "tags", "owners"]


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = ["scorecard", "level", "name", "description", "state", "enabled_from", "check_spec", "blocking",
                  "how_to_fix", "owner"]
        help_texts = {
            "check_spec": "A JSON object with a type, one of: " + ", ".join(checks.CHECK_TYPES)
            + '. E.g. {"type": "annotation_present", "key": "backstage.io/techdocs-ref"}.',
        }

    def clean_check_spec(self):
        value = self.cleaned_data.get("check_spec")
        problems = checks.validate_check(value)
        if problems:
            raise forms.ValidationError([forms.ValidationError(problem, code="invalid_check") for problem in problems])
        return value

    def clean(self):
        cleaned = super().clean()
        state, enabled_from = cleaned.get("state"), cleaned.get("enabled_from")
        if state == Rule.State.ENABLED_FROM and not enabled_from:
            self.add_error("enabled_from", "Give the day the rule starts to count.")
        level = cleaned.get("level")
        scorecard = cleaned.get("scorecard")
        if scorecard is None and self.instance.scorecard_id:
            scorecard = self.instance.scorecard
        if level is not None and scorecard is not None and level.scorecard_id != scorecard.pk:
            self.add_error("level", f"{level.name} is a level of {level.scorecard}, not of {scorecard}.")
        return cleaned


class LevelInline(admin.TabularInline):
    model = Level
    extra = 0
    fields = ["name", "order", "colour"]
    verbose_name_plural = "Levels (lowest first; a new scorecard without any gets Bronze, Silver and Gold)"


class RuleInline(admin.StackedInline):
    model = Rule
    form = RuleForm
    extra = 0
    fields = ["name", "level", "state", "enabled_from", "blocking", "check_spec", "description", "how_to_fix", "owner"]
    show_change_link = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "level":
            object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            kwargs["queryset"] = Level.objects.filter(scorecard_id=object_id) if object_id else Level.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AuditedInlinesMixin:
    """Inline rows saved with their parent get audit records of their own."""

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            before = model_to_dict(obj)
            label, pk, text = obj._meta.label_lower, str(obj.pk), str(obj)
            obj.delete()
            audit.record(request.user, f"{label}.delete", None, before=before, request=request,
                         object_type=label, object_id=pk, object_repr=text)
        for obj in instances:
            adding = obj.pk is None
            before = None if adding else model_to_dict(type(obj).objects.get(pk=obj.pk))
            obj.save()
            audit.record(request.user, f"{obj._meta.label_lower}.{'add' if adding else 'change'}", obj,
                         before=before, after=model_to_dict(obj), request=request)
        formset.save_m2m()


@admin.register(Scorecard)
class ScorecardAdmin(AuditedInlinesMixin, AuditedModelAdmin):
    form = ScorecardForm
    list_display = ["name", "rule_count", "last_evaluated_at"]
    search_fields = ["name", "description"]
    actions = ["evaluate_now"]

    def get_inlines(self, request, obj):
        return [LevelInline, RuleInline] if obj is not None else [LevelInline]

    @admin.display(description="Rules")
    def rule_count(self, obj):
        return obj.rules.count()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not form.instance.levels.exists():
            form.instance.ensure_default_levels()
            audit.record(request.user, "scorecards.level.add", form.instance, request=request,
                         message="Default levels Bronze, Silver and Gold created")

    @admin.action(description="Evaluate now")
    def evaluate_now(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        report = evaluation.evaluate(None, scorecard_ids=ids, force=True)
        evaluation.take_snapshots(scorecard_ids=ids)
        for scorecard in queryset:
            audit.record(request.user, "scorecards.scorecard.evaluate", scorecard, request=request,
                         message=f"{report.entities} entities evaluated")
        self.message_user(request, f"Evaluated {report.entities} entities in {report.seconds:.1f} s.",
                          messages.SUCCESS)


@admin.register(Rule)
class RuleAdmin(AuditedModelAdmin):
    form = RuleForm
    list_display = ["name", "scorecard", "level", "state", "enabled_from", "blocking"]
    list_filter = ["scorecard", "state", "blocking"]
    search_fields = ["name", "description"]
    list_select_related = ["scorecard", "level"]


class InitiativeForm(EntityFilterForm):
    class Meta:
        model = Initiative
        fields = ["name", "description", "scorecard", "rules", "target_level", "deadline", "kinds", "spec_types",
                  "lifecycles", "tags", "owners"]

    def clean(self):
        cleaned = super().clean()
        scorecard = cleaned.get("scorecard")
        rules = cleaned.get("rules")
        target = cleaned.get("target_level")
        if not rules and target is None:
            self.add_error("rules", "Choose rules, a target level, or both.")
        if scorecard is not None:
            strangers = [rule.name for rule in rules or [] if rule.scorecard_id != scorecard.pk]
            if strangers:
                self.add_error("rules", f"Not rules of {scorecard}: {', '.join(strangers)}.")
            if target is not None and target.scorecard_id != scorecard.pk:
                self.add_error("target_level", f"{target.name} is not a level of {scorecard}.")
        return cleaned


@admin.register(Initiative)
class InitiativeAdmin(AuditedModelAdmin):
    form = InitiativeForm
    list_display = ["name", "scorecard", "target_level", "deadline"]
    list_filter = ["scorecard"]
    filter_horizontal = ["rules"]
    search_fields = ["name", "description"]


class DeploymentCommitInline(admin.TabularInline):
    model = DeploymentCommit
    extra = 0
    fields = ["sha"]


@admin.register(Deployment)
class DeploymentAdmin(AuditedInlinesMixin, AuditedModelAdmin):
    list_display = ["external_id", "entity_ref", "environment", "status", "finished_at"]
    list_filter = ["status", "environment"]
    search_fields = ["external_id", "entity_ref"]
    date_hierarchy = "finished_at"
    inlines = [DeploymentCommitInline]
    show_full_result_count = False


@admin.register(Change)
class ChangeAdmin(AuditedModelAdmin):
    list_display = ["sha", "entity_ref", "committed_at", "external_id"]
    search_fields = ["sha", "entity_ref", "external_id"]
    date_hierarchy = "committed_at"
    show_full_result_count = False


@admin.register(Incident)
class IncidentAdmin(AuditedModelAdmin):
    list_display = ["external_id", "entity_ref", "opened_at", "resolved_at", "caused_by_deployment", "caused_by_sha"]
    search_fields = ["external_id", "entity_ref", "caused_by_sha", "caused_by_deployment"]
    date_hierarchy = "opened_at"
    show_full_result_count = False
