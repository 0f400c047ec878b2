"""Outside a transaction on PostgreSQL, results are written by a writer thread: same results as inline.

Also: an unchanged catalog rewrites nothing (digests match), a changed entity rewrites only the
rule results that changed, and a failed write stops the run with the error.
"""

import threading

import pytest
from django.db import connection

from catalog.models import Entity
from scorecards import evaluation
from scorecards.models import RuleResult, ScorecardResult
from tests.scorecards.conftest import LEDGER, add_rule, make_scorecard

pytestmark = pytest.mark.django_db(transaction=True)


def outcomes():
    return (
        set(RuleResult.objects.values_list("entity__ref", "rule__name", "passed", "message", "observed")),
        set(ScorecardResult.objects.values_list("entity__ref", "level__name", "digest")),
    )


@pytest.fixture
def scorecard(catalog):
    scorecard = make_scorecard(kinds=["component", "group", "user", "system"])
    add_rule(scorecard, "Bronze", "Named", {"type": "field_matches", "path": "metadata.name", "pattern": "^[a-p]"})
    add_rule(scorecard, "Silver", "Described", {"type": "field_present", "path": "metadata.description"},
             blocking=True)
    return scorecard


def test_threaded_writes_give_the_same_results_as_inline_ones(scorecard, monkeypatch):
    writers = []
    write_batch = evaluation.write_batch

    def recording(writes, now):
        writers.append(threading.current_thread().name)
        return write_batch(writes, now)

    monkeypatch.setattr(evaluation, "write_batch", recording)
    report = evaluation.evaluate(batch_size=2)
    assert report.entities == 7 and report.results_written == 14
    expected_thread = "scorecard-writer" if connection.vendor == "postgresql" else threading.current_thread().name
    assert set(writers) == {expected_thread}
    written = outcomes()

    RuleResult.objects.all().delete()
    ScorecardResult.objects.all().delete()
    writers.clear()
    original = evaluation.BatchWriter.__init__
    monkeypatch.setattr(evaluation.BatchWriter, "__init__",
                        lambda self, now, threaded, report=None: original(self, now, False, report))
    evaluation.evaluate(batch_size=2)
    assert set(writers) == {threading.current_thread().name}
    assert outcomes() == written


def test_unchanged_catalog_rewrites_nothing_and_a_change_rewrites_only_what_changed(scorecard):
    evaluation.evaluate(batch_size=3)
    before = dict(RuleResult.objects.values_list("pk", "message"))
    again = evaluation.evaluate(batch_size=3)
    assert again.results_written == 0 and again.results_deleted == 0
    assert dict(RuleResult.objects.values_list("pk", "message")) == before

    ledger = Entity.objects.get(ref=LEDGER)
    ledger.data["metadata"]["description"] = "Books every payment"
    ledger.save()
    changed = evaluation.evaluate(batch_size=3)
    assert changed.results_written == 1
    described = RuleResult.objects.get(entity=ledger, rule__name="Described")
    assert described.passed and described.observed == "Books every payment"
    # The other rule's row for ledger was left in place.
    named = RuleResult.objects.get(entity=ledger, rule__name="Named")
    assert named.pk in before


def test_a_failed_write_stops_the_run_with_its_error(scorecard, monkeypatch):
    def broken(writes, now):
        raise RuntimeError("disk full")

    monkeypatch.setattr(evaluation, "write_batch", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        evaluation.evaluate(batch_size=2)
    assert not RuleResult.objects.exists()


@pytest.mark.parametrize("force", [False, True])
def test_entities_leaving_a_scorecards_scope_lose_their_results(scorecard, force):
    evaluation.evaluate()
    assert ScorecardResult.objects.filter(entity__kind="group").count() == 2
    scorecard.kinds = ["component"]
    scorecard.save()
    report = evaluation.evaluate(force=force)
    assert set(ScorecardResult.objects.values_list("entity__kind", flat=True)) == {"component"}
    assert set(RuleResult.objects.values_list("entity__kind", flat=True)) == {"component"}
    assert report.results_deleted == 4 * 2  # two groups, a user and a system, two rules each


def test_an_orphaned_entity_loses_its_results_when_it_is_evaluated(scorecard):
    evaluation.evaluate()
    ledger = Entity.objects.get(ref=LEDGER)
    Entity.objects.filter(pk=ledger.pk).update(orphan=True)
    evaluation.evaluate([ledger.pk])
    assert not RuleResult.objects.filter(entity=ledger).exists()
    assert not ScorecardResult.objects.filter(entity=ledger).exists()


def test_a_forced_run_sweeps_rule_results_left_without_a_level(scorecard):
    evaluation.evaluate()
    ledger = Entity.objects.get(ref=LEDGER)
    ScorecardResult.objects.filter(entity=ledger).delete()
    Entity.objects.filter(pk=ledger.pk).update(kind="resource")  # out of scope, and no level row to find it by
    evaluation.evaluate()
    assert RuleResult.objects.filter(entity=ledger).count() == 2  # the quick sweep cannot see them
    evaluation.evaluate(force=True)
    assert not RuleResult.objects.filter(entity=ledger).exists()
