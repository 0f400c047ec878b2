from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _seed_offerings(sender, **kwargs):
    from .models import seed_builtin_offerings

    seed_builtin_offerings()


class ProvisioningConfig(AppConfig):
    name = "scaffolder.provisioning"
    label = "provisioning"
    verbose_name = "Self-service provisioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_seed_offerings, sender=self, dispatch_uid="provisioning.seed_offerings")

    def home_cards(self, user):
        from django.urls import reverse

        from portal.extensions import HomeCard

        from .models import Claim

        count = Claim.objects.holding().count()
        url = reverse("provisioning:index")
        return [HomeCard("Provisioned resources", count, url, "Databases, caches and environments")]

    def search(self, query, user, limit):
        from django.db.models import Q

        from portal.extensions import SearchHit

        from .models import Claim

        words = query.lower().split()[:5]
        if not words:
            return []
        claims = Claim.objects.holding()
        for word in words:
            claims = claims.filter(Q(name__icontains=word) | Q(team__icontains=word) | Q(offering__icontains=word))
        return [
            SearchHit(
                title=f"{claim.name} ({claim.offering_title})",
                url=claim.get_absolute_url(),
                category=f"Resource · {claim.team}",
                excerpt=str(claim.values.get("purpose") or "")[:240],
                score=6.0 - position * 0.1,
            )
            for position, claim in enumerate(claims.order_by("team", "name")[:limit])
        ]

    def entity_tabs(self, entity):
        if entity.kind != "resource":
            return []
        from .views import claim_for_entity, tab_title

        claim = claim_for_entity(entity)
        return [("claim", tab_title(claim))] if claim is not None else []

    def render_entity_tab(self, request, entity, slug):
        if slug != "claim" or entity.kind != "resource":
            return None
        from .views import render_claim_tab

        return render_claim_tab(request, entity)
