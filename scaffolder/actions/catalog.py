"""``catalog:write``, ``catalog:fetch`` and ``catalog:register``, through a CatalogAdapter.

The adapter (``scaffolder.actions.registry.CatalogAdapter``) is implemented by the Django
layer; ``InMemoryCatalog`` here is a complete small implementation for tests and tools.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import yaml

from scaffolder.actions.registry import Action, ActionContext, ActionError
from scaffolder.expressions import FilterArgumentError, parse_entity_ref


def entity_ref(entity: dict[str, Any]) -> str:
    """``kind:namespace/name`` of an entity envelope, kind in lower case (Backstage's form)."""
    metadata = entity.get("metadata") or {}
    kind = str(entity.get("kind", "")).lower()
    return f"{kind}:{metadata.get('namespace') or 'default'}/{metadata.get('name', '')}"


def _normalise_ref(ref: str) -> str:
    parsed = parse_entity_ref(ref)
    return f"{parsed['kind'].lower()}:{parsed['namespace'].lower()}/{parsed['name'].lower()}"


class InMemoryCatalog:
    """Entities in a dict; ``loader(url) -> [entities]`` gives what a registered URL holds."""

    def __init__(
        self,
        entities: Iterable[dict[str, Any]] = (),
        loader: Callable[[str], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.entities: dict[str, dict[str, Any]] = {}
        self.locations: list[str] = []
        self.loader = loader
        for entity in entities:
            self.add(entity)

    def add(self, entity: dict[str, Any]) -> None:
        self.entities[_normalise_ref(entity_ref(entity))] = entity

    def register_location(self, url: str) -> dict[str, Any]:
        if url in self.locations:
            raise ActionError(f"location {url!r} is already registered")
        loaded = self.loader(url) if self.loader else []
        self.locations.append(url)
        for entity in loaded:
            self.add(entity)
        return {"entities": loaded}

    def fetch_entity(self, ref: str) -> dict[str, Any] | None:
        return self.entities.get(_normalise_ref(ref))


def _require_catalog(ctx: ActionContext) -> Any:
    if ctx.catalog is None:
        raise ActionError("no catalog is available to this task")
    return ctx.catalog


def _write(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    path = data.get("filePath") or "catalog-info.yaml"
    text = yaml.safe_dump(data["entity"], sort_keys=False, allow_unicode=True)
    ctx.workspace.write_text(path, text)
    ctx.log(f"Wrote {path}")
    return {}


def _full_ref(ref: str, data: dict[str, Any]) -> str:
    try:
        parsed = parse_entity_ref(
            ref, {"defaultKind": data.get("defaultKind"), "defaultNamespace": data.get("defaultNamespace")}
        )
    except FilterArgumentError as exc:
        raise ActionError(f"catalog:fetch: {exc}") from None
    return f"{parsed['kind']}:{parsed['namespace']}/{parsed['name']}"


def _fetch(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    catalog = _require_catalog(ctx)
    optional = bool(data.get("optional"))
    if data.get("entityRef") is None and data.get("entityRefs") is None:
        raise ActionError("catalog:fetch needs entityRef or entityRefs")
    result: dict[str, Any] = {}
    if data.get("entityRef") is not None:
        ref = _full_ref(data["entityRef"], data)
        entity = catalog.fetch_entity(ref)
        if entity is None and not optional:
            raise ActionError(f"entity {ref!r} was not found in the catalog")
        result["entity"] = entity
    if data.get("entityRefs") is not None:
        entities = []
        for raw in data["entityRefs"]:
            ref = _full_ref(raw, data)
            entity = catalog.fetch_entity(ref)
            if entity is None and not optional:
                raise ActionError(f"entity {ref!r} was not found in the catalog")
            entities.append(entity)
        result["entities"] = entities
    return result


def catalog_info_url(data: dict[str, Any]) -> str:
    if data.get("catalogInfoUrl"):
        return str(data["catalogInfoUrl"])
    if not data.get("repoContentsUrl"):
        raise ActionError("catalog:register needs catalogInfoUrl, or repoContentsUrl (and catalogInfoPath)")
    path = str(data.get("catalogInfoPath") or "/catalog-info.yaml")
    return str(data["repoContentsUrl"]).rstrip("/") + "/" + path.lstrip("/")


def _register(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    catalog = _require_catalog(ctx)
    url = catalog_info_url(data)
    ctx.log(f"Registering {url} in the catalog")
    try:
        result = catalog.register_location(url) or {}
    except Exception as exc:
        if data.get("optional"):
            ctx.log(f"Registering {url} failed, continuing as the step is optional: {exc}")
            return {"catalogInfoUrl": url}
        raise ActionError(f"registering {url} failed: {exc}") from None
    entities = [e for e in result.get("entities") or [] if isinstance(e, dict)]
    output: dict[str, Any] = {"catalogInfoUrl": url}
    chosen = next((e for e in entities if str(e.get("kind", "")).lower() != "location"), None)
    chosen = chosen or (entities[0] if entities else None)
    if chosen is not None:
        output["entityRef"] = entity_ref(chosen)
    return output


WRITE = Action(
    id="catalog:write",
    description="Writes a catalog descriptor (catalog-info.yaml) into the workspace.",
    input_schema={
        "type": "object",
        "required": ["entity"],
        "properties": {"filePath": {"type": "string", "minLength": 1}, "entity": {"type": "object"}},
    },
    handler=_write,
    supports_dry_run=True,
)

FETCH = Action(
    id="catalog:fetch",
    description="Reads entities from the catalog.",
    input_schema={
        "type": "object",
        "properties": {
            "entityRef": {"type": "string", "minLength": 1},
            "entityRefs": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "optional": {"type": "boolean"},
            "defaultKind": {"type": "string"},
            "defaultNamespace": {"type": "string"},
        },
    },
    output_schema={"type": "object", "properties": {"entity": {"type": "object"}, "entities": {"type": "array"}}},
    handler=_fetch,
    supports_dry_run=True,
)

REGISTER = Action(
    id="catalog:register",
    description="Registers a catalog descriptor URL as a catalog location.",
    input_schema={
        "type": "object",
        "properties": {
            "catalogInfoUrl": {"type": "string", "minLength": 1},
            "repoContentsUrl": {"type": "string", "minLength": 1},
            "catalogInfoPath": {"type": "string"},
            "optional": {"type": "boolean"},
        },
        "anyOf": [{"required": ["catalogInfoUrl"]}, {"required": ["repoContentsUrl"]}],
    },
    output_schema={
        "type": "object",
        "properties": {"entityRef": {"type": "string"}, "catalogInfoUrl": {"type": "string"}},
    },
    handler=_register,
)

ACTIONS = [WRITE, FETCH, REGISTER]
