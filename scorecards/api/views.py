"""Scorecard and DORA REST API.

GET  /api/scorecards/                      scorecards with their levels and rules
GET  /api/scorecards/results?entity=<ref>  an entity's level and rule results per scorecard
POST /api/dora/deployments|changes|incidents   delivery events, one object or a JSON array (token auth)
GET  /api/dora/metrics?entity=|group=|system=<ref>&days=30   the four keys
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Entity
from catalog.refs import InvalidEntityRef, parse_entity_ref
from portal import audit

from .. import dora_events, dora_queries
from ..models import Rule, RuleResult, Scorecard, ScorecardResult


def _rule_data(rule: Rule, now) -> dict:
    return {
        "id": rule.pk,
        "name": rule.name,
        "description": rule.description,
        "level": rule.level.name,
        "state": rule.state,
        "enabled_from": rule.enabled_from.isoformat() if rule.enabled_from else None,
        "status": rule.status(now),
        "blocking": rule.blocking,
        "owner": rule.owner,
        "check": rule.check_spec,
        "how_to_fix": rule.how_to_fix,
    }


class ScorecardListView(APIView):
    @extend_schema(summary="Scorecards with their levels and rules", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        now = timezone.now()
        data = []
        for scorecard in Scorecard.objects.prefetch_related("levels", "rules__level"):
            data.append({
                "id": scorecard.pk,
                "name": scorecard.name,
                "description": scorecard.description,
                "url": request.build_absolute_uri(scorecard.get_absolute_url()),
                "filter": {
                    "kinds": scorecard.kinds,
                    "spec_types": scorecard.spec_types,
                    "lifecycles": scorecard.lifecycles,
                    "tags": scorecard.tags,
                    "owners": scorecard.owners,
                },
                "levels": [
                    {"id": level.pk, "name": level.name, "order": level.order, "colour": level.colour}
                    for level in scorecard.levels.all()
                ],
                "rules": [_rule_data(rule, now) for rule in scorecard.rules.all()],
                "last_evaluated_at": scorecard.last_evaluated_at.isoformat() if scorecard.last_evaluated_at else None,
            })
        return Response(data)


def _ref(value: str, default_kind: str, name: str) -> str:
    try:
        return parse_entity_ref(value.strip(), default_kind).canonical
    except InvalidEntityRef as exc:
        raise ValidationError({name: [str(exc)]})


class ScorecardResultsView(APIView):
    @extend_schema(
        summary="An entity's scorecard results",
        parameters=[OpenApiParameter("entity", str, required=True, description="Entity ref, e.g. component:default/x")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        raw = request.query_params.get("entity", "")
        if not raw.strip():
            raise ValidationError({"entity": ["is required: an entity ref such as component:default/payments"]})
        ref = _ref(raw, "component", "entity")
        entity = Entity.objects.filter(ref=ref).first()
        if entity is None:
            raise NotFound(f"No entity {ref} in the catalog.")
        now = timezone.now()
        results = ScorecardResult.objects.filter(entity=entity).select_related("scorecard", "level")
        outcomes = {r.rule_id: r for r in RuleResult.objects.filter(entity=entity)}
        cards = []
        for result in sorted(results, key=lambda r: r.scorecard.name):
            rules = []
            for rule in result.scorecard.rules.select_related("level"):
                rule_status = rule.status(now)
                if rule_status == "disabled":
                    continue
                outcome = outcomes.get(rule.pk)
                rules.append({
                    "id": rule.pk,
                    "name": rule.name,
                    "level": rule.level.name,
                    "status": rule_status,
                    "blocking": rule.blocking,
                    "passed": outcome.passed if outcome else None,
                    "observed": outcome.observed if outcome else None,
                    "message": outcome.message if outcome else "",
                    "evaluated_at": outcome.evaluated_at.isoformat() if outcome else None,
                })
            cards.append({
                "id": result.scorecard_id,
                "name": result.scorecard.name,
                "level": result.level.name if result.level else None,
                "evaluated_at": result.evaluated_at.isoformat(),
                "rules": rules,
            })
        return Response({"entity": entity.ref, "scorecards": cards})


# ---------------------------------------------------------------- DORA


class CanSendEvents(BasePermission):
    """Event senders need the model's add permission (staff superusers have it; grant it to CI users)."""

    message = "This account may not send delivery events; it needs the 'add' permission on them."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(f"scorecards.add_{view.kind}"))


class EventView(APIView):
    kind = ""  # deployment, change or incident
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [CanSendEvents]
    parser_classes = [JSONParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    def post(self, request):
        try:
            payload = request.data
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            message = f"is larger than {limit} bytes; send the events in several requests"
            return Response(
                {"detail": f"payload: {message}", "errors": [{"index": 0, "field": "payload", "message": message}]},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            parsed = dora_events.parse_batch(self.kind, payload)
        except dora_events.BatchError as exc:
            return Response(
                {"detail": str(exc), "errors": [error.as_dict() for error in exc.errors]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        report = dora_events.store(self.kind, parsed)
        # Scorecard rules reading DORA figures see the new events: re-evaluate the entities they touch.
        dora_events.reevaluate_after_commit(report.refs)
        audit.record(
            request.user, f"scorecards.{self.kind}.post", None, request=request, object_type=f"scorecards.{self.kind}",
            object_repr=f"{report.received} {self.kind} event(s)", after=report.as_dict(),
            message=f"{report.created} created, {report.updated} updated",
        )
        return Response(report.as_dict(), status=status.HTTP_200_OK)


class DeploymentsView(EventView):
    kind = "deployment"

    @extend_schema(summary="Record deployments (one object or a JSON array), upserted by external_id",
                   request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        return super().post(request)


class ChangesView(EventView):
    kind = "change"

    @extend_schema(summary="Record changes (commits), upserted by external_id (the sha when absent)",
                   request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        return super().post(request)


class IncidentsView(EventView):
    kind = "incident"

    @extend_schema(summary="Record incidents, upserted by external_id", request=OpenApiTypes.OBJECT,
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        return super().post(request)


class MetricsView(APIView):
    @extend_schema(
        summary="The four keys for an entity, a team, a system or the whole organisation",
        parameters=[
            OpenApiParameter("entity", str, description="Entity ref (default kind component)"),
            OpenApiParameter("group", str, description="Owning group ref"),
            OpenApiParameter("system", str, description="System ref"),
            OpenApiParameter("days", int, description="Window in days before now (7 to 365, default 30)"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        given = {name: request.query_params.get(name, "").strip() for name in ("entity", "group", "system")}
        chosen = [(name, value) for name, value in given.items() if value]
        if len(chosen) > 1:
            raise ValidationError({"detail": "Give one of entity, group or system, not several."})
        if chosen:
            name, value = chosen[0]
            default_kind = {"entity": "component", "group": "group", "system": "system"}[name]
            scope = dora_queries.Scope(name, _ref(value, default_kind, name))
        else:
            scope = dora_queries.Scope()
        raw_days = request.query_params.get("days", str(dora_queries.DEFAULT_DAYS)).strip()
        if not raw_days.isdigit() or not dora_queries.MIN_DAYS <= int(raw_days) <= dora_queries.MAX_DAYS:
            raise ValidationError(
                {"days": [f"must be a whole number from {dora_queries.MIN_DAYS} to {dora_queries.MAX_DAYS}"]}
            )
        window = dora_queries.Window.last(int(raw_days), timezone.now())
        return Response(dora_queries.metrics(scope, window).as_api())
