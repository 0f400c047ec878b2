from django.apps import AppConfig


class ScorecardsConfig(AppConfig):
    name = "scorecards"
    verbose_name = "Scorecards and DORA"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from catalog.ingest import entities_changed

        from . import dora_events
        from .tasks import on_entities_changed

        entities_changed.connect(on_entities_changed, dispatch_uid="scorecards.evaluate_changed_entities")
        dora_events.connect_signals()

    def home_cards(self, user):
        from django.urls import reverse

        from portal.extensions import HomeCard

        from .models import Scorecard

        return [HomeCard("Scorecards", Scorecard.objects.count(), reverse("scorecards:index"),
                         "Rules and levels every service is held to")]

    def search(self, query, user, limit):
        from django.db.models import Q

        from portal.extensions import SearchHit

        from .models import Initiative, Scorecard

        text = (query or "").strip()[:200]
        if not text:
            return []
        hits = []
        for position, scorecard in enumerate(
            Scorecard.objects.filter(Q(name__icontains=text) | Q(description__icontains=text))[:limit]
        ):
            hits.append(SearchHit(title=scorecard.name, url=scorecard.get_absolute_url(), category="Scorecard",
                                  excerpt=scorecard.description[:240], score=6.0 - position * 0.1))
        for position, initiative in enumerate(
            Initiative.objects.filter(Q(name__icontains=text) | Q(description__icontains=text))[:limit]
        ):
            hits.append(SearchHit(title=initiative.name, url=initiative.get_absolute_url(), category="Initiative",
                                  excerpt=initiative.description[:240], score=5.5 - position * 0.1))
        return hits

    def entity_tabs(self, entity):
        from .views import entity_tabs

        return entity_tabs(entity)

    def render_entity_tab(self, request, entity, slug):
        from .views import render_entity_tab

        return render_entity_tab(request, entity, slug)
