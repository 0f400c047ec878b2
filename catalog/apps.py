from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Software catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def home_cards(self, user):
        from django.db.models import Count
        from django.urls import reverse

        from portal.extensions import HomeCard

        from .models import Entity

        counts = dict(Entity.objects.filter(orphan=False).values_list("kind").annotate(n=Count("pk")))
        url = reverse("catalog:index")
        shown = [("component", "Components"), ("api", "APIs"), ("resource", "Resources"), ("system", "Systems"),
                 ("group", "Teams and groups")]
        return [HomeCard(label, counts.get(kind, 0), f"{url}?kind={kind}") for kind, label in shown]

    def search(self, query, user, limit):
        from portal.extensions import SearchHit

        from .search import search

        hits = []
        for position, entity in enumerate(search(query, limit)):
            subtitle = " · ".join(
                part for part in [entity.data.get("kind", entity.kind), entity.spec_type,
                                  entity.owner_ref.split("/")[-1] if entity.owner_ref else ""] if part
            )
            hits.append(SearchHit(
                title=entity.title or entity.name,
                url=entity.get_absolute_url(),
                category=subtitle,
                excerpt=(entity.description or "")[:240],
                score=10.0 - position * 0.1,
            ))
        return hits
