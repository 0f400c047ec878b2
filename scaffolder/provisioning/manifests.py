"""Render an order into Kubernetes manifests, a GitOps claim file and a catalog Resource entity.

Manifests are built as Python dicts and serialised with ``yaml.safe_dump_all``; no user value is
ever pasted into YAML text, so a value like ``"foo\\n  evil: true"`` stays one string.

Public API
----------
``ClaimRequest(offering, team, name, values, requested_by, requested_at, system=None, namespace=None)``
``render_claim(request, settings=None) -> RenderedClaim``
    validates everything (raising ``ValidationFailed`` with every ``FieldError`` at once) and returns
    ``.path`` (``claims/<team>/<resource-type>/<name>.yaml``), ``.manifests`` (list of dicts),
    ``.yaml`` (multi-document text to commit), ``.entity`` (catalog Resource dict), ``.cost``,
    ``.expires_at`` (previews), ``.values`` (normalised), ``.quota_request()``
``render_manifests(request, settings=None) -> list[dict]``
``dump_manifests(objects) -> str``                     multi-document YAML, round-trip checked
``validate_kubernetes_object(obj) -> list[FieldError]``
``claim_path(team, resource_type, name) -> str``       relative, POSIX separators
``parse_claim_path(path) -> (team, resource_type, name)``
``resolve_claim_path(repo_root, path) -> Path``         absolute, refused if it leaves the repo
``resource_entity(...) -> dict``                        see the function
``release_plan(team, resource_type, name) -> ReleasePlan``   the file to delete, the entity to drop
``release_plan_for_entity(entity) -> ReleasePlan``
``existing_claim_from_entity(entity) -> ExistingClaim``     for quota usage from catalog entities
``entity_expires_at(entity) -> datetime | None``

Errors: ``ValidationFailed`` (bad user input, per field), ``ClaimPathError`` (a path that is not a
claim path or would leave the repository), ``ManifestError`` (an offering produced an object that
is not valid Kubernetes: a bug in offering data, never the user's fault).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from .offerings import (
    CLAIMS_DIR,
    CostEstimate,
    FieldError,
    Offering,
    ProvisioningError,
    ProvisioningSettings,
    ValidationFailed,
    _short,
    check_dns_label,
    check_dns_subdomain,
    estimate_monthly_cost,
    validate_values,
)
from .quotas import ExistingClaim, QuotaRequest, expires_at, parse_ttl

__all__ = [
    "ANNOTATION_CLAIM_PATH",
    "ANNOTATION_COST",
    "ANNOTATION_EXPIRES_AT",
    "ANNOTATION_OFFERING",
    "BUILDERS",
    "BuildContext",
    "ClaimPathError",
    "ClaimRequest",
    "ManifestError",
    "ReleasePlan",
    "RenderedClaim",
    "claim_path",
    "dump_manifests",
    "entity_expires_at",
    "existing_claim_from_entity",
    "parse_claim_path",
    "release_plan",
    "release_plan_for_entity",
    "render_claim",
    "render_manifests",
    "resolve_claim_path",
    "resource_entity",
    "validate_kubernetes_object",
]

ANNOTATION_CLAIM_PATH = "causeway.dev/claim-path"
ANNOTATION_OFFERING = "causeway.dev/offering"
ANNOTATION_EXPIRES_AT = "causeway.dev/expires-at"
ANNOTATION_COST = "causeway.dev/estimated-monthly-cost"
ANNOTATION_REQUESTED_BY = "causeway.dev/requested-by"
ANNOTATION_REQUESTED_AT = "causeway.dev/requested-at"
ANNOTATION_PURPOSE = "causeway.dev/purpose"
LABEL_TEAM = "causeway.dev/team"
LABEL_OFFERING = "causeway.dev/offering"
LABEL_RESOURCE_TYPE = "causeway.dev/resource-type"
LABEL_CLAIM = "causeway.dev/claim"
ENTITY_API_VERSION = "backstage.io/v1alpha1"
RBAC_GROUP = "rbac.authorization.k8s.io"


class ManifestError(ProvisioningError):
    """An object that is not valid Kubernetes or cannot be serialised (an offering bug)."""


class ClaimPathError(ProvisioningError):
    """A path that is not ``claims/<team>/<resource-type>/<name>.yaml`` or leaves the repository."""


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -------------------------------------------------------------------------------------- requests

_ENTITY_NAME = re.compile(r"[A-Za-z0-9]+([-_.][A-Za-z0-9]+)*")
_SYSTEM_REF = re.compile(r"(?:system:)?(?:(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/)?(?P<name>[^/:]+)")
_USER_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9:/._@-]{0,252}")


@dataclass(frozen=True)
class ClaimRequest:
    """An order as submitted. ``team`` is the owning group's name (a DNS label); ``namespace`` is the
    Kubernetes namespace the claim lives in (defaults to ``team``; unused by team namespaces, which
    create the namespace ``name``); ``requested_by`` is a user ref such as ``user:default/alice``."""

    offering: Offering
    team: str
    name: str
    values: Mapping[str, Any]
    requested_by: str
    requested_at: datetime
    system: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class BuildContext:
    """Everything a manifest builder may read; all of it already validated."""

    offering: Offering
    team: str
    name: str
    namespace: str
    values: Mapping[str, Any]
    settings: ProvisioningSettings
    requested_by: str
    requested_at: datetime
    path: str
    expires_at: datetime | None = None

    def labels(self) -> dict[str, str]:
        return {
            "app.kubernetes.io/managed-by": "causeway",
            LABEL_TEAM: self.team,
            LABEL_OFFERING: self.offering.key,
            LABEL_CLAIM: self.name,
        }

    def annotations(self) -> dict[str, str]:
        annotations = {
            ANNOTATION_CLAIM_PATH: self.path,
            ANNOTATION_REQUESTED_BY: self.requested_by,
            ANNOTATION_REQUESTED_AT: _timestamp(self.requested_at),
        }
        if self.expires_at is not None:
            annotations[ANNOTATION_EXPIRES_AT] = _timestamp(self.expires_at)
        if self.values.get("purpose"):
            annotations[ANNOTATION_PURPOSE] = self.values["purpose"]
        return annotations

    def metadata(self, name: str | None = None, namespace: str | None = None) -> dict[str, Any]:
        return {
            "name": name or self.name,
            "namespace": namespace or self.namespace,
            "labels": self.labels(),
            "annotations": self.annotations(),
        }


@dataclass(frozen=True)
class RenderedClaim:
    offering: Offering
    team: str
    name: str
    path: str
    values: dict[str, Any]
    manifests: list[dict[str, Any]]
    yaml: str
    entity: dict[str, Any]
    cost: CostEstimate
    expires_at: datetime | None = None

    def quota_request(self) -> QuotaRequest:
        ttl = self.values.get("ttl")
        return QuotaRequest(
            offering=self.offering.key,
            resource_type=self.offering.resource_type,
            name=self.name,
            estimated_monthly_cost=self.cost.total,
            currency=self.cost.currency,
            tier=self.values.get("tier"),
            ttl=parse_ttl(ttl) if isinstance(ttl, str) else None,
            offering_title=self.offering.title,
        )


def _preview_host(offering_name: str, team: str, settings: ProvisioningSettings) -> str:
    # One DNS level per team keeps hosts unambiguous (name "a-b" of team "c" vs "a" of "b-c").
    return f"{offering_name}.{team}.{settings.preview_base_domain}"


def _check_request(request: ClaimRequest, settings: ProvisioningSettings) -> list[FieldError]:
    errors = [
        error
        for error in (check_dns_label("team", request.team), check_dns_label("name", request.name))
        if error is not None
    ]
    if request.namespace is not None and (error := check_dns_label("namespace", request.namespace)):
        errors.append(error)
    if not isinstance(request.requested_by, str) or not _USER_REF.fullmatch(request.requested_by):
        errors.append(FieldError("requested_by", f"{_short(request.requested_by)} is not a user reference"))
    if not isinstance(request.requested_at, datetime) or request.requested_at.utcoffset() is None:
        errors.append(FieldError("requested_at", "must be a timezone-aware datetime"))
    if request.system is not None:
        match = _SYSTEM_REF.fullmatch(request.system) if isinstance(request.system, str) else None
        if not match or len(match["name"]) > 63 or not _ENTITY_NAME.fullmatch(match["name"]):
            errors.append(FieldError("system", f"{_short(request.system)} is not a system name or reference"))
    if not errors and request.offering.model == "preview-environment":
        host = _preview_host(request.name, request.team, settings)
        if error := check_dns_subdomain("name", host):
            errors.append(FieldError("name", f"gives the ingress host {host}, which is too long"))
    return errors


# -------------------------------------------------------------------------------------- builders


def _claim_object(ctx: BuildContext, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": ctx.settings.claim_api_version_string,
        "kind": ctx.offering.claim_kind,
        "metadata": ctx.metadata(),
        "spec": spec,
    }


def _build_engine(ctx: BuildContext) -> list[dict[str, Any]]:
    offering, values = ctx.offering, ctx.values
    tier, size = offering.tiers[values["tier"]], offering.sizes[values["size"]]
    resources = {"cpu": size.cpu, "memory": size.memory}
    spec: dict[str, Any] = {
        "engine": offering.engine,
        "version": values["version"],
        "tier": values["tier"],
        "size": values["size"],
        "highAvailability": {"enabled": tier.high_availability, "replicas": tier.replicas},
        "resources": resources,
    }
    if offering.model == "database":
        resources["storage"] = size.storage
        spec["backup"] = {"enabled": tier.backup_retention_days > 0, "retentionDays": tier.backup_retention_days}
        spec["encryption"] = {"enabled": True, "keyManagement": tier.key_management}
    selector = {"causeway.dev/engine": offering.engine} if offering.engine else {LABEL_OFFERING: offering.key}
    spec["compositionSelector"] = {"matchLabels": selector}
    spec["writeConnectionSecretToRef"] = {"name": f"{ctx.name}-connection"}
    return [_claim_object(ctx, spec)]


def _build_preview(ctx: BuildContext) -> list[dict[str, Any]]:
    values = ctx.values
    assert ctx.expires_at is not None
    spec = {
        "source": {"repository": values["repository"], "branch": values["branch"], "revision": values["commit"]},
        "dependencies": [{"name": dep["name"], "version": dep["version"]} for dep in values["dependencies"]],
        "resources": {"requests": {"cpu": values["cpu"], "memory": values["memory"]}},
        "ingress": {"host": _preview_host(ctx.name, ctx.team, ctx.settings)},
        "ttl": values["ttl"],
        "expiresAt": _timestamp(ctx.expires_at),
    }
    return [_claim_object(ctx, spec)]


def _build_namespace(ctx: BuildContext) -> list[dict[str, Any]]:
    values, namespace = ctx.values, ctx.name

    def meta(name: str) -> dict[str, Any]:
        return ctx.metadata(name=name, namespace=namespace)

    namespace_metadata = ctx.metadata()
    del namespace_metadata["namespace"]
    # Baseline pod security: blocks privileged pods without breaking ordinary workloads.
    namespace_metadata["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": namespace_metadata},
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta("team-quota"),
            "spec": {
                "hard": {
                    "requests.cpu": values["cpuQuota"],
                    "limits.cpu": values["cpuQuota"],
                    "requests.memory": values["memoryQuota"],
                    "limits.memory": values["memoryQuota"],
                    "pods": str(values["podsQuota"]),
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("container-defaults"),
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": values["defaultCpuLimit"], "memory": values["defaultMemoryLimit"]},
                        "defaultRequest": {
                            "cpu": values["defaultCpuRequest"],
                            "memory": values["defaultMemoryRequest"],
                        },
                    }
                ]
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta("allow-namespace-and-ingress"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            # An empty podSelector alone means: pods of this same namespace.
                            {"podSelector": {}},
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": ctx.settings.ingress_namespace}
                                }
                            },
                        ]
                    }
                ],
            },
        },
    ]
    for role, cluster_role, field_name in (
        ("admins", "admin", "adminsGroup"),
        ("developers", "edit", "developersGroup"),
        ("viewers", "view", "viewersGroup"),
    ):
        group = values.get(field_name) or f"{ctx.team}-{role}"
        objects.append(
            {
                "apiVersion": f"{RBAC_GROUP}/v1",
                "kind": "RoleBinding",
                "metadata": meta(f"team-{role}"),
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": cluster_role},
                "subjects": [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": group}],
            }
        )
    return objects


BUILDERS: Mapping[str, Callable[[BuildContext], list[dict[str, Any]]]] = {
    "database": _build_engine,
    "cache": _build_engine,
    "preview-environment": _build_preview,
    "namespace": _build_namespace,
}


# -------------------------------------------------------------------------- Kubernetes validation

_API_VERSION = re.compile(
    r"(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?"
)
_KIND = re.compile(r"[A-Z][A-Za-z0-9]{0,62}")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
        "CustomResourceDefinition", "PriorityClass", "IngressClass",
    }
)
# Kinds whose names end up in DNS as a single label.
DNS_LABEL_KINDS = frozenset({"Namespace", "Service"})
MAX_ANNOTATIONS_BYTES = 256 * 1024


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return "must be text"
    prefix, _, name = key.rpartition("/")
    if prefix and check_dns_subdomain("prefix", prefix):
        return "has an invalid prefix (must be a DNS subdomain)"
    if len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        return "has an invalid name part (at most 63 letters, digits, '-', '_', '.')"
    return None


def validate_kubernetes_object(obj: Any) -> list[FieldError]:
    """Every problem that would make the API server refuse the object's envelope."""
    if not isinstance(obj, Mapping):
        return [FieldError("", "a Kubernetes object must be a mapping")]
    errors: list[FieldError] = []
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not _API_VERSION.fullmatch(api_version):
        errors.append(FieldError("apiVersion", f"{_short(api_version)} is not an API version such as apps/v1"))
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        errors.append(FieldError("kind", f"{_short(kind)} is not a kind such as Deployment"))
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return [*errors, FieldError("metadata", "is required and must be a mapping")]
    if kind in DNS_LABEL_KINDS:
        name_error = check_dns_label("metadata.name", metadata.get("name"))
    else:
        name_error = check_dns_subdomain("metadata.name", metadata.get("name"))
    if name_error:
        errors.append(name_error)
    namespace = metadata.get("namespace")
    if kind in CLUSTER_SCOPED_KINDS:
        if namespace is not None:
            errors.append(FieldError("metadata.namespace", f"must not be set: {kind} is cluster-scoped"))
    elif error := check_dns_label("metadata.namespace", namespace):
        errors.append(error)
    labels = metadata.get("labels", {})
    if not isinstance(labels, Mapping):
        errors.append(FieldError("metadata.labels", "must be a mapping"))
    else:
        for key, value in labels.items():
            if problem := _key_problem(key):
                errors.append(FieldError(f"metadata.labels[{_short(key)}]", f"key {problem}"))
            if not isinstance(value, str) or (value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value))):
                errors.append(
                    FieldError(f"metadata.labels[{_short(key)}]", f"value {_short(value)} is not a valid label value")
                )
    annotations = metadata.get("annotations", {})
    if not isinstance(annotations, Mapping):
        errors.append(FieldError("metadata.annotations", "must be a mapping"))
    else:
        size = 0
        for key, value in annotations.items():
            if problem := _key_problem(key):
                errors.append(FieldError(f"metadata.annotations[{_short(key)}]", f"key {problem}"))
            if not isinstance(value, str):
                errors.append(FieldError(f"metadata.annotations[{_short(key)}]", "value must be text"))
            else:
                size += len(str(key).encode()) + len(value.encode())
        if size > MAX_ANNOTATIONS_BYTES:
            errors.append(FieldError("metadata.annotations", "are larger than 256 KiB in total"))
    return errors


# ------------------------------------------------------------------------------------ serialising


def dump_manifests(objects: list[dict[str, Any]]) -> str:
    """Multi-document YAML for ``objects``, verified to load back to exactly the same data."""
    try:
        # allow_unicode stays off: PyYAML writes U+0085 unescaped there and reads it back changed.
        text = yaml.safe_dump_all(objects, explicit_start=True, sort_keys=False, default_flow_style=False, width=120)
    except yaml.YAMLError as exc:
        raise ManifestError(f"the manifests cannot be written as YAML: {exc}")
    if list(yaml.safe_load_all(text)) != list(objects):
        raise ManifestError("the manifests do not survive a YAML round trip")
    return text


# ------------------------------------------------------------------------------------------ paths

_CLAIM_PATH = re.compile(rf"{CLAIMS_DIR}/([^/]+)/([^/]+)/([^/]+)\.yaml")


def claim_path(team: str, resource_type: str, name: str) -> str:
    """``claims/<team>/<resource-type>/<name>.yaml``; each part must be a DNS label."""
    errors = [
        error
        for error in (
            check_dns_label("team", team),
            check_dns_label("resource_type", resource_type),
            check_dns_label("name", name),
        )
        if error is not None
    ]
    if errors:
        raise ValidationFailed(errors)
    return f"{CLAIMS_DIR}/{team}/{resource_type}/{name}.yaml"


def parse_claim_path(path: str) -> tuple[str, str, str]:
    """``(team, resource_type, name)`` from a claim path; ClaimPathError for anything else."""
    match = _CLAIM_PATH.fullmatch(path) if isinstance(path, str) else None
    if not match:
        raise ClaimPathError(f"{_short(path)} is not a claim path like {CLAIMS_DIR}/<team>/<type>/<name>.yaml")
    team, resource_type, name = match.groups()
    try:
        claim_path(team, resource_type, name)
    except ValidationFailed as exc:
        raise ClaimPathError(f"{_short(path)} is not a valid claim path: {exc}")
    return team, resource_type, name


def resolve_claim_path(repo_root: Path, path: str) -> Path:
    """The absolute location of a claim file inside a checked-out repo; refuses any way out of it,
    including through a symlinked folder."""
    parse_claim_path(path)
    root = Path(repo_root).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise ClaimPathError(f"{_short(path)} resolves outside the repository")
    return target


# ----------------------------------------------------------------------------------------- entity


def resource_entity(
    *,
    offering: Offering,
    team: str,
    name: str,
    path: str,
    cost: CostEstimate,
    requested_by: str,
    requested_at: datetime,
    values: Mapping[str, Any],
    settings: ProvisioningSettings,
    system: str | None = None,
    expiry: datetime | None = None,
) -> dict[str, Any]:
    """The catalog ``Resource`` entity tracking a claim; its ref is ``resource:<team>/<name>``."""
    labels = {LABEL_OFFERING: offering.key, LABEL_RESOURCE_TYPE: offering.resource_type}
    for key in ("tier", "size"):
        if isinstance(values.get(key), str):
            labels[f"causeway.dev/{key}"] = values[key]
    annotations = {
        ANNOTATION_CLAIM_PATH: path,
        ANNOTATION_OFFERING: offering.key,
        ANNOTATION_COST: str(cost),
        ANNOTATION_REQUESTED_BY: requested_by,
        ANNOTATION_REQUESTED_AT: _timestamp(requested_at),
    }
    if expiry is not None:
        annotations[ANNOTATION_EXPIRES_AT] = _timestamp(expiry)
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": team,
        "title": f"{name} ({offering.title})",
        "description": values.get("purpose") or offering.description,
        "labels": labels,
        "annotations": annotations,
        "tags": [tag for tag in (offering.resource_type, offering.engine) if tag],
    }
    if offering.model == "preview-environment":
        metadata["links"] = [{"url": f"https://{_preview_host(name, team, settings)}", "title": "Preview"}]
    spec: dict[str, Any] = {"type": offering.resource_type, "owner": f"group:default/{team}"}
    if system:
        spec["system"] = system
    return {"apiVersion": ENTITY_API_VERSION, "kind": "Resource", "metadata": metadata, "spec": spec}


# ------------------------------------------------------------------------------------------ render


def _prepare(request: ClaimRequest, settings: ProvisioningSettings) -> tuple[BuildContext, CostEstimate]:
    errors = _check_request(request, settings)
    values: dict[str, Any] = {}
    try:
        values = validate_values(request.offering, request.values, settings)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    expiry = expires_at(request.requested_at, values["ttl"]) if "ttl" in values else None
    ctx = BuildContext(
        offering=request.offering,
        team=request.team,
        name=request.name,
        namespace=request.namespace or request.team,
        values=values,
        settings=settings,
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        path=claim_path(request.team, request.offering.resource_type, request.name),
        expires_at=expiry,
    )
    return ctx, estimate_monthly_cost(request.offering, values, settings)


def _build(ctx: BuildContext) -> list[dict[str, Any]]:
    objects = BUILDERS[ctx.offering.model](ctx)
    problems = []
    for index, obj in enumerate(objects):
        for error in validate_kubernetes_object(obj):
            problems.append(f"object {index} ({obj.get('kind')}): {error}")
    if problems:
        raise ManifestError(f"offering {ctx.offering.key} produced invalid objects: " + "; ".join(problems))
    return objects


def render_manifests(request: ClaimRequest, settings: ProvisioningSettings | None = None) -> list[dict[str, Any]]:
    """The Kubernetes objects for an order, validated. Raises ValidationFailed or ManifestError."""
    ctx, _ = _prepare(request, settings or ProvisioningSettings())
    return _build(ctx)


def render_claim(request: ClaimRequest, settings: ProvisioningSettings | None = None) -> RenderedClaim:
    """Everything the ``platform:claim`` action commits and registers for one order."""
    settings = settings or ProvisioningSettings()
    ctx, cost = _prepare(request, settings)
    objects = _build(ctx)
    entity = resource_entity(
        offering=request.offering, team=ctx.team, name=ctx.name, path=ctx.path, cost=cost,
        requested_by=ctx.requested_by, requested_at=ctx.requested_at, values=ctx.values,
        settings=settings, system=request.system, expiry=ctx.expires_at,
    )
    return RenderedClaim(
        offering=request.offering, team=ctx.team, name=ctx.name, path=ctx.path, values=dict(ctx.values),
        manifests=objects, yaml=dump_manifests(objects), entity=entity, cost=cost, expires_at=ctx.expires_at,
    )


# ----------------------------------------------------------------------------------------- release


@dataclass(frozen=True)
class ReleasePlan:
    """What ``platform:release`` removes: the claim file (GitOps then prunes its objects) and the
    catalog entity."""

    path: str
    entity_ref: str
    team: str
    resource_type: str
    name: str
    commit_message: str = field(default="")


def release_plan(team: str, resource_type: str, name: str) -> ReleasePlan:
    path = claim_path(team, resource_type, name)
    return ReleasePlan(
        path=path,
        entity_ref=f"resource:{team}/{name}",
        team=team,
        resource_type=resource_type,
        name=name,
        commit_message=f"Release {resource_type} {name} of {team}",
    )


def _entity_parts(entity: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    if not isinstance(entity, Mapping) or entity.get("kind") != "Resource":
        raise ClaimPathError("not a catalog Resource entity")
    metadata = entity.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(annotations, Mapping):
        raise ClaimPathError("the entity has no annotations")
    return metadata, annotations


def release_plan_for_entity(entity: Mapping[str, Any]) -> ReleasePlan:
    """The release plan for a catalog entity made by :func:`render_claim`. The claim-path annotation
    is not trusted: it must be a claim path naming this very entity."""
    metadata, annotations = _entity_parts(entity)
    if ANNOTATION_CLAIM_PATH not in annotations:
        raise ClaimPathError(f"the entity has no {ANNOTATION_CLAIM_PATH} annotation: it was not provisioned here")
    team, resource_type, name = parse_claim_path(annotations[ANNOTATION_CLAIM_PATH])
    if metadata.get("name") != name or metadata.get("namespace") != team:
        raise ClaimPathError(
            f"the claim path {_short(annotations[ANNOTATION_CLAIM_PATH])} does not belong to entity "
            f"{_short(metadata.get('namespace'))}/{_short(metadata.get('name'))}"
        )
    return release_plan(team, resource_type, name)


def entity_expires_at(entity: Mapping[str, Any]) -> datetime | None:
    """The expiry annotation as an aware datetime, or None when the claim does not expire."""
    _, annotations = _entity_parts(entity)
    raw = annotations.get(ANNOTATION_EXPIRES_AT)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise ClaimPathError(f"{ANNOTATION_EXPIRES_AT} {_short(raw)} is not a timestamp")
    if moment.utcoffset() is None:
        raise ClaimPathError(f"{ANNOTATION_EXPIRES_AT} {_short(raw)} has no time zone")
    return moment


def existing_claim_from_entity(entity: Mapping[str, Any]) -> ExistingClaim:
    """A quota usage record from a provisioned Resource entity (cost annotation ``"12.50 USD"``)."""
    metadata, annotations = _entity_parts(entity)
    plan = release_plan_for_entity(entity)
    raw_cost = str(annotations.get(ANNOTATION_COST, "0")).split(" ")[0]
    try:
        cost = Decimal(raw_cost)
    except InvalidOperation:
        raise ClaimPathError(f"{ANNOTATION_COST} {_short(raw_cost)} is not an amount")
    if not cost.is_finite():
        raise ClaimPathError(f"{ANNOTATION_COST} {_short(raw_cost)} is not an amount")
    return ExistingClaim(
        offering=str(annotations.get(ANNOTATION_OFFERING, "")),
        resource_type=plan.resource_type,
        name=plan.name,
        monthly_cost=cost,
    )
