"""`manage.py dora_demo` and the scorecards demo: realistic, repeatable, safe to run twice."""

import io

import pytest
from django.core.management import call_command

from scorecards import demo, dora_queries
from scorecards.models import Change, Deployment, Incident, Initiative, Rule, Scorecard, ScorecardResult
from tests.scorecards.conftest import PAYMENTS

pytestmark = pytest.mark.django_db


def test_dora_demo_generates_a_year_of_events_for_each_component(catalog):
    out = io.StringIO()
    call_command("dora_demo", stdout=out)
    assert "for 3 components over 365 days" in out.getvalue()
    refs = set(Deployment.objects.values_list("entity_ref", flat=True))
    assert refs == {"component:default/payments", "component:default/ledger", "component:default/checkout"}
    counts = (Deployment.objects.count(), Change.objects.count(), Incident.objects.count())
    assert all(counts)
    figures = dora_queries.metrics(dora_queries.Scope("entity", PAYMENTS),
                                   dora_queries.Window.last(90, Deployment.objects.latest("finished_at").finished_at))
    assert figures.count > 0 and figures.lead_time_hours is not None
    call_command("dora_demo", stdout=io.StringIO())
    assert (Deployment.objects.count(), Change.objects.count(), Incident.objects.count()) == counts
    call_command("dora_demo", "--clear", stdout=io.StringIO())
    assert not Deployment.objects.exists()


def test_dora_demo_says_so_when_the_catalog_is_empty(db):
    out = io.StringIO()
    call_command("dora_demo", stdout=out)
    assert "No components" in out.getvalue()


def test_the_demo_creates_and_evaluates_the_production_readiness_scorecard(catalog):
    out = io.StringIO()
    demo.load(out)
    scorecard = Scorecard.objects.get(name="Production readiness")
    assert list(scorecard.levels.values_list("name", flat=True)) == ["Bronze", "Silver", "Gold"]
    assert Rule.objects.filter(scorecard=scorecard).count() == 7
    assert ScorecardResult.objects.filter(scorecard=scorecard).count() == 3
    assert Initiative.objects.count() == 2
    assert "evaluated 3 entities" in out.getvalue()
    demo.load(io.StringIO())
    assert Rule.objects.filter(scorecard=scorecard).count() == 7 and Scorecard.objects.count() == 1
