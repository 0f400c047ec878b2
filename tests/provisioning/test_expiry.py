"""TTLs: preview environments past their TTL are released (one commit each, audited); those expiring
within a day are flagged and shown with a warning on the resources page and the catalog page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent
from scaffolder.provisioning import schedule, tasks
from scaffolder.provisioning.actions import Requester, expire_claims, request_claim
from scaffolder.provisioning.models import Claim, available_offerings
from tests.provisioning.conftest import PREVIEW_VALUES, VALUES, commit_count, files

pytestmark = pytest.mark.django_db


@pytest.fixture
def previews(teams, gitops, alice):
    requester = Requester.from_user(alice)
    offering = available_offerings()["preview-environment"]
    now = timezone.now()
    short = request_claim(offering, "team-a", "short", {**PREVIEW_VALUES, "ttl": "12h"}, requester, now=now)
    long = request_claim(offering, "team-a", "long", {**PREVIEW_VALUES, "ttl": "72h"}, requester, now=now)
    database = request_claim(available_offerings()["postgresql"], "team-a", "db", VALUES["postgresql"], requester,
                             now=now)
    return now, short, long, database


def test_claims_past_their_ttl_are_released_one_commit_each(previews, gitops):
    now, short, long, database = previews
    assert commit_count(gitops) == 3
    counts = expire_claims(now=now + timedelta(days=4))
    assert counts == {"released": 2, "flagged": 0, "failed": 0}
    assert commit_count(gitops) == 5
    for claim in (short, long):
        claim.refresh_from_db()
        assert claim.status == Claim.Status.RELEASED and claim.released_by == "scheduler"
        assert claim.message.startswith("TTL expired at")
    database.refresh_from_db()
    assert database.status == Claim.Status.REQUESTED  # no TTL
    assert files(gitops) == ["catalog-info.yaml", "catalog/team-a/db.yaml", "claims/team-a/database/db.yaml"]
    events = AuditEvent.objects.filter(action="provisioning.claim.release")
    assert events.count() == 2 and {event.actor_name for event in events} == {"scheduler"}
    assert expire_claims(now=now + timedelta(days=4)) == {"released": 0, "flagged": 0, "failed": 0}


def test_claims_expiring_within_a_day_are_flagged_not_released(previews, gitops):
    now, short, long, _ = previews
    counts = expire_claims(now=now + timedelta(hours=1))
    assert counts == {"released": 0, "flagged": 1, "failed": 0}
    short.refresh_from_db()
    long.refresh_from_db()
    assert short.status == Claim.Status.EXPIRING and long.status == Claim.Status.REQUESTED
    assert commit_count(gitops) == 3
    assert AuditEvent.objects.filter(action="provisioning.claim.expiring").count() == 1
    # Flagging is idempotent, and the later run releases it.
    assert expire_claims(now=now + timedelta(hours=2))["flagged"] == 0
    assert expire_claims(now=now + timedelta(hours=13))["released"] == 1


def test_the_warning_shows_on_the_resources_page_and_the_catalog_page(alice_client, previews):
    _, short, _, _ = previews
    listing = alice_client.get(reverse("provisioning:index"))
    assert listing.context["expiring_count"] == 1
    body = listing.content.decode()
    assert 'class="badge warn">expiring' in body and 'class="expiring"' in body
    entity_page = alice_client.get(reverse("catalog:entity", args=["team-a", "resource", "short"]))
    assert "Claim · expires soon" in entity_page.content.decode()
    tab = alice_client.get(reverse("catalog:entity-tab", args=["team-a", "resource", "short", "claim"]))
    assert 'data-testid="expiry-warning"' in tab.content.decode()
    other = alice_client.get(reverse("catalog:entity-tab", args=["team-a", "resource", "long", "claim"]))
    assert 'data-testid="expiry-warning"' not in other.content.decode()
    filtered = alice_client.get(reverse("provisioning:index"), {"status": "expiring"})
    assert [c.name for t in filtered.context["teams"] for c in t["claims"]] == ["short"]


def test_the_task_and_its_schedule(previews):
    assert schedule.BEAT_SCHEDULE["provisioning-expire-claims"]["task"] == "provisioning.expire_claims"
    assert tasks.expire_claims.delay().get() == {"released": 0, "flagged": 1, "failed": 0}
