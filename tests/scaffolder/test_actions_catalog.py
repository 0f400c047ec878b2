"""catalog:write, catalog:fetch and catalog:register, with the in-memory catalog adapter."""

import pytest
import yaml

from scaffolder.actions import (
    ActionContext,
    ActionError,
    ActionInputError,
    InMemoryCatalog,
    default_registry,
    validate_input,
)
from scaffolder.workspace import Workspace, WorkspacePathError

REGISTRY = default_registry()

TEAM = {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "team-a"}, "spec": {}}
SERVICE = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {"name": "payments", "namespace": "shop"},
    "spec": {"type": "service", "owner": "team-a"},
}


def run(ctx, action_id, data):
    action = REGISTRY.get(action_id)
    validate_input(action, data)
    return action.handler(ctx, data)


@pytest.fixture
def catalog():
    return InMemoryCatalog([TEAM, SERVICE])


@pytest.fixture
def ctx(tmp_path, catalog):
    return ActionContext(workspace=Workspace.create(parent=tmp_path), catalog=catalog, log_sink=lambda line: None)


def test_catalog_write_dumps_the_entity_as_yaml(ctx):
    run(ctx, "catalog:write", {"entity": SERVICE})
    written = yaml.safe_load((ctx.workspace.root / "catalog-info.yaml").read_text())
    assert written == SERVICE


def test_catalog_write_honours_file_path_inside_the_workspace(ctx):
    run(ctx, "catalog:write", {"filePath": "deploy/catalog.yaml", "entity": TEAM})
    assert (ctx.workspace.root / "deploy" / "catalog.yaml").exists()
    with pytest.raises(WorkspacePathError):
        run(ctx, "catalog:write", {"filePath": "../catalog.yaml", "entity": TEAM})


def test_catalog_write_needs_an_entity_object(ctx):
    with pytest.raises(ActionInputError, match="entity"):
        run(ctx, "catalog:write", {"entity": "not an object"})


def test_catalog_fetch_finds_entities_with_defaults(ctx):
    out = run(ctx, "catalog:fetch", {"entityRef": "team-a", "defaultKind": "group"})
    assert out["entity"]["metadata"]["name"] == "team-a"
    out = run(ctx, "catalog:fetch", {"entityRefs": ["component:shop/payments", "Group:default/TEAM-A"]})
    assert [e["kind"] for e in out["entities"]] == ["Component", "Group"]


def test_catalog_fetch_fails_on_a_missing_entity_unless_optional(ctx):
    with pytest.raises(ActionError, match="not found"):
        run(ctx, "catalog:fetch", {"entityRef": "group:default/nobody"})
    assert run(ctx, "catalog:fetch", {"entityRef": "group:default/nobody", "optional": True}) == {"entity": None}


def test_catalog_fetch_reports_a_malformed_ref(ctx):
    with pytest.raises(ActionError, match="no kind"):
        run(ctx, "catalog:fetch", {"entityRef": "lonely"})


def test_catalog_register_joins_contents_url_and_path(ctx, catalog):
    catalog.loader = lambda url: [SERVICE | {"metadata": {"name": "new-svc"}}]
    out = run(ctx, "catalog:register", {"repoContentsUrl": "https://git.test/o/r/blob/main/",
                                        "catalogInfoPath": "/catalog-info.yaml"})
    assert out == {"catalogInfoUrl": "https://git.test/o/r/blob/main/catalog-info.yaml",
                   "entityRef": "component:default/new-svc"}
    assert catalog.locations == ["https://git.test/o/r/blob/main/catalog-info.yaml"]
    assert catalog.fetch_entity("component:default/new-svc") is not None


def test_catalog_register_prefers_a_non_location_entity(ctx, catalog):
    location = {"apiVersion": "backstage.io/v1alpha1", "kind": "Location", "metadata": {"name": "loc"}}
    catalog.loader = lambda url: [location, TEAM]
    out = run(ctx, "catalog:register", {"catalogInfoUrl": "https://git.test/x.yaml"})
    assert out["entityRef"] == "group:default/team-a"


def test_catalog_register_needs_a_url(ctx):
    with pytest.raises(ActionInputError):
        run(ctx, "catalog:register", {"catalogInfoPath": "/x.yaml"})


def test_catalog_register_failures_are_errors_unless_optional(ctx, catalog):
    run(ctx, "catalog:register", {"catalogInfoUrl": "https://git.test/x.yaml"})
    with pytest.raises(ActionError, match="already registered"):
        run(ctx, "catalog:register", {"catalogInfoUrl": "https://git.test/x.yaml"})
    out = run(ctx, "catalog:register", {"catalogInfoUrl": "https://git.test/x.yaml", "optional": True})
    assert out == {"catalogInfoUrl": "https://git.test/x.yaml"}


def test_catalog_actions_need_a_catalog(tmp_path):
    context = ActionContext(workspace=Workspace.create(parent=tmp_path))
    with pytest.raises(ActionError, match="no catalog"):
        run(context, "catalog:fetch", {"entityRef": "group:default/a"})
