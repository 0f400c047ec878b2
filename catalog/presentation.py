"""What the catalog pages show about an entity, gathered in a few queries."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe

from . import ownership
from .models import Entity, Relation

# How relation types read on a page, in the order they are shown.
RELATION_LABELS = OrderedDict(
    [
        ("ownedBy", "Owned by"),
        ("partOf", "Part of"),
        ("hasPart", "Has parts"),
        ("providesApi", "Provides APIs"),
        ("consumesApi", "Consumes APIs"),
        ("apiProvidedBy", "Provided by"),
        ("apiConsumedBy", "Consumed by"),
        ("dependsOn", "Depends on"),
        ("dependencyOf", "Dependency of"),
        ("memberOf", "Member of"),
        ("hasMember", "Members"),
        ("parentOf", "Child groups"),
        ("childOf", "Parent group"),
        ("ownerOf", "Owns"),
    ]
)


@dataclass
class RelatedEntity:
    ref: str
    kind: str
    namespace: str
    name: str
    title: str
    exists: bool
    url: str | None
    description: str = ""
    spec_type: str = ""


@dataclass
class RelationGroup:
    type: str
    label: str
    items: list[RelatedEntity] = field(default_factory=list)


@dataclass
class Tab:
    slug: str
    title: str
    url: str


def split_ref(ref: str) -> tuple[str, str, str]:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return kind, namespace, name


def entity_url(ref: str) -> str:
    kind, namespace, name = split_ref(ref)
    return reverse("catalog:entity", args=[namespace, kind, name])


def short_ref(ref: str, *, default_kind: str | None = None) -> str:
    """`group:default/team-a` reads as `team-a` where kind and namespace go without saying."""
    kind, namespace, name = split_ref(ref)
    text = name if namespace == "default" else f"{namespace}/{name}"
    return text if default_kind and kind == default_kind else f"{kind}:{text}"


def facet_label(param: str, value: str) -> str:
    if param in {"owner", "system"}:
        return short_ref(value, default_kind="group" if param == "owner" else "system")
    return value


def related_entities(refs: list[str]) -> dict[str, RelatedEntity]:
    found = {
        e.ref: e
        for e in Entity.objects.filter(ref__in=set(refs)).only(
            "ref", "kind", "namespace", "name", "title", "description", "spec_type"
        )
    }
    result = {}
    for ref in refs:
        kind, namespace, name = split_ref(ref)
        entity = found.get(ref)
        result[ref] = RelatedEntity(
            ref=ref, kind=kind, namespace=namespace, name=name,
            title=(entity.title or entity.name) if entity else name,
            exists=entity is not None,
            url=entity_url(ref) if entity else None,
            description=entity.description if entity else "",
            spec_type=entity.spec_type if entity else "",
        )
    return result


def grouped_relations(entity: Entity) -> list[RelationGroup]:
    rows = list(
        Relation.objects.filter(source_ref=entity.ref).values_list("type", "target_ref").distinct().order_by(
            "type", "target_ref"
        )
    )
    targets = related_entities([target for _, target in rows])
    groups: dict[str, RelationGroup] = {}
    for relation_type, target in rows:
        label = RELATION_LABELS.get(relation_type, relation_type)
        groups.setdefault(relation_type, RelationGroup(relation_type, label)).items.append(targets[target])
    order = list(RELATION_LABELS)
    return sorted(groups.values(), key=lambda g: (order.index(g.type) if g.type in order else 99, g.type))


def header_facts(entity: Entity) -> list[tuple[str, Any]]:
    """The header's key facts: owner, system, domain, type, lifecycle, namespace."""
    spec = entity.spec
    facts: list[tuple[str, Any]] = []
    if entity.owner_ref:
        facts.append(("Owner", related_entities([entity.owner_ref])[entity.owner_ref]))
    if entity.system_ref:
        facts.append(("System", related_entities([entity.system_ref])[entity.system_ref]))
    if entity.kind == "system" and spec.get("domain"):
        ref = Relation.objects.filter(source_ref=entity.ref, type="partOf", target_ref__startswith="domain:").first()
        if ref:
            facts.append(("Domain", related_entities([ref.target_ref])[ref.target_ref]))
    elif entity.system_ref:
        domain = Relation.objects.filter(
            source_ref=entity.system_ref, type="partOf", target_ref__startswith="domain:"
        ).first()
        if domain:
            facts.append(("Domain", related_entities([domain.target_ref])[domain.target_ref]))
    if entity.spec_type:
        facts.append(("Type", entity.spec_type))
    if entity.lifecycle:
        facts.append(("Lifecycle", entity.lifecycle))
    facts.append(("Namespace", entity.namespace))
    profile = spec.get("profile") if isinstance(spec.get("profile"), dict) else {}
    if profile.get("email"):
        facts.append(("Email", profile["email"]))
    return facts


def kind_sections(entity: Entity, relations: list[RelationGroup]) -> list[RelationGroup]:
    """The list sections a kind gets on its overview: members, owned entities, parts."""
    wanted = {
        "group": ["hasMember", "parentOf", "ownerOf"],
        "user": ["memberOf", "ownerOf"],
        "system": ["hasPart"],
        "domain": ["hasPart"],
    }.get(entity.kind, [])
    by_type = {g.type: g for g in relations}
    return [by_type[t] for t in wanted if t in by_type]


def can_act(user, entity: Entity) -> bool:
    return ownership.can_act(user, entity)


def entity_tabs(entity: Entity) -> list[Tab]:
    """Overview, the API definition for APIs, then tabs other apps add through `entity_tabs(entity)`."""
    args = [entity.namespace, entity.kind, entity.name]
    tabs = [Tab("overview", "Overview", reverse("catalog:entity", args=args))]
    if entity.kind == "api":
        tabs.append(Tab("definition", "Definition", reverse("catalog:entity-tab", args=[*args, "definition"])))
    for config in apps.get_app_configs():
        hook = getattr(config, "entity_tabs", None)
        if hook is None or config.label == "catalog":
            continue
        for slug, title in hook(entity):
            try:
                url = reverse("catalog:entity-tab", args=[*args, slug])
            except NoReverseMatch:
                continue
            tabs.append(Tab(slug, title, url))
    return tabs


def render_app_tab(request, entity: Entity, slug: str) -> str:
    for config in apps.get_app_configs():
        renderer = getattr(config, "render_entity_tab", None)
        if renderer is not None and config.label != "catalog":
            html = renderer(request, entity, slug)
            if html is not None:
                return html
    return ""


def graph_svg(entity: Entity, depth: int = 1) -> str:
    """The entity's neighbourhood as inline SVG (our own layout: no Graphviz, no JavaScript)."""
    from .graph import GraphNode, neighbourhood, render_neighbourhood_svg

    rows = list(
        Relation.objects.filter(source_ref=entity.ref).values_list("source_ref", "type", "target_ref")
    ) + list(Relation.objects.filter(target_ref=entity.ref).values_list("source_ref", "type", "target_ref"))
    around = neighbourhood(entity.ref, rows, depth=depth)
    refs, edges = around
    if len(refs) <= 1:
        return ""
    info = related_entities(sorted(refs))
    nodes = [
        GraphNode(ref=ref, label=item.title or item.name, kind=item.kind, url=item.url, missing=not item.exists)
        for ref, item in info.items()
    ]
    graph_edges = list(edges)
    svg = render_neighbourhood_svg(entity.ref, nodes, graph_edges, omitted=around.omitted)
    return mark_safe(svg)  # noqa: S308 - escaped by graph.py


def api_definition(entity: Entity) -> dict[str, Any]:
    """An API's definition prepared for reading: OpenAPI as operations, anything else highlighted."""
    from .api_definition import describe_definition

    return describe_definition(entity.spec.get("type", ""), entity.spec.get("definition"))


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def pretty_yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=False, default_flow_style=False)
