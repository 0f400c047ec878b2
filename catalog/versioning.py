"""The catalog's version: bumped on every change to entities, read by caches of derived figures.

Counting facets over 100,000 entities takes a few hundred milliseconds; the catalog changes far
less often than people look at it, so the counts are cached until the version moves.
"""

from django.db.models import F

from .models import CatalogState


def bump() -> None:
    if not CatalogState.objects.filter(pk=1).update(version=F("version") + 1):
        CatalogState.objects.get_or_create(pk=1, defaults={"version": 1})


def current() -> int:
    return CatalogState.objects.filter(pk=1).values_list("version", flat=True).first() or 0
