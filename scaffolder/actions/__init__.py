"""Scaffolder actions: the registry, the context handlers get, and the built-in families.

Public API::

    registry = default_registry()          # a new registry with every built-in action
    registry.get("fetch:template")         # Action(id, description, input_schema, handler, ...)

Families: fetch (fetch:plain, fetch:plain:file, fetch:template), fs (fs:delete, fs:rename),
debug (debug:log, debug:wait), catalog (catalog:write, catalog:fetch, catalog:register),
publish (publish:git, publish:github, publish:gitlab).
"""

from __future__ import annotations

from scaffolder.actions import catalog, debug, fetch, fs, publish
from scaffolder.actions.catalog import InMemoryCatalog
from scaffolder.actions.publish import GitHostConfig, git_hosts_from_settings
from scaffolder.actions.readers import GitCheckoutReader, LocalDirectoryReader
from scaffolder.actions.registry import (
    Action,
    ActionCancelled,
    ActionContext,
    ActionError,
    ActionInputError,
    ActionRegistry,
    CatalogAdapter,
    ReaderError,
    TemplateReader,
    UnsupportedActionError,
    UserInfo,
    validate_input,
)

BUILTIN_ACTIONS = [*fetch.ACTIONS, *fs.ACTIONS, *debug.ACTIONS, *catalog.ACTIONS, *publish.ACTIONS]


def default_registry() -> ActionRegistry:
    """A fresh registry holding the built-in actions (callers may register more)."""
    return ActionRegistry(BUILTIN_ACTIONS)


__all__ = [
    "BUILTIN_ACTIONS",
    "Action",
    "ActionCancelled",
    "ActionContext",
    "ActionError",
    "ActionInputError",
    "ActionRegistry",
    "CatalogAdapter",
    "GitCheckoutReader",
    "GitHostConfig",
    "InMemoryCatalog",
    "LocalDirectoryReader",
    "ReaderError",
    "TemplateReader",
    "UnsupportedActionError",
    "UserInfo",
    "default_registry",
    "git_hosts_from_settings",
    "validate_input",
]
