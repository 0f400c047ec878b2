"""Demo data for provisioning: the offerings, the GitOps repository under var/, two quota policies and
a few claims of the demo catalog's teams (a database, a cache, a preview environment expiring soon).
Safe to run again: what exists is kept."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import Entity

from .actions import QuotaExceeded, Requester, expire_claims, record_status, request_claim
from .gitops import GitOpsError, GitOpsRepository
from .models import Claim, QuotaPolicy, available_offerings, seed_builtin_offerings
from .offerings import ProvisioningError

PREFERRED_TEAMS = ("shipment-booking", "pricing-billing", "route-planning", "platform")


def _teams() -> list[str]:
    groups = Entity.objects.filter(kind="group", namespace="default", orphan=False)
    teams = [g.name for g in groups if (g.spec.get("type") or "") == "team"] or [g.name for g in groups]
    preferred = [name for name in PREFERRED_TEAMS if name in teams]
    return preferred + sorted(name for name in teams if name not in preferred)


def _actor() -> Requester | None:
    user = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    return Requester.from_user(user) if user is not None else None


def load(out) -> None:
    created = seed_builtin_offerings()
    out.write(f"Offerings: {len(available_offerings())} available ({created} seeded now).")
    repository = GitOpsRepository()
    try:
        repository.ensure_exists()
    except GitOpsError as exc:
        out.write(f"The GitOps repository {repository.shown} is not usable: {exc}")
        return
    out.write(f"GitOps repository: {repository.shown} (branch {repository.branch}).")

    teams = _teams()
    QuotaPolicy.objects.get_or_create(
        group=QuotaPolicy.DEFAULT_GROUP,
        defaults={"max_count_by_resource_type": {"preview-environment": 3, "database": 4},
                  "max_monthly_cost": Decimal("1500"), "max_ttl": "7d"},
    )
    if teams:
        QuotaPolicy.objects.get_or_create(
            group=teams[0],
            defaults={"max_count_by_resource_type": {"preview-environment": 5, "database": 6},
                      "max_monthly_cost": Decimal("3000"), "allowed_tiers": "internal, standard, production",
                      "name_pattern": "[a-z][a-z0-9-]{2,40}",
                      "name_rule_help": "3 to 41 characters, starting with a letter"},
        )
    out.write(f"Quota policies: {QuotaPolicy.objects.count()}.")

    actor = _actor()
    if not teams or actor is None:
        out.write("No demo claims: the catalog has no groups yet, or there is no admin account.")
        return
    now = timezone.now()
    first, second = teams[0], teams[1 % len(teams)]
    orders = [
        ("postgresql", first, "bookings-db", {"tier": "production", "size": "medium", "purpose": "Bookings"},
         now - timedelta(days=20), "ready"),
        ("redis", second, "quotes-cache", {"tier": "standard", "size": "small", "purpose": "Price quotes"},
         now - timedelta(days=6), "ready"),
        ("preview-environment", first, "booking-ui-pr-412", {
            "repository": "https://git.example.com/larkspur/booking-ui", "branch": "feature/seat-map",
            "commit": "3f2a9c1d4e5b6a7980c1d2e3f4a5b6c7d8e9f0a1", "ttl": "72h",
            "dependencies": [{"name": "pricing-api", "version": "2.3.1"}], "purpose": "Review of the seat map",
        }, now - timedelta(hours=62), "ready"),
        ("team-namespace", second, f"{second}-sandbox"[:63], {"cpuQuota": "4", "memoryQuota": "8Gi"},
         now - timedelta(days=2), "pending"),
    ]
    offerings = available_offerings()
    for key, team, name, values, requested_at, state in orders:
        if key not in offerings:
            continue
        if Claim.objects.holding().filter(team=team, name=name).exists():
            out.write(f"Claim {team}/{name} already exists.")
            continue
        try:
            claim = request_claim(offerings[key], team, name, values, actor, now=requested_at,
                                  repository=repository)
        except (ProvisioningError, QuotaExceeded, GitOpsError) as exc:
            out.write(f"Claim {team}/{name} not made: {exc}")
            continue
        record_status(claim, state, "Synced and healthy" if state == "ready" else "Waiting for the cluster",
                      "demo")
        out.write(f"Claim {team}/{name}: {claim.claim_path} ({claim.estimated_monthly_cost} {claim.currency}/month).")
    counts = expire_claims(now=now, repository=repository)
    out.write(f"Expiry check: {counts['flagged']} flagged as expiring, {counts['released']} released.")
