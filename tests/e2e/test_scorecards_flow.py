"""In a browser: open a scorecard, narrow its entities by level, and open a service's DORA tab."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.ingest import refresh_location
from catalog.models import Location
from scorecards import evaluation
from scorecards.models import Change, Deployment, DeploymentCommit, Level, Rule, Scorecard
from tests.scorecards.conftest import PAYMENTS, write_catalog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scored_catalog(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    refresh_location(Location.objects.create(type="file", target=str(write_catalog(tmp_path))))
    scorecard = Scorecard.objects.create(name="Production readiness", kinds=["component"])
    scorecard.ensure_default_levels()
    Rule.objects.create(scorecard=scorecard, level=Level.objects.get(scorecard=scorecard, name="Silver"),
                        name="Has a description", check_spec={"type": "field_present", "path": "metadata.description"},
                        how_to_fix="Add a **description** to `catalog-info.yaml`.")
    now = timezone.now()
    for index in range(10):
        finished = now - timedelta(days=index, hours=3)
        deployment = Deployment.objects.create(external_id=f"d{index}", entity_ref=PAYMENTS, environment="production",
                                               finished_at=finished, status="success")
        DeploymentCommit.objects.create(deployment=deployment, sha=f"s{index}")
        Change.objects.create(external_id=f"s{index}", sha=f"s{index}", entity_ref=PAYMENTS,
                              committed_at=finished - timedelta(hours=6))
    evaluation.evaluate_all()
    return scorecard


def test_a_person_opens_a_scorecard_and_narrows_it_by_level(signed_in_page, scored_catalog):
    page = signed_in_page
    page.goto("/scorecards/")
    page.click("text=Production readiness")
    page.wait_for_selector("[data-testid=level-distribution] svg")
    assert page.locator("[data-testid=entity-table] tbody tr").count() == 3
    assert "67%" in page.locator("[data-testid=rule-table]").inner_text()

    silver_or_better = page.locator("#filter-level option", has_text="Bronze").get_attribute("value")
    page.select_option("#filter-level", silver_or_better)
    page.wait_for_function("document.querySelectorAll('[data-testid=entity-table] tbody tr').length === 1")
    assert "level=" in page.url
    page.click("[data-testid=entity-table] a:has-text('ledger')")
    page.wait_for_selector("[data-testid=scorecard-tab]")
    assert "metadata.description is missing" in page.inner_text("[data-testid=scorecard-tab]")
    assert page.locator(".how-to-fix strong", has_text="description").count() == 1


def test_a_person_opens_a_service_s_dora_tab(signed_in_page, scored_catalog):
    page = signed_in_page
    page.goto("/catalog/default/component/payments/")
    page.click("nav.tabs a:has-text('DORA')")
    page.wait_for_selector("[data-testid=dora-tab]")
    cards = page.locator("[data-testid=dora-cards] .dora-card")
    assert cards.count() == 4
    assert "production deployment" in cards.nth(0).inner_text()
    assert page.locator("[data-testid=dora-level]").first.inner_text() in {"elite", "high", "medium", "low"}
    assert "6.0 h" in cards.nth(1).inner_text()
    page.click("text=7 days")
    page.wait_for_url("**/dora/?days=7")
    assert "7 production deployments" in page.inner_text("[data-testid=dora-cards]")
