"""Every check type, run through the evaluation over a real catalog, with results stored per entity."""

import pytest
from django.utils import timezone

from scorecards import evaluation
from scorecards.models import Change, Deployment, DeploymentCommit, Rule, RuleResult, ScorecardResult
from tests.scorecards.conftest import CHECKOUT, LEDGER, PAYMENTS, add_rule, entity, make_scorecard

pytestmark = pytest.mark.django_db


def outcome(rule: Rule, ref: str) -> RuleResult:
    return RuleResult.objects.get(rule=rule, entity=entity(ref))


@pytest.mark.parametrize(
    ("check", "passes", "fails"),
    [
        ({"type": "field_present", "path": "metadata.description"}, PAYMENTS, LEDGER),
        ({"type": "field_equals", "path": "spec.lifecycle", "value": "production"}, LEDGER, CHECKOUT),
        ({"type": "field_matches", "path": "metadata.name", "pattern": "^pay"}, PAYMENTS, LEDGER),
        ({"type": "field_in", "path": "spec.type", "values": ["service", "library"]}, LEDGER, CHECKOUT),
        ({"type": "annotation_present", "key": "backstage.io/techdocs-ref"}, PAYMENTS, LEDGER),
        ({"type": "relation_exists", "relation": "dependsOn"}, PAYMENTS, LEDGER),
        ({"type": "relation_exists", "relation": "partOf"}, LEDGER, CHECKOUT),
        ({"type": "expression", "expression": "metadata.links[?type=='runbook'] | length(@) > `0`"}, PAYMENTS,
         LEDGER),
        ({"type": "owner_is_group"}, CHECKOUT, None),
    ],
)
def test_each_check_type_is_stored_per_entity(catalog, check, passes, fails):
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Bronze", "The rule", check)
    report = evaluation.evaluate()
    assert report.entities == 3 and report.evaluations == 3
    assert outcome(rule, passes).passed is True
    if fails:
        failed = outcome(rule, fails)
        assert failed.passed is False and failed.message


def test_owner_is_group_fails_for_an_owner_not_in_the_catalog(catalog, catalog_dir):
    from catalog.models import Entity

    Entity.objects.filter(ref=LEDGER).update(data={**entity(LEDGER).data, "spec": {"owner": "team-z"}})
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Bronze", "Owned", {"type": "owner_is_group"})
    evaluation.evaluate()
    result = outcome(rule, LEDGER)
    assert result.passed is False and result.observed == "group:default/team-z"
    assert outcome(rule, PAYMENTS).observed == "group:default/team-a"


def test_techdocs_built_reads_the_docs_site_of_the_entity(catalog):
    from django.apps import apps

    DocSite = apps.get_model("techdocs", "DocSite")
    DocSite.objects.filter(entity__ref__in=[PAYMENTS, LEDGER]).delete()
    DocSite.objects.create(entity=entity(PAYMENTS), entity_ref=PAYMENTS, status="ok", built_at=timezone.now())
    DocSite.objects.create(entity=entity(LEDGER), entity_ref=LEDGER, status="failed", last_error="boom")
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Silver", "Docs", {"type": "techdocs_built"})
    evaluation.evaluate()
    assert outcome(rule, PAYMENTS).passed is True
    assert outcome(rule, LEDGER).observed == {"built": False, "errors": 0}
    assert outcome(rule, CHECKOUT).message == "no TechDocs build recorded"


def test_dora_threshold_reads_the_entity_s_figures_from_the_database(catalog):
    now = timezone.now()
    for index in range(4):
        finished = now - timezone.timedelta(days=index + 1)
        deployment = Deployment.objects.create(external_id=f"d{index}", entity_ref=PAYMENTS,
                                               environment="production", finished_at=finished, status="success")
        DeploymentCommit.objects.create(deployment=deployment, sha=f"s{index}")
        Change.objects.create(external_id=f"s{index}", sha=f"s{index}", entity_ref=PAYMENTS,
                              committed_at=finished - timezone.timedelta(hours=10))
    scorecard = make_scorecard(kinds=["component"])
    fast = add_rule(scorecard, "Gold", "Fast", {"type": "dora_threshold", "figure": "lead_time_hours",
                                                 "operator": "<", "value": 168})
    often = add_rule(scorecard, "Gold", "Often", {"type": "dora_threshold", "figure": "deployment_frequency_per_week",
                                                  "operator": ">=", "value": 0.5})
    evaluation.evaluate()
    assert outcome(fast, PAYMENTS).passed is True
    assert outcome(fast, PAYMENTS).observed == pytest.approx(10.0)
    assert outcome(fast, LEDGER).passed is False and outcome(fast, LEDGER).message == "no data for lead_time_hours"
    assert outcome(often, PAYMENTS).passed is True and outcome(often, LEDGER).observed == 0
    # Evaluating one entity computes its figures alone, with the same result.
    evaluation.evaluate([entity(PAYMENTS).pk])
    assert outcome(fast, PAYMENTS).observed == pytest.approx(10.0)


def test_a_broken_rule_is_reported_not_failed(catalog):
    scorecard = make_scorecard(kinds=["component"])
    add_rule(scorecard, "Bronze", "Described", {"type": "field_present", "path": "metadata.name"})
    add_rule(scorecard, "Bronze", "Broken", {"type": "field_present"})
    evaluation.evaluate()
    assert not RuleResult.objects.filter(rule__name="Broken").exists()
    assert set(ScorecardResult.objects.values_list("level__name", flat=True)) == {"Gold"}


def test_results_are_rewritten_only_when_they_change(catalog):
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Bronze", "Described", {"type": "field_present", "path": "metadata.description"})
    first = evaluation.evaluate()
    assert first.results_written == 3
    stamped = outcome(rule, LEDGER).evaluated_at
    again = evaluation.evaluate()
    assert again.results_written == 0 and outcome(rule, LEDGER).evaluated_at == stamped
    from catalog.models import Entity

    ledger = entity(LEDGER)
    ledger.data["metadata"]["description"] = "Keeps the books"
    Entity.objects.filter(pk=ledger.pk).update(data=ledger.data)
    third = evaluation.evaluate()
    assert third.results_written == 1 and outcome(rule, LEDGER).passed is True


def test_results_go_when_the_scorecard_no_longer_applies(catalog):
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Bronze", "Described", {"type": "field_present", "path": "metadata.description"})
    evaluation.evaluate()
    assert RuleResult.objects.filter(rule=rule).count() == 3
    scorecard.spec_types = ["website"]
    scorecard.save()
    report = evaluation.evaluate()
    assert report.results_deleted == 2
    assert list(ScorecardResult.objects.values_list("entity__ref", flat=True)) == [CHECKOUT]
    assert list(RuleResult.objects.values_list("entity__ref", flat=True)) == [CHECKOUT]


def test_disabled_rules_are_neither_run_nor_kept(catalog):
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Bronze", "Described", {"type": "field_present", "path": "metadata.description"})
    evaluation.evaluate()
    rule.state = Rule.State.DISABLED
    rule.save()
    evaluation.evaluate()
    assert not RuleResult.objects.filter(rule=rule).exists()
    assert set(ScorecardResult.objects.values_list("level__name", flat=True)) == {"Gold"}


def test_filters_select_by_kind_type_lifecycle_tag_and_owner(catalog):
    cases = [
        ({"kinds": ["Component"]}, {PAYMENTS, LEDGER, CHECKOUT}),
        ({"spec_types": ["website"]}, {CHECKOUT}),
        ({"lifecycles": ["production"], "kinds": ["component"]}, {PAYMENTS, LEDGER}),
        ({"tags": ["critical"]}, {PAYMENTS}),
        ({"owners": ["team-b"]}, {CHECKOUT}),
    ]
    for index, (filters, expected) in enumerate(cases):
        scorecard = make_scorecard(name=f"card {index}", **filters)
        add_rule(scorecard, "Bronze", "Named", {"type": "field_present", "path": "metadata.name"})
        evaluation.evaluate(scorecard_ids=[scorecard.pk])
        assert set(ScorecardResult.objects.filter(scorecard=scorecard).values_list("entity__ref", flat=True)) == \
            expected, filters


def test_deleting_an_entity_or_a_rule_deletes_its_results(catalog):
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Bronze", "Described", {"type": "field_present", "path": "metadata.description"})
    other = add_rule(scorecard, "Bronze", "Named", {"type": "field_present", "path": "metadata.name"})
    evaluation.evaluate()
    entity(LEDGER).delete()
    assert not RuleResult.objects.filter(entity__ref=LEDGER).exists()
    assert not ScorecardResult.objects.filter(entity__ref=LEDGER).exists()
    assert RuleResult.objects.count() == 4
    rule.delete()
    assert list(RuleResult.objects.values_list("rule", flat=True).distinct()) == [other.pk]
