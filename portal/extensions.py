"""How the apps plug into the portal's shared pages without the portal importing them.

An app's AppConfig may define:
- ``home_cards(user) -> list[HomeCard]``: counts shown on the home page;
- ``search(query, user, limit) -> list[SearchHit]``: results for the global search box.
An app may ship ``<app>/demo.py`` with ``load(out)``: ``manage.py demo`` runs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import AppConfig, apps

OUR_APPS = ("portal", "catalog", "scaffolder", "provisioning", "techdocs", "scorecards")


@dataclass(frozen=True)
class HomeCard:
    title: str
    count: int
    url: str
    description: str = ""


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    category: str
    excerpt: str = ""
    score: float = 0.0


def our_app_configs() -> Iterator[AppConfig]:
    for label in OUR_APPS:
        if label in apps.app_configs:  # by label: scaffolder.provisioning's is "provisioning"
            yield apps.get_app_config(label)


def home_cards(user) -> list[HomeCard]:
    cards: list[HomeCard] = []
    for config in our_app_configs():
        hook = getattr(config, "home_cards", None)
        if hook:
            cards.extend(hook(user))
    return cards


def search(query: str, user, limit: int = 20) -> list[SearchHit]:
    hits: list[SearchHit] = []
    for config in our_app_configs():
        hook = getattr(config, "search", None)
        if hook:
            hits.extend(hook(query, user, limit))
    hits.sort(key=lambda hit: -hit.score)
    return hits[:limit]


def demo_loaders():
    """Yield (app label, load function) for every app that ships demo data, in app order."""
    for config in our_app_configs():
        module_name = f"{config.name}.demo"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        yield config.label, module.load
