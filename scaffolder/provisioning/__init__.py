"""Self-service provisioning: offerings, claim manifests for GitOps, quotas and TTLs.

Pure Python (no Django). The API is described at the top of ``offerings.py``; everything public
is re-exported here, e.g.::

    from scaffolder.provisioning import ClaimRequest, builtin_offerings, check_request, render_claim

    offering = builtin_offerings()["postgresql"]
    claim = render_claim(ClaimRequest(offering, "team-a", "orders-db", {"tier": "production"},
                                      "user:default/alice", now))
    claim.path   # "claims/team-a/database/orders-db.yaml"; claim.yaml is the file to commit
"""

from .manifests import (
    ANNOTATION_CLAIM_PATH,
    ANNOTATION_COST,
    ANNOTATION_EXPIRES_AT,
    ANNOTATION_OFFERING,
    BUILDERS,
    BuildContext,
    ClaimPathError,
    ClaimRequest,
    ManifestError,
    ReleasePlan,
    RenderedClaim,
    claim_path,
    dump_manifests,
    entity_expires_at,
    existing_claim_from_entity,
    parse_claim_path,
    release_plan,
    release_plan_for_entity,
    render_claim,
    render_manifests,
    resolve_claim_path,
    resource_entity,
    validate_kubernetes_object,
)
from .offerings import (
    CLAIMS_DIR,
    MODELS,
    RESOURCE_TYPES,
    CostEstimate,
    CostLine,
    CostTable,
    FieldError,
    Offering,
    OfferingError,
    ProvisioningError,
    ProvisioningSettings,
    QuantityError,
    SettingsError,
    Size,
    Tier,
    ValidationFailed,
    builtin_offerings,
    check_dns_label,
    check_dns_subdomain,
    estimate_monthly_cost,
    offering_from_dict,
    parse_cpu,
    parse_memory,
    validate_values,
)
from .quotas import (
    DEFAULT_EXPIRY_WARNING,
    RESOURCE_TYPE_LABELS,
    ExistingClaim,
    Lease,
    PolicyError,
    QuotaPolicy,
    QuotaRequest,
    QuotaViolation,
    TTLError,
    Usage,
    check_request,
    expires_at,
    expiring_soon,
    format_ttl,
    is_expired,
    parse_ttl,
    policy_from_dict,
)

__all__ = [
    "ANNOTATION_CLAIM_PATH", "ANNOTATION_COST", "ANNOTATION_EXPIRES_AT", "ANNOTATION_OFFERING", "BUILDERS",
    "CLAIMS_DIR", "DEFAULT_EXPIRY_WARNING", "MODELS", "RESOURCE_TYPES", "RESOURCE_TYPE_LABELS",
    "BuildContext", "ClaimPathError", "ClaimRequest", "CostEstimate", "CostLine", "CostTable", "ExistingClaim",
    "FieldError", "Lease", "ManifestError", "Offering", "OfferingError", "PolicyError", "ProvisioningError",
    "ProvisioningSettings", "QuantityError", "QuotaPolicy", "QuotaRequest", "QuotaViolation", "ReleasePlan",
    "RenderedClaim", "SettingsError", "Size", "TTLError", "Tier", "Usage", "ValidationFailed",
    "builtin_offerings", "check_dns_label", "check_dns_subdomain", "check_request", "claim_path",
    "dump_manifests", "entity_expires_at", "estimate_monthly_cost", "existing_claim_from_entity", "expires_at",
    "expiring_soon", "format_ttl", "is_expired", "offering_from_dict", "parse_claim_path", "parse_cpu",
    "parse_memory", "parse_ttl", "policy_from_dict", "release_plan", "release_plan_for_entity", "render_claim",
    "render_manifests", "resolve_claim_path", "resource_entity", "validate_kubernetes_object", "validate_values",
]
