"""A catalog change is evaluated right away, and blocking rules report policy errors on the entities."""

import pytest
from django.urls import reverse

from catalog.ingest import refresh_location
from catalog.models import Entity, Location
from scorecards import evaluation
from scorecards.evaluation import POLICY_TYPE
from scorecards.models import Rule, RuleResult, ScorecardResult
from tests.scorecards.conftest import CATALOG, LEDGER, PAYMENTS, add_rule, entity, make_scorecard, write_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def described(db):
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Bronze", "Has a description", {"type": "field_present", "path": "metadata.description"},
                    blocking=True, how_to_fix="Add `metadata.description`.")
    return rule


def ingest(catalog_dir, capture, text=CATALOG):
    path = write_catalog(catalog_dir, text)
    location, _ = Location.objects.get_or_create(type="file", target=str(path))
    with capture(execute=True):
        refresh_location(location)
    return location


def test_ingested_entities_are_evaluated(catalog_dir, described, django_capture_on_commit_callbacks):
    ingest(catalog_dir, django_capture_on_commit_callbacks)
    assert RuleResult.objects.filter(rule=described).count() == 3
    assert ScorecardResult.objects.get(entity__ref=PAYMENTS).level.name == "Gold"
    assert ScorecardResult.objects.get(entity__ref=LEDGER).level is None


def test_a_failing_blocking_rule_becomes_a_policy_error(catalog_dir, described, django_capture_on_commit_callbacks):
    ingest(catalog_dir, django_capture_on_commit_callbacks)
    ledger = entity(LEDGER)
    assert ledger.has_errors is True
    assert ledger.errors == [{"type": POLICY_TYPE, "level": "error",
                              "message": "Policy 'Has a description': metadata.description is missing"}]
    assert entity(PAYMENTS).errors == [] and entity(PAYMENTS).has_errors is False


def test_the_policy_error_goes_once_the_entity_complies(catalog_dir, described, django_capture_on_commit_callbacks):
    ingest(catalog_dir, django_capture_on_commit_callbacks)
    fixed = CATALOG.replace("metadata: {name: ledger}", "metadata: {name: ledger, description: The books}")
    ingest(catalog_dir, django_capture_on_commit_callbacks, fixed)
    assert entity(LEDGER).errors == [] and entity(LEDGER).has_errors is False
    assert RuleResult.objects.get(rule=described, entity__ref=LEDGER).passed is True


def test_a_policy_error_survives_a_refresh_of_the_unchanged_location(catalog_dir, described,
                                                                   django_capture_on_commit_callbacks):
    location = ingest(catalog_dir, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        refresh_location(location, force=True)
    assert entity(LEDGER).has_errors is True
    assert [item["type"] for item in entity(LEDGER).errors] == [POLICY_TYPE]


def test_processing_errors_are_kept_beside_policy_errors(catalog, described):
    Entity.objects.filter(ref=LEDGER).update(
        errors=[{"type": "causeway.dev/processing", "level": "error", "message": "bad"}], has_errors=True)
    evaluation.evaluate()
    assert [item["type"] for item in entity(LEDGER).errors] == ["causeway.dev/processing", POLICY_TYPE]


def test_non_blocking_or_upcoming_rules_report_no_policy(catalog, described):
    described.blocking = False
    described.save()
    evaluation.evaluate()
    assert entity(LEDGER).errors == []
    described.blocking = True
    described.state = Rule.State.ENABLED_FROM
    import datetime

    described.enabled_from = datetime.date.today() + datetime.timedelta(days=3)
    described.save()
    evaluation.evaluate()
    assert entity(LEDGER).errors == []


def test_unblocking_a_rule_removes_its_policy_errors(catalog, described):
    evaluation.evaluate()
    assert entity(LEDGER).has_errors
    described.blocking = False
    described.save()
    evaluation.evaluate()
    assert entity(LEDGER).errors == [] and not entity(LEDGER).has_errors


def test_an_entity_leaving_every_scorecard_loses_its_policy_errors(catalog, described):
    evaluation.evaluate()
    scorecard = described.scorecard
    scorecard.spec_types = ["website"]
    scorecard.save()
    evaluation.evaluate([entity(LEDGER).pk])
    assert entity(LEDGER).errors == []


def test_entity_and_location_pages_show_the_policy_error(catalog, described, alice_client):
    evaluation.evaluate()
    ledger = entity(LEDGER)
    page = alice_client.get(ledger.get_absolute_url()).content.decode()
    assert "Policy &#x27;Has a description&#x27;: metadata.description is missing" in page
    location_page = alice_client.get(reverse("catalog:location", args=[catalog.pk])).content.decode()
    assert "ledger" in location_page and '<span class="badge bad">error</span>' in location_page
