from django.apps import AppConfig


class TechDocsConfig(AppConfig):
    name = "techdocs"
    verbose_name = "TechDocs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from catalog.ingest import entities_changed

        from .tasks import on_entities_changed

        entities_changed.connect(on_entities_changed, dispatch_uid="techdocs.build_changed_entities")

    def home_cards(self, user):
        from django.urls import reverse

        from portal.extensions import HomeCard

        from .models import DocSite

        count = DocSite.objects.exclude(page_count=0).count()
        return [HomeCard("Docs sites", count, reverse("techdocs:index"), "Documentation built from the code")]

    def search(self, query, user, limit):
        from portal.extensions import SearchHit

        from .search import search_pages

        hits = []
        for position, hit in enumerate(search_pages(query, limit=limit)):
            hits.append(SearchHit(
                title=hit.title,
                url=hit.url,
                category=f"Docs · {hit.site_title}",
                excerpt=hit.excerpt,
                score=8.0 - position * 0.1,
            ))
        return hits

    def entity_tabs(self, entity):
        from .publish import techdocs_ref

        return [("docs", "Docs")] if techdocs_ref(entity) else []

    def render_entity_tab(self, request, entity, slug):
        if slug != "docs":
            return None
        from .views import render_docs_tab

        return render_docs_tab(request, entity)
