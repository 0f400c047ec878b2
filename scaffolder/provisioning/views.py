"""Provisioning pages: the resources list, the request flow per offering, each claim's page and
the Claim tab of a Resource's catalog page. Thin: the work is in actions.py and the domain modules."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog.models import Entity

from . import conf
from .actions import (
    AlreadyReleased,
    NotAllowed,
    QuotaExceeded,
    Requester,
    may_release,
    policy_for,
    quota_violations,
    release_claim,
    render_order,
    request_claim,
    teams_for,
    usage_of,
)
from .forms import ClaimForm, ParametersForm, add_domain_errors
from .gitops import GitOpsError, GitOpsRepository
from .models import Claim, available_offerings
from .offerings import ValidationFailed

STATUS_FILTERS = OrderedDict([
    ("held", "Current"),
    ("requested", "Requested"),
    ("active", "Active"),
    ("expiring", "Expiring"),
    ("failed", "Failed"),
    ("released", "Released"),
    ("all", "All"),
])
STATUS_BADGES = {
    Claim.Status.REQUESTED: "accent",
    Claim.Status.ACTIVE: "ok",
    Claim.Status.EXPIRING: "warn",
    Claim.Status.FAILED: "bad",
    Claim.Status.RELEASED: "",
}


def _decorate(claim: Claim, now, warning) -> Claim:
    claim.shown_status = (
        Claim.Status.EXPIRING if claim.status != Claim.Status.FAILED and claim.is_expiring(warning, now)
        else claim.status
    )
    claim.badge = STATUS_BADGES.get(claim.shown_status, "")
    claim.countdown = claim.ttl_left(now) if claim.is_held else ""
    return claim


def index(request: HttpRequest):
    requester = Requester.from_user(request.user)
    my_teams = [ref.removeprefix("group:default/") for ref in requester.group_refs()
                if ref.startswith("group:default/")] if request.user.is_authenticated else []
    status = request.GET.get("status", "held")
    if status not in STATUS_FILTERS:
        status = "held"
    team = request.GET.get("team", "").strip()[:63]
    now, warning = timezone.now(), conf.expiry_warning()
    claims = Claim.objects.all().select_related("requested_by")
    if status == "held":
        claims = claims.holding()
    elif status == "expiring":
        claims = claims.holding().filter(
            Q(status=Claim.Status.EXPIRING) | Q(expires_at__gt=now, expires_at__lte=now + warning)
        )
    elif status != "all":
        claims = claims.filter(status=status)
    if team:
        claims = claims.filter(team=team)
    rows = [_decorate(claim, now, warning) for claim in claims.order_by("team", "name", "-requested_at")[:1000]]

    held = Claim.objects.holding()
    if team:
        held = held.filter(team=team)
    teams: OrderedDict[str, dict] = OrderedDict()
    for claim in rows:
        teams.setdefault(claim.team, {"team": claim.team, "claims": [], "cost": Decimal("0"), "count": 0})
        teams[claim.team]["claims"].append(claim)
    currency = conf.provisioning_settings().currency
    total = Decimal("0")
    for claim in held.only("team", "estimated_monthly_cost"):
        total += claim.estimated_monthly_cost
        if claim.team in teams:
            teams[claim.team]["cost"] += claim.estimated_monthly_cost
            teams[claim.team]["count"] += 1
    for entry in teams.values():
        row, _ = policy_for(entry["team"])
        entry["max_cost"] = row.max_monthly_cost if row else None
    all_teams = sorted(set(Claim.objects.values_list("team", flat=True).distinct()) | set(my_teams))
    context = {
        "teams": list(teams.values()),
        "total": total,
        "currency": currency,
        "status": status,
        "statuses": STATUS_FILTERS.items(),
        "team": team,
        "all_teams": all_teams,
        "offerings": list(available_offerings().values()),
        "expiring_count": sum(1 for claim in rows if claim.shown_status == Claim.Status.EXPIRING),
    }
    template = "provisioning/index.html#results" if request.htmx else "provisioning/index.html"
    return render(request, template, context)


def new(request: HttpRequest):
    return render(request, "provisioning/new.html", {"offerings": list(available_offerings().values())})


def _offering_or_404(key: str):
    offering = available_offerings().get(key)
    if offering is None:
        raise Http404(f"No offering {key!r} can be requested.")
    return offering


def request_offering(request: HttpRequest, offering: str):
    offering_obj = _offering_or_404(offering)
    requester = Requester.from_user(request.user)
    teams = teams_for(requester)
    data = request.POST if request.method == "POST" else None
    claim_form = ClaimForm(data, teams=teams, initial={"team": request.GET.get("team", "")})
    parameters = ParametersForm(offering_obj, data)
    action = request.POST.get("action", "estimate") if data is not None else ""
    estimate = None
    violations = []
    policy = None
    if data is not None and teams:
        claim_form.is_valid()
        parameters.is_valid()
        team = claim_form.cleaned_data.get("team") or ""
        name = claim_form.cleaned_data.get("name") or ""
        rendered = None
        try:
            rendered = render_order(offering_obj, team, name, parameters.values(), requester)
        except ValidationFailed as exc:
            add_domain_errors(exc.errors, claim_form, parameters)
        if rendered is not None and not claim_form.errors and not parameters.errors:
            estimate = rendered.cost
            violations = quota_violations(team, rendered)
            if action == "confirm" and not violations:
                try:
                    claim = request_claim(offering_obj, team, name, parameters.values(), requester, request=request)
                except QuotaExceeded as exc:
                    violations = exc.violations
                except NotAllowed as exc:
                    claim_form.add_error("team", str(exc))
                except ValidationFailed as exc:
                    add_domain_errors(exc.errors, claim_form, parameters)
                except GitOpsError as exc:
                    messages.error(request, f"The request could not be committed to the GitOps repository: {exc}")
                else:
                    messages.success(
                        request,
                        f"{offering_obj.title} {claim.name} requested for {claim.team}: committed "
                        f"{claim.commit_sha[:12]}. It becomes active when the reconciler reports it ready.",
                    )
                    return redirect(claim)
        if team:
            policy, _ = policy_for(team)
    context = {
        "offering": offering_obj,
        "claim_form": claim_form,
        "parameters": parameters,
        "teams": teams,
        "estimate": estimate,
        "violations": violations,
        "policy": policy,
        "submitted": data is not None,
    }
    if request.htmx and action == "estimate":
        return render(request, "provisioning/request.html#estimate", context)
    return render(request, "provisioning/request.html", context)


def _claim_context(request: HttpRequest, claim: Claim) -> dict:
    _decorate(claim, timezone.now(), conf.expiry_warning())
    entity = Entity.objects.filter(ref=claim.entity_ref).only("ref", "namespace", "kind", "name", "orphan").first()
    return {
        "claim": claim,
        "entity": entity,
        "can_release": claim.status != Claim.Status.RELEASED and may_release(request.user, claim),
        "commits": [{**commit, "at": _parse_time(commit.get("at"))} for commit in reversed(claim.commits or [])],
        "repository": GitOpsRepository().shown,
        "values": [(key, value if isinstance(value, str) else json.dumps(value))
                   for key, value in sorted((claim.values or {}).items())],
        "usage": usage_of(claim.team) if claim.is_held else None,
    }


def _parse_time(value):
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def claim_detail(request: HttpRequest, pk: int):
    claim = get_object_or_404(Claim, pk=pk)
    return render(request, "provisioning/claim_detail.html", _claim_context(request, claim))


@require_POST
def claim_release(request: HttpRequest, pk: int):
    claim = get_object_or_404(Claim, pk=pk)
    if not may_release(request.user, claim):
        raise PermissionDenied("Only the resource's owners, the person who requested it, or staff may release it.")
    try:
        claim = release_claim(claim, Requester.from_user(request.user),
                              reason=f"released by {request.user.get_username()}", request=request)
    except AlreadyReleased as exc:
        messages.info(request, str(exc))
    except GitOpsError as exc:
        messages.error(request, f"Nothing was released: {exc}")
    else:
        messages.success(request, f"{claim.name} released: its claim was removed in {claim.commit_sha[:12]}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(claim)


# ------------------------------------------------------------------------------ catalog entity tab


def claim_for_entity(entity: Entity) -> Claim | None:
    claims = Claim.objects.filter(entity_ref=entity.ref)
    return claims.holding().order_by("-requested_at").first() or claims.order_by("-requested_at").first()


def tab_title(claim: Claim | None) -> str:
    if claim is not None and claim.is_expiring(conf.expiry_warning(), timezone.now()):
        return "Claim · expires soon"
    return "Claim"


def render_claim_tab(request: HttpRequest, entity: Entity) -> str | None:
    claim = claim_for_entity(entity)
    if claim is None:
        return None
    context = _claim_context(request, claim)
    context["in_catalog_tab"] = True
    return render_to_string("provisioning/entity_tab.html", context, request=request)
