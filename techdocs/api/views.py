"""TechDocs API: a site's build status, and asking for a build (token-authenticated, for CI).

GET  /api/techdocs/<namespace>/<kind>/<name>        the site's status, build time, revision and pages
POST /api/techdocs/<namespace>/<kind>/<name>/build  build now (owners and staff); {"force": true}
     rebuilds even when the source is unchanged. 200 with the outcome when the build ran in-process,
     202 when it was queued for a worker.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Entity
from catalog.ownership import can_act
from portal import audit

from ..models import DocSite, page_url, site_url
from ..publish import techdocs_ref


class BuildRequestSerializer(serializers.Serializer):
    force = serializers.BooleanField(required=False, default=False)


def _entity(namespace: str, kind: str, name: str) -> Entity:
    ref = f"{kind}:{namespace}/{name}".lower()
    entity = Entity.objects.filter(ref=ref).first()
    if entity is None:
        raise NotFound(f"No entity {ref} in the catalog.")
    return entity


def _site_data(entity: Entity, site: DocSite | None) -> dict:
    data = {
        "entity": entity.ref,
        "techdocsRef": techdocs_ref(entity) or None,
        "url": site_url(entity),
        "status": site.status if site else "pending",
    }
    if site is not None:
        data.update({
            "siteName": site.site_name,
            "builtAt": site.built_at.isoformat() if site.built_at else None,
            "lastAttemptAt": site.last_attempt_at.isoformat() if site.last_attempt_at else None,
            "revision": site.revision,
            "sourceHash": site.source_hash,
            "lastError": site.last_error or None,
            "pages": [
                {"path": path, "title": title, "url": page_url(entity, path)}
                for path, title in site.pages.order_by("order").values_list("path", "title")
            ],
        })
    return data


class SiteView(APIView):
    @extend_schema(summary="A docs site's build status and pages", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, namespace, kind, name):
        entity = _entity(namespace, kind, name)
        site = DocSite.objects.filter(entity=entity).first()
        if site is None and not techdocs_ref(entity):
            raise NotFound(f"{entity.ref} has no docs.")
        return Response(_site_data(entity, site))


class BuildView(APIView):
    @extend_schema(
        summary="Build an entity's docs",
        request=BuildRequestSerializer,
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT,
                   403: OpenApiResponse(description="Not an owner")},
    )
    def post(self, request, namespace, kind, name):
        entity = _entity(namespace, kind, name)
        if not can_act(request.user, entity):
            raise PermissionDenied("Only the entity's owners, or staff, may build its docs.")
        if not techdocs_ref(entity):
            raise ValidationError({"detail": f"{entity.ref} has no backstage.io/techdocs-ref annotation."})
        body = BuildRequestSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        force = body.validated_data["force"]

        from ..tasks import build_entity

        result = build_entity.delay(entity.ref, force=force)
        site = DocSite.objects.filter(entity=entity).first()
        if result.ready():
            outcome = result.result or {}
            message = outcome.get("message", "")
            payload, code = {"outcome": outcome, "site": _site_data(entity, site)}, status.HTTP_200_OK
        else:
            message = "queued"
            payload, code = {"outcome": {"ref": entity.ref, "status": "queued"}}, status.HTTP_202_ACCEPTED
        audit.record(request.user, "techdocs.site.build", site or entity, message=message, request=request,
                     after={"entity": entity.ref, "force": force})
        return Response(payload, status=code)
