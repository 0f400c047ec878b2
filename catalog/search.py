"""Entity search for the global search box and the catalog's text filter.

PostgreSQL: full-text over the entity's words (name, title, description, tags, owner, type),
ranked, with a trigram similarity fallback on names so a typo still finds the entity.
SQLite (the local default): every word must appear; names that start with the query rank first.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Case, F, FloatField, IntegerField, Value, When

from .models import Entity

FIELDS = ("ref", "kind", "namespace", "name", "title", "description", "spec_type", "owner_ref", "data")


def search(query: str, limit: int = 20) -> list[Entity]:
    query = " ".join(query.split())[:200]
    if not query:
        return []
    if connection.vendor == "postgresql":
        return _search_postgresql(query, limit)
    return _search_plain(query, limit)


def _search_plain(query: str, limit: int) -> list[Entity]:
    words = query.lower().split()[:8]
    entities = Entity.objects.filter(orphan=False)
    for word in words:
        entities = entities.filter(search_text__contains=word)
    ranked = entities.annotate(
        rank=Case(
            When(name=words[0], then=Value(3)),
            When(name__startswith=words[0], then=Value(2)),
            default=Value(1),
            output_field=IntegerField(),
        )
    )
    return list(ranked.order_by("-rank", "name").only(*FIELDS)[:limit])


def _search_postgresql(query: str, limit: int) -> list[Entity]:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramSimilarity

    vector = SearchVector("search_text", config="simple")
    ts_query = SearchQuery(query, config="simple", search_type="websearch")
    hits = list(
        Entity.objects.filter(orphan=False)
        .annotate(document=vector)
        .filter(document=ts_query)
        .annotate(rank=SearchRank(F("document"), ts_query) + Case(
            When(name=query.lower(), then=Value(1.0)), default=Value(0.0), output_field=FloatField()
        ))
        .order_by("-rank", "name")
        .only(*FIELDS)[:limit]
    )
    if len(hits) < limit:
        seen = {e.pk for e in hits}
        fuzzy = (
            Entity.objects.filter(orphan=False)
            .filter(name__trigram_similar=query.lower())  # the % operator: served by the trigram index
            .annotate(similarity=TrigramSimilarity("name", query.lower()))
            .exclude(pk__in=seen)
            .order_by("-similarity", "name")
            .only(*FIELDS)[: limit - len(hits)]
        )
        hits.extend(fuzzy)
    return hits
