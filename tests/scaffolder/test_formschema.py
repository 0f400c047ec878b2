"""Tests for the template parameter form model (scaffolder/formschema.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scaffolder.formschema import (
    KINDS,
    MASK,
    NON_FIELD,
    FormSchemaError,
    clean_step,
    coerce,
    example_values,
    fields_for,
    parameter_steps,
    review_rows,
    secret_fields,
    validate_all,
    validate_step,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("CAUSEWAY_FIXTURES", REPO_ROOT / ".." / "shared" / "fixtures" / "backstage"))


def one_step(properties: dict, **extra) -> object:
    [step] = parameter_steps([{"title": "Step", "properties": properties, **extra}])
    return step


def field_named(step, name, values=None):
    fields = step.fields if values is None else fields_for(step, values)
    matches = [f for f in fields if f.name == name]
    assert matches, f"{name} not among {[f.name for f in fields]}"
    return matches[0]


# ---------------------------------------------------------------------------------------------
# Steps and field kinds


def test_it_accepts_a_single_mapping_as_one_step():
    steps = parameter_steps({"properties": {"name": {"type": "string"}}})
    assert len(steps) == 1
    assert steps[0].title == "Step 1"
    assert [f.name for f in steps[0].fields] == ["name"]


def test_it_keeps_step_titles_and_descriptions_in_order():
    steps = parameter_steps(
        [
            {"title": "About", "description": "Who you are", "properties": {"a": {"type": "string"}}},
            {"title": "Where", "properties": {"b": {"type": "string"}}},
        ]
    )
    assert [(s.index, s.title, s.description) for s in steps] == [(0, "About", "Who you are"), (1, "Where", "")]


def test_no_parameters_means_no_steps():
    assert parameter_steps(None) == []
    assert parameter_steps([]) == []


@pytest.mark.parametrize(
    ("prop", "kind"),
    [
        ({"type": "string"}, "string"),
        ({"type": "string", "ui:widget": "textarea"}, "textarea"),
        ({"type": "string", "ui:widget": "password"}, "password"),
        ({"type": "string", "ui:field": "Secret"}, "secret"),
        ({"type": "integer"}, "integer"),
        ({"type": "number"}, "number"),
        ({"type": "integer", "ui:widget": "updown"}, "integer"),
        ({"type": "boolean"}, "boolean"),
        ({"type": "boolean", "ui:widget": "radio"}, "radio"),
        ({"type": "string", "enum": ["a", "b"]}, "select"),
        ({"type": "string", "enum": ["a", "b"], "ui:widget": "radio"}, "radio"),
        ({"type": "string", "oneOf": [{"const": "a", "title": "A"}]}, "select"),
        ({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "uniqueItems": True}, "multiselect"),
        (
            {
                "type": "array",
                "items": {"type": "string", "enum": ["a"]},
                "uniqueItems": True,
                "ui:widget": "checkboxes",
            },
            "checkboxes",
        ),
        ({"type": "array", "items": {"type": "string"}}, "list"),
        ({"type": "array", "items": {"type": "integer"}}, "list"),
        ({"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}}}}, "json"),
        ({"type": "object"}, "json"),
        ({"type": "string", "ui:widget": "hidden"}, "hidden"),
        ({"type": "string", "ui:field": "OwnerPicker"}, "owner_picker"),
        ({"type": "string", "ui:field": "EntityPicker"}, "entity_picker"),
        ({"type": "string", "ui:field": "OwnedEntityPicker"}, "owned_entity_picker"),
        ({"type": "array", "ui:field": "MultiEntityPicker"}, "multi_entity_picker"),
        ({"type": "string", "ui:field": "EntityNamePicker"}, "entity_name_picker"),
        ({"type": "array", "items": {"type": "string"}, "ui:field": "EntityTagsPicker"}, "entity_tags_picker"),
        ({"type": "string", "ui:field": "RepoUrlPicker"}, "repo_url_picker"),
        ({"type": "string", "ui:field": "RepoBranchPicker"}, "repo_branch_picker"),
        ({"type": "string", "ui:field": "RepoOwnerPicker"}, "repo_owner_picker"),
        ({"type": "string", "ui:field": "MyGroupsPicker"}, "my_groups_picker"),
    ],
)
def test_each_property_gets_the_kind_its_schema_and_hints_call_for(prop, kind):
    spec = field_named(one_step({"f": prop}), "f")
    assert spec.kind == kind
    assert spec.kind in KINDS


def test_an_unknown_custom_field_falls_back_to_its_type_and_keeps_the_field_name():
    spec = field_named(one_step({"f": {"type": "integer", "ui:field": "MyCompanyPicker"}}), "f")
    assert (spec.kind, spec.ui_field) == ("integer", "MyCompanyPicker")


def test_list_fields_know_their_item_type():
    step = one_step({"ports": {"type": "array", "items": {"type": "integer"}}, "tags": {"type": "array"}})
    assert field_named(step, "ports").item_type == "integer"
    assert field_named(step, "tags").item_type == "string"


def test_a_field_without_a_type_is_typed_from_its_enum():
    spec = field_named(one_step({"size": {"enum": [1, 2, 3]}}), "size")
    assert (spec.kind, spec.json_type) == ("select", "integer")


def test_labels_come_from_the_title_or_else_the_name():
    step = one_step({"a": {"type": "string", "title": "Component name"}, "b": {"type": "string"}})
    assert [f.label for f in step.fields] == ["Component name", "b"]


def test_help_combines_description_and_ui_help_and_placeholder_is_read():
    spec = field_named(
        one_step(
            {
                "name": {
                    "type": "string",
                    "description": "Unique name.",
                    "ui:help": "Lower case only.",
                    "ui:placeholder": "my-service",
                }
            }
        ),
        "name",
    )
    assert spec.help == "Unique name. Lower case only."
    assert spec.placeholder == "my-service"


def test_select_choices_use_enum_names_as_labels():
    spec = field_named(
        one_step({"size": {"type": "string", "enum": ["s", "m"], "enumNames": ["Small", "Medium"]}}), "size"
    )
    assert [(c.value, c.label, c.key) for c in spec.choices] == [("s", "Small", "s"), ("m", "Medium", "m")]


def test_integer_choices_have_string_keys_for_the_html_form():
    spec = field_named(one_step({"replicas": {"type": "integer", "enum": [1, 3]}}), "replicas")
    assert [(c.value, c.key) for c in spec.choices] == [(1, "1"), (3, "3")]


def test_multiselect_choices_come_from_the_items_enum():
    spec = field_named(
        one_step(
            {
                "envs": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"type": "string", "enum": ["dev", "prod"], "enumNames": ["Development", "Production"]},
                }
            }
        ),
        "envs",
    )
    assert [c.label for c in spec.choices] == ["Development", "Production"]


def test_required_default_and_constraints_are_described():
    step = one_step(
        {
            "name": {"type": "string", "default": "svc", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 63},
            "port": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65535,
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 65536,
                "multipleOf": 1,
            },
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "minItems": 1, "maxItems": 4},
            "email": {"type": "string", "format": "email"},
        },
        required=["name"],
    )
    name, port, tags, email = step.fields
    assert name.required and not port.required
    assert (name.has_default, name.default) == (True, "svc")
    assert name.constraints == {"pattern": "^[a-z]+$", "minLength": 2, "maxLength": 63}
    assert port.constraints == {
        "minimum": 1,
        "maximum": 65535,
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 65536,
        "multipleOf": 1,
    }
    assert tags.constraints == {"minItems": 1, "maxItems": 4, "items": {"maxLength": 5}}
    assert email.constraints == {"format": "email"}


def test_widget_hints_and_flags_are_read():
    step = one_step(
        {
            "bio": {"type": "string", "ui:widget": "textarea", "ui:options": {"rows": 5}, "ui:autofocus": True},
            "id": {"type": "string", "ui:readonly": True},
            "legacy": {"type": "string", "ui:disabled": True},
            "count": {"type": "integer", "ui:widget": "updown"},
        }
    )
    bio, ident, legacy, count = step.fields
    assert (bio.widget, bio.options, bio.autofocus) == ("textarea", {"rows": 5}, True)
    assert ident.readonly and not ident.disabled
    assert legacy.disabled
    assert count.widget == "updown"


def test_hints_written_inside_ui_options_count_too():
    spec = field_named(
        one_step({"bio": {"type": "string", "ui:options": {"widget": "textarea", "placeholder": "Hi"}}}), "bio"
    )
    assert (spec.kind, spec.placeholder) == ("textarea", "Hi")


@pytest.mark.parametrize(
    ("ui_field", "options"),
    [
        (
            "OwnerPicker",
            {"allowedKinds": ["Group"], "catalogFilter": [{"kind": "Group"}], "allowArbitraryValues": False},
        ),
        ("EntityPicker", {"defaultKind": "Component", "allowedKinds": ["Component"], "defaultNamespace": False}),
        ("EntityTagsPicker", {"kinds": ["Component"], "showCounts": True, "helperText": "Pick tags"}),
        ("RepoUrlPicker", {"allowedHosts": ["github.com"], "allowedOwners": ["acme"], "allowedRepos": ["x"]}),
        ("MyGroupsPicker", {}),
    ],
)
def test_picker_options_are_passed_through_untouched(ui_field, options):
    spec = field_named(one_step({"f": {"type": "string", "ui:field": ui_field, "ui:options": options}}), "f")
    assert spec.options == options
    assert spec.ui_field == ui_field


def test_nested_objects_become_dotted_fields_with_a_group_label():
    step = one_step(
        {
            "db": {
                "type": "object",
                "title": "Database",
                "description": "Where data lives",
                "required": ["size"],
                "properties": {
                    "size": {"type": "integer", "title": "Size"},
                    "backup": {
                        "type": "object",
                        "title": "Backup",
                        "properties": {"days": {"type": "integer", "default": 7}},
                    },
                },
            }
        },
        required=["db"],
    )
    assert [(f.name, f.group) for f in step.fields] == [
        ("db.size", "Database"),
        ("db.backup.days", "Database / Backup"),
    ]
    size, days = step.fields
    assert size.required and size.group_help == "Where data lives"
    assert not days.required
    assert days.default == 7


def test_a_required_field_inside_an_optional_object_is_not_shown_as_required():
    step = one_step({"db": {"type": "object", "required": ["size"], "properties": {"size": {"type": "integer"}}}})
    assert not field_named(step, "db.size").required


def test_a_nested_field_takes_its_default_from_the_objects_default():
    step = one_step(
        {"db": {"type": "object", "default": {"engine": "postgres"}, "properties": {"engine": {"type": "string"}}}}
    )
    assert field_named(step, "db.engine").default == "postgres"


def test_ui_order_puts_listed_fields_first():
    step = one_step(
        {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}}, **{"ui:order": ["c", "a"]}
    )
    assert [f.name for f in step.fields] == ["c", "a", "b"]


def test_ui_order_wildcard_places_the_unlisted_fields():
    props = {n: {"type": "string"} for n in "abcd"}
    step = one_step(props, **{"ui:order": ["d", "*", "a"]})
    assert [f.name for f in step.fields] == ["d", "b", "c", "a"]


def test_ui_order_inside_a_nested_object_is_honoured_and_unknown_names_are_ignored():
    step = one_step(
        {
            "db": {
                "type": "object",
                "ui:order": ["name", "nope", "size"],
                "properties": {"size": {"type": "integer"}, "name": {"type": "string"}},
            }
        }
    )
    assert [f.name for f in step.fields] == ["db.name", "db.size"]


def test_refs_to_definitions_are_inlined_and_siblings_win():
    step = one_step(
        {"owner": {"$ref": "#/definitions/owner", "title": "Team"}},
        definitions={"owner": {"type": "string", "title": "Owner", "ui:field": "OwnerPicker", "maxLength": 10}},
    )
    spec = field_named(step, "owner")
    assert (spec.kind, spec.label, spec.constraints) == ("owner_picker", "Team", {"maxLength": 10})
    assert validate_step(step, {"owner": "x" * 11}) == {"owner": ["Must be at most 10 characters"]}


def test_a_recursive_ref_is_refused_with_a_clear_error():
    with pytest.raises(FormSchemaError, match="recursive reference #/definitions/node"):
        one_step(
            {"tree": {"$ref": "#/definitions/node"}},
            definitions={"node": {"type": "object", "properties": {"child": {"$ref": "#/definitions/node"}}}},
        )


@pytest.mark.parametrize("ref", ["https://example.com/schema.json", "#/definitions/missing", "other.json#/a"])
def test_refs_that_are_remote_or_dangling_are_refused(ref):
    with pytest.raises(FormSchemaError, match="reference"):
        one_step({"x": {"$ref": ref}}, definitions={})


def test_exponential_ref_expansion_is_refused():
    definitions = {"d0": {"type": "string"}}
    for i in range(1, 30):
        definitions[f"d{i}"] = {"allOf": [{"$ref": f"#/definitions/d{i - 1}"}, {"$ref": f"#/definitions/d{i - 1}"}]}
    with pytest.raises(FormSchemaError, match="too large"):
        one_step({"x": {"$ref": "#/definitions/d29"}}, definitions=definitions)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ("name: x", "must be a mapping or a list"),
        ([["not", "a", "step"]], "step 1 must be a mapping"),
        ([{"properties": {"a.b": {"type": "string"}}}], "'a.b' cannot be used"),
        ([{"properties": {"a": "string"}}], "property 'a' must be a mapping"),
        ([{"properties": {"a": {"type": "strnig"}}}], "invalid JSON Schema at properties/a/type"),
        ([{"properties": {"a": {"type": "string", "pattern": "[a-"}}}], "invalid JSON Schema"),
        ([{"properties": {"a": {"type": "string", "required": True}}}], "invalid JSON Schema"),
    ],
)
def test_hostile_parameters_give_a_specific_error(parameters, message):
    with pytest.raises(FormSchemaError, match=message):
        parameter_steps(parameters)


def test_deeply_nested_objects_are_refused():
    prop: dict = {"type": "string"}
    for _ in range(40):
        prop = {"type": "object", "properties": {"x": prop}}
    with pytest.raises(FormSchemaError, match="nested more than"):
        one_step({"x": prop})


def test_ui_hints_and_backstage_keys_do_not_disturb_validation():
    step = one_step(
        {
            "name": {
                "type": "string",
                "maxLength": 5,
                "ui:field": "EntityNamePicker",
                "ui:options": {"format": "email", "pattern": "^z$"},
                "ui:backstage": {"review": {"show": True}},
                "enumNames": ["ignored"],
            }
        },
        **{"ui:order": ["name"]},
    )
    assert validate_step(step, {"name": "abc"}) == {}


# ---------------------------------------------------------------------------------------------
# Conditional fields

DEPENDENCIES_ONE_OF = {
    "title": "Database",
    "properties": {
        "engine": {"type": "string", "enum": ["none", "postgres", "mysql"], "default": "none"},
    },
    "dependencies": {
        "engine": {
            "oneOf": [
                {"properties": {"engine": {"enum": ["none"]}}},
                {
                    "properties": {
                        "engine": {"enum": ["postgres"]},
                        "pg_version": {"type": "integer", "enum": [15, 16]},
                    },
                    "required": ["pg_version"],
                },
                {
                    "properties": {"engine": {"const": "mysql"}, "charset": {"type": "string", "default": "utf8mb4"}},
                },
            ]
        }
    },
}


def test_dependency_one_of_branch_is_chosen_by_the_controlling_value():
    [step] = parameter_steps([DEPENDENCIES_ONE_OF])
    assert [f.name for f in step.fields] == ["engine"]
    assert [f.name for f in fields_for(step, {"engine": "postgres"})] == ["engine", "pg_version"]
    assert [f.name for f in fields_for(step, {"engine": "mysql"})] == ["engine", "charset"]
    assert field_named(step, "pg_version", {"engine": "postgres"}).required


def test_the_controlling_field_keeps_all_its_options_when_a_branch_is_chosen():
    [step] = parameter_steps([DEPENDENCIES_ONE_OF])
    engine = field_named(step, "engine", {"engine": "postgres"})
    assert [c.value for c in engine.choices] == ["none", "postgres", "mysql"]


def test_controlling_fields_are_reported():
    [step] = parameter_steps([DEPENDENCIES_ONE_OF])
    assert step.controlling == {"engine"}
    assert field_named(step, "engine").controlling
    assert not field_named(step, "pg_version", {"engine": "postgres"}).controlling


def test_all_fields_lists_every_branch():
    [step] = parameter_steps([DEPENDENCIES_ONE_OF])
    assert [f.name for f in step.all_fields] == ["engine", "pg_version", "charset"]


def test_a_schema_dependency_adds_properties_once_the_field_has_a_value():
    step = one_step(
        {"use_cache": {"type": "boolean"}},
        dependencies={"use_cache": {"properties": {"cache_size": {"type": "integer"}}, "required": ["cache_size"]}},
    )
    assert [f.name for f in fields_for(step, {})] == ["use_cache"]
    assert [f.name for f in fields_for(step, {"use_cache": True})] == ["use_cache", "cache_size"]
    assert validate_step(step, {"use_cache": True}) == {"cache_size": ["This field is required"]}


def test_a_property_dependency_makes_other_fields_required():
    step = one_step({"card": {"type": "string"}, "address": {"type": "string"}}, dependencies={"card": ["address"]})
    assert validate_step(step, {"card": "1234"}) == {"address": ["This field is required"]}
    assert field_named(step, "address", {"card": "1234"}).required
    assert not field_named(step, "address", {}).required
    assert step.controlling == {"card"}
    assert validate_step(step, {}) == {}


IF_THEN_ELSE = {
    "properties": {
        "visibility": {"type": "string", "enum": ["public", "private"], "default": "public"},
    },
    "required": ["visibility"],
    "if": {"properties": {"visibility": {"const": "private"}}},
    "then": {"properties": {"team": {"type": "string", "title": "Team"}}, "required": ["team"]},
    "else": {"properties": {"license": {"type": "string", "enum": ["MIT", "Apache-2.0"]}}},
}


def test_if_then_else_shows_the_branch_the_values_satisfy():
    [step] = parameter_steps([IF_THEN_ELSE])
    assert [f.name for f in step.fields] == ["visibility", "license"]
    assert [f.name for f in fields_for(step, {"visibility": "private"})] == ["visibility", "team"]
    assert step.controlling == {"visibility"}


def test_if_then_else_validation_follows_the_chosen_branch():
    [step] = parameter_steps([IF_THEN_ELSE])
    assert validate_step(step, {"visibility": "private"}) == {"team": ["This field is required"]}
    assert validate_step(step, {"visibility": "public"}) == {}
    assert validate_step(step, {"visibility": "public", "license": "GPL"}) == {
        "license": ["Must be one of: MIT, Apache-2.0"]
    }


def test_all_of_if_then_blocks_each_apply():
    step = one_step(
        {"lang": {"type": "string", "enum": ["java", "go", "python"]}},
        allOf=[
            {
                "if": {"properties": {"lang": {"const": "java"}}, "required": ["lang"]},
                "then": {"properties": {"jdk": {"type": "integer", "enum": [17, 21]}}, "required": ["jdk"]},
            },
            {
                "if": {"properties": {"lang": {"const": "go"}}, "required": ["lang"]},
                "then": {"properties": {"go_module": {"type": "string", "pattern": "^[a-z./-]+$"}}},
            },
        ],
    )
    assert [f.name for f in fields_for(step, {})] == ["lang"]
    assert [f.name for f in fields_for(step, {"lang": "java"})] == ["lang", "jdk"]
    assert [f.name for f in fields_for(step, {"lang": "go"})] == ["lang", "go_module"]
    assert validate_step(step, {"lang": "java"}) == {"jdk": ["This field is required"]}
    assert validate_step(step, {"lang": "go", "go_module": "Bad Module"}) == {
        "go_module": ["Does not match the pattern ^[a-z./-]+$"]
    }
    assert step.controlling == {"lang"}


def test_a_revealed_field_can_control_further_fields():
    step = one_step(
        {"deploy": {"type": "boolean"}},
        dependencies={
            "deploy": {"properties": {"target": {"type": "string", "enum": ["k8s", "vm"]}}},
            "target": {
                "oneOf": [
                    {"properties": {"target": {"const": "k8s"}, "namespace": {"type": "string"}}},
                    {"properties": {"target": {"const": "vm"}, "size": {"type": "string"}}},
                ]
            },
        },
    )
    assert [f.name for f in fields_for(step, {"deploy": True, "target": "k8s"})] == ["deploy", "target", "namespace"]
    assert step.controlling == {"deploy", "target"}


def test_conditionals_inside_a_nested_object_use_the_objects_values():
    step = one_step(
        {
            "db": {
                "type": "object",
                "title": "Database",
                "properties": {"engine": {"type": "string", "enum": ["pg", "sqlite"]}},
                "if": {"properties": {"engine": {"const": "pg"}}, "required": ["engine"]},
                "then": {"properties": {"host": {"type": "string"}}, "required": ["host"]},
            }
        }
    )
    assert [f.name for f in fields_for(step, {"db": {"engine": "pg"}})] == ["db.engine", "db.host"]
    assert [f.name for f in fields_for(step, {"db": {"engine": "sqlite"}})] == ["db.engine"]
    assert step.controlling == {"db.engine"}
    assert validate_step(step, {"db": {"engine": "pg"}}) == {"db.host": ["This field is required"]}


def test_initial_fields_follow_the_default_of_the_controlling_field():
    step = one_step(
        {"kind": {"type": "string", "enum": ["web", "worker"], "default": "worker"}},
        dependencies={
            "kind": {
                "oneOf": [
                    {"properties": {"kind": {"const": "web"}, "port": {"type": "integer"}}},
                    {"properties": {"kind": {"const": "worker"}, "queue": {"type": "string"}}},
                ]
            }
        },
    )
    assert [f.name for f in step.fields] == ["kind", "queue"]


def test_hostile_values_do_not_break_conditionals():
    [step] = parameter_steps([DEPENDENCIES_ONE_OF])
    assert [f.name for f in fields_for(step, "not a mapping")] == ["engine"]
    assert [f.name for f in fields_for(step, {"engine": ["postgres"]})] == ["engine"]
    assert validate_step(step, ["engine"]) == {
        NON_FIELD: ["Parameter values must be a mapping of field names to values"]
    }


# ---------------------------------------------------------------------------------------------
# Coercion of form posts

TYPED = {
    "name": {"type": "string"},
    "replicas": {"type": "integer"},
    "ratio": {"type": "number"},
    "public": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "ports": {"type": "array", "items": {"type": "integer"}},
    "envs": {"type": "array", "uniqueItems": True, "items": {"type": "string", "enum": ["dev", "prod"]}},
    "size": {"type": "integer", "enum": [1, 2, 4]},
    "notes": {"type": "string", "ui:widget": "textarea"},
    "extra": {"type": "object"},
    "db": {"type": "object", "properties": {"host": {"type": "string"}, "port": {"type": "integer"}}},
}


def test_form_strings_become_typed_values():
    step = one_step(TYPED)
    result = coerce(
        step,
        {
            "name": "svc",
            "replicas": " 3 ",
            "ratio": "0.5",
            "public": "on",
            "tags": "a, b\nc",
            "ports": ["80", "443"],
            "envs": ["dev", "prod"],
            "size": "4",
            "notes": "line one\r\nline two",
            "extra": '{"a": [1, 2]}',
            "db.host": "localhost",
            "db.port": "5432",
        },
    )
    assert result.errors == {}
    assert result.values == {
        "name": "svc",
        "replicas": 3,
        "ratio": 0.5,
        "public": True,
        "tags": ["a", "b", "c"],
        "ports": [80, 443],
        "envs": ["dev", "prod"],
        "size": 4,
        "notes": "line one\nline two",
        "extra": {"a": [1, 2]},
        "db": {"host": "localhost", "port": 5432},
    }


@pytest.mark.parametrize(
    ("posted", "expected"), [("on", True), ("true", True), ("1", True), ("false", False), ("off", False)]
)
def test_checkbox_values_are_read_as_booleans(posted, expected):
    assert coerce(one_step(TYPED), {"public": posted}).values["public"] is expected


def test_an_unticked_checkbox_is_false_even_when_the_default_is_true():
    step = one_step({"public": {"type": "boolean", "default": True}})
    assert coerce(step, {}).values == {"public": False}


def test_empty_optional_fields_are_left_out():
    result = coerce(one_step(TYPED), {"name": "", "replicas": "", "tags": "", "envs": [], "db.host": "", "extra": " "})
    assert result.values == {"public": False}
    assert result.errors == {}


def test_empty_fields_with_a_default_get_the_default():
    step = one_step({"branch": {"type": "string", "default": "main"}, "replicas": {"type": "integer", "default": 2}})
    assert coerce(step, {"branch": "", "replicas": ""}).values == {"branch": "main", "replicas": 2}


@pytest.mark.parametrize(
    ("field", "posted", "message"),
    [
        ("replicas", "three", "Enter a whole number (got 'three')"),
        ("replicas", "2.5", "Enter a whole number (got '2.5')"),
        ("ratio", "1,5", "Enter a number (got '1,5')"),
        ("ratio", "nan", "Enter a number (got 'nan')"),
        ("ratio", "1e999", "Enter a number (got '1e999')"),
        ("ratio", "1_000", "Enter a number (got '1_000')"),
        ("public", "maybe", "Choose yes or no (got 'maybe')"),
        ("ports", "80, http", "Item 2: Enter a whole number (got 'http')"),
        ("extra", "{nope", "Enter valid JSON (Expecting property name enclosed in double quotes)"),
    ],
)
def test_unreadable_input_gives_a_clear_error_and_is_kept_for_redisplay(field, posted, message):
    result = coerce(one_step(TYPED), {field: posted})
    assert result.errors == {field: [message]}
    kept = result.values[field]
    assert kept == posted or kept == [posted]


def test_a_whole_number_written_with_a_decimal_point_is_accepted():
    assert coerce(one_step(TYPED), {"replicas": "3.0"}).values["replicas"] == 3


def test_huge_numbers_are_refused_rather_than_crashing():
    result = coerce(one_step(TYPED), {"replicas": "9" * 5000})
    assert result.errors["replicas"][0].startswith("Enter a whole number")


def test_an_unknown_option_is_kept_so_validation_can_name_the_allowed_ones():
    step = one_step(TYPED)
    result = clean_step(step, {"size": "3", "envs": ["dev", "staging"]})
    assert result.values["size"] == 3
    assert result.errors == {"size": ["Must be one of: 1, 2, 4"], "envs": ["Item 2: Must be one of: dev, prod"]}


def test_the_last_value_wins_for_a_single_valued_field_posted_twice():
    assert coerce(one_step(TYPED), {"name": ["first", "second"]}).values["name"] == "second"


class MultiValueForm(dict):
    """Behaves like Django's QueryDict: item access gives the last value, getlist all of them."""

    def getlist(self, key):
        return list(super().__getitem__(key))

    def __getitem__(self, key):
        return super().__getitem__(key)[-1]


def test_a_query_dict_like_mapping_is_read_with_getlist():
    form = MultiValueForm({"envs": ["dev", "prod"], "name": ["svc"]})
    assert coerce(one_step(TYPED), form).values == {"envs": ["dev", "prod"], "name": "svc", "public": False}


def test_fields_of_a_branch_are_read_once_the_controlling_field_is_read():
    [step] = parameter_steps([DEPENDENCIES_ONE_OF])
    result = coerce(step, {"engine": "postgres", "pg_version": "16", "charset": "latin1"})
    # charset belongs to the mysql branch, which is hidden, so it is dropped.
    assert result.values == {"engine": "postgres", "pg_version": 16}


def test_a_required_nested_object_is_created_so_its_missing_fields_are_named():
    step = one_step(
        {"db": {"type": "object", "required": ["host"], "properties": {"host": {"type": "string"}}}}, required=["db"]
    )
    result = clean_step(step, {})
    assert result.values == {"db": {}}
    assert result.errors == {"db.host": ["This field is required"]}


def test_a_hidden_field_is_typed_from_its_schema():
    step = one_step(
        {"n": {"type": "integer", "ui:widget": "hidden", "default": 5}, "t": {"type": "string", "ui:widget": "hidden"}}
    )
    assert coerce(step, {"n": "7", "t": "x"}).values == {"n": 7, "t": "x"}
    assert coerce(step, {}).values == {"n": 5}


def test_a_conversion_error_replaces_the_schema_error_for_that_field():
    step = one_step({"replicas": {"type": "integer", "maximum": 5}}, required=["replicas"])
    assert clean_step(step, {"replicas": "lots"}).errors == {"replicas": ["Enter a whole number (got 'lots')"]}


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*TYPED, "db.host", "db.port", "unknown"]),
        st.one_of(st.text(max_size=30), st.lists(st.text(max_size=10), max_size=4)),
    )
)
def test_any_form_post_is_read_without_raising(raw):
    step = one_step(TYPED)
    result = clean_step(step, raw)
    assert isinstance(result.values, dict)
    assert all(isinstance(messages, list) and messages for messages in result.errors.values())


# ---------------------------------------------------------------------------------------------
# Validation messages


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ({"type": "string", "maxLength": 63}, "x" * 64, "Must be at most 63 characters"),
        ({"type": "string", "minLength": 1}, "", "Must be at least 1 character"),
        ({"type": "string", "minLength": 3}, "ab", "Must be at least 3 characters"),
        ({"type": "string", "pattern": "^[a-z0-9-]+$"}, "Bad Name", "Does not match the pattern ^[a-z0-9-]+$"),
        (
            {"type": "string", "enum": ["s", "m"], "enumNames": ["Small", "Medium"]},
            "xl",
            "Must be one of: Small, Medium",
        ),
        (
            {"type": "string", "oneOf": [{"const": "s", "title": "Small"}, {"const": "m", "title": "Medium"}]},
            "xl",
            "Must be one of: Small, Medium",
        ),
        ({"type": "integer", "minimum": 1}, 0, "Must be at least 1"),
        ({"type": "integer", "maximum": 10}, 11, "Must be at most 10"),
        ({"type": "number", "exclusiveMinimum": 0}, 0, "Must be greater than 0"),
        ({"type": "number", "exclusiveMaximum": 1}, 1, "Must be less than 1"),
        ({"type": "integer", "multipleOf": 5}, 7, "Must be a multiple of 5"),
        ({"type": "array", "minItems": 2}, ["a"], "Must have at least 2 items"),
        ({"type": "array", "maxItems": 1}, ["a", "b"], "Must have at most 1 item"),
        ({"type": "array", "uniqueItems": True}, ["a", "a"], "Must not contain the same item twice"),
        ({"type": "string", "format": "email"}, "nope", "Must be a valid email address"),
        ({"type": "string", "format": "uri"}, "not a url", "Must be a valid URL"),
        ({"type": "string", "format": "date"}, "2024-13-45", "Must be a valid date (YYYY-MM-DD)"),
        ({"type": "string", "format": "hostname"}, "-bad-", "Must be a valid host name"),
        ({"type": "integer"}, "3", "Must be a whole number"),
        ({"type": "boolean"}, "yes", "Must be true or false"),
        ({"type": ["string", "null"]}, 3, "Must be text or empty"),
        ({"const": "fixed"}, "other", "Must be fixed"),
    ],
)
def test_each_constraint_has_a_human_message(prop, value, message):
    step = one_step({"f": prop})
    assert validate_step(step, {"f": value}) == {"f": [message]}


def test_missing_required_fields_are_each_reported():
    step = one_step({"a": {"type": "string"}, "b": {"type": "string"}}, required=["a", "b"])
    assert validate_step(step, {}) == {"a": ["This field is required"], "b": ["This field is required"]}


def test_errors_in_nested_objects_are_keyed_by_dotted_name():
    step = one_step(
        {
            "db": {
                "type": "object",
                "required": ["host"],
                "properties": {"host": {"type": "string"}, "port": {"type": "integer", "maximum": 65535}},
            }
        }
    )
    assert validate_step(step, {"db": {"port": 70000}}) == {
        "db.host": ["This field is required"],
        "db.port": ["Must be at most 65535"],
    }


def test_errors_on_list_items_say_which_item():
    step = one_step({"tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}}})
    assert validate_step(step, {"tags": ["ok", "NOT"]}) == {"tags": ["Item 2: Does not match the pattern ^[a-z]+$"]}


def test_unknown_fields_are_reported_when_the_step_forbids_them():
    step = one_step({"a": {"type": "string"}}, additionalProperties=False)
    assert validate_step(step, {"a": "x", "zzz": 1}) == {NON_FIELD: ["Unknown field: zzz"]}


def test_values_of_a_hidden_branch_are_not_validated_against_that_branch():
    [step] = parameter_steps([DEPENDENCIES_ONE_OF])
    assert validate_step(step, {"engine": "none"}) == {}


def test_validate_all_checks_every_step_against_the_merged_values():
    steps = [
        {"title": "One", "properties": {"name": {"type": "string", "maxLength": 3}}, "required": ["name"]},
        {"title": "Two", "properties": {"repoUrl": {"type": "string"}}, "required": ["repoUrl"]},
    ]
    assert validate_all(steps, {"name": "long-name"}) == {
        "name": ["Must be at most 3 characters"],
        "repoUrl": ["This field is required"],
    }
    assert validate_all(steps, {"name": "abc", "repoUrl": "github.com?owner=a&repo=b"}) == {}


def test_validate_all_accepts_already_built_steps():
    steps = parameter_steps([{"properties": {"n": {"type": "integer"}}}])
    assert validate_all(steps, {"n": "x"}) == {"n": ["Must be a whole number"]}


# ---------------------------------------------------------------------------------------------
# Extra constraints


def test_extra_constraints_add_to_the_templates_own():
    step = one_step({"name": {"type": "string", "maxLength": 63, "pattern": "^[a-z-]+$"}})
    extra = {"name": {"pattern": "^team-", "maxLength": 20}}
    assert validate_step(step, {"name": "team-" + "a" * 30}, extra) == {"name": ["Must be at most 20 characters"]}
    assert validate_step(step, {"name": "other"}, extra) == {"name": ["Does not match the pattern ^team-"]}
    assert validate_step(step, {"name": "Team-x"}, extra) == {
        "name": ["Does not match the pattern ^[a-z-]+$", "Does not match the pattern ^team-"]
    }
    assert validate_step(step, {"name": "team-a"}, extra) == {}


def test_an_extra_constraint_can_make_a_field_required():
    steps = [{"properties": {"owner": {"type": "string"}}}]
    assert validate_all(steps, {}, {"owner": {"required": True}}) == {"owner": ["This field is required"]}


def test_extra_constraints_reach_nested_fields_and_ignore_fields_not_shown():
    step = one_step({"db": {"type": "object", "properties": {"size": {"type": "integer"}}}})
    extra = {"db.size": {"maximum": 100}, "not.there": {"maximum": 1}}
    assert validate_step(step, {"db": {"size": 500}}, extra) == {"db.size": ["Must be at most 100"]}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"name": {"maxLength": "ten"}}, "not valid JSON Schema"),
        ({"name": {"pattern": "("}}, "not valid JSON Schema"),
        ({"name": "short"}, "must be a mapping"),
        ({"": {}}, "is not a field name"),
        (["name"], "must be a mapping of field names"),
    ],
)
def test_bad_extra_constraints_are_refused_clearly(extra, message):
    step = one_step({"name": {"type": "string"}})
    with pytest.raises(FormSchemaError, match=message):
        validate_step(step, {"name": "x"}, extra)


# ---------------------------------------------------------------------------------------------
# Secrets and review

SECRETS = [
    {
        "title": "Access",
        "properties": {
            "token": {"type": "string", "title": "Token", "ui:field": "Secret"},
            "password": {"type": "string", "title": "Password", "ui:widget": "password"},
            "user": {"type": "string", "title": "User"},
            "db": {"type": "object", "properties": {"dsn": {"type": "string", "ui:field": "Secret"}}},
            "mode": {"type": "string", "enum": ["a", "b"]},
        },
        "dependencies": {
            "mode": {
                "oneOf": [{"properties": {"mode": {"const": "b"}, "key": {"type": "string", "ui:field": "Secret"}}}]
            }
        },
    }
]


def test_secret_fields_include_secret_and_password_fields_in_every_branch():
    assert secret_fields(SECRETS) == {"token", "password", "db.dsn", "key"}
    [step] = parameter_steps(SECRETS)
    assert field_named(step, "token").secret and not field_named(step, "user").secret


def test_review_rows_mask_secrets_and_show_labels():
    values = {"token": "t0k", "password": "pw", "user": "ann", "db": {"dsn": "pg://"}, "mode": "b", "key": "k"}
    rows = review_rows(SECRETS, values)
    assert [(r.step, r.label, r.value) for r in rows] == [
        ("Access", "Token", MASK),
        ("Access", "Password", MASK),
        ("Access", "User", "ann"),
        ("Access", "dsn", MASK),
        ("Access", "mode", "b"),
        ("Access", "key", MASK),
    ]
    assert MASK == "••••••"


def test_review_rows_can_show_secrets_unmasked():
    rows = review_rows(SECRETS, {"token": "t0k"}, secrets_masked=False)
    assert [(r.name, r.value) for r in rows] == [("token", "t0k")]


def test_review_rows_display_labels_booleans_and_lists_and_skip_empty_and_hidden():
    steps = [
        {
            "title": "S",
            "properties": {
                "size": {"type": "string", "enum": ["s", "m"], "enumNames": ["Small", "Medium"]},
                "public": {"type": "boolean"},
                "envs": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["dev", "prod"], "enumNames": ["Dev", "Prod"]},
                },
                "tags": {"type": "array", "items": {"type": "string"}},
                "replicas": {"type": "integer"},
                "internal": {"type": "string", "ui:widget": "hidden"},
                "unset": {"type": "string"},
            },
        }
    ]
    values = {"size": "m", "public": False, "envs": ["prod", "dev"], "tags": ["a", "b"], "replicas": 3, "internal": "x"}
    assert [(r.label, r.value) for r in review_rows(steps, values)] == [
        ("size", "Medium"),
        ("public", "No"),
        ("envs", "Prod, Dev"),
        ("tags", "a, b"),
        ("replicas", "3"),
    ]


def test_review_honours_backstage_show_and_mask_settings():
    steps = [
        {
            "properties": {
                "noise": {"type": "string", "ui:backstage": {"review": {"show": False}}},
                "pin": {"type": "string", "ui:backstage": {"review": {"mask": "****"}}},
            }
        }
    ]
    assert [(r.name, r.value) for r in review_rows(steps, {"noise": "x", "pin": "1234"})] == [("pin", "****")]
    assert [(r.name, r.value) for r in review_rows(steps, {"pin": "1234"}, secrets_masked=False)] == [("pin", "1234")]


def test_review_only_shows_fields_of_the_chosen_branch():
    rows = review_rows([DEPENDENCIES_ONE_OF], {"engine": "none", "pg_version": 16})
    assert [r.name for r in rows] == ["engine"]


# ---------------------------------------------------------------------------------------------
# Example values


def test_example_values_satisfy_patterns_lengths_ranges_formats_and_enums():
    steps = [
        {
            "title": "Everything",
            "required": ["name", "port", "email", "size", "tags", "envs", "ratio", "date", "when", "id", "pkg"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{2,20}$", "maxLength": 21},
                "port": {"type": "integer", "minimum": 1024, "maximum": 65535, "multipleOf": 10},
                "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "email": {"type": "string", "format": "email"},
                "size": {"type": "string", "enum": ["s", "m"]},
                "tags": {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^[a-z]+$"},
                    "minItems": 2,
                    "uniqueItems": True,
                },
                "envs": {"type": "array", "uniqueItems": True, "items": {"enum": ["dev", "prod"]}, "minItems": 1},
                "date": {"type": "string", "format": "date"},
                "when": {"type": "string", "format": "date-time"},
                "id": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
                "pkg": {"type": "string", "pattern": "^(com|io)\\.[a-z]+(\\.[a-z]+)*$"},
                "code": {"type": "string", "minLength": 12},
                "on": {"type": "boolean", "default": True},
            },
        }
    ]
    values = example_values(steps)
    assert validate_all(steps, values) == {}
    assert values["on"] is True
    assert values["size"] == "s"
    assert len(values["tags"]) == 2


def test_example_values_follow_conditionals_and_fill_revealed_required_fields():
    values = example_values([IF_THEN_ELSE])
    assert values["visibility"] == "public" and "license" in values
    assert validate_all([IF_THEN_ELSE], values) == {}
    private = [
        {
            **IF_THEN_ELSE,
            "properties": {"visibility": {**IF_THEN_ELSE["properties"]["visibility"], "default": "private"}},
        }
    ]
    values = example_values(private)
    assert values["team"] and validate_all(private, values) == {}


def test_example_values_for_pickers_respect_their_options():
    steps = [
        {
            "properties": {
                "owner": {"type": "string", "ui:field": "OwnerPicker"},
                "system": {"type": "string", "ui:field": "EntityPicker", "ui:options": {"allowedKinds": ["System"]}},
                "repoUrl": {
                    "type": "string",
                    "ui:field": "RepoUrlPicker",
                    "ui:options": {"allowedHosts": ["gitlab.example.com"], "allowedOwners": ["platform"]},
                },
                "tags": {"type": "array", "ui:field": "EntityTagsPicker", "items": {"type": "string"}},
            }
        }
    ]
    values = example_values(steps)
    assert values == {
        "owner": "group:default/example-team",
        "system": "system:default/example",
        "repoUrl": "gitlab.example.com?owner=platform&repo=example-repo",
        "tags": ["example"],
    }


# ---------------------------------------------------------------------------------------------
# Real templates


def _fixture_templates() -> list[Path]:
    root = FIXTURES / "software-templates"
    return sorted(root.glob("*/template.yaml")) if root.is_dir() else []


@pytest.mark.parametrize("path", _fixture_templates() or [None], ids=lambda p: p.parent.name if p else "none")
def test_real_backstage_templates_become_forms_whose_examples_validate(path):
    if path is None:
        pytest.skip(f"Backstage fixtures not found at {FIXTURES}")
    template = yaml.safe_load(path.read_text())
    parameters = template["spec"]["parameters"]
    steps = parameter_steps(parameters)
    assert steps and all(step.title for step in steps)
    for step in steps:
        assert step.all_fields
        for spec in step.all_fields:
            assert spec.kind in KINDS
            assert spec.label
    values = example_values(parameters)
    assert validate_all(parameters, values) == {}
    assert validate_all(parameters, {}), "every fixture template has at least one required field"
    rows = review_rows(parameters, values)
    assert {row.name for row in rows} <= {spec.name for step in steps for spec in step.all_fields}
