"""Provisioning's stored state: offerings admins define, per-group quota policies, and claims.

The domain rules live in offerings.py, manifests.py and quotas.py; these models store their
inputs (offering data for ``offering_from_dict``, policy data for ``policy_from_dict``) and what
was asked for (a Claim per order, with its commits and what the reconciler last said).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .offerings import (
    Offering as DomainOffering,
)
from .offerings import (
    OfferingError,
    builtin_offerings,
    check_dns_label,
    offering_from_dict,
)
from .quotas import ExistingClaim, PolicyError, format_ttl, policy_from_dict
from .quotas import QuotaPolicy as DomainPolicy


def offering_to_dict(offering: DomainOffering) -> dict[str, Any]:
    """The data ``offering_from_dict`` reads back into the same offering (JSON-friendly)."""
    return {
        "key": offering.key,
        "title": offering.title,
        "description": offering.description,
        "resource_type": offering.resource_type,
        "model": offering.model,
        "parameter_schema": offering.parameter_schema,
        "claim_kind": offering.claim_kind,
        "engine": offering.engine,
        "sizes": {
            name: {k: v for k, v in asdict(size).items() if v is not None} for name, size in offering.sizes.items()
        },
        "tiers": {name: asdict(tier) for name, tier in offering.tiers.items()},
        "limits": dict(offering.limits),
        "cost_table": {
            "by_size": {name: f"{price:f}" for name, price in offering.cost_table.by_size.items()},
            "rates": {name: f"{rate:f}" for name, rate in offering.cost_table.rates.items()},
        },
    }


class Offering(models.Model):
    """An offering platform admins manage. Built-in offerings are seeded as rows (and used even
    without a row); a row with the key of a built-in overrides it, a disabled row hides it."""

    key = models.SlugField(max_length=63, unique=True, help_text="Lowercase letters, digits and '-'.")
    title = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True, help_text="Disabled offerings cannot be requested.")
    position = models.PositiveIntegerField(default=100, help_text="Order on the request page.")
    definition = models.JSONField(
        default=dict,
        help_text=(
            "The offering as data: resource_type, model (database, cache, preview-environment, namespace), "
            "parameter_schema (JSON Schema of the order form), claim_kind, engine, sizes, tiers, limits, "
            "cost_table. See the provisioning admin guide."
        ),
    )
    builtin = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title

    def data(self) -> dict[str, Any]:
        return {**(self.definition or {}), "key": self.key, "title": self.title}

    def as_offering(self) -> DomainOffering:
        return offering_from_dict(self.data())

    def clean(self) -> None:
        if error := check_dns_label("key", self.key):
            raise ValidationError({"key": error.message})
        if not isinstance(self.definition, dict):
            raise ValidationError({"definition": "must be a JSON object"})
        try:
            self.as_offering()
        except OfferingError as exc:
            raise ValidationError({"definition": str(exc)})


def available_offerings() -> dict[str, DomainOffering]:
    """Offerings people may request, by key, in page order: built-ins overridden by admin rows."""
    offerings = builtin_offerings()
    order = {key: index for index, key in enumerate(offerings)}
    for row in Offering.objects.all():
        if not row.enabled:
            offerings.pop(row.key, None)
            continue
        try:
            offerings[row.key] = row.as_offering()
        except OfferingError:
            offerings.pop(row.key, None)  # admin validation prevents this; never offer a broken form
            continue
        order[row.key] = row.position
    return dict(sorted(offerings.items(), key=lambda item: (order.get(item[0], 100), item[1].title)))


def seed_builtin_offerings() -> int:
    """Rows for built-in offerings that have none yet (admin edits are never overwritten)."""
    existing = set(Offering.objects.values_list("key", flat=True))
    created = 0
    for position, (key, offering) in enumerate(builtin_offerings().items()):
        if key in existing:
            continue
        data = offering_to_dict(offering)
        title = data.pop("title")
        data.pop("key")
        Offering.objects.create(key=key, title=title, definition=data, builtin=True, position=(position + 1) * 10)
        created += 1
    return created


class QuotaPolicy(models.Model):
    """One group's provisioning guardrails. Group ``*`` applies to every group without its own policy.

    Requests of a group are checked, and their claims created, while this row is locked, so two
    requests racing for the last unit of a quota cannot both win.
    """

    DEFAULT_GROUP = "*"

    group = models.CharField(
        max_length=63, unique=True,
        help_text="Name of a catalog group in the default namespace (e.g. team-a), or * for every other group.",
    )
    max_count_by_offering = models.JSONField(
        default=dict, blank=True, help_text='Offering key to most claims at once, e.g. {"postgresql": 2}.'
    )
    max_count_by_resource_type = models.JSONField(
        default=dict, blank=True,
        help_text='Resource type to most claims at once, e.g. {"preview-environment": 3, "database": 4}.',
    )
    max_monthly_cost = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="Most estimated monthly cost across the group's claims; empty for no limit.",
    )
    allowed_tiers = models.CharField(
        max_length=300, blank=True,
        help_text="Comma-separated tiers the group may request (e.g. internal, standard); empty for any.",
    )
    name_pattern = models.CharField(
        max_length=200, blank=True, help_text="Regular expression claim names must match in full, e.g. team-a-.+"
    )
    name_rule_help = models.CharField(
        max_length=200, blank=True, help_text="The naming rule in words, shown instead of the expression."
    )
    max_ttl = models.CharField(max_length=20, blank=True, help_text="Longest TTL the group may ask for, e.g. 3d.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group"]
        verbose_name_plural = "quota policies"

    def __str__(self) -> str:
        return "Default quota policy" if self.group == self.DEFAULT_GROUP else f"Quota policy of {self.group}"

    def as_dict(self, group: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "group": group or self.group,
            "max_count_by_offering": self.max_count_by_offering or {},
            "max_count_by_resource_type": self.max_count_by_resource_type or {},
        }
        if self.max_monthly_cost is not None:
            data["max_monthly_cost"] = str(self.max_monthly_cost)
        tiers = [tier.strip() for tier in self.allowed_tiers.split(",") if tier.strip()]
        if tiers:
            data["allowed_tiers"] = tiers
        if self.name_pattern:
            data["name_pattern"] = self.name_pattern
        if self.name_rule_help:
            data["name_rule_help"] = self.name_rule_help
        if self.max_ttl:
            data["max_ttl"] = self.max_ttl
        return data

    def as_policy(self, group: str | None = None) -> DomainPolicy:
        return policy_from_dict(self.as_dict(group))

    def clean(self) -> None:
        if self.group != self.DEFAULT_GROUP and (error := check_dns_label("group", self.group)):
            raise ValidationError({"group": error.message})
        try:
            self.as_policy()
        except PolicyError as exc:
            raise ValidationError(str(exc))

    def describe(self) -> list[str]:
        """The limits in words, for the pages."""
        lines = []
        for key, limit in sorted((self.max_count_by_offering or {}).items()):
            lines.append(f"at most {limit} × {key}")
        for key, limit in sorted((self.max_count_by_resource_type or {}).items()):
            lines.append(f"at most {limit} {key} claim{'s' if limit != 1 else ''}")
        if self.max_monthly_cost is not None:
            lines.append(f"at most {self.max_monthly_cost} per month in total")
        if self.allowed_tiers:
            lines.append(f"tiers: {self.allowed_tiers}")
        if self.name_pattern:
            lines.append(f"names: {self.name_rule_help or self.name_pattern}")
        if self.max_ttl:
            lines.append(f"TTL at most {self.max_ttl}")
        return lines


class ClaimQuerySet(models.QuerySet):
    def holding(self):
        """Claims that count against quotas: everything not released, except orders that failed
        before anything was committed."""
        return self.exclude(status=Claim.Status.RELEASED).exclude(status=Claim.Status.FAILED, commit_sha="")

    def for_team(self, team: str):
        return self.filter(team=team)


HOLDING = ~Q(status="released") & ~Q(status="failed", commit_sha="")


class Claim(models.Model):
    """One order: what was asked for, where it was committed, and what the reconciler says."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACTIVE = "active", "Active"
        EXPIRING = "expiring", "Expiring"
        RELEASED = "released", "Released"
        FAILED = "failed", "Failed"

    class ReconcilerState(models.TextChoices):
        UNKNOWN = "", "Not reported"
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        DELETED = "deleted", "Deleted"

    offering = models.CharField(max_length=63, db_index=True)
    offering_title = models.CharField(max_length=200)
    resource_type = models.CharField(max_length=63)
    team = models.CharField(max_length=63, db_index=True, help_text="Owning group's name")
    name = models.CharField(max_length=63)
    values = models.JSONField(default=dict, blank=True)
    claim_path = models.CharField(max_length=300, db_index=True)
    entity_ref = models.CharField(max_length=400, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_ref = models.CharField(max_length=255, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    estimated_monthly_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    cost_lines = models.JSONField(default=list, blank=True)
    manifests = models.TextField(blank=True, help_text="The YAML committed to the claim path")
    commit_sha = models.CharField(max_length=64, blank=True, help_text="The last commit")
    commits = models.JSONField(default=list, blank=True, help_text='[{"sha", "action", "message", "at", "by"}]')
    reconciler_state = models.CharField(max_length=10, choices=ReconcilerState.choices, blank=True)
    reconciler_message = models.TextField(blank=True)
    reconciler_updated_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=255, blank=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["team", "name", "-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], condition=HOLDING, name="one_held_claim_per_team_name"),
        ]
        permissions = [("report_claim_status", "Can report claim status (reconciler webhook)")]

    def __str__(self) -> str:
        return f"{self.team}/{self.name} ({self.offering_title})"

    def get_absolute_url(self) -> str:
        return reverse("provisioning:claim", args=[self.pk])

    @property
    def is_held(self) -> bool:
        return self.status != self.Status.RELEASED and not (self.status == self.Status.FAILED and not self.commit_sha)

    @property
    def owner_ref(self) -> str:
        return f"group:default/{self.team}"

    def as_existing(self) -> ExistingClaim:
        return ExistingClaim(
            offering=self.offering, resource_type=self.resource_type, name=self.name,
            monthly_cost=self.estimated_monthly_cost,
        )

    def remaining(self, now=None) -> timedelta | None:
        if self.expires_at is None:
            return None
        return max(self.expires_at - (now or timezone.now()), timedelta())

    def ttl_left(self, now=None) -> str:
        """A countdown such as ``1d4h`` (minutes when under an hour); empty when the claim does not expire."""
        left = self.remaining(now)
        if left is None:
            return ""
        if left <= timedelta():
            return "expired"
        if left >= timedelta(hours=1):
            left = timedelta(hours=int(left.total_seconds() // 3600))
        return format_ttl(left) or "<1m"

    def is_expiring(self, within: timedelta, now=None) -> bool:
        if self.expires_at is None or not self.is_held:
            return False
        now = now or timezone.now()
        return now < self.expires_at <= now + within

    def add_commit(self, sha: str, action: str, message: str, by: str, at=None) -> None:
        self.commit_sha = sha
        self.commits = [
            *(self.commits or []),
            {"sha": sha, "action": action, "message": message, "by": by, "at": (at or timezone.now()).isoformat()},
        ]

