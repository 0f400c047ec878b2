from django.apps import AppConfig


class ScaffolderConfig(AppConfig):
    name = "scaffolder"
    verbose_name = "Software templates"
    default_auto_field = "django.db.models.BigAutoField"

    def home_cards(self, user):
        from django.urls import reverse

        from catalog.models import Entity
        from portal.extensions import HomeCard

        from .models import Task

        cards = [HomeCard("Software templates", Entity.objects.filter(kind="template", orphan=False).count(),
                          reverse("scaffolder:index"), "Start something new")]
        if getattr(user, "is_authenticated", False):
            cards.append(HomeCard("My template runs", Task.objects.filter(created_by=user).count(),
                                  reverse("scaffolder:tasks")))
        return cards

    def search(self, query, user, limit):
        from django.db.models import Q
        from django.urls import reverse

        from catalog.models import Entity
        from portal.extensions import SearchHit

        words = query.lower().split()[:8]
        if not words:
            return []
        templates = Entity.objects.filter(kind="template", orphan=False)
        for word in words:
            templates = templates.filter(Q(search_text__contains=word))
        hits = []
        for position, entity in enumerate(templates.order_by("name")[:limit]):
            hits.append(SearchHit(
                title=entity.title or entity.name,
                url=reverse("scaffolder:template", args=[entity.namespace, entity.name]),
                category="Software template",
                excerpt=(entity.description or "")[:240],
                score=9.5 - position * 0.1,
            ))
        return hits

    def entity_tabs(self, entity):
        return [("runs", "Runs")] if entity.kind == "template" else []

    def render_entity_tab(self, request, entity, slug):
        if slug != "runs" or entity.kind != "template":
            return None
        from django.template.loader import render_to_string

        from .models import Task

        tasks = Task.objects.filter(template_ref=entity.ref).select_related("created_by").defer("template", "output")
        if not request.user.is_staff:
            tasks = tasks.filter(created_by=request.user) if request.user.is_authenticated else tasks.none()
        return render_to_string("scaffolder/entity_tab.html", {"entity": entity, "tasks": tasks[:50]},
                                request=request)
