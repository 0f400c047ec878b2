"""Catalog pages: the entity list with facets, entity pages, locations and the import flow."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal import audit

from . import presentation, versioning
from .forms import RegisterLocationForm
from .ingest import (
    LocationNotAllowed,
    check_target_allowed,
    orphan_location_entities,
    read_and_prepare,
    refresh_location,
)
from .models import Entity, EntityTag, Location
from .reading import LocationReadError

PAGE_SIZE = 50

# Facets shown on the list: (query parameter, label, column).
FACETS = [
    ("kind", "Kind", "kind"),
    ("type", "Type", "spec_type"),
    ("owner", "Owner", "owner_ref"),
    ("lifecycle", "Lifecycle", "lifecycle"),
    ("system", "System", "system_ref"),
    ("namespace", "Namespace", "namespace"),
    ("tag", "Tag", None),
]
FACET_LIMIT = 12
FACET_CACHE_SECONDS = 600
SORTS = OrderedDict(
    [
        ("name", ("name", "Name")),
        ("kind", ("kind", "Kind")),
        ("type", ("spec_type", "Type")),
        ("owner", ("owner_ref", "Owner")),
        ("lifecycle", ("lifecycle", "Lifecycle")),
        ("updated", ("-updated_at", "Recently updated")),
    ]
)


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    active: bool
    url: str


def _selected(request: HttpRequest) -> dict[str, list[str]]:
    return {param: [v.lower() for v in request.GET.getlist(param) if v] for param, _, _ in FACETS}


def _filtered(selected: dict[str, list[str]], text: str, status: str, *, skip: str | None = None):
    entities = Entity.objects.all()
    for param, _, column in FACETS:
        values = selected.get(param) or []
        if not values or param == skip:
            continue
        if column is None:
            entities = entities.filter(tag_rows__tag__in=values)
        else:
            entities = entities.filter(**{f"{column}__in": values})
    if text:
        for word in text.lower().split()[:8]:
            entities = entities.filter(search_text__contains=word)
    if status == "orphan":
        entities = entities.filter(orphan=True)
    elif status == "error":
        entities = entities.filter(has_errors=True)
    return entities


def _toggle_url(request: HttpRequest, param: str, value: str) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    values = [v for v in query.getlist(param)]
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    query.setlist(param, values)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


def _cache_key(kind: str, version: int, selected, text: str, status: str) -> str:
    filters = json.dumps([sorted((k, sorted(v)) for k, v in selected.items() if v), text.lower(), status])
    digest = hashlib.sha1(filters.encode(), usedforsecurity=False).hexdigest()
    return f"catalog:{kind}:{version}:{digest}"


def _facet_counts(version: int, selected, text: str, status: str) -> dict[str, list[tuple[str, int]]]:
    """Counts per facet value, each facet counted under every filter but its own (cached per version)."""
    key = _cache_key("facets", version, selected, text, status)
    counts = cache.get(key)
    if counts is None:
        counts = {param: _count_facet(param, column, selected, text, status) for param, _, column in FACETS}
        cache.set(key, counts, FACET_CACHE_SECONDS)
    return counts


def _count_facet(param: str, column: str | None, selected, text: str, status: str) -> list[tuple[str, int]]:
    base = _filtered(selected, text, status, skip=param)
    if column is None:
        rows = (
            EntityTag.objects.filter(entity__in=base.values("pk"))
            .values_list("tag")
            .annotate(n=Count("entity_id"))
            .order_by("-n", "tag")[:FACET_LIMIT]
        )
    else:
        rows = (
            base.exclude(**{column: ""})
            .values_list(column)
            .annotate(n=Count("pk"))
            .order_by("-n", column)[:FACET_LIMIT]
        )
    return [(value, count) for value, count in rows]


def _facets(request: HttpRequest, version: int, selected, text: str, status: str) -> list[dict]:
    facets = []
    counts = _facet_counts(version, selected, text, status)
    for param, label, _column in FACETS:
        rows = counts[param]
        active = set(selected.get(param) or [])
        values = [
            FacetValue(value, presentation.facet_label(param, value), count, value in active,
                       _toggle_url(request, param, value))
            for value, count in rows
        ]
        # A selected value stays visible (to be switched off) even when it falls outside the top list.
        shown = {v.value for v in values}
        values += [
            FacetValue(value, presentation.facet_label(param, value), 0, True, _toggle_url(request, param, value))
            for value in active - shown
        ]
        if values:
            facets.append({"param": param, "label": label, "values": values})
    return facets


def entity_list(request: HttpRequest):
    selected = _selected(request)
    text = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "")
    sort_key = request.GET.get("sort", "name")
    column, _ = SORTS.get(sort_key.lstrip("-"), SORTS["name"])
    if sort_key.startswith("-"):
        column = column[1:] if column.startswith("-") else f"-{column}"
    entities = _filtered(selected, text, status).order_by(column, "ref")
    paginator = Paginator(
        entities.only(
            "ref", "kind", "namespace", "name", "title", "description", "spec_type", "lifecycle", "owner_ref",
            "system_ref", "tags", "orphan", "has_errors", "data",
        ),
        PAGE_SIZE,
    )
    version = versioning.current()
    count_key = _cache_key("count", version, selected, text, status)
    total = cache.get(count_key)
    if total is None:
        total = paginator.count
        cache.set(count_key, total, FACET_CACHE_SECONDS)
    paginator.count = total  # Paginator.count is a cached property: give it the cached figure
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = request.GET.copy()
    sort_query.pop("sort", None)
    sort_query.pop("page", None)
    context = {
        "page": page,
        "facets": _facets(request, version, selected, text, status),
        "text": text,
        "status": status,
        "sort": sort_key,
        "sorts": [(key, label) for key, (_, label) in SORTS.items()],
        "querystring": query.urlencode(),
        "sort_querystring": sort_query.urlencode(),
        "any_filter": any(selected.values()) or bool(text) or bool(status),
        "location_count": Location.objects.count(),
    }
    template = "catalog/entity_list.html#results" if request.htmx else "catalog/entity_list.html"
    return render(request, template, context)


def _entity_or_404(namespace: str, kind: str, name: str) -> Entity:
    ref = f"{kind}:{namespace}/{name}".lower()
    entity = Entity.objects.select_related("location").filter(ref=ref).first()
    if entity is None:
        raise Http404(f"No entity {ref} in the catalog.")
    return entity


def entity_detail(request: HttpRequest, namespace: str, kind: str, name: str, tab: str = "overview"):
    entity = _entity_or_404(namespace, kind, name)
    tabs = presentation.entity_tabs(entity)
    if tab not in {t.slug for t in tabs}:
        raise Http404(f"No tab {tab!r} for {entity.ref}.")
    relations = presentation.grouped_relations(entity)
    context = {
        "entity": entity,
        "tabs": tabs,
        "tab": tab,
        "relations": relations,
        "header": presentation.header_facts(entity),
        "can_act": presentation.can_act(request.user, entity),
    }
    if tab == "overview":
        context["graph_svg"] = presentation.graph_svg(entity)
        context["sections"] = presentation.kind_sections(entity, relations)
    elif tab == "definition":
        context["definition"] = presentation.api_definition(entity)
    else:
        context["tab_html"] = presentation.render_app_tab(request, entity, tab)
    return render(request, "catalog/entity_detail.html", context)


def location_list(request: HttpRequest):
    locations = Location.objects.annotate(entity_count=Count("entities")).order_by("target")
    return render(request, "catalog/location_list.html", {"locations": locations})


def location_detail(request: HttpRequest, pk):
    location = get_object_or_404(Location, pk=pk)
    entities = location.entities.order_by("kind", "name").only(
        "ref", "kind", "namespace", "name", "title", "orphan", "has_errors", "data"
    )
    page = Paginator(entities, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/location_detail.html",
        {"location": location, "page": page, "can_delete": _can_manage_location(request.user, location)},
    )


def _can_manage_location(user, location: Location) -> bool:
    return user.is_authenticated and (user.is_staff or location.created_by_id == user.pk)


@require_POST
def location_refresh(request: HttpRequest, pk):
    location = get_object_or_404(Location, pk=pk)
    report = refresh_location(location, force=True)
    audit.record(request.user, "catalog.location.refresh", location, message=report.summary(), request=request)
    level = messages.ERROR if report.status == "failed" else (messages.WARNING if report.errors else messages.SUCCESS)
    messages.add_message(request, level, report.summary())
    return redirect(location)


@require_POST
def location_delete(request: HttpRequest, pk):
    location = get_object_or_404(Location, pk=pk)
    if not _can_manage_location(request.user, location):
        raise PermissionDenied("Only the person who registered this location, or staff, may remove it.")
    before = {"type": location.type, "target": location.target, "git_ref": location.git_ref}
    orphaned = orphan_location_entities(location)
    audit.record(request.user, "catalog.location.delete", location, before=before, request=request,
                 message=f"{orphaned} entities orphaned")
    location.delete()
    messages.success(
        request,
        f"Location removed. Its {orphaned} entities are kept as orphans until staff remove them.",
    )
    return redirect("catalog:locations")


@staff_member_required
@require_POST
def entity_delete(request: HttpRequest, namespace: str, kind: str, name: str):
    entity = _entity_or_404(namespace, kind, name)
    if not entity.orphan:
        messages.error(request, "Only orphaned entities can be removed; others come back on the next refresh.")
        return redirect(entity)
    audit.record(request.user, "catalog.entity.delete", entity, before={"ref": entity.ref}, request=request)
    entity.delete()
    versioning.bump()
    messages.success(request, f"{entity.ref} removed from the catalog.")
    return redirect(reverse("catalog:index") + "?status=orphan")


def location_register(request: HttpRequest):
    """Register a location: analyse it first (preview, nothing stored), then import on confirmation."""
    form = RegisterLocationForm(request.POST or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        location = Location(type=data["type"], target=data["target"], git_ref=data["git_ref"],
                            git_path=data["git_path"])
        existing = Location.objects.filter(
            type=location.type, target=location.target, git_ref=location.git_ref, git_path=location.git_path
        ).first()
        try:
            check_target_allowed(location.type, location.target)
            preview = read_and_prepare(location)
        except (LocationNotAllowed, LocationReadError) as exc:
            form.add_error("target", str(exc))
        else:
            if existing is not None:
                messages.info(request, "This location is already registered; showing it instead.")
                return redirect(existing)
            if request.POST.get("confirm") == "import":
                location.created_by = request.user
                location.save()
                report = refresh_location(location)
                audit.record(request.user, "catalog.location.register", location, request=request,
                             after={"type": location.type, "target": location.target, "git_ref": location.git_ref,
                                    "git_path": location.git_path}, message=report.summary())
                level = messages.WARNING if report.errors else messages.SUCCESS
                messages.add_message(request, level, f"Location registered. {report.summary()}")
                return redirect(location)
    return render(request, "catalog/location_register.html", {"form": form, "preview": preview})
