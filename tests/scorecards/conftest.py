"""A small catalog and scorecard helpers for the scorecard tests.

team-a owns payments (documented, with a runbook) and ledger (bare); team-b owns checkout
(a website); alice is a member of team-a; sam is staff.
"""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from catalog.ingest import refresh_location
from catalog.models import Entity, Location
from scorecards.models import Level, Rule, Scorecard

CATALOG = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: shop}
spec: {owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  description: Takes the money
  tags: [python, critical]
  annotations:
    backstage.io/techdocs-ref: dir:.
  links:
    - {url: https://runbooks.example.com/payments, title: Runbook, type: runbook}
spec: {type: service, lifecycle: production, owner: team-a, system: shop, dependsOn: [component:ledger]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ledger}
spec: {type: service, lifecycle: production, owner: team-a, system: shop}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout, description: The shop front}
spec: {type: website, lifecycle: experimental, owner: team-b}
"""

PAYMENTS = "component:default/payments"
LEDGER = "component:default/ledger"
CHECKOUT = "component:default/checkout"


def write_catalog(root: Path, text: str = CATALOG) -> Path:
    path = root / "catalog-info.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def catalog_dir(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    return tmp_path


@pytest.fixture
def catalog(catalog_dir, db):
    location = Location.objects.create(type="file", target=str(write_catalog(catalog_dir)))
    refresh_location(location)
    return location


def entity(ref: str) -> Entity:
    return Entity.objects.get(ref=ref)


def make_scorecard(name="Production readiness", levels=True, **filters) -> Scorecard:
    scorecard = Scorecard.objects.create(name=name, **filters)
    if levels:
        scorecard.ensure_default_levels()
    return scorecard


def add_rule(scorecard: Scorecard, level: str, name: str, check: dict, **extra) -> Rule:
    return Rule.objects.create(scorecard=scorecard, level=Level.objects.get(scorecard=scorecard, name=level),
                               name=name, check_spec=check, **extra)


@pytest.fixture
def ci(django_user_model):
    """An API token of a CI/CD system allowed to send every kind of DORA event."""
    user = django_user_model.objects.create_user("ci-bot")
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="scorecards", codename__in=["add_deployment", "add_change", "add_incident"]))
    return Token.objects.create(user=user)
