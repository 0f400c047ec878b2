"""The order form: team and name, plus fields built from the offering's parameter schema.

The fields come from ``scaffolder.formschema`` (the same reading of JSON Schema and ``ui:*`` hints
the scaffolder uses); the checks come from the domain modules: Django fields here only convert
text into values, and ``render_claim`` decides what is valid. Its errors are put back beside the
fields they name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from scaffolder.formschema import FieldSpec, FormSchemaError, parameter_steps

from .offerings import FieldError, Offering

NAME_HELP = "Lowercase letters, digits and '-', at most 63 characters; unique within the team."


class ClaimForm(forms.Form):
    team = forms.ChoiceField(label="Team", help_text="The group that owns the resource and pays for it.")
    name = forms.CharField(label="Name", max_length=63, help_text=NAME_HELP, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))

    def __init__(self, *args, teams: list[str], name_help: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(team, team) for team in teams]
        if len(teams) == 1:
            self.fields["team"].initial = teams[0]
        else:
            choices.insert(0, ("", "Choose a team"))
        self.fields["team"].choices = choices
        if name_help:
            self.fields["name"].help_text = f"{NAME_HELP} {name_help}"


class PairListField(forms.CharField):
    """An array of two-string objects (e.g. dependencies) typed one per line as ``first=second``."""

    widget = forms.Textarea

    def __init__(self, *, keys: tuple[str, str], **kwargs) -> None:
        self.keys = keys
        super().__init__(**kwargs)
        self.widget.attrs["rows"] = 3
        self.widget.attrs.setdefault("placeholder", f"{keys[0]}={keys[1]}")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            first, second = self.keys
            return "\n".join(
                f"{item.get(first, '')}={item.get(second, '')}" if isinstance(item, dict) else str(item)
                for item in value
            )
        return value

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return []
        items, problems = [], []
        first, second = self.keys
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            left, sep, right = line.partition("=")
            if not sep or not left.strip() or not right.strip():
                problems.append(f"Line {number}: write {first}={second}")
                continue
            items.append({first: left.strip(), second: right.strip()})
        if problems:
            raise forms.ValidationError("; ".join(problems))
        return items


class ListField(forms.CharField):
    """An array of scalars typed one per line (or comma-separated)."""

    widget = forms.Textarea

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(str(item) for item in value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        return [item.strip() for item in text.replace(",", "\n").splitlines() if item.strip()] if text else []


def _pair_keys(schema: Mapping[str, Any]) -> tuple[str, str] | None:
    items = schema.get("items") if isinstance(schema, Mapping) else None
    properties = items.get("properties") if isinstance(items, Mapping) else None
    if not isinstance(properties, Mapping) or len(properties) != 2:
        return None
    if not all(isinstance(prop, Mapping) and prop.get("type") == "string" for prop in properties.values()):
        return None
    first, second = list(properties)
    return first, second


def _property_schema(offering: Offering, name: str) -> Mapping[str, Any]:
    node: Any = offering.parameter_schema
    for part in name.split("."):
        node = (node.get("properties") or {}).get(part, {}) if isinstance(node, Mapping) else {}
    return node if isinstance(node, Mapping) else {}


def form_field(spec: FieldSpec, schema: Mapping[str, Any] | None = None) -> forms.Field:
    """A Django form field for one formschema FieldSpec (required is left to the domain checks)."""
    common: dict[str, Any] = {"label": spec.label, "help_text": spec.help, "required": False}
    if spec.has_default:
        common["initial"] = spec.default
    attrs = {"placeholder": spec.placeholder} if spec.placeholder else {}
    if spec.kind in ("select", "radio") and spec.choices:
        widget = forms.RadioSelect if spec.kind == "radio" else forms.Select
        choices = [(choice.key, choice.label) for choice in spec.choices]
        if spec.kind == "select" and not spec.has_default:
            choices = [("", "—"), *choices]
        initial = next((c.key for c in spec.choices if spec.has_default and c.value == spec.default), None)
        return forms.ChoiceField(choices=choices, widget=widget, **{**common, "initial": initial})
    if spec.kind == "boolean":
        return forms.BooleanField(**common)
    if spec.kind == "integer":
        return forms.IntegerField(widget=forms.NumberInput(attrs=attrs), **common)
    if spec.kind == "number":
        return forms.FloatField(widget=forms.NumberInput(attrs=attrs), **common)
    if spec.kind == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3, **attrs}), strip=False, **common)
    if spec.kind == "json" and schema is not None and (keys := _pair_keys(schema)):
        first, second = keys
        help_text = f"One per line: {first}={second}. {spec.help}".strip()
        return PairListField(keys=keys, **{**common, "help_text": help_text})
    if spec.kind == "json":
        return forms.JSONField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    if spec.kind in ("list", "multiselect", "checkboxes"):
        return ListField(**{**common, "help_text": f"One per line. {spec.help}".strip()})
    return forms.CharField(widget=forms.TextInput(attrs={"spellcheck": "false", **attrs}), strip=True, **common)


class ParametersForm(forms.Form):
    """The offering's own fields; ``values()`` gives what the domain validates."""

    def __init__(self, offering: Offering, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "values")
        super().__init__(*args, **kwargs)
        self.offering = offering
        self.specs: dict[str, FieldSpec] = {}
        try:
            steps = parameter_steps(offering.parameter_schema)
        except FormSchemaError as exc:
            raise ValueError(f"offering {offering.key}: {exc}") from exc
        for step in steps:
            for spec in step.all_fields or step.fields:
                if spec.name in self.fields:
                    continue
                self.specs[spec.name] = spec
                field = form_field(spec, _property_schema(offering, spec.name))
                field.required_in_schema = spec.required
                self.fields[spec.name] = field

    def required_names(self) -> set[str]:
        return {name for name, spec in self.specs.items() if spec.required}

    def values(self) -> dict[str, Any]:
        """Typed values of the fields that were filled in (empty ones are left out: defaults apply)."""
        cleaned = getattr(self, "cleaned_data", {}) or {}
        values: dict[str, Any] = {}
        for name, spec in self.specs.items():
            if name in self.errors or name not in cleaned:
                continue
            value = cleaned[name]
            if value is None or value == "" or value == []:
                continue
            if spec.choices and isinstance(value, str):
                value = next((choice.value for choice in spec.choices if choice.key == value), value)
            _set_path(values, name, value)
        return values


def _set_path(values: dict[str, Any], name: str, value: Any) -> None:
    parts = name.split(".")
    node = values
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _top_field(field: str) -> tuple[str, str]:
    """``dependencies[0].version`` -> (``dependencies``, ``entry 1, version``)."""
    head = field
    for separator in ("[", "."):
        head = head.split(separator, 1)[0]
    rest = field[len(head):]
    detail = ""
    if rest.startswith("["):
        index, _, tail = rest[1:].partition("]")
        detail = f"entry {int(index) + 1}" if index.isdigit() else ""
        tail = tail.lstrip(".")
        if tail:
            detail = f"{detail}, {tail}" if detail else tail
    elif rest.startswith("."):
        detail = rest[1:]
    return head, detail


def add_domain_errors(errors: list[FieldError], claim_form: ClaimForm, parameters: ParametersForm) -> None:
    """Put the domain's FieldErrors beside the fields they name (the rest above the form)."""
    for error in errors:
        head, detail = _top_field(error.field)
        message = f"{detail}: {error.message}" if detail else error.message
        if error.field in ("team", "name"):
            if error.field not in claim_form.errors:
                claim_form.add_error(error.field, error.message)
            continue
        if head == "namespace":
            claim_form.add_error("team", error.message)
            continue
        target = head if head in parameters.fields else None
        if target is None:
            # Dotted names of flattened objects are fields themselves.
            target = error.field if error.field in parameters.fields else None
        if target is not None:
            if target in parameters.errors and not detail:
                continue  # Django already said why (e.g. not a number)
            parameters.add_error(target, message if target == head else error.message)
        else:
            label = f"{error.field}: " if error.field else ""
            parameters.add_error(None, f"{label}{error.message}")
