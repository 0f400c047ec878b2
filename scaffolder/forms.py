"""Django forms built from the engine's form model (scaffolder.formschema).

``StepForm(step, values=..., data=..., catalog=CatalogChoices(user))`` has one Django field per
visible FieldSpec, with the widget its kind and ``ui:*`` hints call for; pickers offer
entities from the catalog through ``<datalist>`` or ``<select>``. Validation is the engine's
(``formschema.clean_step`` against the same schema the API uses, plus the pickers' checks
and the guardrails), so errors land beside the fields they belong to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Count
from django.forms.utils import ErrorDict

from catalog.models import Entity, EntityTag

from . import conf, formschema
from .launch import get_path, picker_errors
from .policies import Guardrails, publish_errors, user_group_refs

MAX_CHOICES = 500
FILTER_EXISTS = "CATALOG_FILTER_EXISTS"
_INDEXED = {
    "kind": "kind",
    "metadata.namespace": "namespace",
    "metadata.name": "name",
    "spec.type": "spec_type",
    "spec.lifecycle": "lifecycle",
    "spec.owner": "owner_ref",
    "spec.system": "system_ref",
}


# --------------------------------------------------------------------------------------------
# What the catalog offers to pickers


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [str(item) for item in items if item is not None]


def _path_values(data: Any, path: str) -> list[Any]:
    node = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return []
        node = node[part]
    return node if isinstance(node, list) else [node]


class CatalogChoices:
    """Entities, tags and groups for pickers, read from the catalog (cached per instance)."""

    def __init__(self, user=None, limit: int = MAX_CHOICES) -> None:
        self.user = user
        self.limit = limit
        self._cache: dict[str, Any] = {}

    def entities(self, options: dict[str, Any], default_kinds: Iterable[str] = ()) -> list[tuple[str, str]]:
        filters = options.get("catalogFilter")
        if isinstance(filters, dict):
            filters = [filters]
        if not isinstance(filters, list) or not filters:
            kinds = _as_list(options.get("allowedKinds")) or list(default_kinds)
            filters = [{"kind": kinds}] if kinds else [{}]
        key = json.dumps(filters, sort_keys=True, default=str)
        if key not in self._cache:
            found: dict[str, str] = {}
            for item in filters:
                if isinstance(item, dict):
                    for ref, label in self._filtered(item):
                        found.setdefault(ref, label)
            self._cache[key] = sorted(found.items(), key=lambda pair: pair[1].lower())[: self.limit]
        return self._cache[key]

    def _filtered(self, item: dict[str, Any]) -> list[tuple[str, str]]:
        rows = Entity.objects.filter(orphan=False)
        later: list[tuple[str, list[str]]] = []
        for key, raw in item.items():
            wanted = _as_list(raw)
            if FILTER_EXISTS in wanted:
                later.append((key, [FILTER_EXISTS]))
            elif key in _INDEXED:
                column = _INDEXED[key]
                rows = rows.filter(**{f"{column}__in": [w.lower() for w in wanted]})
            elif key == "metadata.tags":
                rows = rows.filter(tag_rows__tag__in=wanted)
            else:
                later.append((key, [w.lower() for w in wanted]))
        rows = rows.distinct().order_by("ref")
        rows = rows.only("ref", "title", "name", "data") if later else rows.only("ref", "title", "name")
        result = []
        for entity in rows[: self.limit * (4 if later else 1)]:
            if all(self._matches(entity.data, key, wanted) for key, wanted in later):
                result.append((entity.ref, f"{entity.title} ({entity.ref})" if entity.title else entity.ref))
        return result

    @staticmethod
    def _matches(data: Any, key: str, wanted: list[str]) -> bool:
        found = _path_values(data, key)
        if wanted == [FILTER_EXISTS]:
            return bool(found)
        return any(str(value).lower() in wanted for value in found)

    def owners(self, options: dict[str, Any]) -> list[tuple[str, str]]:
        return self.entities(options, default_kinds=("group", "user"))

    def owned(self, options: dict[str, Any]) -> list[tuple[str, str]]:
        mine = user_group_refs(self.user)
        refs = set(Entity.objects.filter(owner_ref__in=mine).values_list("ref", flat=True)[: self.limit * 4])
        return [pair for pair in self.entities(options) if pair[0] in refs]

    def tags(self) -> list[tuple[str, str]]:
        if "tags" not in self._cache:
            rows = EntityTag.objects.values_list("tag").annotate(n=Count("entity_id")).order_by("-n", "tag")
            self._cache["tags"] = [(tag, tag) for tag, _ in rows[: self.limit]]
        return self._cache["tags"]

    def my_groups(self) -> list[tuple[str, str]]:
        groups = sorted(ref for ref in user_group_refs(self.user) if ref.startswith("group:"))
        titles = dict(Entity.objects.filter(ref__in=groups).values_list("ref", "title"))
        return [(ref, f"{titles[ref]} ({ref})" if titles.get(ref) else ref) for ref in groups]


# --------------------------------------------------------------------------------------------
# Widgets


class DatalistInput(forms.TextInput):
    """A text input suggesting values from a <datalist>; any other text is accepted too."""

    template_name = "scaffolder/widgets/datalist.html"

    def __init__(self, options: Iterable[tuple[str, str]] = (), attrs=None):
        super().__init__(attrs)
        self.options = list(options)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-options"
        context["widget"]["attrs"]["list"] = list_id
        context["widget"]["list_id"] = list_id
        context["widget"]["options"] = self.options
        return context


class RepoUrlWidget(forms.MultiWidget):
    """RepoUrlPicker: a host select, an owner and a repository name, posted as ``host?owner=o&repo=r``."""

    template_name = "scaffolder/widgets/repo_url.html"
    parts = ("host", "owner", "repo")

    def __init__(self, hosts: list[str], owners: list[str] | None = None, repos: list[str] | None = None,
                 attrs=None):
        def choose(values: list[str] | None, blank: bool) -> forms.Widget:
            if not values:
                return forms.TextInput()
            return forms.Select(choices=([("", "—")] if blank else []) + [(v, v) for v in values])

        self.hosts = hosts
        widgets = {"host": choose(hosts, blank=False), "owner": choose(owners, blank=True),
                   "repo": choose(repos, blank=True)}
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if not value:
            return [self.hosts[0] if self.hosts else "", "", ""]
        parts = urlsplit("https://" + str(value))
        query = parse_qs(parts.query)
        owner = (query.get("owner") or query.get("organization") or query.get("workspace") or [""])[0]
        return [parts.netloc, owner, (query.get("repo") or [""])[0]]

    @classmethod
    def combine(cls, data, name: str) -> str | None:
        """The posted value: the three inputs joined, or the field itself when posted whole."""
        if name in data:
            return data.get(name)
        given = [data.get(f"{name}_{part}") for part in cls.parts]
        if all(value is None for value in given):
            return None
        host, owner, repo = ((value or "").strip() for value in given)
        if not (host or owner or repo):
            return ""
        query = {key: value for key, value in (("owner", owner), ("repo", repo)) if value}
        return f"{host}?{urlencode(query)}"

    def value_from_datadict(self, data, files, name):
        return self.combine(data, name)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for subwidget, label in zip(context["widget"]["subwidgets"], ("Host", "Owner", "Repository"), strict=True):
            subwidget["part_label"] = label
        return context


# --------------------------------------------------------------------------------------------
# FieldSpec -> Django field


def _choice_key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def widget_value(spec: formschema.FieldSpec, value: Any) -> Any:
    """A typed value as the widget of ``spec`` shows it."""
    if value is None:
        return None
    kind = spec.kind
    if kind == "boolean":
        return bool(value)
    if kind in ("select", "radio", "my_groups_picker") or (spec.choices and not spec.is_multiple):
        return _choice_key(value)
    if kind in ("multiselect", "checkboxes"):
        return [_choice_key(item) for item in value] if isinstance(value, list) else [_choice_key(value)]
    if kind == "multi_entity_picker":
        return [str(item) for item in value] if isinstance(value, list) else [str(value)]
    if kind == "entity_tags_picker":
        return ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)
    if kind == "list":
        return "\n".join(_choice_key(item) for item in value) if isinstance(value, list) else str(value)
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _text_attrs(spec: formschema.FieldSpec) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    constraints = spec.constraints
    if isinstance(constraints.get("minLength"), int):
        attrs["minlength"] = constraints["minLength"]
    if isinstance(constraints.get("maxLength"), int):
        attrs["maxlength"] = constraints["maxLength"]
    return attrs


_INPUT_TYPES = {"email": "email", "idn-email": "email", "uri": "url", "url": "url", "date": "date"}


def _repo_url_widget(spec: formschema.FieldSpec, guardrails: Guardrails) -> RepoUrlWidget:
    options = spec.options
    hosts = _as_list(options.get("allowedHosts")) or sorted(conf.git_hosts_settings())
    hosts = [host for host in hosts if guardrails.host_allowed(host)]
    owners = _as_list(options.get("allowedOwners") or options.get("allowedOrganizations"))
    if guardrails.owners is not None:
        owners = [o for o in owners if guardrails.owner_allowed(o)] if owners else sorted(guardrails.owners)
    repos = _as_list(options.get("allowedRepos"))
    return RepoUrlWidget(hosts, owners or None, repos or None)


def _picker(choices: list[tuple[str, str]], options: dict[str, Any], required: bool) -> forms.Widget:
    if options.get("allowArbitraryValues", True) is False:
        return forms.Select(choices=[("", "— choose —")] + choices)
    return DatalistInput(choices)


def build_field(spec: formschema.FieldSpec, catalog: CatalogChoices, guardrails: Guardrails) -> forms.Field:
    """The Django field (and widget) for one FieldSpec; validation itself is the engine's."""
    kind, options = spec.kind, spec.options
    attrs: dict[str, Any] = {}
    field: forms.Field
    if kind == "boolean":
        field = forms.BooleanField(widget=forms.CheckboxInput())
    elif kind in ("select", "radio"):
        choices = [(c.key, c.label) for c in spec.choices]
        if kind == "radio":
            field = forms.ChoiceField(choices=choices, widget=forms.RadioSelect)
        else:
            blank = [] if spec.required and spec.has_default else [("", "— choose —")]
            field = forms.ChoiceField(choices=blank + choices, widget=forms.Select)
    elif kind in ("multiselect", "checkboxes"):
        widget = forms.CheckboxSelectMultiple if kind == "checkboxes" else forms.SelectMultiple
        field = forms.MultipleChoiceField(choices=[(c.key, c.label) for c in spec.choices], widget=widget)
    elif kind in ("integer", "number"):
        constraints = spec.constraints
        attrs["step"] = constraints.get("multipleOf") or ("1" if kind == "integer" else "any")
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if isinstance(constraints.get(key), int | float) and not isinstance(constraints.get(key), bool):
                attrs[attr] = constraints[key]
        field = forms.CharField(widget=forms.NumberInput)
    elif kind in ("password", "secret"):
        field = forms.CharField(widget=forms.PasswordInput(render_value=False))
        attrs["autocomplete"] = "off"
    elif kind == "textarea":
        rows = options.get("rows")
        attrs["rows"] = rows if isinstance(rows, int) and 0 < rows < 100 else 5
        field = forms.CharField(widget=forms.Textarea)
    elif kind == "list":
        field = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    elif kind == "json":
        field = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}))
    elif kind == "hidden":
        field = forms.CharField(widget=forms.HiddenInput)
    elif kind == "owner_picker":
        field = forms.CharField(widget=_picker(catalog.owners(options), options, spec.required))
    elif kind in ("entity_picker", "owned_entity_picker"):
        choices = catalog.owned(options) if kind == "owned_entity_picker" else catalog.entities(options)
        field = forms.CharField(widget=_picker(choices, options, spec.required))
    elif kind == "multi_entity_picker":
        choices = catalog.entities(options)
        field = forms.MultipleChoiceField(choices=choices, widget=forms.SelectMultiple) if choices else \
            forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    elif kind == "entity_tags_picker":
        field = forms.CharField(widget=DatalistInput(catalog.tags()))
        attrs["placeholder"] = spec.placeholder or "tag-one, tag-two"
    elif kind == "my_groups_picker":
        groups = catalog.my_groups()
        widget = forms.Select(choices=[("", "— choose —")] + groups) if groups else DatalistInput(
            catalog.entities({}, default_kinds=("group",)))
        field = forms.CharField(widget=widget)
    elif kind == "repo_url_picker":
        field = forms.CharField(widget=_repo_url_widget(spec, guardrails))
    else:  # string, entity_name_picker, repo_branch_picker, repo_owner_picker
        input_type = options.get("inputType") or _INPUT_TYPES.get(str(spec.constraints.get("format") or ""))
        widget = forms.TextInput()
        if isinstance(input_type, str) and input_type in ("email", "url", "date", "tel", "text", "color"):
            widget.input_type = input_type
        attrs.update(_text_attrs(spec))
        field = forms.CharField(widget=widget)
    field.required = False
    field.label = spec.label
    field.help_text = spec.help
    if spec.placeholder:
        attrs["placeholder"] = spec.placeholder
    if spec.autofocus:
        attrs["autofocus"] = True
    if spec.readonly:
        attrs["readonly"] = True
    if spec.disabled:
        attrs["disabled"] = True
    if spec.required and kind not in ("boolean", "checkboxes", "multiselect", "hidden", "multi_entity_picker"):
        attrs["required"] = True
    field.widget.attrs.update(attrs)
    return field


def full_ref(text: str, default_kind: str, default_namespace: Any = None) -> str:
    """``team-a`` typed into a picker with ``defaultKind: Group`` means ``group:default/team-a``."""
    text = text.strip()
    if not text or ":" in text:
        return text
    namespace, _, name = text.rpartition("/")
    if not namespace:
        namespace = default_namespace if isinstance(default_namespace, str) and default_namespace else "default"
    return f"{default_kind.lower()}:{namespace}/{name}"


# --------------------------------------------------------------------------------------------
# The form of one wizard step


@dataclass
class FieldRow:
    field: forms.BoundField
    spec: formschema.FieldSpec

    @property
    def is_checkbox(self) -> bool:
        return self.spec.kind == "boolean"

    @property
    def is_group(self) -> bool:
        return self.spec.kind in ("radio", "checkboxes", "repo_url_picker")


def default_values(step: formschema.FormStep) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in step.fields:
        if spec.has_default:
            formschema.set_path(values, spec.name, spec.default)
    return values


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _has_path(values: Any, name: str) -> bool:
    node = values
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


class StepForm(forms.Form):
    """One wizard step. Bound to a post it validates with the engine; unbound it shows ``values``."""

    def __init__(
        self,
        step: formschema.FormStep,
        *,
        catalog: CatalogChoices,
        values: dict[str, Any] | None = None,
        data=None,
        guardrails: Guardrails | None = None,
        kept_secrets: dict[str, Any] | None = None,
        refresh_url: str = "",
        target_id: str = "wizard-fields",
        prefix: str | None = None,
        show_secrets: bool = False,
    ) -> None:
        super().__init__(data=data, prefix=prefix)
        self.step = step
        self.guardrails = guardrails or Guardrails()
        self.kept_secrets = kept_secrets or {}
        self.target_id = target_id
        self.cleaned_values: dict[str, Any] = {}
        if self.is_bound:
            current = formschema.coerce(step, self.raw_input()).values
        else:
            current = deep_merge(default_values(step), values or {})
        self.values = current
        self.specs = formschema.fields_for(step, current)
        self.spec_by_name = {spec.name: spec for spec in self.specs}
        for spec in self.specs:
            field = build_field(spec, catalog, self.guardrails)
            if spec.secret:
                if show_secrets:
                    field.widget.render_value = True
                    field.initial = get_path(current, spec.name)
                elif spec.name in self.kept_secrets:
                    field.widget.attrs.pop("required", None)
                    field.widget.attrs["placeholder"] = "•••••• (kept; type to replace)"
            elif _has_path(current, spec.name):
                field.initial = widget_value(spec, get_path(current, spec.name))
            if spec.controlling and refresh_url:
                field.widget.attrs.update({
                    "hx-post": refresh_url,
                    "hx-trigger": "change",
                    "hx-target": f"#{target_id}",
                    "hx-swap": "outerHTML",
                    "hx-vals": json.dumps({"_refresh": "1", "_step": str(step.index)}),
                })
            self.fields[spec.name] = field

    def raw_input(self) -> dict[str, list[str]]:
        """The post as the engine reads it: field names without prefix, RepoUrlPicker parts joined."""
        data = self.data
        prefix = f"{self.prefix}-" if self.prefix else ""
        raw: dict[str, list[str]] = {}
        for key in data:
            if not key.startswith(prefix):
                continue
            values = data.getlist(key) if hasattr(data, "getlist") else _as_list(data[key])
            raw[key[len(prefix):]] = values
        for spec in self.step.all_fields:
            if spec.kind == "repo_url_picker":
                combined = RepoUrlWidget.combine(data, prefix + spec.name)
                if combined is not None:
                    raw[spec.name] = [combined]
                for part in RepoUrlWidget.parts:
                    raw.pop(f"{spec.name}_{part}", None)
            elif spec.secret and spec.name in self.kept_secrets and not "".join(raw.get(spec.name) or []):
                raw[spec.name] = [str(self.kept_secrets[spec.name])]
            elif spec.kind in ("owner_picker", "entity_picker", "owned_entity_picker") and raw.get(spec.name):
                default_kind = spec.options.get("defaultKind") or ("Group" if spec.kind == "owner_picker" else "")
                if isinstance(default_kind, str) and default_kind:
                    namespace = spec.options.get("defaultNamespace")
                    raw[spec.name] = [full_ref(text, default_kind, namespace) for text in raw[spec.name]]
        return raw

    def full_clean(self) -> None:
        self._errors = ErrorDict()
        self.cleaned_data = {}
        if not self.is_bound:
            return
        result = formschema.clean_step(self.step, self.raw_input(), self.guardrails.extra_constraints or None)
        errors = {name: list(messages) for name, messages in result.errors.items()}
        for extra in (picker_errors([self.step], result.values),
                      publish_errors([self.step], result.values, self.guardrails)):
            for name, messages in extra.items():
                if name not in result.errors:
                    errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
        for name, messages in errors.items():
            if name in self.fields:
                self._errors[name] = self.error_class(messages, renderer=self.renderer)
            else:
                spec = next((s for s in self.step.all_fields if s.name == name), None)
                label = f"{spec.label}: " if spec else (f"{name}: " if name != formschema.NON_FIELD else "")
                bucket = self._errors.setdefault(
                    NON_FIELD_ERRORS, self.error_class(error_class="nonfield", renderer=self.renderer)
                )
                bucket.extend(label + message for message in messages)
        self.cleaned_values = result.values
        self.cleaned_data = dict(result.values)

    def step_values(self) -> dict[str, Any]:
        """Validated values of the fields this step shows (call after is_valid())."""
        values: dict[str, Any] = {}
        for spec in formschema.fields_for(self.step, self.cleaned_values):
            if _has_path(self.cleaned_values, spec.name):
                formschema.set_path(values, spec.name, get_path(self.cleaned_values, spec.name))
        return values

    def rows(self) -> list[dict[str, Any]]:
        """Visible fields in order, grouped by their nested-object label."""
        groups: list[dict[str, Any]] = []
        for name in self.fields:
            bound = self[name]
            if bound.is_hidden:
                continue
            spec = self.spec_by_name[name]
            if not groups or groups[-1]["label"] != spec.group:
                groups.append({"label": spec.group, "help": spec.group_help, "rows": []})
            groups[-1]["rows"].append(FieldRow(bound, spec))
        return groups
