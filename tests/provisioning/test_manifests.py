"""Manifests: rendering per offering, YAML safety, Kubernetes validation, claim paths, entities, release."""

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scaffolder.provisioning import (
    ClaimPathError,
    ClaimRequest,
    ManifestError,
    ProvisioningSettings,
    Usage,
    ValidationFailed,
    builtin_offerings,
    check_request,
    claim_path,
    dump_manifests,
    entity_expires_at,
    existing_claim_from_entity,
    parse_claim_path,
    policy_from_dict,
    release_plan,
    release_plan_for_entity,
    render_claim,
    render_manifests,
    resolve_claim_path,
    validate_kubernetes_object,
)

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"


def order(key, values=None, *, team="team-a", name="orders", **extra):
    return ClaimRequest(
        offering=builtin_offerings()[key],
        team=team,
        name=name,
        values={} if values is None else values,
        requested_by="user:default/alice",
        requested_at=NOW,
        **extra,
    )


def preview_values(**overrides):
    values = {"repository": "https://git.example.com/acme/shop", "branch": "feature/checkout", "commit": SHA}
    values.update(overrides)
    return values


def fields(exc_info):
    return {error.field for error in exc_info.value.errors}


def by_kind(objects):
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


# ------------------------------------------------------------------------------ database claims

DATABASE_TIERS = {
    "production": (3, True, 30, "customer-managed"),
    "standard": (2, True, 7, "provider-managed"),
    "internal": (1, False, 1, "provider-managed"),
}


@pytest.mark.parametrize("key", ["postgresql", "mysql"])
@pytest.mark.parametrize("tier", sorted(DATABASE_TIERS))
def test_each_database_tier_sets_replicas_backups_and_encryption(key, tier):
    replicas, ha, retention, keys = DATABASE_TIERS[tier]
    [claim] = render_manifests(order(key, {"tier": tier}))
    spec = claim["spec"]
    assert spec["highAvailability"] == {"enabled": ha, "replicas": replicas}
    assert spec["backup"] == {"enabled": True, "retentionDays": retention}
    assert spec["encryption"] == {"enabled": True, "keyManagement": keys}
    assert spec["tier"] == tier


DATABASE_SIZES = {"small": ("1", "2Gi", "20Gi"), "medium": ("2", "8Gi", "100Gi"), "large": ("8", "32Gi", "500Gi")}


@pytest.mark.parametrize("key", ["postgresql", "mysql"])
@pytest.mark.parametrize("size", sorted(DATABASE_SIZES))
def test_each_database_size_sets_cpu_memory_and_storage(key, size):
    cpu, memory, storage = DATABASE_SIZES[size]
    [claim] = render_manifests(order(key, {"size": size}))
    assert claim["spec"]["resources"] == {"cpu": cpu, "memory": memory, "storage": storage}


def test_a_postgresql_claim_is_a_namespaced_crossplane_style_claim():
    [claim] = render_manifests(order("postgresql", {"version": "16"}))
    assert claim["apiVersion"] == "platform.causeway.dev/v1alpha1"
    assert claim["kind"] == "PostgreSQLInstance"
    assert claim["metadata"]["name"] == "orders"
    assert claim["metadata"]["namespace"] == "team-a"
    assert claim["metadata"]["labels"]["causeway.dev/team"] == "team-a"
    assert claim["spec"]["engine"] == "postgresql"
    assert claim["spec"]["compositionSelector"] == {"matchLabels": {"causeway.dev/engine": "postgresql"}}
    assert claim["spec"]["writeConnectionSecretToRef"] == {"name": "orders-connection"}


def test_the_claim_namespace_and_api_group_can_be_chosen():
    settings = ProvisioningSettings(claim_api_group="infra.acme.io", claim_api_version="v1beta1")
    [claim] = render_manifests(order("mysql", namespace="team-a-data"), settings)
    assert claim["apiVersion"] == "infra.acme.io/v1beta1"
    assert claim["metadata"]["namespace"] == "team-a-data"


def test_a_version_that_looks_like_a_number_stays_a_string_in_yaml():
    claim = render_claim(order("mysql", {"version": "8.0"}))
    [loaded] = yaml.safe_load_all(claim.yaml)
    assert loaded["spec"]["version"] == "8.0"
    assert loaded["spec"]["resources"]["cpu"] == "1"


# --------------------------------------------------------------------------------------- caches


@pytest.mark.parametrize(("tier", "replicas"), [("production", 3), ("standard", 2), ("internal", 1)])
def test_each_redis_tier_sets_its_replicas(tier, replicas):
    [claim] = render_manifests(order("redis", {"tier": tier}))
    assert claim["kind"] == "RedisInstance"
    assert claim["spec"]["highAvailability"] == {"enabled": replicas > 1, "replicas": replicas}


@pytest.mark.parametrize(
    ("size", "cpu", "memory"), [("small", "500m", "1Gi"), ("medium", "1", "4Gi"), ("large", "2", "16Gi")]
)
def test_each_redis_size_sets_cpu_and_memory_without_storage_or_backups(size, cpu, memory):
    [claim] = render_manifests(order("redis", {"size": size}))
    assert claim["spec"]["resources"] == {"cpu": cpu, "memory": memory}
    assert "backup" not in claim["spec"]


# ----------------------------------------------------------------------------------- previews


def test_a_preview_pins_the_commit_dependencies_resources_and_expiry():
    values = preview_values(
        commit=SHA.upper(),
        dependencies=[{"name": "payments", "version": "2.3.1"}, {"name": "auth", "version": "v1.0.0"}],
        cpu="1",
        memory="2Gi",
        ttl="3d",
    )
    claim = render_claim(order("preview-environment", values, name="pr-42"))
    [manifest] = claim.manifests
    spec = manifest["spec"]
    assert manifest["kind"] == "PreviewEnvironment"
    assert spec["source"] == {
        "repository": "https://git.example.com/acme/shop",
        "branch": "feature/checkout",
        "revision": SHA,
    }
    assert spec["dependencies"] == [{"name": "payments", "version": "2.3.1"}, {"name": "auth", "version": "v1.0.0"}]
    assert spec["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}}
    assert spec["ttl"] == "3d"
    assert spec["expiresAt"] == "2025-03-04T09:30:00Z"
    assert manifest["metadata"]["annotations"]["causeway.dev/expires-at"] == "2025-03-04T09:30:00Z"
    assert claim.expires_at == NOW + timedelta(days=3)


def test_a_preview_host_is_derived_from_name_team_and_base_domain():
    settings = ProvisioningSettings(preview_base_domain="preview.acme.dev")
    [manifest] = render_manifests(order("preview-environment", preview_values(), name="pr-42"), settings)
    assert manifest["spec"]["ingress"] == {"host": "pr-42.team-a.preview.acme.dev"}


def test_a_preview_whose_host_would_be_too_long_is_refused_on_the_name():
    settings = ProvisioningSettings(preview_base_domain=".".join(["a" * 60] * 3))
    with pytest.raises(ValidationFailed) as exc_info:
        render_manifests(order("preview-environment", preview_values(), name="n" * 63, team="t" * 63), settings)
    assert fields(exc_info) == {"name"}
    assert "ingress host" in str(exc_info.value)


# --------------------------------------------------------------------------------- namespaces


def test_a_team_namespace_sets_quotas_and_container_defaults():
    values = {
        "cpuQuota": "16",
        "memoryQuota": "32Gi",
        "podsQuota": 80,
        "defaultCpuRequest": "250m",
        "defaultCpuLimit": "1",
        "defaultMemoryRequest": "256Mi",
        "defaultMemoryLimit": "1Gi",
    }
    objects = by_kind(render_manifests(order("team-namespace", values, name="team-a-dev")))
    namespace = objects[("Namespace", "team-a-dev")]
    assert "namespace" not in namespace["metadata"]
    assert namespace["metadata"]["labels"]["causeway.dev/team"] == "team-a"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    quota = objects[("ResourceQuota", "team-quota")]
    assert quota["metadata"]["namespace"] == "team-a-dev"
    assert quota["spec"]["hard"] == {
        "requests.cpu": "16",
        "limits.cpu": "16",
        "requests.memory": "32Gi",
        "limits.memory": "32Gi",
        "pods": "80",
    }
    [limit] = objects[("LimitRange", "container-defaults")]["spec"]["limits"]
    assert limit == {
        "type": "Container",
        "default": {"cpu": "1", "memory": "1Gi"},
        "defaultRequest": {"cpu": "250m", "memory": "256Mi"},
    }


def test_a_team_namespace_only_admits_its_own_pods_and_the_ingress_namespace():
    settings = ProvisioningSettings(ingress_namespace="traefik")
    objects = by_kind(render_manifests(order("team-namespace", name="team-a-dev"), settings))
    policy = objects[("NetworkPolicy", "allow-namespace-and-ingress")]
    assert policy["metadata"]["namespace"] == "team-a-dev"
    assert policy["spec"]["podSelector"] == {}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["ingress"] == [
        {
            "from": [
                {"podSelector": {}},
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}},
            ]
        }
    ]


def test_a_team_namespace_binds_admins_developers_and_viewers_to_their_roles():
    values = {"adminsGroup": "acme:platform-leads", "viewersGroup": "everyone@acme.io"}
    objects = by_kind(render_manifests(order("team-namespace", values, name="team-a-dev")))
    bindings = {
        name: (obj["roleRef"]["name"], obj["subjects"][0]["name"], obj["subjects"][0]["kind"])
        for (kind, name), obj in objects.items()
        if kind == "RoleBinding"
    }
    assert bindings == {
        "team-admins": ("admin", "acme:platform-leads", "Group"),
        "team-developers": ("edit", "team-a-developers", "Group"),
        "team-viewers": ("view", "everyone@acme.io", "Group"),
    }


@pytest.mark.parametrize("key", sorted(builtin_offerings()))
def test_every_rendered_object_is_a_valid_kubernetes_object(key):
    values = preview_values() if key == "preview-environment" else {}
    objects = render_manifests(order(key, values))
    assert objects
    for obj in objects:
        assert validate_kubernetes_object(obj) == []
        assert obj["metadata"]["annotations"]["causeway.dev/claim-path"] == claim_path(
            "team-a", builtin_offerings()[key].resource_type, "orders"
        )


# ------------------------------------------------------------------------------- YAML injection

HOSTILE_STRINGS = [
    "foo\n  evil: true",
    '"}: x',
    "'; kind: Secret",
    "---\napiVersion: v1\nkind: Secret\nmetadata: {name: stolen}",
    "...\n---\nevil: true",
    "a: b\n- c",
    "&anchor value *alias",
    "!!python/object/apply:os.system ['id']",
    "{{ parameters.x }} ${{ secrets.token }}",
    "yes",
    "null",
    "0x1F",
    "#comment",
    "tab\there, nul\x00, line\u2028sep, bom\ufeff, crlf\r\n",
    "  leading and trailing spaces  ",
    "next line\x85evil: true",
    "Bestellungen für Kunden – 注文",
]


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
@pytest.mark.parametrize("key", sorted(builtin_offerings()))
def test_a_hostile_string_parameter_stays_one_string_in_the_yaml(key, hostile):
    values = preview_values() if key == "preview-environment" else {}
    values["purpose"] = hostile
    claim = render_claim(order(key, values))
    loaded = list(yaml.safe_load_all(claim.yaml))
    assert loaded == claim.manifests
    assert len(loaded) == len(claim.manifests)
    for obj in loaded:
        assert obj["metadata"]["annotations"]["causeway.dev/purpose"] == hostile
        assert "evil" not in obj and "evil" not in obj["metadata"]
        assert obj["kind"] != "Secret"
    assert claim.entity["metadata"]["description"] == hostile


@given(st.text(max_size=200), st.text(min_size=1, max_size=40))
@settings(max_examples=150, deadline=None)
def test_any_text_survives_the_yaml_round_trip_unchanged(value, key):
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {key: value}}]
    assert list(yaml.safe_load_all(dump_manifests(objects))) == objects


def test_an_object_yaml_cannot_represent_is_a_clear_error():
    with pytest.raises(ManifestError, match="cannot be written as YAML"):
        dump_manifests([{"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": object()}}])


def test_hostile_strings_in_structured_fields_are_refused_not_written():
    values = preview_values(
        branch="main\n  evil: true",
        dependencies=[{"name": "auth\nevil: true", "version": "1.0.0"}],
    )
    with pytest.raises(ValidationFailed) as exc_info:
        render_claim(order("preview-environment", values))
    assert fields(exc_info) == {"branch", "dependencies[0].name"}


# ----------------------------------------------------------------------------- names and paths

TRAVERSAL_NAMES = ["../x", "a/b", "..", "x/../../etc", "a\\b", "..%2f"]
INVALID_NAMES = ["Orders", "-orders", "orders-", "or_ders", "or ders", "o" * 64, "", "orders.db", "ordérs"]


@pytest.mark.parametrize("name", TRAVERSAL_NAMES)
def test_it_refuses_a_name_that_would_traverse_paths(name):
    with pytest.raises(ValidationFailed) as exc_info:
        render_claim(order("postgresql", name=name))
    assert fields(exc_info) == {"name"}
    assert "path separators and '..' are refused" in str(exc_info.value)


@pytest.mark.parametrize("team", TRAVERSAL_NAMES + INVALID_NAMES)
def test_it_refuses_an_invalid_team_naming_the_team_field(team):
    with pytest.raises(ValidationFailed) as exc_info:
        render_claim(order("redis", team=team))
    assert fields(exc_info) == {"team"}


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_it_refuses_a_name_that_is_not_a_dns_label(name):
    with pytest.raises(ValidationFailed) as exc_info:
        render_claim(order("postgresql", name=name))
    assert fields(exc_info) == {"name"}


def test_name_and_value_errors_are_reported_together():
    with pytest.raises(ValidationFailed) as exc_info:
        render_claim(order("postgresql", {"tier": "gold"}, name="../x", team="Team A"))
    assert fields(exc_info) == {"name", "team", "tier"}


def test_it_refuses_a_bad_namespace_system_requester_and_naive_time():
    request = ClaimRequest(
        offering=builtin_offerings()["redis"],
        team="team-a",
        name="cache",
        values={},
        requested_by="alice\nroot",
        requested_at=datetime(2025, 1, 1),  # noqa: DTZ001 - deliberately naive
        system="../../etc",
        namespace="a/b",
    )
    with pytest.raises(ValidationFailed) as exc_info:
        render_claim(request)
    assert fields(exc_info) == {"requested_by", "requested_at", "system", "namespace"}


def test_the_claim_path_is_claims_team_type_name_yaml():
    assert claim_path("team-a", "database", "orders") == "claims/team-a/database/orders.yaml"
    assert render_claim(order("preview-environment", preview_values(), name="pr-7")).path == (
        "claims/team-a/preview-environment/pr-7.yaml"
    )


@pytest.mark.parametrize(("team", "kind", "name"), [("..", "database", "x"), ("a", "../..", "x"), ("a", "db", "x/y")])
def test_claim_path_refuses_traversal_naming_the_field(team, kind, name):
    with pytest.raises(ValidationFailed) as exc_info:
        claim_path(team, kind, name)
    assert len(exc_info.value.errors) == 1


def test_a_claim_path_parses_back_into_its_parts():
    assert parse_claim_path("claims/team-a/cache/sessions.yaml") == ("team-a", "cache", "sessions")


@pytest.mark.parametrize(
    "path",
    [
        "claims/../x/y.yaml",
        "claims/team-a/database/../../../etc/passwd.yaml",
        "/claims/team-a/database/x.yaml",
        "claims/team-a/database/x.yml",
        "claims/team-a/x.yaml",
        "other/team-a/database/x.yaml",
        "claims/Team/database/x.yaml",
        None,
    ],
)
def test_parse_claim_path_refuses_anything_else(path):
    with pytest.raises(ClaimPathError):
        parse_claim_path(path)


def test_a_claim_path_resolves_inside_the_repository(tmp_path):
    target = resolve_claim_path(tmp_path, "claims/team-a/database/orders.yaml")
    assert target == tmp_path.resolve() / "claims" / "team-a" / "database" / "orders.yaml"


def test_a_claim_path_through_a_symlink_out_of_the_repository_is_refused(tmp_path):
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    os.symlink(outside, repo / "claims")
    with pytest.raises(ClaimPathError, match="outside the repository"):
        resolve_claim_path(repo, "claims/team-a/database/orders.yaml")


# ------------------------------------------------------------------------ Kubernetes validation


def valid_object(**metadata):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "ns", **metadata}}


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({**valid_object(), "apiVersion": "v1 beta"}, "apiVersion"),
        ({**valid_object(), "apiVersion": None}, "apiVersion"),
        ({**valid_object(), "kind": "configMap"}, "kind"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "metadata"),
        (valid_object(name="x" * 254), "metadata.name"),
        (valid_object(name="../x"), "metadata.name"),
        (valid_object(name="Upper"), "metadata.name"),
        (valid_object(namespace=None), "metadata.namespace"),
        (valid_object(namespace="a.b"), "metadata.namespace"),
        ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}, "metadata.name"),
        ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "namespace": "b"}}, "metadata.namespace"),
        (valid_object(labels={"team": "a b"}), "metadata.labels['team']"),
        (valid_object(labels={"bad key!": "a"}), "metadata.labels['bad key!']"),
        (valid_object(labels={"x": "v" * 64}), "metadata.labels['x']"),
        (valid_object(annotations={"ok": 5}), "metadata.annotations['ok']"),
        (valid_object(annotations={"x": "y" * 300_000}), "metadata.annotations"),
    ],
)
def test_it_reports_what_makes_an_object_invalid(obj, field):
    assert field in {error.field for error in validate_kubernetes_object(obj)}


def test_a_dotted_subdomain_name_is_fine_for_most_kinds():
    assert validate_kubernetes_object(valid_object(name="orders.v2", labels={"example.com/team": ""})) == []


def test_a_non_mapping_is_not_a_kubernetes_object():
    assert validate_kubernetes_object(["kind", "Pod"])[0].message == "a Kubernetes object must be a mapping"


# ------------------------------------------------------------------------------ catalog entity


def test_the_catalog_entity_tracks_the_claim():
    claim = render_claim(order("postgresql", {"tier": "production", "size": "medium"}, system="payments"))
    entity = claim.entity
    assert entity["apiVersion"] == "backstage.io/v1alpha1"
    assert entity["kind"] == "Resource"
    assert entity["metadata"]["name"] == "orders"
    assert entity["metadata"]["namespace"] == "team-a"
    assert entity["metadata"]["annotations"] == {
        "causeway.dev/claim-path": "claims/team-a/database/orders.yaml",
        "causeway.dev/offering": "postgresql",
        "causeway.dev/estimated-monthly-cost": "372.00 USD",
        "causeway.dev/requested-by": "user:default/alice",
        "causeway.dev/requested-at": "2025-03-01T09:30:00Z",
    }
    assert entity["metadata"]["labels"] == {
        "causeway.dev/offering": "postgresql",
        "causeway.dev/resource-type": "database",
        "causeway.dev/tier": "production",
        "causeway.dev/size": "medium",
    }
    assert entity["spec"] == {"type": "database", "owner": "group:default/team-a", "system": "payments"}


def test_a_preview_entity_carries_its_expiry_and_a_link():
    claim = render_claim(order("preview-environment", preview_values(ttl="12h"), name="pr-9"))
    assert claim.entity["metadata"]["annotations"]["causeway.dev/expires-at"] == "2025-03-01T21:30:00Z"
    assert entity_expires_at(claim.entity) == NOW + timedelta(hours=12)
    assert claim.entity["metadata"]["links"] == [
        {"url": "https://pr-9.team-a.preview.example.com", "title": "Preview"}
    ]
    assert "system" not in claim.entity["spec"]


def test_an_entity_without_ttl_does_not_expire():
    assert entity_expires_at(render_claim(order("redis")).entity) is None


def test_the_entity_has_the_shape_of_the_backstage_example_resource():
    root = Path(__file__).resolve().parents[2]
    fixtures = Path(os.environ.get("CAUSEWAY_FIXTURES", root / ".." / "shared" / "fixtures" / "backstage"))
    example = fixtures / "packages" / "catalog-model" / "examples" / "resources" / "artists-db-resource.yaml"
    if not example.exists():
        pytest.skip(f"Backstage fixtures not found at {fixtures}")
    upstream = yaml.safe_load(example.read_text())
    ours = render_claim(order("postgresql", name="artists-db", system=upstream["spec"]["system"])).entity
    assert (ours["apiVersion"], ours["kind"]) == (upstream["apiVersion"], upstream["kind"])
    assert set(upstream["spec"]) <= set(ours["spec"])
    assert ours["spec"]["type"] == upstream["spec"]["type"] == "database"
    assert ours["metadata"]["name"] == upstream["metadata"]["name"]


# ------------------------------------------------------------------------------------- release


def test_the_release_plan_names_the_file_and_the_entity_to_remove():
    plan = release_plan("team-a", "cache", "sessions")
    assert plan.path == "claims/team-a/cache/sessions.yaml"
    assert plan.entity_ref == "resource:team-a/sessions"


def test_the_release_plan_of_a_rendered_entity_matches_its_claim():
    claim = render_claim(order("preview-environment", preview_values(), name="pr-3"))
    plan = release_plan_for_entity(claim.entity)
    assert plan.path == claim.path
    assert plan.entity_ref == "resource:team-a/pr-3"


@pytest.mark.parametrize(
    "tampered",
    [
        "claims/../../etc/passwd.yaml",
        "claims/team-a/database/../../../../home.yaml",
        "claims/team-b/database/orders.yaml",
        "claims/team-a/database/other.yaml",
    ],
)
def test_a_tampered_claim_path_annotation_is_refused_on_release(tampered):
    entity = render_claim(order("postgresql")).entity
    entity["metadata"]["annotations"]["causeway.dev/claim-path"] = tampered
    with pytest.raises(ClaimPathError):
        release_plan_for_entity(entity)


def test_an_entity_not_made_by_provisioning_cannot_be_released():
    with pytest.raises(ClaimPathError, match="not provisioned here"):
        release_plan_for_entity({"kind": "Resource", "metadata": {"name": "x", "annotations": {}}})
    with pytest.raises(ClaimPathError, match="not a catalog Resource"):
        release_plan_for_entity({"kind": "Component"})


# ------------------------------------------------------------------------------ quota plumbing


def test_existing_entities_count_towards_a_groups_quota():
    entities = [
        render_claim(order("preview-environment", preview_values(), name=f"pr-{n}")).entity for n in range(3)
    ]
    usage = Usage(claims=[existing_claim_from_entity(entity) for entity in entities])
    assert usage.count_resource_type("preview-environment") == 3
    assert usage.monthly_cost == 3 * Decimal("1.80")

    request = render_claim(order("preview-environment", preview_values(), name="pr-4")).quota_request()
    policy = policy_from_dict({"group": "team-a", "max_count_by_resource_type": {"preview-environment": 3}})
    [violation] = check_request(policy, usage, request)
    assert violation.message == "Quota 'preview environments' for group team-a: 3 of 3 in use"


def test_a_rendered_claims_quota_request_carries_tier_cost_and_ttl():
    request = render_claim(order("redis", {"tier": "production"})).quota_request()
    assert (request.offering, request.resource_type) == ("redis", "cache")
    assert (request.tier, request.ttl) == ("production", None)
    assert request.estimated_monthly_cost == Decimal("45.00")
    preview = render_claim(order("preview-environment", preview_values(ttl="2d"))).quota_request()
    assert preview.ttl == timedelta(days=2)
