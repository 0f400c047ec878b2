import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.entity import BUILTIN_KINDS
from catalog.refs import (
    BUILTIN_REFERENCE_FIELDS,
    REVERSE_RELATION,
    EntityRef,
    InvalidEntityRef,
    format_entity_ref,
    parse_entity_ref,
)


def test_it_fills_in_the_default_kind_and_namespace_for_a_bare_name():
    ref = parse_entity_ref("team-a", default_kind="Group")
    assert (ref.kind, ref.namespace, ref.name) == ("Group", "default", "team-a")


def test_it_reads_kind_and_name():
    ref = parse_entity_ref("user:guest", default_kind="Group")
    assert (ref.kind, ref.namespace, ref.name) == ("user", "default", "guest")


def test_it_reads_namespace_and_name():
    ref = parse_entity_ref("ops/team-a", default_kind="Group")
    assert (ref.kind, ref.namespace, ref.name) == ("Group", "ops", "team-a")


def test_it_reads_kind_namespace_and_name():
    ref = parse_entity_ref("component:ops/api-gateway")
    assert (ref.kind, ref.namespace, ref.name) == ("component", "ops", "api-gateway")


def test_it_uses_the_given_default_namespace():
    assert parse_entity_ref("team-a", "Group", "development").namespace == "development"


def test_an_explicit_namespace_wins_over_the_default():
    assert parse_entity_ref("group:default/team-a", None, "development").namespace == "default"


def test_a_colon_after_the_slash_belongs_to_the_name():
    ref = parse_entity_ref("ops/odd:name", default_kind="Component")
    assert (ref.kind, ref.namespace, ref.name) == ("Component", "ops", "odd:name")


def test_it_reads_a_mapping_and_fills_in_missing_parts():
    ref = parse_entity_ref({"name": "www-artist"}, default_kind="Component")
    assert ref == EntityRef("Component", "default", "www-artist")
    ref = parse_entity_ref({"kind": "API", "namespace": "ops", "name": "petstore"})
    assert ref.canonical == "api:ops/petstore"


def test_refs_compare_and_hash_without_regard_to_case():
    upper = parse_entity_ref("Component:Default/WWW-Artist")
    lower = parse_entity_ref("component:default/www-artist")
    assert upper == lower
    assert hash(upper) == hash(lower)
    assert len({upper, lower}) == 1


def test_refs_of_different_entities_are_not_equal():
    assert parse_entity_ref("component:default/a") != parse_entity_ref("component:default/b")
    assert parse_entity_ref("component:default/a") != parse_entity_ref("api:default/a")
    assert parse_entity_ref("component:default/a") != parse_entity_ref("component:other/a")
    assert parse_entity_ref("component:default/a") != "component:default/a"


def test_the_canonical_string_is_lower_case_but_the_fields_keep_their_spelling():
    ref = parse_entity_ref("Component:Default/WWW-Artist")
    assert str(ref) == "component:default/www-artist"
    assert ref.name == "WWW-Artist"
    assert ref.as_dict() == {"kind": "component", "namespace": "default", "name": "www-artist"}
    assert ref.as_dict(lowercase=False) == {"kind": "Component", "namespace": "Default", "name": "WWW-Artist"}


def test_refs_sort_by_kind_then_namespace_then_name():
    refs = [parse_entity_ref(text) for text in ("group:b/x", "api:z/z", "group:a/y", "Group:a/X")]
    assert [ref.canonical for ref in sorted(refs)] == ["api:z/z", "group:a/x", "group:a/y", "group:b/x"]


def test_format_accepts_refs_mappings_and_strings():
    assert format_entity_ref(EntityRef("API", "Ops", "Pets")) == "api:ops/pets"
    assert format_entity_ref({"kind": "Group", "name": "Team-A"}) == "group:default/team-a"
    assert format_entity_ref("User:guest") == "user:default/guest"


def test_format_refuses_a_string_without_a_kind():
    with pytest.raises(InvalidEntityRef, match="has no kind"):
        format_entity_ref("team-a")


def test_a_missing_kind_without_default_is_rejected_with_an_example():
    with pytest.raises(InvalidEntityRef) as caught:
        parse_entity_ref("artists-db")
    assert "'artists-db' has no kind" in str(caught.value)
    assert "component:artists-db" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["group:", ":team-a", "default/", "group:/team-a", "group:default/", "/team-a"],
)
def test_it_rejects_refs_with_an_empty_part(text):
    with pytest.raises(InvalidEntityRef) as caught:
        parse_entity_ref(text, default_kind="Group")
    assert "is not of the form [<kind>:][<namespace>/]<name>" in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["", "   "])
def test_it_rejects_an_empty_ref(text):
    with pytest.raises(InvalidEntityRef, match="is empty"):
        parse_entity_ref(text, default_kind="Group")


@pytest.mark.parametrize("text", ["team\na", "team\ta", "team\x00a"])
def test_it_rejects_refs_with_control_characters(text):
    with pytest.raises(InvalidEntityRef, match="control character"):
        parse_entity_ref(text, default_kind="Group")


def test_it_rejects_an_absurdly_long_ref_and_keeps_the_message_short():
    with pytest.raises(InvalidEntityRef) as caught:
        parse_entity_ref("a" * 5000, default_kind="Group")
    assert "longer than" in str(caught.value)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("value", [None, 5, ["group:a"], 3.5, b"group:a"])
def test_it_rejects_values_that_are_neither_strings_nor_mappings(value):
    with pytest.raises(InvalidEntityRef, match="must be a string or a mapping"):
        parse_entity_ref(value, default_kind="Group")


def test_it_rejects_a_mapping_with_unknown_fields():
    with pytest.raises(InvalidEntityRef, match="unknown field"):
        parse_entity_ref({"kind": "Group", "name": "a", "owner": "x"})


@pytest.mark.parametrize("mapping", [{"kind": "Group"}, {"kind": "Group", "name": ""}, {"kind": 5, "name": "a"}])
def test_it_rejects_a_mapping_without_a_usable_name_or_kind(mapping):
    with pytest.raises(InvalidEntityRef):
        parse_entity_ref(mapping)


def test_the_error_keeps_the_bare_reason_for_callers_that_show_the_ref_themselves():
    with pytest.raises(InvalidEntityRef) as caught:
        parse_entity_ref("group:")
    assert caught.value.reason == "is not of the form [<kind>:][<namespace>/]<name>"
    assert caught.value.ref == "group:"


_part = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,20}[A-Za-z0-9])?", fullmatch=True)
_kind = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,15}", fullmatch=True)
_namespace = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@given(kind=_kind, namespace=_namespace, name=_part)
def test_formatting_then_parsing_gives_the_same_ref(kind, namespace, name):
    ref = EntityRef(kind, namespace, name)
    assert parse_entity_ref(format_entity_ref(ref)) == ref


@given(st.text(max_size=80))
def test_any_text_either_parses_or_raises_our_error(text):
    try:
        ref = parse_entity_ref(text, default_kind="Group")
    except InvalidEntityRef:
        return
    assert ref.name and ref.kind and ref.namespace


def test_every_reference_field_has_a_matching_reverse_relation():
    for fields in BUILTIN_REFERENCE_FIELDS.values():
        for field in fields:
            assert REVERSE_RELATION[field.relation] == field.reverse
            assert REVERSE_RELATION[field.reverse] == field.relation


def test_every_built_in_kind_has_a_reference_field_entry():
    assert set(BUILTIN_REFERENCE_FIELDS) == {kind.lower() for kind in BUILTIN_KINDS}


@pytest.mark.parametrize(
    ("kind", "path", "default_kind"),
    [
        ("component", "spec.owner", "Group"),
        ("component", "spec.system", "System"),
        ("component", "spec.subcomponentOf", "Component"),
        ("component", "spec.providesApis", "API"),
        ("component", "spec.consumesApis", "API"),
        ("component", "spec.dependsOn", None),
        ("component", "spec.dependencyOf", None),
        ("resource", "spec.dependsOn", None),
        ("api", "spec.system", "System"),
        ("system", "spec.domain", "Domain"),
        ("domain", "spec.subdomainOf", "Domain"),
        ("user", "spec.memberOf", "Group"),
        ("group", "spec.parent", "Group"),
        ("group", "spec.children", "Group"),
        ("group", "spec.members", "User"),
        ("template", "spec.owner", "Group"),
    ],
)
def test_reference_fields_assume_the_kind_backstage_assumes(kind, path, default_kind):
    matches = [f for f in BUILTIN_REFERENCE_FIELDS[kind] if f.path == path and f.spec_type is None]
    assert len(matches) == 1
    assert matches[0].default_kind == default_kind


def test_owner_fields_allow_groups_and_users_only():
    owner = next(f for f in BUILTIN_REFERENCE_FIELDS["component"] if f.path == "spec.owner")
    assert owner.allowed_kinds == ("Group", "User")
