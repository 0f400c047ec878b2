"""Backstage's own example catalog must read unchanged, with the relations Backstage derives."""

import os
from collections import Counter
from pathlib import Path

import pytest
import yaml

from catalog.entity import default_registry, validate_entity
from catalog.refs import parse_entity_ref
from catalog.relations import derive_relations, relations_for_api

REPO_ROOT = Path(__file__).resolve().parents[2]


def backstage_fixtures() -> Path:
    override = os.environ.get("CAUSEWAY_FIXTURES")
    if override:
        base = Path(override)
        return base / "backstage" if (base / "backstage").is_dir() else base
    return (REPO_ROOT / ".." / "shared" / "fixtures" / "backstage").resolve()


FIXTURES = backstage_fixtures()
EXAMPLES = FIXTURES / "packages" / "catalog-model" / "examples"
TEMPLATES = FIXTURES / "software-templates"


def require(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip(f"Backstage fixtures not found at {path}")
    return path


def placeholder_targets(documents):
    """Files pulled into an entity through ``$text``/``$yaml``/... are content, not entities."""
    targets = set()
    for path, doc in documents:
        definition = ((doc or {}).get("spec") or {}).get("definition") if isinstance(doc, dict) else None
        if isinstance(definition, dict):
            for value in definition.values():
                if isinstance(value, str) and value.startswith("./"):
                    targets.add((path.parent / value).resolve())
    return targets


def load_examples():
    documents = []
    for path in sorted(require(EXAMPLES).rglob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            documents.extend((path, doc) for doc in yaml.safe_load_all(handle) if doc is not None)
    skipped = placeholder_targets(documents)
    return [(path, doc) for path, doc in documents if path.resolve() not in skipped]


@pytest.fixture(scope="module")
def parsed():
    registry = default_registry()
    results = [(path, validate_entity(doc, registry)) for path, doc in load_examples()]
    return registry, results


@pytest.fixture(scope="module")
def all_relations(parsed):
    registry, results = parsed
    return {rel for _, result in results if result.ok for rel in derive_relations(result.entity, registry)}


def test_every_example_entity_validates_without_problems(parsed):
    _, results = parsed
    failures = {f"{path.relative_to(EXAMPLES)}: {result.messages}" for path, result in results if not result.ok}
    assert not failures


def test_all_example_kinds_are_read(parsed):
    _, results = parsed
    counts = Counter(result.entity.kind for _, result in results)
    assert counts == {
        "User": 17,
        "Component": 13,
        "Location": 10,
        "Group": 9,
        "API": 7,
        "Domain": 3,
        "System": 3,
        "Environment": 2,
        "AiResource": 2,
        "Resource": 1,
    }


def test_the_two_guest_users_live_in_different_namespaces(parsed):
    _, results = parsed
    guests = {str(result.entity.ref) for _, result in results if result.entity.name == "guest"}
    assert guests == {"user:default/guest", "user:development/guest"}


def test_the_text_placeholder_stays_a_mapping_at_this_layer(parsed):
    _, results = parsed
    webhook = next(r.entity for _, r in results if r.entity.ref.canonical == "api:default/petstore-webhook")
    assert webhook.spec["definition"] == {"$text": "./petstore-webhook.oas.yaml"}


EXPECTED_RELATIONS = [
    # ownership, both ways, with the Group default kind and an explicit user: prefix
    ("component:default/www-artist", "ownedBy", "group:default/team-a"),
    ("group:default/team-a", "ownerOf", "component:default/www-artist"),
    ("component:default/searcher", "ownedBy", "user:default/guest"),
    ("component:default/playback-order", "ownedBy", "group:default/guest"),
    ("domain:default/playback", "ownedBy", "user:default/frank.tiernan"),
    ("user:default/frank.tiernan", "ownerOf", "domain:default/playback"),
    # systems, domains and sub-parts
    ("component:default/www-artist", "partOf", "system:default/artist-engagement-portal"),
    ("system:default/artist-engagement-portal", "hasPart", "resource:default/artists-db"),
    ("system:default/podcast", "partOf", "domain:default/playback"),
    ("domain:default/artists", "partOf", "domain:default/audio"),
    ("domain:default/audio", "hasPart", "domain:default/artists"),
    ("component:default/wayback-archive-storage", "partOf", "component:default/wayback-archive"),
    ("component:default/wayback-archive", "hasPart", "component:default/wayback-archive-ingestion"),
    # APIs
    ("api:default/petstore", "apiProvidedBy", "component:default/petstore"),
    ("component:default/petstore", "providesApi", "api:default/hello-world"),
    ("component:default/wayback-search", "consumesApi", "api:default/wayback-archive"),
    ("api:default/wayback-archive", "apiConsumedBy", "component:default/wayback-search"),
    # people and the org tree
    ("user:default/breanna.davison", "memberOf", "group:default/team-a"),
    ("group:default/team-a", "hasMember", "user:default/breanna.davison"),
    ("user:development/guest", "memberOf", "group:default/team-a"),
    ("group:default/team-a", "childOf", "group:default/backstage"),
    ("group:default/backstage", "parentOf", "group:default/team-a"),
    ("group:default/acme-corp", "parentOf", "group:default/infrastructure"),
    ("group:default/infrastructure", "childOf", "group:default/acme-corp"),
    # the newer AiResource kind
    ("airesource:default/frontend-design", "ownedBy", "group:default/team-a"),
    ("airesource:default/use-internal-apis", "partOf", "system:default/artist-engagement-portal"),
]


@pytest.mark.parametrize(("source", "relation", "target"), EXPECTED_RELATIONS)
def test_backstage_relations_are_derived(all_relations, source, relation, target):
    triples = {(r.source_ref.canonical, r.type, r.target_ref.canonical) for r in all_relations}
    assert (source, relation, target) in triples


def test_a_reference_from_another_namespace_does_not_invent_a_group_there(all_relations):
    targets = {r.target_ref.canonical for r in all_relations}
    assert "group:development/team-a" not in targets


def test_locations_and_environments_take_part_in_no_relation(all_relations):
    kinds = {ref.kind.lower() for r in all_relations for ref in (r.source_ref, r.target_ref)}
    assert "location" not in kinds
    assert "environment" not in kinds


def test_team_a_relations_in_api_shape(all_relations):
    rows = relations_for_api("group:default/team-a", all_relations)
    by_type = Counter(row["type"] for row in rows)
    # Five users name team-a in memberOf: breanna.davison, janelle.dawe, nigel.manning and the
    # two guests (default and development namespaces). Its parent is backstage.
    assert {row["targetRef"] for row in rows if row["type"] == "hasMember"} == {
        "user:default/breanna.davison",
        "user:default/janelle.dawe",
        "user:default/nigel.manning",
        "user:default/guest",
        "user:development/guest",
    }
    assert by_type["childOf"] == 1
    assert {
        "type": "ownerOf",
        "targetRef": "component:default/www-artist",
        "target": {"kind": "component", "namespace": "default", "name": "www-artist"},
    } in rows
    assert rows == sorted(rows, key=lambda row: (row["type"], row["targetRef"]))


def test_every_relation_has_its_reverse(all_relations):
    from catalog.refs import REVERSE_RELATION

    keys = {(r.source_ref, r.type, r.target_ref) for r in all_relations}
    for source, relation, target in keys:
        assert (target, REVERSE_RELATION[relation], source) in keys


def test_relation_targets_parse_back_to_the_same_ref(all_relations):
    for relation in all_relations:
        assert parse_entity_ref(relation.target_ref.canonical) == relation.target_ref


def test_the_software_templates_validate():
    paths = sorted(require(TEMPLATES).glob("*/template.yaml"))
    assert paths
    registry = default_registry()
    for path in paths:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        result = validate_entity(doc, registry)
        assert result.ok, f"{path.relative_to(TEMPLATES)}: {result.messages}"
        assert result.entity.kind == "Template"
        assert any(r.type == "ownedBy" for r in derive_relations(result.entity, registry))
