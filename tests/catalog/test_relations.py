import pytest

from catalog.entity import default_registry, validate_entity
from catalog.refs import EntityRef, InvalidEntityRef, parse_entity_ref
from catalog.relations import Relation, derive_relations, relations_for_api


def entity(kind, name, spec, namespace=None, api_version="backstage.io/v1alpha1"):
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    doc = {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}
    result = validate_entity(doc, default_registry())
    assert result.ok, result.messages
    return result.entity


def triples(relations):
    return {(r.source_ref.canonical, r.type, r.target_ref.canonical) for r in relations}


def test_a_component_emits_every_relation_both_ways():
    component = entity(
        "Component",
        "wayback-search",
        {
            "type": "service",
            "lifecycle": "production",
            "owner": "team-a",
            "system": "wayback",
            "subcomponentOf": "wayback-archive",
            "providesApis": ["wayback-search"],
            "consumesApis": ["wayback-archive"],
            "dependsOn": ["resource:search-index"],
            "dependencyOf": ["component:frontend"],
        },
    )
    me = "component:default/wayback-search"
    assert triples(derive_relations(component)) == {
        (me, "ownedBy", "group:default/team-a"),
        ("group:default/team-a", "ownerOf", me),
        (me, "partOf", "system:default/wayback"),
        ("system:default/wayback", "hasPart", me),
        (me, "partOf", "component:default/wayback-archive"),
        ("component:default/wayback-archive", "hasPart", me),
        (me, "providesApi", "api:default/wayback-search"),
        ("api:default/wayback-search", "apiProvidedBy", me),
        (me, "consumesApi", "api:default/wayback-archive"),
        ("api:default/wayback-archive", "apiConsumedBy", me),
        (me, "dependsOn", "resource:default/search-index"),
        ("resource:default/search-index", "dependencyOf", me),
        (me, "dependencyOf", "component:default/frontend"),
        ("component:default/frontend", "dependsOn", me),
    }


def test_a_component_with_only_an_owner_has_only_ownership_relations():
    component = entity("Component", "c", {"type": "service", "lifecycle": "x", "owner": "user:guest"})
    assert triples(derive_relations(component)) == {
        ("component:default/c", "ownedBy", "user:default/guest"),
        ("user:default/guest", "ownerOf", "component:default/c"),
    }


def test_references_without_a_namespace_inherit_the_entitys_namespace():
    component = entity(
        "Component",
        "c",
        {"type": "service", "lifecycle": "x", "owner": "team-a", "system": "default/shared"},
        namespace="ops",
    )
    assert triples(derive_relations(component)) >= {
        ("component:ops/c", "ownedBy", "group:ops/team-a"),
        ("component:ops/c", "partOf", "system:default/shared"),
    }


def test_an_api_is_owned_and_part_of_a_system():
    api = entity(
        "API",
        "petstore",
        {"type": "openapi", "lifecycle": "x", "owner": "team-c", "system": "pets", "definition": "openapi: 3.0.0"},
    )
    assert triples(derive_relations(api)) == {
        ("api:default/petstore", "ownedBy", "group:default/team-c"),
        ("group:default/team-c", "ownerOf", "api:default/petstore"),
        ("api:default/petstore", "partOf", "system:default/pets"),
        ("system:default/pets", "hasPart", "api:default/petstore"),
    }


def test_a_resource_has_owner_system_and_dependencies_both_ways():
    resource = entity(
        "Resource",
        "artists-db",
        {
            "type": "database",
            "owner": "team-a",
            "system": "artists",
            "dependsOn": ["resource:disk"],
            "dependencyOf": ["component:artist-lookup"],
        },
    )
    me = "resource:default/artists-db"
    assert triples(derive_relations(resource)) == {
        (me, "ownedBy", "group:default/team-a"),
        ("group:default/team-a", "ownerOf", me),
        (me, "partOf", "system:default/artists"),
        ("system:default/artists", "hasPart", me),
        (me, "dependsOn", "resource:default/disk"),
        ("resource:default/disk", "dependencyOf", me),
        (me, "dependencyOf", "component:default/artist-lookup"),
        ("component:default/artist-lookup", "dependsOn", me),
    }


def test_a_system_is_part_of_its_domain():
    system = entity("System", "podcast", {"owner": "team-b", "domain": "playback"})
    assert triples(derive_relations(system)) >= {
        ("system:default/podcast", "partOf", "domain:default/playback"),
        ("domain:default/playback", "hasPart", "system:default/podcast"),
    }


def test_a_domain_is_part_of_its_parent_domain():
    domain = entity("Domain", "artists", {"owner": "team-a", "subdomainOf": "audio"})
    assert triples(derive_relations(domain)) >= {
        ("domain:default/artists", "partOf", "domain:default/audio"),
        ("domain:default/audio", "hasPart", "domain:default/artists"),
    }


def test_a_user_is_a_member_of_its_groups():
    user = entity("User", "guest", {"memberOf": ["team-a", "group:default/admins"]}, namespace="development")
    assert triples(derive_relations(user)) == {
        ("user:development/guest", "memberOf", "group:development/team-a"),
        ("group:development/team-a", "hasMember", "user:development/guest"),
        ("user:development/guest", "memberOf", "group:default/admins"),
        ("group:default/admins", "hasMember", "user:development/guest"),
    }


def test_a_user_without_groups_has_no_relations():
    assert derive_relations(entity("User", "loner", {})) == []


def test_a_group_links_its_parent_children_and_members():
    group = entity(
        "Group", "backstage", {"type": "team", "parent": "infrastructure", "children": ["team-a"], "members": ["jdoe"]}
    )
    me = "group:default/backstage"
    assert triples(derive_relations(group)) == {
        (me, "childOf", "group:default/infrastructure"),
        ("group:default/infrastructure", "parentOf", me),
        (me, "parentOf", "group:default/team-a"),
        ("group:default/team-a", "childOf", me),
        (me, "hasMember", "user:default/jdoe"),
        ("user:default/jdoe", "memberOf", me),
    }


def test_a_template_is_owned():
    template = entity(
        "Template",
        "new-service",
        {"type": "service", "owner": "web", "steps": []},
        api_version="scaffolder.backstage.io/v1beta3",
    )
    assert triples(derive_relations(template)) == {
        ("template:default/new-service", "ownedBy", "group:default/web"),
        ("group:default/web", "ownerOf", "template:default/new-service"),
    }


def test_locations_and_environments_have_no_relations():
    location = entity("Location", "all", {"targets": ["./a.yaml"]})
    environment = entity("Environment", "prod", {"lifecycle": "production", "owner": "team-a"})
    assert derive_relations(location) == []
    assert derive_relations(environment) == []


def test_an_ai_skill_depends_on_other_ai_resources_but_a_rule_does_not():
    skill = entity(
        "AiResource",
        "design",
        {"type": "skill", "lifecycle": "x", "owner": "team-a", "system": "portal", "dependsOn": ["tokens"]},
    )
    assert triples(derive_relations(skill)) >= {
        ("airesource:default/design", "ownedBy", "group:default/team-a"),
        ("airesource:default/design", "partOf", "system:default/portal"),
        ("airesource:default/design", "dependsOn", "airesource:default/tokens"),
        ("airesource:default/tokens", "dependencyOf", "airesource:default/design"),
    }
    rule = entity(
        "AiResource", "no-raw-http", {"type": "rule", "lifecycle": "x", "owner": "team-a", "dependsOn": ["component:x"]}
    )
    assert not any(r.type == "dependsOn" for r in derive_relations(rule))


def test_duplicate_references_give_one_relation_each_way():
    component = entity(
        "Component",
        "c",
        {"type": "s", "lifecycle": "x", "owner": "team-a", "consumesApis": ["pets", "API:default/Pets", "pets"]},
    )
    consumes = [r for r in derive_relations(component) if r.type == "consumesApi"]
    assert len(consumes) == 1


def test_derive_accepts_a_raw_envelope_and_defaults_its_namespace():
    doc = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "System",
        "metadata": {"name": "s"},
        "spec": {"owner": "team-a"},
    }
    assert triples(derive_relations(doc)) == {
        ("system:default/s", "ownedBy", "group:default/team-a"),
        ("group:default/team-a", "ownerOf", "system:default/s"),
    }


def test_derive_raises_our_error_for_an_unvalidated_bad_reference():
    doc = {"kind": "Component", "metadata": {"name": "c"}, "spec": {"dependsOn": ["no-kind"]}}
    with pytest.raises(InvalidEntityRef, match=r"component:default/c: spec.dependsOn\[0\]: .*has no kind"):
        derive_relations(doc)


def test_derive_raises_our_error_for_something_that_is_not_an_entity():
    with pytest.raises(InvalidEntityRef):
        derive_relations(["not", "an", "entity"])


def test_custom_kinds_emit_relations_through_the_registry():
    registry = default_registry()
    registry.register(
        "ServiceLevel",
        ["acme.example/v1"],
        reference_fields=[
            {"path": "spec.service", "relation": "partOf", "defaultKind": "Component"},
            {"path": "spec.watchers", "relation": "watchedBy", "reverse": "watches", "defaultKind": "User"},
        ],
    )
    doc = {
        "apiVersion": "acme.example/v1",
        "kind": "ServiceLevel",
        "metadata": {"name": "slo"},
        "spec": {"service": "checkout", "watchers": ["ann"]},
    }
    parsed = validate_entity(doc, registry).entity
    assert triples(derive_relations(parsed, registry)) == {
        ("servicelevel:default/slo", "partOf", "component:default/checkout"),
        ("component:default/checkout", "hasPart", "servicelevel:default/slo"),
        ("servicelevel:default/slo", "watchedBy", "user:default/ann"),
        ("user:default/ann", "watches", "servicelevel:default/slo"),
    }
    assert derive_relations(parsed) == []  # without the registry only built-in kinds are known


def test_relations_for_api_lists_one_entitys_outgoing_relations_in_backstage_shape():
    team = parse_entity_ref("group:default/team-a")
    rows = [
        *derive_relations(entity("Component", "b-svc", {"type": "s", "lifecycle": "x", "owner": "team-a"})),
        *derive_relations(entity("Component", "a-svc", {"type": "s", "lifecycle": "x", "owner": "Team-A"})),
        *derive_relations(entity("Group", "team-a", {"type": "team", "parent": "org", "children": []})),
        *derive_relations(entity("User", "ann", {"memberOf": ["team-a"]})),
        Relation("ownerOf", team, EntityRef("Component", "default", "A-SVC")),  # a duplicate in other case
    ]
    assert relations_for_api("group:default/team-a", rows) == [
        {
            "type": "childOf",
            "targetRef": "group:default/org",
            "target": {"kind": "group", "namespace": "default", "name": "org"},
        },
        {
            "type": "hasMember",
            "targetRef": "user:default/ann",
            "target": {"kind": "user", "namespace": "default", "name": "ann"},
        },
        {
            "type": "ownerOf",
            "targetRef": "component:default/a-svc",
            "target": {"kind": "component", "namespace": "default", "name": "a-svc"},
        },
        {
            "type": "ownerOf",
            "targetRef": "component:default/b-svc",
            "target": {"kind": "component", "namespace": "default", "name": "b-svc"},
        },
    ]
    assert relations_for_api(team, rows) == relations_for_api("Group:Default/Team-A", rows)
    assert relations_for_api("group:default/nobody", rows) == []


def test_a_relation_serialises_with_canonical_refs():
    relation = Relation("ownedBy", EntityRef("Component", "default", "C"), EntityRef("Group", "default", "T"))
    assert relation.as_dict() == {"type": "ownedBy", "sourceRef": "component:default/c", "targetRef": "group:default/t"}
