"""Self-service provisioning: offerings (what can be ordered), form validation and cost estimates.

The portal never calls a cloud API. Ordering something renders declarative claims
(Crossplane-style custom resources and plain Kubernetes objects) that are committed to a GitOps
repository, plus a catalog ``Resource`` entity that tracks the claim. Plain Python, no Django.

Public API (package ``scaffolder.provisioning`` re-exports all of it)
-------------------------------------------------------------------
Offerings (this module)
    ``Offering``                       key, title, description, resource_type, model, parameter_schema
                                       (JSON Schema draft 7 with ``ui:*`` hints: the order form),
                                       claim_kind, engine, sizes, tiers, limits, cost_table
    ``builtin_offerings() -> dict[str, Offering]``   postgresql, mysql, redis, preview-environment,
                                                     team-namespace (a fresh dict on every call)
    ``offering_from_dict(data) -> Offering``         an admin-defined offering stored as data; it picks
                                                     one of ``MODELS`` for its manifests and costs
    ``ProvisioningSettings``           currency, preview base domain, max preview TTL, ingress
                                       namespace, claim API group/version (built from Django settings)
    ``validate_values(offering, values, settings=None) -> dict``
                                       defaults applied, schema and cross-field checks; raises
                                       ``ValidationFailed`` whose ``.errors`` are ``FieldError(field,
                                       message)`` with dotted fields such as ``dependencies[0].version``
    ``estimate_monthly_cost(offering, values, settings=None) -> CostEstimate``
                                       ``.total`` (Decimal), ``.currency``, ``.lines`` (CostLine
                                       label/amount/detail), ``.as_dict()``
    ``check_dns_label(field, value)``, ``check_dns_subdomain(field, value)`` -> ``FieldError | None``
    ``parse_cpu(text) -> int`` (millicores), ``parse_memory(text) -> int`` (bytes)

Manifests (``manifests.py``)
    ``ClaimRequest(offering, team, name, values, requested_by, requested_at, system=None,
    namespace=None)``
    ``render_claim(request, settings=None) -> RenderedClaim``  path, manifests, yaml, entity, cost,
                                       expires_at, quota_request()
    ``render_manifests``, ``dump_manifests``, ``validate_kubernetes_object``, ``claim_path``,
    ``resolve_claim_path``, ``parse_claim_path``, ``resource_entity``, ``release_plan``,
    ``release_plan_for_entity`` (what ``platform:release`` removes), ``existing_claim_from_entity``
    (quota usage from catalog entities), ``entity_expires_at`` (for the expiry janitor)

Quotas and TTLs (``quotas.py``)
    ``QuotaPolicy``, ``policy_from_dict``, ``Usage``, ``ExistingClaim``, ``QuotaRequest``,
    ``check_request(policy, usage, request) -> list[QuotaViolation]``, ``parse_ttl``, ``expires_at``,
    ``Lease(requested_at, ttl).is_expired(now) / .expiring_soon(now, within=24h)``

Errors: everything a user can cause raises a subclass of :class:`ProvisioningError` (or returns a
``FieldError`` / ``QuotaViolation``) with a message fit to show in a page.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import jsonschema
from jsonschema import Draft7Validator

from .quotas import TTLError, _short, parse_ttl

__all__ = [
    "CLAIMS_DIR",
    "MODELS",
    "RESOURCE_TYPES",
    "CostEstimate",
    "CostLine",
    "CostTable",
    "FieldError",
    "Offering",
    "OfferingError",
    "ProvisioningError",
    "ProvisioningSettings",
    "QuantityError",
    "SettingsError",
    "Size",
    "Tier",
    "ValidationFailed",
    "builtin_offerings",
    "check_dns_label",
    "check_dns_subdomain",
    "estimate_monthly_cost",
    "offering_from_dict",
    "parse_cpu",
    "parse_memory",
    "validate_values",
]

CLAIMS_DIR = "claims"
RESOURCE_TYPES = ("database", "cache", "preview-environment", "namespace")
# The built-in behaviours an offering can use for its manifests, checks and costs.
MODELS = ("database", "cache", "preview-environment", "namespace")
HOURS_PER_MONTH = Decimal("730")
KEY_MANAGEMENT = ("customer-managed", "provider-managed")


# ------------------------------------------------------------------------------------------ errors


class ProvisioningError(Exception):
    """Base class of every error this package raises on bad input."""


class OfferingError(ProvisioningError):
    """An offering definition (built-in or admin data) that cannot be used."""


class SettingsError(ProvisioningError):
    """A provisioning setting with a bad value."""


class QuantityError(ProvisioningError, ValueError):
    """A Kubernetes quantity (CPU or memory) that cannot be parsed."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field. ``field`` is dotted (``dependencies[0].version``); ``""`` is the form."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationFailed(ProvisioningError):
    """The order cannot be accepted; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))

    def by_field(self) -> dict[str, list[str]]:
        """Messages grouped by field, the shape a form wants."""
        grouped: dict[str, list[str]] = {}
        for error in self.errors:
            grouped.setdefault(error.field, []).append(error.message)
        return grouped


# ------------------------------------------------------------------------------------------- names

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_RULE = "lowercase letters, digits and '-', starting and ending with a letter or digit"


def check_dns_label(field_name: str, value: object, max_length: int = DNS_LABEL_MAX) -> FieldError | None:
    """A FieldError unless ``value`` is an RFC 1123 DNS label of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value:
        return FieldError(field_name, "is required and must be a text value")
    if "/" in value or "\\" in value or ".." in value:
        return FieldError(
            field_name,
            f"{_short(value)} is not allowed: path separators and '..' are refused; use {_LABEL_RULE}",
        )
    if len(value) > max_length:
        return FieldError(field_name, f"{_short(value)} is too long: at most {max_length} characters")
    if not _DNS_LABEL.fullmatch(value):
        return FieldError(field_name, f"{_short(value)} is not a valid name: use {_LABEL_RULE}")
    return None


def check_dns_subdomain(
    field_name: str, value: object, max_length: int = DNS_SUBDOMAIN_MAX
) -> FieldError | None:
    """A FieldError unless ``value`` is an RFC 1123 DNS subdomain (dot-separated labels)."""
    if not isinstance(value, str) or not value:
        return FieldError(field_name, "is required and must be a text value")
    if "/" in value or "\\" in value or ".." in value:
        return FieldError(field_name, f"{_short(value)} is not allowed: path separators and '..' are refused")
    if len(value) > max_length:
        return FieldError(field_name, f"{_short(value)} is too long: at most {max_length} characters")
    if not _DNS_SUBDOMAIN.fullmatch(value) or any(len(part) > DNS_LABEL_MAX for part in value.split(".")):
        return FieldError(
            field_name, f"{_short(value)} is not a valid DNS name: dot-separated parts of {_LABEL_RULE}"
        )
    return None


# -------------------------------------------------------------------------------------- quantities

_CPU_MILLI = re.compile(r"([0-9]{1,6})m")
_CPU_CORES = re.compile(r"([0-9]{1,4})(?:\.([0-9]{1,3}))?")
_MEMORY = re.compile(r"([0-9]{1,7})(Ki|Mi|Gi|Ti)")
_MEMORY_FACTORS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
CPU_PATTERN = r"^([0-9]{1,6}m|[0-9]{1,4}(\.[0-9]{1,3})?)$"
MEMORY_PATTERN = r"^[0-9]{1,7}(Mi|Gi)$"
STORAGE_PATTERN = r"^[0-9]{1,7}(Mi|Gi|Ti)$"


def parse_cpu(text: str) -> int:
    """A Kubernetes CPU quantity (``500m``, ``2``, ``1.5``) in millicores."""
    if isinstance(text, str):
        if match := _CPU_MILLI.fullmatch(text):
            return int(match.group(1))
        if match := _CPU_CORES.fullmatch(text):
            fraction = (match.group(2) or "").ljust(3, "0")
            return int(match.group(1)) * 1000 + int(fraction)
    raise QuantityError(f"{_short(text)} is not a CPU amount such as 500m or 2")


def parse_memory(text: str) -> int:
    """A Kubernetes memory or storage quantity (``512Mi``, ``8Gi``, ``1Ti``) in bytes."""
    if isinstance(text, str) and (match := _MEMORY.fullmatch(text)):
        return int(match.group(1)) * _MEMORY_FACTORS[match.group(2)]
    raise QuantityError(f"{_short(text)} is not a memory amount such as 512Mi or 8Gi")


def _gib(text: str) -> Decimal:
    return Decimal(parse_memory(text)) / Decimal(2**30)


def _cores(text: str) -> Decimal:
    return Decimal(parse_cpu(text)) / Decimal(1000)


# ---------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ProvisioningSettings:
    """Site-wide values the Django layer reads from its settings."""

    currency: str = "USD"
    preview_base_domain: str = "preview.example.com"
    max_preview_ttl: timedelta = timedelta(days=7)
    ingress_namespace: str = "ingress-nginx"
    claim_api_group: str = "platform.causeway.dev"
    claim_api_version: str = "v1alpha1"

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str) or not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise SettingsError(f"currency {_short(self.currency)} must be a three-letter code such as EUR")
        for name, check in (
            ("preview_base_domain", check_dns_subdomain),
            ("ingress_namespace", check_dns_label),
            ("claim_api_group", check_dns_subdomain),
        ):
            if error := check(name, getattr(self, name)):
                raise SettingsError(str(error))
        if not re.fullmatch(r"v[0-9]+((alpha|beta)[0-9]+)?", str(self.claim_api_version)):
            raise SettingsError(f"claim_api_version {_short(self.claim_api_version)} is not like v1alpha1")
        if not isinstance(self.max_preview_ttl, timedelta) or self.max_preview_ttl <= timedelta():
            raise SettingsError("max_preview_ttl must be a positive duration")

    @property
    def claim_api_version_string(self) -> str:
        return f"{self.claim_api_group}/{self.claim_api_version}"


# ------------------------------------------------------------------------------------------- costs


@dataclass(frozen=True)
class CostTable:
    """Prices in the portal's currency. ``by_size``: monthly price of one instance of each size;
    ``rates``: named unit prices a model reads (see ``MODEL_RATES``)."""

    by_size: Mapping[str, Decimal] = field(default_factory=dict)
    rates: Mapping[str, Decimal] = field(default_factory=dict)


MODEL_RATES: Mapping[str, tuple[str, ...]] = {
    "database": ("storage_gib_month", "backup_gib_month", "customer_managed_key_month"),
    "cache": (),
    "preview-environment": ("cpu_core_hour", "memory_gib_hour"),
    "namespace": ("flat_month",),
}


@dataclass(frozen=True)
class CostLine:
    label: str
    amount: Decimal
    detail: str


@dataclass(frozen=True)
class CostEstimate:
    total: Decimal
    currency: str
    lines: tuple[CostLine, ...]

    def __str__(self) -> str:
        return f"{self.total:f} {self.currency}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (amounts as strings so no precision is lost)."""
        return {
            "total": f"{self.total:f}",
            "currency": self.currency,
            "lines": [
                {"label": line.label, "amount": f"{line.amount:f}", "detail": line.detail}
                for line in self.lines
            ],
        }


_CENT = Decimal("0.01")


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _num(amount: Decimal) -> str:
    """A figure for a cost detail: no trailing zeros, no exponent."""
    return f"{amount.normalize():f}"


# ---------------------------------------------------------------------------------------- offering


@dataclass(frozen=True)
class Size:
    cpu: str
    memory: str
    storage: str | None = None


@dataclass(frozen=True)
class Tier:
    replicas: int
    backup_retention_days: int = 0
    key_management: str = "provider-managed"

    @property
    def high_availability(self) -> bool:
        return self.replicas > 1


@dataclass(frozen=True)
class Offering:
    """Something a team can order. ``model`` names the built-in behaviour that renders its manifests
    (``manifests.BUILDERS``), checks its values and prices it; everything else is data."""

    key: str
    title: str
    description: str
    resource_type: str
    model: str
    parameter_schema: Mapping[str, Any]
    cost_table: CostTable
    claim_kind: str = ""
    engine: str = ""
    sizes: Mapping[str, Size] = field(default_factory=dict)
    tiers: Mapping[str, Tier] = field(default_factory=dict)
    limits: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        errors = _offering_problems(self)
        if errors:
            raise OfferingError(f"offering {_short(self.key)}: " + "; ".join(errors))

    @property
    def validator(self) -> Draft7Validator:
        return _FormValidator(self.parameter_schema)


MODEL_LIMITS: Mapping[str, tuple[str, ...]] = {
    "database": (),
    "cache": (),
    "preview-environment": ("max_cpu", "max_memory"),
    "namespace": ("max_cpu", "max_memory", "max_pods"),
}


@functools.lru_cache(maxsize=512)
def _compile_pattern(pattern: str) -> re.Pattern[str]:
    # JSON Schema patterns are ECMA-262, where '$' matches only at the very end; Python's '$' also
    # matches before a final newline, which would let "v1.2.3\n" through an anchored pattern.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern_keyword(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Any:
    if validator.is_type(instance, "string") and not _compile_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{_short(instance)} does not match {pattern!r}")


_FormValidator = jsonschema.validators.extend(Draft7Validator, {"pattern": _pattern_keyword})


def _offering_problems(offering: Offering) -> list[str]:
    problems: list[str] = []
    if error := check_dns_label("key", offering.key):
        problems.append(str(error))
    if error := check_dns_label("resource_type", offering.resource_type):
        problems.append(str(error))
    if offering.model not in MODELS:
        problems.append(f"model {_short(offering.model)} is not one of {', '.join(MODELS)}")
        return problems
    try:
        Draft7Validator.check_schema(offering.parameter_schema)
    except jsonschema.SchemaError as exc:
        problems.append(f"parameter_schema is not a valid JSON Schema: {exc.message}")
        return problems
    if offering.parameter_schema.get("type") != "object":
        problems.append("parameter_schema must describe an object")
    if offering.model != "namespace" and not re.fullmatch(r"[A-Z][A-Za-z0-9]{0,62}", offering.claim_kind):
        problems.append(f"claim_kind {_short(offering.claim_kind)} must be a Kubernetes kind such as DatabaseInstance")
    if offering.engine and not _DNS_LABEL.fullmatch(offering.engine):
        problems.append(f"engine {_short(offering.engine)} must be a lowercase name such as postgresql")
    properties = offering.parameter_schema.get("properties", {})
    if offering.model in ("database", "cache"):
        for name, table in (("tier", offering.tiers), ("size", offering.sizes)):
            enum = properties.get(name, {}).get("enum")
            if not table:
                problems.append(f"{name}s must not be empty")
            elif enum is None or set(enum) != set(table):
                problems.append(f"the schema's {name} choices must be exactly: {', '.join(sorted(table))}")
        for size_name, size in offering.sizes.items():
            try:
                parse_cpu(size.cpu)
                parse_memory(size.memory)
                if offering.model == "database":
                    if size.storage is None:
                        raise QuantityError("a database size needs storage")
                    parse_memory(size.storage)
            except QuantityError as exc:
                problems.append(f"size {size_name}: {exc}")
            if size_name not in offering.cost_table.by_size:
                problems.append(f"cost_table.by_size has no price for size {size_name}")
        for tier_name, tier in offering.tiers.items():
            if isinstance(tier.replicas, bool) or not isinstance(tier.replicas, int) or tier.replicas < 1:
                problems.append(f"tier {tier_name}: replicas must be a whole number of at least 1")
            if not isinstance(tier.backup_retention_days, int) or tier.backup_retention_days < 0:
                problems.append(f"tier {tier_name}: backup_retention_days must not be negative")
            if tier.key_management not in KEY_MANAGEMENT:
                problems.append(f"tier {tier_name}: key_management must be one of {', '.join(KEY_MANAGEMENT)}")
    for rate in MODEL_RATES[offering.model]:
        if not isinstance(offering.cost_table.rates.get(rate), Decimal):
            problems.append(f"cost_table.rates needs a Decimal {rate}")
    for limit in MODEL_LIMITS[offering.model]:
        value = offering.limits.get(limit)
        parser = {"max_cpu": parse_cpu, "max_memory": parse_memory, "max_pods": int}[limit]
        try:
            parser(value)
        except (QuantityError, TypeError, ValueError):
            problems.append(f"limits.{limit} is missing or invalid: {_short(value)}")
    return problems


# ------------------------------------------------------------------------------ built-in offerings

SCHEMA_DRAFT_7 = "http://json-schema.org/draft-07/schema#"
VERSION_PATTERN = r"^v?(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$"
REPOSITORY_PATTERN = r"^https://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9._~-]{1,100}){1,8}$"
BRANCH_PATTERN = r"^[A-Za-z0-9._/-]{1,200}$"
GROUP_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$"
TTL_PATTERN = r"^([0-9]{1,5}[wdhm]){1,4}$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

_DATABASE_TIERS = {
    "production": Tier(replicas=3, backup_retention_days=30, key_management="customer-managed"),
    "standard": Tier(replicas=2, backup_retention_days=7, key_management="provider-managed"),
    "internal": Tier(replicas=1, backup_retention_days=1, key_management="provider-managed"),
}
_DATABASE_SIZES = {
    "small": Size(cpu="1", memory="2Gi", storage="20Gi"),
    "medium": Size(cpu="2", memory="8Gi", storage="100Gi"),
    "large": Size(cpu="8", memory="32Gi", storage="500Gi"),
}
_CACHE_TIERS = {
    "production": Tier(replicas=3),
    "standard": Tier(replicas=2),
    "internal": Tier(replicas=1),
}
_CACHE_SIZES = {
    "small": Size(cpu="500m", memory="1Gi"),
    "medium": Size(cpu="1", memory="4Gi"),
    "large": Size(cpu="2", memory="16Gi"),
}


def _tier_help(tiers: Mapping[str, Tier], with_backups: bool) -> str:
    parts = []
    for name, tier in tiers.items():
        text = f"{name}: {tier.replicas} replica{'s' if tier.replicas > 1 else ''}"
        if with_backups:
            text += f", backups kept {tier.backup_retention_days} days, {tier.key_management} encryption key"
        parts.append(text)
    return "; ".join(parts)


def _size_help(sizes: Mapping[str, Size]) -> str:
    return "; ".join(
        f"{name}: {size.cpu} CPU, {size.memory} memory" + (f", {size.storage} storage" if size.storage else "")
        for name, size in sizes.items()
    )


def _purpose_property() -> dict[str, Any]:
    # Free text: it reaches the manifests and the catalog only as a YAML string value.
    return {
        "title": "Purpose",
        "type": "string",
        "maxLength": 500,
        "ui:widget": "textarea",
        "ui:help": "What this is for; shown in the catalog.",
    }


def _engine_schema(
    title: str, versions: list[str], tiers: Mapping[str, Tier], sizes: Mapping[str, Size], with_backups: bool
) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_DRAFT_7,
        "title": title,
        "type": "object",
        "required": ["version", "tier", "size"],
        "additionalProperties": False,
        "properties": {
            "version": {"title": "Version", "type": "string", "enum": versions, "default": versions[-1]},
            "tier": {
                "title": "Tier",
                "type": "string",
                "enum": list(tiers),
                "default": "standard" if "standard" in tiers else next(iter(tiers)),
                "ui:widget": "radio",
                "ui:help": _tier_help(tiers, with_backups),
            },
            "size": {
                "title": "Size",
                "type": "string",
                "enum": list(sizes),
                "default": next(iter(sizes)),
                "ui:widget": "radio",
                "ui:help": _size_help(sizes),
            },
            "purpose": _purpose_property(),
        },
        "ui:order": ["version", "tier", "size", "purpose"],
    }


def _preview_schema() -> dict[str, Any]:
    return {
        "$schema": SCHEMA_DRAFT_7,
        "title": "Preview environment",
        "type": "object",
        "required": ["repository", "branch", "commit", "ttl"],
        "additionalProperties": False,
        "properties": {
            "repository": {
                "title": "Repository",
                "type": "string",
                "maxLength": 300,
                "pattern": REPOSITORY_PATTERN,
                "errorMessage": "must be an https URL of a git repository, such as https://git.example.com/acme/shop",
                "ui:placeholder": "https://git.example.com/acme/shop",
            },
            "branch": {
                "title": "Branch",
                "type": "string",
                "maxLength": 200,
                "pattern": BRANCH_PATTERN,
                "errorMessage": "must be a branch name of letters, digits, '.', '_', '-' and '/'",
            },
            "commit": {
                "title": "Commit",
                "type": "string",
                "pattern": r"^[0-9a-fA-F]{40}$",
                "errorMessage": "must be a full 40-character commit SHA",
                "ui:help": "The exact commit to deploy; the environment does not follow the branch.",
            },
            "dependencies": {
                "title": "Dependencies",
                "type": "array",
                "maxItems": 30,
                "default": [],
                "items": {
                    "type": "object",
                    "required": ["name", "version"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {
                            "title": "Service",
                            "type": "string",
                            "pattern": DNS_LABEL_PATTERN,
                            "errorMessage": f"must be a service name: {_LABEL_RULE}",
                        },
                        "version": {
                            "title": "Version",
                            "type": "string",
                            "pattern": VERSION_PATTERN,
                            "errorMessage": (
                                "must be an exact stable version such as 1.4.2 "
                                "(ranges, 'latest' and pre-releases are refused)"
                            ),
                        },
                    },
                },
                "ui:help": "Other services deployed next to this one, each pinned to a released version.",
            },
            "cpu": {
                "title": "CPU request",
                "type": "string",
                "pattern": CPU_PATTERN,
                "default": "500m",
                "errorMessage": "must be a CPU amount such as 500m or 2",
            },
            "memory": {
                "title": "Memory request",
                "type": "string",
                "pattern": MEMORY_PATTERN,
                "default": "1Gi",
                "errorMessage": "must be a memory amount such as 512Mi or 2Gi",
            },
            "ttl": {
                "title": "Time to live",
                "type": "string",
                "pattern": TTL_PATTERN,
                "default": "72h",
                "errorMessage": "must be a duration such as 72h or 3d",
                "ui:help": "The environment is removed when this runs out.",
            },
            "purpose": _purpose_property(),
        },
        "ui:order": ["repository", "branch", "commit", "dependencies", "cpu", "memory", "ttl", "purpose"],
    }


def _namespace_schema() -> dict[str, Any]:
    def quantity(title: str, pattern: str, default: str, example: str) -> dict[str, Any]:
        return {
            "title": title,
            "type": "string",
            "pattern": pattern,
            "default": default,
            "errorMessage": f"must be an amount such as {example}",
        }

    def group(title: str, help_text: str) -> dict[str, Any]:
        return {
            "title": title,
            "type": "string",
            "pattern": GROUP_PATTERN,
            "errorMessage": "must be a group name of letters, digits and . _ : @ / -",
            "ui:help": help_text,
        }

    return {
        "$schema": SCHEMA_DRAFT_7,
        "title": "Team namespace",
        "type": "object",
        "required": [],
        "additionalProperties": False,
        "properties": {
            "cpuQuota": quantity("CPU quota", CPU_PATTERN, "8", "8 or 500m"),
            "memoryQuota": quantity("Memory quota", MEMORY_PATTERN, "16Gi", "16Gi"),
            "podsQuota": {"title": "Pod quota", "type": "integer", "minimum": 1, "maximum": 10000, "default": 50},
            "defaultCpuRequest": quantity("Default CPU request", CPU_PATTERN, "100m", "100m"),
            "defaultCpuLimit": quantity("Default CPU limit", CPU_PATTERN, "500m", "500m"),
            "defaultMemoryRequest": quantity("Default memory request", MEMORY_PATTERN, "128Mi", "128Mi"),
            "defaultMemoryLimit": quantity("Default memory limit", MEMORY_PATTERN, "512Mi", "512Mi"),
            "adminsGroup": group("Admins group", "Gets the admin role; defaults to <team>-admins."),
            "developersGroup": group("Developers group", "Gets the edit role; defaults to <team>-developers."),
            "viewersGroup": group("Viewers group", "Gets the view role; defaults to <team>-viewers."),
            "purpose": _purpose_property(),
        },
        "ui:order": [
            "cpuQuota", "memoryQuota", "podsQuota", "defaultCpuRequest", "defaultCpuLimit",
            "defaultMemoryRequest", "defaultMemoryLimit", "adminsGroup", "developersGroup", "viewersGroup",
            "purpose",
        ],
    }


def _d(value: str) -> Decimal:
    return Decimal(value)


def builtin_offerings() -> dict[str, Offering]:
    """The offerings every installation has, keyed by offering key (a new dict on every call)."""
    database_rates = {
        "storage_gib_month": _d("0.12"),
        "backup_gib_month": _d("0.05"),
        "customer_managed_key_month": _d("1.00"),
    }
    offerings = [
        Offering(
            key="postgresql",
            title="PostgreSQL database",
            description="A managed PostgreSQL database with replicas, backups and encryption set by its tier.",
            resource_type="database",
            model="database",
            claim_kind="PostgreSQLInstance",
            engine="postgresql",
            parameter_schema=_engine_schema(
                "PostgreSQL database", ["14", "15", "16", "17"], _DATABASE_TIERS, _DATABASE_SIZES, True
            ),
            tiers=dict(_DATABASE_TIERS),
            sizes=dict(_DATABASE_SIZES),
            cost_table=CostTable(
                by_size={"small": _d("30"), "medium": _d("110"), "large": _d("420")}, rates=database_rates
            ),
        ),
        Offering(
            key="mysql",
            title="MySQL database",
            description="A managed MySQL database with replicas, backups and encryption set by its tier.",
            resource_type="database",
            model="database",
            claim_kind="MySQLInstance",
            engine="mysql",
            parameter_schema=_engine_schema("MySQL database", ["8.0", "8.4"], _DATABASE_TIERS, _DATABASE_SIZES, True),
            tiers=dict(_DATABASE_TIERS),
            sizes=dict(_DATABASE_SIZES),
            cost_table=CostTable(
                by_size={"small": _d("28"), "medium": _d("100"), "large": _d("390")}, rates=database_rates
            ),
        ),
        Offering(
            key="redis",
            title="Redis cache",
            description="A managed Redis cache; production and standard tiers add replicas for failover.",
            resource_type="cache",
            model="cache",
            claim_kind="RedisInstance",
            engine="redis",
            parameter_schema=_engine_schema("Redis cache", ["7.2", "7.4"], _CACHE_TIERS, _CACHE_SIZES, False),
            tiers=dict(_CACHE_TIERS),
            sizes=dict(_CACHE_SIZES),
            cost_table=CostTable(by_size={"small": _d("15"), "medium": _d("55"), "large": _d("200")}),
        ),
        Offering(
            key="preview-environment",
            title="Preview environment",
            description="A short-lived environment running one commit of a branch, with pinned dependencies.",
            resource_type="preview-environment",
            model="preview-environment",
            claim_kind="PreviewEnvironment",
            parameter_schema=_preview_schema(),
            limits={"max_cpu": "4", "max_memory": "16Gi"},
            cost_table=CostTable(rates={"cpu_core_hour": _d("0.04"), "memory_gib_hour": _d("0.005")}),
        ),
        Offering(
            key="team-namespace",
            title="Team namespace",
            description="A Kubernetes namespace with quotas, default limits, network isolation and team roles.",
            resource_type="namespace",
            model="namespace",
            parameter_schema=_namespace_schema(),
            limits={"max_cpu": "64", "max_memory": "256Gi", "max_pods": "500"},
            cost_table=CostTable(rates={"flat_month": _d("5.00")}),
        ),
    ]
    return {offering.key: offering for offering in offerings}


def offering_from_dict(data: Mapping[str, Any]) -> Offering:
    """An offering defined by platform admins as data (e.g. stored JSON). Raises OfferingError.

    Shape: ``{"key", "title", "description", "resource_type", "model", "parameter_schema",
    "claim_kind", "engine", "sizes": {name: {"cpu", "memory", "storage"}}, "tiers": {name:
    {"replicas", "backup_retention_days", "key_management"}}, "limits": {...},
    "cost_table": {"by_size": {name: "12.50"}, "rates": {name: "0.10"}}}``.
    """
    if not isinstance(data, Mapping):
        raise OfferingError("an offering must be a mapping")
    required = ("key", "title", "resource_type", "model", "parameter_schema")
    missing = [name for name in required if name not in data]
    if missing:
        raise OfferingError(f"offering is missing: {', '.join(missing)}")
    try:
        sizes = {str(name): Size(**spec) for name, spec in dict(data.get("sizes", {})).items()}
        tiers = {str(name): Tier(**spec) for name, spec in dict(data.get("tiers", {})).items()}
        cost_data = dict(data.get("cost_table", {}))
        cost_table = CostTable(
            by_size={str(k): Decimal(str(v)) for k, v in dict(cost_data.get("by_size", {})).items()},
            rates={str(k): Decimal(str(v)) for k, v in dict(cost_data.get("rates", {})).items()},
        )
        limits = {str(k): str(v) for k, v in dict(data.get("limits", {})).items()}
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise OfferingError(f"offering {_short(data.get('key'))}: malformed sizes, tiers, limits or costs ({exc})")
    if not isinstance(data["parameter_schema"], Mapping):
        raise OfferingError("parameter_schema must be a mapping")
    return Offering(
        key=data["key"],
        title=str(data["title"]),
        description=str(data.get("description", "")),
        resource_type=data["resource_type"],
        model=data["model"],
        parameter_schema=data["parameter_schema"],
        claim_kind=str(data.get("claim_kind", "")),
        engine=str(data.get("engine", "")),
        sizes=sizes,
        tiers=tiers,
        limits=limits,
        cost_table=cost_table,
    )


# -------------------------------------------------------------------------------------- validation


def _apply_defaults(schema: Mapping[str, Any], instance: Any) -> Any:
    """Fill in ``default`` values of object properties, recursively; never overwrites a given value."""
    if isinstance(instance, dict) and isinstance(schema.get("properties"), Mapping):
        for name, subschema in schema["properties"].items():
            if not isinstance(subschema, Mapping):
                continue
            if name not in instance and "default" in subschema:
                instance[name] = json.loads(json.dumps(subschema["default"]))
            if name in instance:
                instance[name] = _apply_defaults(subschema, instance[name])
    if isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        return [_apply_defaults(schema["items"], item) for item in instance]
    return instance


def _field_path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _schema_error(error: jsonschema.ValidationError) -> list[FieldError]:
    path = _field_path(error.absolute_path)
    kind = error.validator
    if kind == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        return [FieldError(_join(path, name), "is required") for name in error.validator_value if name not in instance]
    if kind == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extras = sorted(str(name) for name in error.instance if name not in allowed)
        return [FieldError(_join(path, name), "is not a known field") for name in extras]
    custom = error.schema.get("errorMessage") if isinstance(error.schema, Mapping) else None
    if kind == "pattern" and custom:
        return [FieldError(path, f"{_short(error.instance)} {custom}")]
    if kind == "pattern":
        return [FieldError(path, f"{_short(error.instance)} does not have the expected format")]
    if kind == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        return [FieldError(path, f"{_short(error.instance)} is not one of the choices: {choices}")]
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [FieldError(path, f"must be of type {expected}, got {type(error.instance).__name__}")]
    if kind in ("maxLength", "minLength"):
        word = "at most" if kind == "maxLength" else "at least"
        return [FieldError(path, f"must be {word} {error.validator_value} characters long")]
    if kind in ("maxItems", "minItems"):
        word = "at most" if kind == "maxItems" else "at least"
        return [FieldError(path, f"must have {word} {error.validator_value} entries")]
    if kind in ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"):
        word = {"maximum": "at most", "minimum": "at least",
                "exclusiveMaximum": "less than", "exclusiveMinimum": "more than"}[kind]
        return [FieldError(path, f"must be {word} {error.validator_value}")]
    return [FieldError(path, custom or "is not valid")]


def validate_values(
    offering: Offering, values: Any, settings: ProvisioningSettings | None = None
) -> dict[str, Any]:
    """The order form's values, checked and completed with defaults. Raises ValidationFailed."""
    settings = settings or ProvisioningSettings()
    if not isinstance(values, Mapping):
        raise ValidationFailed([FieldError("", "the form values must be a mapping of field names to values")])
    if not all(isinstance(key, str) for key in values):
        raise ValidationFailed([FieldError("", "every field name must be text")])
    try:
        # A JSON round trip gives a private copy and refuses anything JSON cannot carry (NaN, objects).
        copied = json.loads(json.dumps(dict(values), allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationFailed([FieldError("", f"the form values must be plain JSON data ({exc})")])
    normalized = _apply_defaults(offering.parameter_schema, copied)
    errors: list[FieldError] = []
    for error in sorted(offering.validator.iter_errors(normalized), key=lambda e: list(map(str, e.absolute_path))):
        # One schema error may name several fields, several errors the same one: keep each once.
        errors.extend(found for found in _schema_error(error) if found not in errors)
    if errors:
        raise ValidationFailed(errors)
    errors = VALUE_CHECKS[offering.model](offering, normalized, settings)
    if errors:
        raise ValidationFailed(errors)
    return normalized


def _check_engine(offering: Offering, values: dict[str, Any], settings: ProvisioningSettings) -> list[FieldError]:
    errors = []
    if values.get("tier") not in offering.tiers:
        errors.append(FieldError("tier", f"{_short(values.get('tier'))} is not a tier of {offering.title}"))
    if values.get("size") not in offering.sizes:
        errors.append(FieldError("size", f"{_short(values.get('size'))} is not a size of {offering.title}"))
    return errors


def _branch_problem(branch: str) -> str | None:
    """Why git would refuse this branch name (a subset of git check-ref-format), or None."""
    if branch.startswith(("-", "/", ".")) or branch.endswith(("/", ".", ".lock")):
        return "must not start with '-', '/' or '.', nor end with '/', '.' or '.lock'"
    if ".." in branch or "//" in branch or "/." in branch:
        return "must not contain '..', '//' or a part starting with '.'"
    return None


def _check_quantity(
    errors: list[FieldError], field_name: str, value: str, parser: Callable[[str], int], maximum: str | None
) -> int | None:
    try:
        amount = parser(value)
    except QuantityError as exc:
        errors.append(FieldError(field_name, str(exc)))
        return None
    if amount <= 0:
        errors.append(FieldError(field_name, "must be more than zero"))
    elif maximum is not None and amount > parser(maximum):
        errors.append(FieldError(field_name, f"{value} is more than the maximum of {maximum}"))
    return amount


def _check_preview(offering: Offering, values: dict[str, Any], settings: ProvisioningSettings) -> list[FieldError]:
    errors: list[FieldError] = []
    repository = values["repository"]
    if any(part in (".", "..") for part in repository.split("/")[3:]):
        errors.append(FieldError("repository", f"{_short(repository)} must not contain '.' or '..' path parts"))
    if problem := _branch_problem(values["branch"]):
        errors.append(FieldError("branch", f"{_short(values['branch'])} {problem}"))
    values["commit"] = values["commit"].lower()
    seen: set[str] = set()
    for index, dependency in enumerate(values.get("dependencies", [])):
        if dependency["name"] in seen:
            errors.append(FieldError(f"dependencies[{index}].name", f"{dependency['name']} is listed twice"))
        seen.add(dependency["name"])
    _check_quantity(errors, "cpu", values["cpu"], parse_cpu, offering.limits["max_cpu"])
    _check_quantity(errors, "memory", values["memory"], parse_memory, offering.limits["max_memory"])
    try:
        parse_ttl(values["ttl"], max_ttl=settings.max_preview_ttl)
    except TTLError as exc:
        errors.append(FieldError("ttl", str(exc)))
    return errors


def _check_namespace(offering: Offering, values: dict[str, Any], settings: ProvisioningSettings) -> list[FieldError]:
    errors: list[FieldError] = []
    limits = offering.limits
    cpu_quota = _check_quantity(errors, "cpuQuota", values["cpuQuota"], parse_cpu, limits["max_cpu"])
    memory_quota = _check_quantity(errors, "memoryQuota", values["memoryQuota"], parse_memory, limits["max_memory"])
    if values["podsQuota"] > int(limits["max_pods"]):
        errors.append(FieldError("podsQuota", f"must be at most {limits['max_pods']}"))
    for kind, parser, quota in (("Cpu", parse_cpu, cpu_quota), ("Memory", parse_memory, memory_quota)):
        request_field, limit_field = f"default{kind}Request", f"default{kind}Limit"
        request = _check_quantity(errors, request_field, values[request_field], parser, None)
        limit = _check_quantity(errors, limit_field, values[limit_field], parser, None)
        if request is not None and limit is not None and request > limit:
            errors.append(FieldError(request_field, f"must not be more than {limit_field} ({values[limit_field]})"))
        if limit is not None and quota is not None and limit > quota:
            quota_field = f"{kind.lower()}Quota"
            errors.append(FieldError(limit_field, f"must not be more than {quota_field} ({values[quota_field]})"))
    return errors


VALUE_CHECKS: Mapping[
    str, Callable[[Offering, dict[str, Any], ProvisioningSettings], list[FieldError]]
] = {
    "database": _check_engine,
    "cache": _check_engine,
    "preview-environment": _check_preview,
    "namespace": _check_namespace,
}


# ------------------------------------------------------------------------------------ cost models


def _engine_cost(offering: Offering, values: dict[str, Any]) -> list[CostLine]:
    tier_name, size_name = values["tier"], values["size"]
    tier, size = offering.tiers[tier_name], offering.sizes[size_name]
    table = offering.cost_table
    per_instance = table.by_size[size_name]
    lines = [
        CostLine(
            "instances",
            _money(per_instance * tier.replicas),
            f"{tier.replicas} x {size_name} ({size.cpu} CPU, {size.memory} memory) at {_num(per_instance)} each",
        )
    ]
    if offering.model != "database":
        return lines
    storage = _gib(size.storage or "0Gi")
    storage_rate = table.rates["storage_gib_month"]
    lines.append(
        CostLine(
            "storage",
            _money(storage * tier.replicas * storage_rate),
            f"{tier.replicas} x {_num(storage)} GiB at {_num(storage_rate)} per GiB-month",
        )
    )
    if tier.backup_retention_days:
        backup_rate = table.rates["backup_gib_month"]
        # Daily backups kept N days cost roughly storage x rate x N/30.
        lines.append(
            CostLine(
                "backups",
                _money(storage * backup_rate * Decimal(tier.backup_retention_days) / Decimal(30)),
                f"{_num(storage)} GiB kept {tier.backup_retention_days} days at {_num(backup_rate)} per GiB-month",
            )
        )
    if tier.key_management == "customer-managed":
        key_rate = table.rates["customer_managed_key_month"]
        lines.append(CostLine("encryption key", _money(key_rate), "customer-managed encryption key"))
    return lines


def _preview_cost(offering: Offering, values: dict[str, Any]) -> list[CostLine]:
    rates = offering.cost_table.rates
    ttl = parse_ttl(values["ttl"])
    # An environment living longer than a month costs at most one month within the month.
    hours = min(Decimal(int(ttl.total_seconds())) / Decimal(3600), HOURS_PER_MONTH)
    cores, memory = _cores(values["cpu"]), _gib(values["memory"])
    return [
        CostLine(
            "cpu",
            _money(cores * hours * rates["cpu_core_hour"]),
            f"{_num(cores)} CPU x {_num(hours)} h at {_num(rates['cpu_core_hour'])} per core-hour",
        ),
        CostLine(
            "memory",
            _money(memory * hours * rates["memory_gib_hour"]),
            f"{_num(memory)} GiB x {_num(hours)} h at {_num(rates['memory_gib_hour'])} per GiB-hour",
        ),
    ]


def _namespace_cost(offering: Offering, values: dict[str, Any]) -> list[CostLine]:
    fee = offering.cost_table.rates["flat_month"]
    return [CostLine("namespace", _money(fee), "flat monthly fee; workloads are billed by what they run")]


COST_MODELS: Mapping[str, Callable[[Offering, dict[str, Any]], list[CostLine]]] = {
    "database": _engine_cost,
    "cache": _engine_cost,
    "preview-environment": _preview_cost,
    "namespace": _namespace_cost,
}


def estimate_monthly_cost(
    offering: Offering, values: Mapping[str, Any], settings: ProvisioningSettings | None = None
) -> CostEstimate:
    """Estimated monthly cost with its breakdown, in ``settings.currency``. Validates ``values`` first."""
    settings = settings or ProvisioningSettings()
    normalized = validate_values(offering, values, settings)
    lines = tuple(COST_MODELS[offering.model](offering, normalized))
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return CostEstimate(total=_money(total), currency=settings.currency, lines=lines)
