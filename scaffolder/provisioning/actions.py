"""Requesting and releasing claims, for the pages, the API, the periodic task and the scaffolder engine.

``request_claim`` renders the order (offerings.py / manifests.py), checks the group's quota while
the group's policy row is locked (quotas.py), records a Claim, commits the claim file and the
catalog Resource entity to the GitOps repository (gitops.py) and refreshes the repository's
catalog Location. A refused order (bad values, a quota) commits nothing.

``release_claim`` removes the claim file and the entity file in one commit; the catalog then keeps
the Resource as an orphan, which is annotated ``causeway.dev/claim-status: released``.

``register_provisioning_actions(registry)`` adds the scaffolder engine actions ``platform:claim``
and ``platform:release``, which call the same two functions.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.ingest import IngestReport, LocationNotAllowed, check_target_allowed, refresh_location
from catalog.models import Entity, Location, Relation
from catalog.ownership import can_act, identity_refs, user_entity
from portal import audit
from scaffolder.actions.registry import Action, ActionContext, ActionError, ActionRegistry

from . import conf
from .gitops import Author, GitOpsError, GitOpsRepository, WorkTree, entity_path, entity_yaml
from .manifests import ClaimRequest, RenderedClaim, release_plan, render_claim
from .models import Claim, QuotaPolicy, available_offerings
from .offerings import Offering, ProvisioningError, check_dns_label
from .quotas import QuotaPolicy as DomainPolicy
from .quotas import QuotaViolation, Usage, check_request

log = logging.getLogger(__name__)

ANNOTATION_CLAIM_STATUS = "causeway.dev/claim-status"
ANNOTATION_RELEASED_AT = "causeway.dev/released-at"
INDEX_PATH = "catalog-info.yaml"


class QuotaExceeded(ProvisioningError):
    """The order breaks one or more quotas of its group; ``violations`` says which."""

    def __init__(self, violations: list[QuotaViolation]) -> None:
        self.violations = list(violations)
        super().__init__("; ".join(violation.message for violation in self.violations))


class NotAllowed(ProvisioningError):
    """The person may not order for this team, or release this claim."""


class AlreadyReleased(ProvisioningError):
    pass


# ------------------------------------------------------------------------------------------- people

_REF_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


@dataclass(frozen=True)
class Requester:
    """Who asks: a catalog user ref, and the portal account when there is one (audit, staff)."""

    ref: str
    user: Any = None

    @classmethod
    def from_user(cls, user) -> Requester:
        entity = user_entity(user)
        if entity is not None:
            return cls(entity.ref, user)
        return cls(f"user:default/{_REF_UNSAFE.sub('-', user.get_username().lower())[:200]}", user)

    @classmethod
    def from_ref(cls, ref: str | None) -> Requester:
        if not ref:
            raise NotAllowed("requesting a resource needs a signed-in user")
        name = ref.rsplit("/", 1)[-1].split(":")[-1]
        user = get_user_model().objects.filter(username__iexact=name, is_active=True).first()
        return cls(ref.lower(), user)

    @property
    def actor(self) -> Any:
        return self.user if self.user is not None else self.ref

    @property
    def is_staff(self) -> bool:
        return bool(self.user is not None and self.user.is_staff)

    def author(self) -> Author:
        user = self.user
        name = (user.get_full_name() or user.get_username()) if user is not None else self.ref.rsplit("/", 1)[-1]
        email = (user.email if user is not None else "") or f"{_REF_UNSAFE.sub('-', name)}@users.causeway.invalid"
        return Author(_printable(name), _printable(email))

    def group_refs(self) -> set[str]:
        if self.user is not None:
            refs = identity_refs(self.user)
            if refs:
                return refs
        return {self.ref, *Relation.objects.filter(source_ref=self.ref, type="memberOf")
                .values_list("target_ref", flat=True)}


def _printable(text: str) -> str:
    return "".join(ch for ch in str(text) if ch.isprintable() and ch not in "<>")[:120] or "unknown"


def _team_of(ref: str) -> str | None:
    if ref.startswith("group:default/"):
        name = ref.removeprefix("group:default/")
        if check_dns_label("team", name) is None:
            return name
    return None


def teams_for(requester: Requester) -> list[str]:
    """Teams this person may order for: their catalog groups; staff may order for any group."""
    if requester.is_staff:
        refs = Entity.objects.filter(kind="group", namespace="default", orphan=False).values_list("ref", flat=True)
    else:
        refs = requester.group_refs()
    return sorted({team for ref in refs if (team := _team_of(ref))})


def may_request_for(requester: Requester, team: str) -> bool:
    return requester.is_staff or f"group:default/{team}" in requester.group_refs()


def may_release(user, claim: Claim) -> bool:
    """Owners of the Resource entity, the person who asked for it, and staff."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or (claim.requested_by_id is not None and claim.requested_by_id == user.pk):
        return True
    entity = Entity.objects.filter(ref=claim.entity_ref).first()
    if entity is not None:
        return can_act(user, entity)
    return claim.owner_ref in identity_refs(user)


# ------------------------------------------------------------------------------------------- quotas

# SQLite has no row locks and one writer at a time: within one process, orders are serialised by
# this lock instead (and BEGIN IMMEDIATE, set in the settings, serialises writers across processes).
_SQLITE_ORDER_LOCK = threading.RLock()


@contextmanager
def _serialised() -> Iterator[None]:
    if connection.vendor == "sqlite":
        with _SQLITE_ORDER_LOCK:
            yield
    else:
        yield


def _policy_rows(team: str, *, lock: bool) -> QuotaPolicy | None:
    rows = QuotaPolicy.objects.filter(group__in=[team, QuotaPolicy.DEFAULT_GROUP]).order_by("group")
    if lock:
        rows = rows.select_for_update()
    found = {row.group: row for row in rows}
    return found.get(team) or found.get(QuotaPolicy.DEFAULT_GROUP)


def policy_for(team: str) -> tuple[QuotaPolicy | None, DomainPolicy]:
    row = _policy_rows(team, lock=False)
    return row, (row.as_policy(team) if row else DomainPolicy(group=team))


@contextmanager
def _locked_policy(team: str) -> Iterator[QuotaPolicy | None]:
    """A transaction holding the group's quota policy row locked (check and create happen inside)."""
    with _serialised(), transaction.atomic():
        yield _policy_rows(team, lock=connection.vendor != "sqlite")


def usage_of(team: str) -> Usage:
    return Usage(tuple(claim.as_existing() for claim in Claim.objects.holding().filter(team=team)))


def quota_violations(team: str, rendered: RenderedClaim) -> list[QuotaViolation]:
    """What the quota check would say now (no lock: for showing an estimate before confirming)."""
    _, policy = policy_for(team)
    return check_request(policy, usage_of(team), rendered.quota_request())


# ------------------------------------------------------------------------------------------ catalog


def catalog_target(repository: GitOpsRepository) -> str:
    local = conf.local_repo_path(repository.remote)
    return str(local) if local is not None else repository.remote


def sync_catalog(repository: GitOpsRepository | None = None) -> tuple[IngestReport | None, str]:
    """Register the GitOps repository's catalog-info.yaml as a git Location and refresh it.
    Returns the report and a problem to show ("" when all went well)."""
    repository = repository or GitOpsRepository()
    target = catalog_target(repository)
    try:
        check_target_allowed(Location.Type.GIT, target)
    except LocationNotAllowed as exc:
        return None, f"The catalog cannot read the GitOps repository: {exc}"
    location, _ = Location.objects.get_or_create(
        type=Location.Type.GIT, target=target, git_ref=repository.branch, git_path=INDEX_PATH
    )
    report = refresh_location(location)
    if report.status == "failed":
        return report, f"The catalog could not read the GitOps repository: {report.message}"
    return report, ""


def _flag_released(claim: Claim) -> None:
    for entity in Entity.objects.filter(ref=claim.entity_ref):
        annotations = entity.data.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[ANNOTATION_CLAIM_STATUS] = "released"
        annotations[ANNOTATION_RELEASED_AT] = (claim.released_at or timezone.now()).isoformat()
        entity.save(update_fields=["data"])


# ----------------------------------------------------------------------------------------- requests


def render_order(
    offering: Offering, team: str, name: str, values: Mapping[str, Any], requester: Requester,
    *, system: str | None = None, now: datetime | None = None,
) -> RenderedClaim:
    """Validate and render an order (raises ValidationFailed with every field's problem)."""
    return render_claim(
        ClaimRequest(offering, team, name, values, requester.ref, now or timezone.now(), system=system),
        conf.provisioning_settings(),
    )


def _commit_message(verb: str, claim: Claim, by: str, extra: str = "") -> str:
    lines = [f"{verb} {claim.resource_type} {claim.name} of {claim.team}", "",
             f"Claim: {claim.claim_path}", f"Offering: {claim.offering}", f"By: {by}"]
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def request_claim(
    offering: Offering,
    team: str,
    name: str,
    values: Mapping[str, Any],
    requester: Requester,
    *,
    system: str | None = None,
    now: datetime | None = None,
    request=None,
    repository: GitOpsRepository | None = None,
    dry_run: bool = False,
    log_line: Callable[[str], None] | None = None,
) -> Claim:
    """Order a resource. Raises ValidationFailed, NotAllowed, QuotaExceeded (nothing committed) or
    GitOpsError (the claim is kept, marked failed)."""
    say = log_line or (lambda line: None)
    if not may_request_for(requester, team):
        raise NotAllowed(f"You are not a member of group {team}; ask one of its members or staff.")
    now = now or timezone.now()
    rendered = render_order(offering, team, name, values, requester, system=system, now=now)
    with _serialised():
        return _order(offering, team, name, requester, rendered, now, request=request, repository=repository,
                      dry_run=dry_run, say=say)


def _order(
    offering: Offering, team: str, name: str, requester: Requester, rendered: RenderedClaim, now: datetime,
    *, request, repository: GitOpsRepository | None, dry_run: bool, say: Callable[[str], None],
) -> Claim:
    claim = Claim(
        offering=offering.key, offering_title=offering.title, resource_type=offering.resource_type,
        team=team, name=name, values=rendered.values, claim_path=rendered.path,
        entity_ref=f"resource:{team}/{name}".lower(), status=Claim.Status.REQUESTED,
        requested_by=requester.user, requested_by_ref=requester.ref, requested_at=now,
        expires_at=rendered.expires_at, estimated_monthly_cost=rendered.cost.total,
        currency=rendered.cost.currency, cost_lines=rendered.cost.as_dict()["lines"], manifests=rendered.yaml,
    )
    try:
        with _locked_policy(team) as row:
            policy = row.as_policy(team) if row else DomainPolicy(group=team)
            violations = check_request(policy, usage_of(team), rendered.quota_request())
            if violations:
                raise QuotaExceeded(violations)
            if dry_run:
                say(f"Dry run: would commit {rendered.path} ({rendered.cost} per month)")
                return claim
            claim.save()
    except IntegrityError:
        raise QuotaExceeded([QuotaViolation(
            code="name-in-use", quota="unique names", group=team, limit=1, current=1,
            message=f"Name '{name}' is already used by another claim of group {team}",
        )])

    repository = repository or GitOpsRepository()
    entity_text = entity_yaml(rendered.entity)

    def apply(tree: WorkTree) -> None:
        tree.write(rendered.path, rendered.yaml)
        tree.write(entity_path(team, name), entity_text)

    say(f"Committing {rendered.path} to {repository.shown}")
    try:
        result = repository.change(apply, _commit_message("Request", claim, requester.ref), requester.author())
    except GitOpsError as exc:
        claim.status = Claim.Status.FAILED
        claim.message = f"Nothing was committed: {exc}"
        claim.save(update_fields=["status", "message"])
        audit.record(requester.actor, "provisioning.claim.fail", claim, message=claim.message, request=request)
        raise
    if result is not None:
        claim.add_commit(result.sha, "request", result.message.splitlines()[0], requester.ref, now)
        say(f"Committed {result.sha[:12]}")
    claim.save(update_fields=["commit_sha", "commits"])
    audit.record(
        requester.actor, "provisioning.claim.request", claim, request=request,
        after={"offering": claim.offering, "team": team, "name": name, "values": claim.values,
               "claim_path": claim.claim_path, "commit": claim.commit_sha,
               "estimated_monthly_cost": f"{claim.estimated_monthly_cost} {claim.currency}"},
    )
    _, problem = sync_catalog(repository)
    if problem:
        claim.message = problem
        claim.save(update_fields=["message"])
        say(problem)
    return claim


def release_claim(
    claim: Claim,
    actor: Requester | str,
    *,
    reason: str = "",
    now: datetime | None = None,
    request=None,
    repository: GitOpsRepository | None = None,
) -> Claim:
    """Remove the claim and its entity from the GitOps repository in one commit and mark it released.
    Raises AlreadyReleased or GitOpsError (then nothing changed)."""
    now = now or timezone.now()
    by = actor.ref if isinstance(actor, Requester) else str(actor)
    audit_actor = actor.actor if isinstance(actor, Requester) else str(actor)
    repository = repository or GitOpsRepository()
    with transaction.atomic():
        claim = Claim.objects.select_for_update().get(pk=claim.pk)
        if claim.status == Claim.Status.RELEASED:
            raise AlreadyReleased(f"{claim.team}/{claim.name} was already released.")
        before = {"status": claim.status, "commit": claim.commit_sha}
        plan = release_plan(claim.team, claim.resource_type, claim.name)

        def apply(tree: WorkTree) -> None:
            tree.delete(plan.path)
            tree.delete(entity_path(claim.team, claim.name))

        message = _commit_message("Release", claim, by, f"Reason: {reason}" if reason else "")
        result = repository.change(apply, message, actor.author() if isinstance(actor, Requester) else None)
        if result is not None:
            claim.add_commit(result.sha, "release", result.message.splitlines()[0], by, now)
        claim.status = Claim.Status.RELEASED
        claim.released_at = now
        claim.released_by = by
        claim.message = reason
        claim.save()
        audit.record(
            audit_actor, "provisioning.claim.release", claim, request=request, before=before,
            after={"status": claim.status, "commit": claim.commit_sha, "reason": reason},
        )
    sync_catalog(repository)
    _flag_released(claim)
    return claim


# ---------------------------------------------------------------------------------------- lifetimes


def expire_claims(now: datetime | None = None, repository: GitOpsRepository | None = None) -> dict[str, int]:
    """Release every held claim whose TTL has passed (one commit each) and flag those expiring soon."""
    now = now or timezone.now()
    counts = {"released": 0, "flagged": 0, "failed": 0}
    for claim in Claim.objects.holding().filter(expires_at__lte=now).order_by("expires_at"):
        try:
            release_claim(claim, "scheduler", reason=f"TTL expired at {claim.expires_at:%Y-%m-%d %H:%M} UTC",
                          now=now, repository=repository)
            counts["released"] += 1
        except AlreadyReleased:
            continue
        except GitOpsError as exc:
            counts["failed"] += 1
            log.warning("could not release expired claim %s: %s", claim, exc)
            Claim.objects.filter(pk=claim.pk).update(message=f"Could not release after expiry: {exc}")
    soon = now + conf.expiry_warning()
    expiring = (
        Claim.objects.holding().filter(expires_at__gt=now, expires_at__lte=soon)
        .exclude(status__in=[Claim.Status.EXPIRING, Claim.Status.FAILED])
    )
    for claim in expiring:
        before = claim.status
        claim.status = Claim.Status.EXPIRING
        claim.save(update_fields=["status"])
        audit.record("scheduler", "provisioning.claim.expiring", claim, before={"status": before},
                     after={"status": claim.status, "expires_at": claim.expires_at})
        counts["flagged"] += 1
    return counts


# --------------------------------------------------------------------------------- reconciler status

RECONCILER_STATES = ("pending", "ready", "failed", "deleted")


def record_status(claim: Claim, state: str, message: str, actor: Any, *, request=None) -> Claim:
    """What Argo CD / Flux / Crossplane report about a claim; moves its status along."""
    before = {"status": claim.status, "reconciler_state": claim.reconciler_state}
    claim.reconciler_state = state
    claim.reconciler_message = message
    claim.reconciler_updated_at = timezone.now()
    if claim.status != Claim.Status.RELEASED:
        if state == "ready" and claim.status in (Claim.Status.REQUESTED, Claim.Status.FAILED):
            claim.status = Claim.Status.ACTIVE
        elif state == "failed" and claim.status in (Claim.Status.REQUESTED, Claim.Status.ACTIVE):
            claim.status = Claim.Status.FAILED
        elif state == "pending" and claim.status == Claim.Status.FAILED and claim.commit_sha:
            claim.status = Claim.Status.REQUESTED
    claim.save()
    audit.record(actor, "provisioning.claim.status", claim, before=before, request=request,
                 after={"status": claim.status, "reconciler_state": state, "message": message})
    return claim


# ------------------------------------------------------------------------------ scaffolder actions

CLAIM_INPUT = {
    "type": "object",
    "required": ["offering", "team", "name"],
    "additionalProperties": False,
    "properties": {
        "offering": {"type": "string", "description": "Offering key, e.g. postgresql"},
        "team": {"type": "string", "description": "Owning group's name (default namespace)"},
        "name": {"type": "string", "description": "Claim name: a DNS label"},
        "parameters": {"type": "object", "description": "The offering's form values"},
        "system": {"type": "string", "description": "System the resource belongs to"},
    },
}
CLAIM_OUTPUT = {
    "type": "object",
    "properties": {
        "claimPath": {"type": "string"},
        "commitHash": {"type": "string"},
        "entityRef": {"type": "string"},
        "estimatedMonthlyCost": {"type": "string"},
        "expiresAt": {"type": ["string", "null"]},
    },
}
RELEASE_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "entityRef": {"type": "string", "description": "resource:<team>/<name>"},
        "claimPath": {"type": "string", "description": "claims/<team>/<type>/<name>.yaml"},
        "reason": {"type": "string"},
    },
    "anyOf": [{"required": ["entityRef"]}, {"required": ["claimPath"]}],
}


def _claim_handler(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    offering = available_offerings().get(data["offering"])
    if offering is None:
        raise ActionError(f"platform:claim: no offering {data['offering']!r} can be requested")
    try:
        requester = Requester.from_ref(ctx.user.ref)
        claim = request_claim(
            offering, data["team"], data["name"], data.get("parameters") or {}, requester,
            system=data.get("system"), dry_run=ctx.dry_run, log_line=ctx.log,
        )
    except (ProvisioningError, GitOpsError) as exc:
        raise ActionError(f"platform:claim: {exc}") from None
    return {
        "claimPath": claim.claim_path,
        "commitHash": claim.commit_sha,
        "entityRef": claim.entity_ref,
        "estimatedMonthlyCost": f"{claim.estimated_monthly_cost} {claim.currency}",
        "expiresAt": claim.expires_at.isoformat() if claim.expires_at else None,
    }


def _release_handler(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    held = Claim.objects.holding()
    if data.get("entityRef"):
        ref = data["entityRef"].lower()
        claim = held.filter(entity_ref=ref if ref.startswith("resource:") else f"resource:{ref}").first()
    else:
        claim = held.filter(claim_path=data["claimPath"]).first()
    if claim is None:
        raise ActionError("platform:release: no held claim matches the input")
    try:
        requester = Requester.from_ref(ctx.user.ref)
    except NotAllowed as exc:
        raise ActionError(f"platform:release: {exc}") from None
    allowed = may_release(requester.user, claim) if requester.user is not None else (
        claim.owner_ref in requester.group_refs()
    )
    if not allowed:
        raise ActionError(f"platform:release: {requester.ref} may not release {claim.entity_ref}")
    if ctx.dry_run:
        ctx.log(f"Dry run: would remove {claim.claim_path}")
        return {"claimPath": claim.claim_path, "commitHash": ""}
    try:
        claim = release_claim(claim, requester, reason=data.get("reason") or "")
    except (ProvisioningError, GitOpsError) as exc:
        raise ActionError(f"platform:release: {exc}") from None
    ctx.log(f"Released {claim.entity_ref} in {claim.commit_sha[:12]}")
    return {"claimPath": claim.claim_path, "commitHash": claim.commit_sha}


PROVISIONING_ACTIONS = [
    Action(
        id="platform:claim",
        description="Order a resource: commit its claim manifests to the GitOps repository and register it "
                    "in the catalog, within the group's quota.",
        input_schema=CLAIM_INPUT,
        output_schema=CLAIM_OUTPUT,
        handler=_claim_handler,
        supports_dry_run=True,
    ),
    Action(
        id="platform:release",
        description="Release a resource: remove its claim from the GitOps repository.",
        input_schema=RELEASE_INPUT,
        output_schema={"type": "object", "properties": {"claimPath": {"type": "string"},
                                                        "commitHash": {"type": "string"}}},
        handler=_release_handler,
        supports_dry_run=True,
    ),
]


def register_provisioning_actions(registry: ActionRegistry) -> ActionRegistry:
    for action in PROVISIONING_ACTIONS:
        if action.id not in registry:
            registry.register(action)
    return registry
