"""Provisioning API, mounted at /api/provisioning/.

GET  /api/provisioning/claims                  claims (?team=, ?status=held|requested|...|all; default held)
POST /api/provisioning/claims                  {"offering", "team", "name", "values", "system"?}: order,
     with the same checks and quotas as the form. 201 with the claim; 400 with errors by field;
     403 for a team you are not a member of; 409 with the broken quotas ("violations").
GET  /api/provisioning/claims/<id>             one claim, with its manifests and commits
POST /api/provisioning/claims/<id>/release     release (owners, the requester, staff)

POST /api/provisioning/status   {"claim_path", "state": "pending|ready|failed|deleted", "message"}
    What Argo CD, Flux or Crossplane report about a claim. Needs a token (``Authorization: Token
    <key>``) of a staff user or of one with the "Can report claim status" permission.
    200 with the claim's new status; 400 naming the bad field; 401 without a valid token;
    403 without the permission; 404 when no claim has that path.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from .actions import (
    RECONCILER_STATES,
    AlreadyReleased,
    NotAllowed,
    QuotaExceeded,
    Requester,
    may_release,
    record_status,
    release_claim,
    request_claim,
)
from .gitops import GitOpsError
from .manifests import ClaimPathError, parse_claim_path
from .models import Claim, available_offerings
from .offerings import ValidationFailed


def claim_data(claim: Claim, *, full: bool = False) -> dict:
    data = {
        "id": claim.pk,
        "offering": claim.offering,
        "team": claim.team,
        "name": claim.name,
        "status": claim.status,
        "claim_path": claim.claim_path,
        "entity_ref": claim.entity_ref,
        "values": claim.values,
        "estimated_monthly_cost": f"{claim.estimated_monthly_cost}",
        "currency": claim.currency,
        "requested_by": claim.requested_by_ref,
        "requested_at": claim.requested_at.isoformat(),
        "expires_at": claim.expires_at.isoformat() if claim.expires_at else None,
        "commit": claim.commit_sha or None,
        "reconciler_state": claim.reconciler_state or None,
        "reconciler_message": claim.reconciler_message or None,
        "released_at": claim.released_at.isoformat() if claim.released_at else None,
    }
    if full:
        data.update({"manifests": claim.manifests, "commits": claim.commits, "cost_lines": claim.cost_lines,
                     "message": claim.message or None})
    return data


class ClaimRequestSerializer(serializers.Serializer):
    offering = serializers.CharField(max_length=63)
    team = serializers.CharField(max_length=63)
    name = serializers.CharField(max_length=63)
    values = serializers.DictField(required=False, default=dict)
    system = serializers.CharField(max_length=255, required=False)


def _field_errors(errors) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for error in errors:
        top_level = ("team", "name", "system", "namespace", "requested_by", "requested_at", "")
        field = error.field if error.field in top_level else f"values.{error.field}"
        grouped.setdefault(field or "non_field_errors", []).append(error.message)
    return grouped


class ClaimListView(APIView):
    @extend_schema(summary="List claims", operation_id="provisioning_claims_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        claims = Claim.objects.all()
        wanted = request.query_params.get("status", "held")
        if wanted == "held":
            claims = claims.holding()
        elif wanted != "all":
            claims = claims.filter(status=wanted)
        if team := request.query_params.get("team"):
            claims = claims.filter(team=team)
        return Response({"claims": [claim_data(claim) for claim in claims.order_by("team", "name")[:1000]]})

    @extend_schema(
        summary="Order a resource",
        request=ClaimRequestSerializer,
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="Errors by field"),
                   403: OpenApiResponse(description="Not a member of the team"),
                   409: OpenApiResponse(description="A quota would be exceeded; nothing was committed")},
    )
    def post(self, request):
        serializer = ClaimRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        offering = available_offerings().get(data["offering"])
        if offering is None:
            raise ValidationError({"offering": [f"No offering {data['offering']!r} can be requested."]})
        try:
            claim = request_claim(offering, data["team"], data["name"], data["values"],
                                  Requester.from_user(request.user), system=data.get("system"), request=request)
        except ValidationFailed as exc:
            raise ValidationError(_field_errors(exc.errors))
        except NotAllowed as exc:
            raise PermissionDenied(str(exc))
        except QuotaExceeded as exc:
            return Response({
                "detail": f"Refused by the quota policy; nothing was committed. {exc}",
                "violations": [{"code": v.code, "quota": v.quota, "limit": str(v.limit), "current": str(v.current),
                                "message": v.message} for v in exc.violations],
            }, status=status.HTTP_409_CONFLICT)
        except GitOpsError as exc:
            return Response({"detail": f"The claim could not be committed: {exc}"},
                            status=status.HTTP_502_BAD_GATEWAY)
        return Response(claim_data(claim, full=True), status=status.HTTP_201_CREATED)


def _claim(pk: int) -> Claim:
    claim = Claim.objects.filter(pk=pk).first()
    if claim is None:
        raise NotFound(f"No claim {pk}.")
    return claim


class ClaimDetailView(APIView):
    @extend_schema(summary="A claim with its manifests and commits", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(claim_data(_claim(pk), full=True))


class ClaimReleaseView(APIView):
    @extend_schema(summary="Release a claim", request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        claim = _claim(pk)
        if not may_release(request.user, claim):
            raise PermissionDenied("Only the resource's owners, the person who requested it, or staff may release it.")
        try:
            claim = release_claim(claim, Requester.from_user(request.user), reason="released through the API",
                                  request=request)
        except AlreadyReleased as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except GitOpsError as exc:
            return Response({"detail": f"Nothing was released: {exc}"}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(claim_data(claim, full=True))


class CanReportStatus(BasePermission):
    message = "This token may not report claim status (staff, or the 'Can report claim status' permission)."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (
            user.is_staff or user.has_perm("provisioning.report_claim_status")
        ))


class StatusSerializer(serializers.Serializer):
    claim_path = serializers.CharField(max_length=300)
    state = serializers.ChoiceField(choices=RECONCILER_STATES)
    message = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")

    def validate_claim_path(self, value: str) -> str:
        try:
            parse_claim_path(value)
        except ClaimPathError as exc:
            raise serializers.ValidationError(str(exc))
        return value


class StatusView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [CanReportStatus]

    @extend_schema(
        summary="Report a claim's reconciliation status",
        request=StatusSerializer,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="A bad field, named"),
                   401: OpenApiResponse(description="No valid token"),
                   404: OpenApiResponse(description="No claim has this path")},
    )
    def post(self, request):
        serializer = StatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        claims = Claim.objects.filter(claim_path=data["claim_path"])
        claim = claims.holding().order_by("-requested_at").first() or claims.order_by("-requested_at").first()
        if claim is None:
            raise NotFound(f"No claim has the path {data['claim_path']}.")
        claim = record_status(claim, data["state"], data["message"], request.user, request=request)
        return Response({
            "claim_path": claim.claim_path,
            "entity_ref": claim.entity_ref,
            "status": claim.status,
            "reconciler_state": claim.reconciler_state,
        })


app_name = "provisioning-api"
urlpatterns = [
    path("claims", ClaimListView.as_view(), name="claims"),
    path("claims/<int:pk>", ClaimDetailView.as_view(), name="claim"),
    path("claims/<int:pk>/release", ClaimReleaseView.as_view(), name="release"),
    path("status", StatusView.as_view(), name="status"),
]
