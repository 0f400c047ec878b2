import copy
import datetime
import json

import jsonschema
import pytest
import yaml

from catalog.entity import (
    BUILTIN_KINDS,
    MAX_PROBLEMS,
    SCHEMA_DIR,
    KindRegistrationError,
    ParsedEntity,
    canonical_json,
    compute_etag,
    default_registry,
    entity_ref_of,
    validate_entity,
)
from catalog.refs import EntityRef, InvalidEntityRef


@pytest.fixture
def registry():
    return default_registry()


def component(**spec_overrides):
    doc = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "artist-web", "description": "The artist site"},
        "spec": {"type": "website", "lifecycle": "production", "owner": "team-a"},
    }
    doc["spec"].update(spec_overrides)
    return doc


def messages_for(doc, registry):
    result = validate_entity(doc, registry)
    assert not result.ok
    assert result.entity is None
    return result.messages


def only_message(doc, registry):
    messages = messages_for(doc, registry)
    assert len(messages) == 1, messages
    return messages[0]


# --- a valid entity -------------------------------------------------------------------


def test_a_valid_component_is_parsed_and_gets_the_default_namespace(registry):
    result = validate_entity(component(), registry)
    assert result.ok and result.problems == ()
    entity = result.entity
    assert isinstance(entity, ParsedEntity)
    assert (entity.api_version, entity.kind, entity.namespace, entity.name) == (
        "backstage.io/v1alpha1",
        "Component",
        "default",
        "artist-web",
    )
    assert entity.metadata["namespace"] == "default"
    assert entity.ref == EntityRef("component", "default", "artist-web")
    assert entity.spec["owner"] == "team-a"


def test_the_beta_api_version_is_accepted_too(registry):
    doc = component()
    doc["apiVersion"] = "backstage.io/v1beta1"
    assert validate_entity(doc, registry).ok


def test_an_explicit_namespace_is_kept(registry):
    doc = component()
    doc["metadata"]["namespace"] = "ops-tools"
    assert validate_entity(doc, registry).entity.namespace == "ops-tools"


def test_validation_does_not_change_the_input_and_the_result_is_a_copy(registry):
    doc = component()
    doc["relations"] = [{"type": "ownedBy", "targetRef": "group:default/forged"}]
    before = copy.deepcopy(doc)
    entity = validate_entity(doc, registry).entity
    assert doc == before
    entity.data["spec"]["owner"] = "changed"
    assert doc["spec"]["owner"] == "team-a"


def test_relations_given_in_the_input_are_dropped(registry):
    doc = component()
    doc["relations"] = [{"type": "ownedBy", "targetRef": "group:default/forged"}]
    assert "relations" not in validate_entity(doc, registry).entity.data


def test_unknown_spec_fields_are_allowed_as_in_backstage(registry):
    assert validate_entity(component(customField={"anything": [1, 2]}), registry).ok


def test_without_a_registry_the_built_in_kinds_are_used():
    assert validate_entity(component()).ok


# --- the document itself -----------------------------------------------------------------


def test_it_rejects_an_empty_document(registry):
    assert only_message(None, registry) == "document is empty: expected a mapping with apiVersion, kind and metadata"


def test_it_rejects_a_list_document(registry):
    assert only_message([component()], registry) == (
        "document is a list, not a mapping with apiVersion, kind and metadata"
    )


@pytest.mark.parametrize(("value", "described"), [("hello", "a string ('hello')"), (42, "an integer (42)")])
def test_it_rejects_a_scalar_document(registry, value, described):
    assert only_message(value, registry) == f"document is {described}, not a mapping with apiVersion, kind and metadata"


def test_it_rejects_an_unknown_top_level_field(registry):
    doc = component()
    doc["owner"] = "team-a"
    message = only_message(doc, registry)
    assert message.startswith("unknown top-level field 'owner'")


def test_it_rejects_a_spec_that_is_not_a_mapping(registry):
    doc = component()
    doc["spec"] = ["type", "service"]
    assert only_message(doc, registry) == "spec must be a mapping (got a list)"


# --- apiVersion, kind, metadata ------------------------------------------------------------


def test_it_requires_an_api_version(registry):
    doc = component()
    del doc["apiVersion"]
    assert only_message(doc, registry) == "apiVersion is required (e.g. backstage.io/v1alpha1)"


def test_it_requires_a_kind(registry):
    doc = component()
    del doc["kind"]
    assert only_message(doc, registry) == "kind is required (e.g. Component)"


def test_it_requires_metadata(registry):
    doc = component()
    del doc["metadata"]
    assert only_message(doc, registry) == "metadata is required, with at least a name"


def test_it_rejects_metadata_that_is_not_a_mapping(registry):
    doc = component()
    doc["metadata"] = "artist-web"
    assert only_message(doc, registry) == "metadata must be a mapping (got a string ('artist-web'))"


def test_it_rejects_an_unknown_kind_and_lists_the_known_ones(registry):
    doc = component()
    doc["kind"] = "Service"
    message = only_message(doc, registry)
    assert message.startswith("kind 'Service' is not known (known kinds: API, AiResource, Component,")


def test_it_suggests_the_right_spelling_of_a_kind(registry):
    doc = component()
    doc["kind"] = "component"
    assert only_message(doc, registry) == "kind 'component' is not known; did you mean Component?"


def test_it_rejects_a_malformed_kind(registry):
    doc = component()
    doc["kind"] = "my-kind"
    assert only_message(doc, registry).startswith("kind 'my-kind' is invalid: must start with a letter")


def test_it_rejects_an_unknown_api_version_for_a_known_kind(registry):
    doc = component()
    doc["apiVersion"] = "backstage.io/v2"
    assert only_message(doc, registry) == (
        "apiVersion 'backstage.io/v2' is not supported for kind Component"
        " (use backstage.io/v1alpha1 or backstage.io/v1beta1)"
    )


def test_it_rejects_the_catalog_api_version_for_a_template(registry):
    doc = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Template",
        "metadata": {"name": "t"},
        "spec": {"type": "service", "steps": []},
    }
    assert only_message(doc, registry).endswith("(use scaffolder.backstage.io/v1beta3)")


def test_it_rejects_a_malformed_api_version(registry):
    doc = component()
    doc["apiVersion"] = "backstage io/v1 alpha"
    assert only_message(doc, registry) == (
        "apiVersion 'backstage io/v1 alpha' is invalid: must look like group/version, e.g. backstage.io/v1alpha1"
    )


def test_it_rejects_a_name_with_spaces(registry):
    doc = component()
    doc["metadata"]["name"] = "My Service"
    assert only_message(doc, registry) == (
        "metadata.name 'My Service' is invalid: must be 1-63 characters of [a-zA-Z0-9] separated by -, _ or ."
    )


@pytest.mark.parametrize("name", ["a" * 64, "-leading", "trailing.", "", "na/me", "naïve"])
def test_it_rejects_other_invalid_names(registry, name):
    doc = component()
    doc["metadata"]["name"] = name
    assert only_message(doc, registry).startswith("metadata.name ")


@pytest.mark.parametrize("name", ["a", "A1", "my_service.v2", "a" * 63, "x--y"])
def test_it_accepts_names_backstage_accepts(registry, name):
    doc = component()
    doc["metadata"]["name"] = name
    assert validate_entity(doc, registry).ok


def test_it_requires_a_name(registry):
    doc = component()
    del doc["metadata"]["name"]
    assert only_message(doc, registry) == "metadata.name is required"


def test_it_explains_that_a_number_needs_quoting(registry):
    doc = component()
    doc["metadata"]["name"] = 2024
    assert only_message(doc, registry) == "metadata.name must be a string (got an integer (2024); quote it in YAML)"


@pytest.mark.parametrize("namespace", ["Team-A", "team_a", "-ops", "a" * 64, "ops.tools"])
def test_it_rejects_an_invalid_namespace(registry, namespace):
    doc = component()
    doc["metadata"]["namespace"] = namespace
    assert only_message(doc, registry) == (
        f"metadata.namespace '{namespace}' is invalid: must be 1-63 characters of [a-z0-9] separated by -"
    )


@pytest.mark.parametrize("key", ["bad key", "example.com/", "/name", "Example.com/name", "a" * 64, "a/b/c"])
def test_it_rejects_an_invalid_label_key(registry, key):
    doc = component()
    doc["metadata"]["labels"] = {key: "x"}
    message = only_message(doc, registry)
    assert message.startswith(f"metadata.labels key '{key[:50]}")
    assert "is invalid: must be a name" in message


@pytest.mark.parametrize("key", ["tier", "backstage.io/kubernetes-id", "a.b-c.example/Name_1", "goVersion"])
def test_it_accepts_label_keys_with_an_optional_dns_prefix(registry, key):
    doc = component()
    doc["metadata"]["labels"] = {key: "value"}
    assert validate_entity(doc, registry).ok


def test_it_rejects_an_invalid_label_value_but_accepts_an_empty_one(registry):
    doc = component()
    doc["metadata"]["labels"] = {"tier": "front end", "empty": ""}
    assert only_message(doc, registry) == (
        "metadata.labels.tier value 'front end' is invalid:"
        " must be empty or 1-63 characters of [a-zA-Z0-9] separated by -, _ or ."
    )


def test_it_rejects_a_label_value_that_yaml_read_as_a_number(registry):
    doc = yaml.safe_load(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: g\n  labels:\n"
        "    version: 1.2\nspec:\n  type: team\n  children: []\n"
    )
    assert only_message(doc, registry) == (
        "metadata.labels.version must be a string (got a number (1.2); quote it in YAML)"
    )


def test_it_rejects_an_invalid_annotation_key_and_a_non_string_value(registry):
    doc = component()
    doc["metadata"]["annotations"] = {"backstage.io/techdocs-ref": "dir:.", "bad key!": "x", "ok": ["list"]}
    messages = messages_for(doc, registry)
    assert len(messages) == 2
    assert messages[0].startswith("metadata.annotations key 'bad key!' is invalid")
    assert messages[1] == "metadata.annotations.ok must be a string (got a list)"


def test_annotation_values_may_be_any_text(registry):
    doc = component()
    doc["metadata"]["annotations"] = {"example.com/notes": "Free text, with spaces: and punctuation!\n"}
    assert validate_entity(doc, registry).ok


def test_it_rejects_labels_that_are_not_a_mapping(registry):
    doc = component()
    doc["metadata"]["labels"] = ["tier=web"]
    assert only_message(doc, registry) == "metadata.labels must be a mapping of keys to strings (got a list)"


@pytest.mark.parametrize("tag", ["Java", "web site", "a" * 64, "-go", "go-", "c_sharp"])
def test_it_rejects_an_invalid_tag(registry, tag):
    doc = component()
    doc["metadata"]["tags"] = ["go", tag]
    assert only_message(doc, registry) == (
        f"metadata.tags[1] '{tag}' is invalid: must be 1-63 characters of [a-z0-9+#] separated by -"
    )


def test_it_accepts_tags_like_cpp_and_csharp(registry):
    doc = component()
    doc["metadata"]["tags"] = ["c++", "c#", "java-17"]
    assert validate_entity(doc, registry).ok


def test_it_rejects_tags_that_are_not_a_list(registry):
    doc = component()
    doc["metadata"]["tags"] = "java"
    assert only_message(doc, registry) == "metadata.tags must be a list of strings (got a string ('java'))"


def test_it_checks_links(registry):
    doc = component()
    doc["metadata"]["links"] = [
        {"url": "https://example.com", "title": "Site", "icon": "web", "type": "website"},
        {"title": "No url"},
        "https://example.com",
        {"url": ""},
    ]
    assert messages_for(doc, registry) == [
        "metadata.links[1].url is required",
        "metadata.links[2] must be a mapping with a url (got a string ('https://example.com'))",
        "metadata.links[3].url must not be empty",
    ]


# --- kind schemas ---------------------------------------------------------------------------


def test_it_reports_a_missing_required_spec_field_by_path(registry):
    doc = component()
    del doc["spec"]["owner"]
    assert only_message(doc, registry) == "spec.owner is required"


def test_it_reports_a_missing_spec(registry):
    doc = component()
    del doc["spec"]
    assert only_message(doc, registry) == "spec is required"


def test_it_reports_a_wrong_type_with_the_path(registry):
    assert only_message(component(providesApis="petstore"), registry) == (
        "spec.providesApis must be a list (got a string ('petstore'))"
    )


def test_it_reports_a_wrong_item_type_with_the_index(registry):
    assert only_message(component(consumesApis=["petstore", 7]), registry) == (
        "spec.consumesApis[1] must be a string (got an integer (7))"
    )


def test_it_reports_an_empty_required_string(registry):
    assert only_message(component(lifecycle=""), registry) == "spec.lifecycle must not be empty"


def template(**spec):
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "new-service"},
        "spec": {"type": "service", "owner": "team-a", "steps": [], **spec},
    }


def test_a_template_step_needs_an_action(registry):
    doc = template(steps=[{"id": "fetch", "action": "fetch:template"}, {"id": "publish", "input": {}}])
    assert only_message(doc, registry) == "spec.steps[1].action is required"


def test_template_parameters_may_be_one_schema_or_a_list(registry):
    assert validate_entity(template(parameters={"properties": {}}), registry).ok
    assert validate_entity(template(parameters=[{"title": "Page 1"}, {"title": "Page 2"}]), registry).ok
    assert only_message(template(parameters="name"), registry) == (
        "spec.parameters must be a mapping or a list (got a string ('name'))"
    )
    assert only_message(template(parameters=[{"title": "ok"}, "page"]), registry) == (
        "spec.parameters[1] must be a mapping (got a string ('page'))"
    )


def test_a_template_step_condition_is_text_or_boolean(registry):
    doc = template(steps=[{"action": "debug:log", "if": 1, "each": "${{ parameters.items }}"}])
    assert only_message(doc, registry) == "spec.steps[0].if must be a string or true or false (got an integer (1))"


def api(**spec):
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {"name": "petstore"},
        "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-c", **spec},
    }


def test_an_api_needs_a_definition(registry):
    assert only_message(api(), registry) == "spec.definition is required"


def test_an_api_definition_may_be_a_text_placeholder(registry):
    assert validate_entity(api(definition={"$text": "./petstore.oas.yaml"}), registry).ok


def test_an_api_definition_with_an_unknown_placeholder_is_rejected(registry):
    message = only_message(api(definition={"$include": "./x.yaml"}), registry)
    assert message.startswith("spec.definition has the key '$include', which is not allowed (allowed: '$text'")


def test_an_api_definition_of_the_wrong_type_is_rejected(registry):
    assert only_message(api(definition=12), registry) == (
        "spec.definition must be a string or a mapping (got an integer (12))"
    )


def test_an_mcp_server_api_lists_remotes_instead_of_a_definition(registry):
    assert only_message(api(type="mcp-server"), registry) == "spec.remotes is required"
    remotes = [{"type": "streamable-http", "url": "http://localhost:7007/api/mcp/v1"}]
    assert validate_entity(api(type="mcp-server", remotes=remotes), registry).ok


def test_a_group_needs_a_type_and_children(registry):
    doc = {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"}, "spec": {}}
    assert sorted(messages_for(doc, registry)) == ["spec.children is required", "spec.type is required"]


def test_a_location_presence_must_be_required_or_optional(registry):
    doc = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {"name": "l"},
        "spec": {"targets": ["./a.yaml"], "presence": "maybe"},
    }
    assert only_message(doc, registry) == "spec.presence must be one of 'required', 'optional' (got 'maybe')"


# --- references inside the spec -----------------------------------------------------------


def test_it_rejects_an_owner_reference_with_an_empty_name(registry):
    assert only_message(component(owner="group:"), registry) == (
        "spec.owner 'group:' is not a valid entity reference: it is not of the form [<kind>:][<namespace>/]<name>"
    )


def test_it_requires_a_kind_in_depends_on(registry):
    assert only_message(component(dependsOn=["resource:artists-db", "artists-db"]), registry) == (
        "spec.dependsOn[1] 'artists-db' is not a valid entity reference:"
        " it has no kind (write it as kind:name, e.g. component:artists-db)"
    )


def test_it_rejects_an_owner_that_is_neither_a_group_nor_a_user(registry):
    assert only_message(component(owner="component:other"), registry) == (
        "spec.owner 'component:other' must refer to a Group or User, not a component"
    )


def test_it_accepts_a_user_owner_by_explicit_prefix(registry):
    assert validate_entity(component(owner="user:guest"), registry).ok


def test_it_rejects_membership_of_something_other_than_a_group(registry):
    doc = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": {"name": "jdoe"},
        "spec": {"memberOf": ["team-a", "user:boss"]},
    }
    assert only_message(doc, registry) == "spec.memberOf[1] 'user:boss' must refer to a Group, not a user"


# --- hostile and odd YAML ------------------------------------------------------------------


def test_it_caps_the_number_of_problems(registry):
    doc = component()
    doc["metadata"]["tags"] = [f"Bad Tag {i}" for i in range(500)]
    messages = messages_for(doc, registry)
    assert len(messages) == MAX_PROBLEMS + 1
    assert messages[-1] == f"... and {500 - MAX_PROBLEMS} more problem(s)"


def test_it_rejects_a_self_referencing_document_without_crashing(registry):
    doc = yaml.safe_load(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
        "spec: &loop {type: service, lifecycle: x, owner: t, again: *loop}\n"
    )
    assert only_message(doc, registry).startswith("document is nested too deeply")


def test_it_rejects_an_alias_bomb_quickly(registry):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for level in range(1, 9):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    bomb = yaml.safe_load("\n".join(lines))
    doc = component(payload=bomb)
    assert only_message(doc, registry).startswith("document is too large")


def test_it_reads_non_string_keys_the_way_javascript_does(registry):
    doc = component()
    doc["metadata"]["labels"] = {2024: "yes", True: "on"}
    entity = validate_entity(doc, registry).entity
    assert entity.metadata["labels"] == {"2024": "yes", "true": "on"}


def test_it_turns_yaml_dates_into_text(registry):
    doc = yaml.safe_load(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
        "spec: {type: service, lifecycle: x, owner: t, since: 2024-01-31}\n"
    )
    assert isinstance(doc["spec"]["since"], datetime.date)
    assert validate_entity(doc, registry).entity.spec["since"] == "2024-01-31"


def test_it_rejects_values_json_cannot_hold(registry):
    doc = yaml.safe_load(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
        "spec: {type: service, lifecycle: x, owner: t, ratio: .nan, blob: !!binary aGVsbG8=, items: !!set {a}}\n"
    )
    assert messages_for(doc, registry) == [
        "spec.ratio is nan, which JSON cannot represent",
        "spec.blob has a value of unsupported type bytes",
        "spec.items has a value of unsupported type set",
    ]


def test_it_reports_keys_that_collide_once_read_as_text(registry):
    doc = component()
    doc["spec"][1] = "number"
    doc["spec"]["1"] = "text"
    assert only_message(doc, registry) == "spec has the key '1' twice"


# --- etags, canonical JSON, refs -------------------------------------------------------------


def test_canonical_json_sorts_keys_and_has_no_spaces():
    assert canonical_json({"b": 1, "a": {"d": [1, "é"], "c": None}}) == '{"a":{"c":null,"d":[1,"é"]},"b":1}'


def test_the_etag_ignores_key_order_but_follows_content():
    first = {"a": 1, "b": [1, 2]}
    second = {"b": [1, 2], "a": 1}
    assert compute_etag(first) == compute_etag(second)
    assert compute_etag(first) != compute_etag({"a": 1, "b": [2, 1]})
    assert len(compute_etag(first)) == 64


def test_an_entity_etag_changes_when_its_spec_changes(registry):
    one = validate_entity(component(), registry).entity
    two = validate_entity(component(lifecycle="deprecated"), registry).entity
    assert one.etag == validate_entity(component(), registry).entity.etag
    assert one.etag != two.etag


def test_entity_ref_of_reads_raw_envelopes_and_parsed_entities(registry):
    assert entity_ref_of(component()) == EntityRef("Component", "default", "artist-web")
    parsed = validate_entity(component(), registry).entity
    assert entity_ref_of(parsed).canonical == "component:default/artist-web"
    with pytest.raises(InvalidEntityRef, match="no metadata.name"):
        entity_ref_of({"kind": "Component", "metadata": {}})
    with pytest.raises(InvalidEntityRef, match="no kind"):
        entity_ref_of({"metadata": {"name": "x"}})


# --- the registry and custom kinds --------------------------------------------------------------

SERVICE_LEVEL_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "allOf": [{"$ref": "urn:causeway:catalog:envelope"}],
    "required": ["spec"],
    "properties": {
        "spec": {
            "type": "object",
            "required": ["objective", "owner"],
            "properties": {"objective": {"type": "number", "minimum": 0, "maximum": 100}},
        }
    },
}


def slo(**spec):
    return {
        "apiVersion": "acme.example/v1",
        "kind": "ServiceLevel",
        "metadata": {"name": "checkout-availability"},
        "spec": {"objective": 99.9, "owner": "team-a", **spec},
    }


def test_a_custom_kind_can_be_registered_and_validated(registry):
    registry.register("ServiceLevel", ["acme.example/v1"], SERVICE_LEVEL_SCHEMA)
    assert "ServiceLevel" in registry.kinds()
    assert validate_entity(slo(), registry).ok
    assert only_message(slo(objective=120), registry) == "spec.objective must be <= 100 (got 120)"


def test_a_custom_kind_is_not_known_to_other_registries(registry):
    registry.register("ServiceLevel", ["acme.example/v1"], SERVICE_LEVEL_SCHEMA)
    assert "ServiceLevel" not in default_registry()
    assert only_message(slo(), default_registry()).startswith("kind 'ServiceLevel' is not known")


def test_a_custom_kind_still_gets_the_envelope_and_metadata_rules(registry):
    registry.register("ServiceLevel", "acme.example/v1")
    doc = slo()
    doc["metadata"]["name"] = "Checkout Availability"
    assert only_message(doc, registry).startswith("metadata.name 'Checkout Availability' is invalid")
    doc = slo()
    doc["apiVersion"] = "acme.example/v2"
    assert only_message(doc, registry) == (
        "apiVersion 'acme.example/v2' is not supported for kind ServiceLevel (use acme.example/v1)"
    )


def test_a_custom_kind_without_a_schema_accepts_any_spec(registry):
    registry.register("ServiceLevel", ["acme.example/v1"])
    assert validate_entity(slo(anything={"goes": [1]}), registry).ok


def test_a_custom_schema_written_for_draft_7_is_honoured(registry):
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"spec": {"required": ["tier"]}}}
    registry.register("ServiceLevel", ["acme.example/v1"], schema)
    assert only_message(slo(), registry) == "spec.tier is required"


def test_a_custom_schema_with_a_dangling_reference_gives_a_problem_not_a_crash(registry):
    registry.register("ServiceLevel", ["acme.example/v1"], {"$ref": "urn:causeway:catalog:nowhere"})
    message = only_message(slo(), registry)
    assert message.startswith("the schema for kind ServiceLevel cannot be used")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("service-level", ["acme.example/v1"]), "kind 'service-level' is invalid"),
        (("ServiceLevel", []), "needs at least one apiVersion"),
        (("ServiceLevel", ["acme example/v1"]), "apiVersion 'acme example/v1' for kind ServiceLevel is invalid"),
        (("ServiceLevel", ["acme.example/v1"], {"type": "objekt"}), "is not a valid JSON Schema"),
        (("ServiceLevel", ["acme.example/v1"], ["not", "a", "schema"]), "must be a JSON Schema object"),
        (("Component", ["backstage.io/v1alpha1"]), "kind Component is already registered"),
        (("COMPONENT", ["backstage.io/v1alpha1"]), "kind Component is already registered"),
    ],
)
def test_registering_a_bad_kind_fails_with_a_clear_message(registry, args, message):
    with pytest.raises(KindRegistrationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        registry.register(*args)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"path": "owner", "relation": "ownedBy"}, "must look like spec.fieldName"),
        ({"path": "spec.team", "relation": "runs"}, "give its reverse"),
        ({"path": "spec.team", "relation": "ownedBy", "default_kind": "group kind"}, "default kind"),
        ({"path": "spec.team", "relation": "ownedBy", "allowed_kinds": "Group"}, "allowed kinds"),
        ("spec.team", "must be a mapping"),
    ],
)
def test_registering_bad_reference_fields_fails_with_a_clear_message(registry, field, message):
    with pytest.raises(KindRegistrationError, match=message):
        registry.register("ServiceLevel", ["acme.example/v1"], reference_fields=[field])


def test_a_built_in_kind_can_be_replaced_on_purpose_and_keeps_its_reference_fields(registry):
    stricter = {"properties": {"spec": {"required": ["system"]}}}
    registry.register("Component", ["backstage.io/v1alpha1"], stricter, replace=True)
    assert only_message(component(), registry) == "spec.system is required"
    assert registry.reference_fields_for("Component")


def test_reference_fields_of_a_custom_kind_are_validated(registry):
    registry.register(
        "ServiceLevel",
        ["acme.example/v1"],
        reference_fields=[{"path": "spec.owner", "relation": "ownedBy", "defaultKind": "Group"}],
    )
    assert only_message(slo(owner="group:"), registry).startswith("spec.owner 'group:' is not a valid entity reference")


# --- the schema files -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BUILTIN_KINDS))
def test_each_kind_schema_is_valid_and_agrees_with_the_registry(kind):
    versions, filename = BUILTIN_KINDS[kind]
    schema = json.loads((SCHEMA_DIR / filename).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["kind"] == {"const": kind}
    assert tuple(schema["properties"]["apiVersion"]["enum"]) == versions


def test_the_shared_schemas_are_valid():
    for filename in ("envelope.json", "metadata.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMA_DIR / filename).read_text()))


def test_the_metadata_schema_agrees_with_the_name_rules(registry):
    schema = json.loads((SCHEMA_DIR / "metadata.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"name": "my_service.v2", "labels": {"backstage.io/x": ""}, "tags": ["c++"]})
    for bad in (
        {"name": "My Service"},
        {"name": "a", "namespace": "Ops"},
        {"name": "a", "tags": ["Java"]},
        {"name": "a", "labels": {"bad key": "x"}},
        {"name": "a", "labels": {"k": "a b"}},
    ):
        assert not validator.is_valid(bad), bad


def test_it_stops_early_on_a_huge_document_full_of_schema_errors(registry):
    messages = messages_for(component(consumesApis=[1] * 100_000), registry)
    assert len(messages) == MAX_PROBLEMS + 1
    assert messages[0] == "spec.consumesApis[0] must be a string (got an integer (1))"
    assert messages[-1] == f"... and more problems (only the first {MAX_PROBLEMS} are shown)"
