"""The demo catalog (Larkspur Freight) reads, validates and hangs together as one company."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.entity import ParsedEntity, default_registry, validate_entity
from catalog.reading import ReadResult, read_location
from catalog.relations import Relation, derive_relations
from techdocs.builder import build_site

DEMO_ROOT = Path(__file__).resolve().parents[2] / "catalog" / "demo_catalog"
ROOT_FILE = DEMO_ROOT / "catalog-info.yaml"
TECHDOCS_REF = "backstage.io/techdocs-ref"


@dataclass
class Demo:
    read: ReadResult
    entities: list[ParsedEntity]
    problems: list[str]
    files: dict[str, Path]  # canonical entity ref -> the file it came from

    def of_kind(self, kind: str) -> list[ParsedEntity]:
        return [entity for entity in self.entities if entity.kind == kind]


@pytest.fixture(scope="module")
def demo() -> Demo:
    result = read_location(str(ROOT_FILE), type="file")
    registry = default_registry()
    entities, problems, files = [], [], {}
    for document in result.documents:
        validation = validate_entity(document.data, registry)
        if not validation.ok:
            problems.extend(f"{document.location}#{document.index}: {message}" for message in validation.messages)
            continue
        entities.append(validation.entity)
        files[validation.entity.ref.canonical] = Path(document.location.removeprefix("file:"))
    return Demo(result, entities, problems, files)


def relations_of(demo: Demo) -> list[Relation]:
    registry = default_registry()
    return [relation for entity in demo.entities for relation in derive_relations(entity, registry)]


def local_refs(node: Any) -> list[str]:
    """Every ``$ref`` value inside a parsed OpenAPI/AsyncAPI document."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in local_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in local_refs(value)]
    return []


def resolve_pointer(document: dict, ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} is not a reference inside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_the_demo_catalog_reads_without_errors(demo):
    assert [f"{error.target}: {error.message}" for error in demo.read.errors] == []
    assert len(demo.read.documents) > 100


def test_every_document_validates(demo):
    assert demo.problems == []
    assert len(demo.entities) == len(demo.read.documents)


def test_entity_names_are_unique_per_kind(demo):
    counts = Counter(entity.ref.canonical for entity in demo.entities)
    assert [ref for ref, count in counts.items() if count > 1] == []


def test_it_describes_a_whole_company(demo):
    groups = Counter(entity.spec["type"] for entity in demo.of_kind("Group"))
    assert groups == {"organization": 1, "department": 3, "team": 8}
    assert len(demo.of_kind("User")) >= 20
    assert len(demo.of_kind("Domain")) == 3
    assert 6 <= len(demo.of_kind("System")) <= 8
    assert len(demo.of_kind("Component")) >= 40
    assert len(demo.of_kind("API")) >= 10
    assert len(demo.of_kind("Resource")) >= 8


def test_components_vary_enough_to_make_the_facets_worth_filtering(demo):
    components = demo.of_kind("Component")
    types = Counter(component.spec["type"] for component in components)
    lifecycles = Counter(component.spec["lifecycle"] for component in components)
    owners = {component.spec["owner"] for component in components}
    assert set(types) >= {"service", "website", "library", "data-pipeline"}
    assert set(lifecycles) == {"production", "experimental", "deprecated"}
    assert len(owners) == 8
    assert any("subcomponentOf" in component.spec for component in components)
    api_types = {api.spec["type"] for api in demo.of_kind("API")}
    assert api_types == {"openapi", "asyncapi", "grpc", "graphql"}
    resource_types = {resource.spec["type"] for resource in demo.of_kind("Resource")}
    assert resource_types >= {"database", "s3-bucket", "queue", "cache"}


def test_every_relation_points_at_an_entity_in_the_demo(demo):
    known = {entity.ref.canonical for entity in demo.entities}
    relations = relations_of(demo)
    dangling = sorted({f"{r.source_ref.canonical} {r.type} {r.target_ref.canonical}" for r in relations
                       if r.target_ref.canonical not in known})
    assert dangling == []
    assert len(relations) > 300


def test_every_component_api_and_resource_belongs_to_a_system_and_every_system_to_a_domain(demo):
    homeless = [entity.ref.canonical for kind in ("Component", "API", "Resource")
                for entity in demo.of_kind(kind) if "system" not in entity.spec]
    assert homeless == []
    assert [system.name for system in demo.of_kind("System") if "domain" not in system.spec] == []


def test_owners_are_groups_and_every_team_owns_something(demo):
    relations = relations_of(demo)
    owners = {r.target_ref for r in relations if r.type == "ownedBy"}
    assert {owner.kind.lower() for owner in owners} == {"group"}
    teams = {team.ref for team in demo.of_kind("Group") if team.spec["type"] == "team"}
    assert teams <= owners


def test_group_parents_and_children_agree(demo):
    groups = {group.name: group for group in demo.of_kind("Group")}
    for group in groups.values():
        for child in group.spec["children"]:
            assert groups[child].spec.get("parent") == group.name, f"{child} does not name {group.name} as parent"
        if "parent" in group.spec:
            assert group.name in groups[group.spec["parent"]].spec["children"]


def test_every_team_has_members_and_some_people_are_in_two_teams(demo):
    users = demo.of_kind("User")
    membership = Counter(team for user in users for team in user.spec["memberOf"])
    teams = [group.name for group in demo.of_kind("Group") if group.spec["type"] == "team"]
    assert [team for team in teams if membership[team] < 2] == []
    assert sum(1 for user in users if len(user.spec["memberOf"]) > 1) >= 2
    assert all(user.spec["profile"]["email"].endswith("@larkspurfreight.example") for user in users)


def test_every_api_definition_was_substituted_with_its_document(demo):
    for api in demo.of_kind("API"):
        definition = api.spec["definition"]
        assert isinstance(definition, str) and definition.strip(), api.name
        kind = api.spec["type"]
        if kind in ("openapi", "asyncapi"):
            parsed = yaml.safe_load(definition)
            assert isinstance(parsed, dict) and kind in parsed, f"{api.name} has no {kind} key"
        elif kind == "grpc":
            assert 'syntax = "proto3"' in definition and "service " in definition, api.name
        elif kind == "graphql":
            assert "type Query" in definition, api.name


def test_openapi_documents_are_complete_and_their_references_resolve(demo):
    for api in demo.of_kind("API"):
        if api.spec["type"] not in ("openapi", "asyncapi"):
            continue
        document = yaml.safe_load(api.spec["definition"])
        assert document["info"]["title"] and document["info"]["version"], api.name
        for ref in local_refs(document):
            resolve_pointer(document, ref)
        if api.spec["type"] == "openapi":
            assert str(document["openapi"]).startswith("3.0."), api.name
            operations = [operation for path in document["paths"].values() for method, operation in path.items()
                          if method in ("get", "put", "post", "delete", "patch")]
            assert len(operations) >= 3, api.name
            assert all(operation.get("responses") for operation in operations), api.name
            assert 60 <= len(api.spec["definition"].splitlines()) <= 150, api.name


def test_every_techdocs_component_ships_its_docs_next_to_its_catalog_file(demo):
    documented = [entity for entity in demo.entities if TECHDOCS_REF in entity.metadata.get("annotations", {})]
    assert len(documented) >= 6
    for entity in documented:
        assert entity.metadata["annotations"][TECHDOCS_REF] == "dir:."
        folder = demo.files[entity.ref.canonical].parent
        assert (folder / "mkdocs.yml").is_file(), entity.name
        assert (folder / "docs" / "index.md").is_file(), entity.name
        assert len(list((folder / "docs").glob("*.md"))) >= 2, entity.name


def test_the_demo_docs_build_without_errors_or_broken_links(demo):
    documented = [entity for entity in demo.entities if TECHDOCS_REF in entity.metadata.get("annotations", {})]
    images = 0
    for entity in documented:
        site = build_site(demo.files[entity.ref.canonical].parent, ".")
        assert site.errors == [] and site.warnings == [], entity.name
        images += sum(page.html.count("<img") for page in site.pages)
    assert images >= 1


def test_every_file_in_the_demo_folder_is_reached_from_the_root_location(demo):
    reached = {Path(document.location.removeprefix("file:")) for document in demo.read.documents}
    definitions = {"apis"}  # API definitions are read through $text, not as entity files
    entity_files = {
        path for path in DEMO_ROOT.rglob("*.yaml")
        if "docs" not in path.relative_to(DEMO_ROOT).parts
        and not (path.parent.name in definitions and path.name.count(".") > 1)
    }
    assert entity_files == reached
