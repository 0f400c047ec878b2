"""The derived DORA columns stay right whatever order events arrive in and however they are re-posted.

Each test posts events through the REST API's store (or edits rows as admin does), then checks
the derived columns row by row and the four keys against scorecards.dora's reference, computed
from the latest version of every event.
"""

import importlib
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection

from scorecards import dora, dora_events, dora_queries
from scorecards.dora_queries import Scope, Window
from scorecards.models import Change, Deployment, DeploymentCommit, Incident
from tests.scorecards.dora_builders import A, B, change, deploy, incident

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 6, 3, 9, 30, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
WINDOW = Window.last(30, NOW)


class Ledger:
    """The events as the API last received them, by external id, and what the database must derive from them."""

    def __init__(self):
        self.deployments: dict[str, dora.Deployment] = {}
        self.changes: dict[str, dora.Change] = {}
        self.incidents: dict[str, dora.Incident] = {}

    def post_deployments(self, *events):
        dora_events.store("deployment", [dora_events.Parsed(event, event.external_id) for event in events])
        self.deployments.update((event.external_id, event) for event in events)

    def post_changes(self, *keyed):
        """(external id, change) pairs."""
        dora_events.store("change", [dora_events.Parsed(event, key) for key, event in keyed])
        self.changes.update(keyed)

    def post_incidents(self, *events):
        dora_events.store("incident", [dora_events.Parsed(event, event.external_id) for event in events])
        self.incidents.update((event.external_id, event) for event in events)

    def expected_commits(self) -> set[tuple]:
        earliest: dict[str, datetime] = {}
        for item in self.changes.values():
            if item.sha not in earliest or item.committed_at < earliest[item.sha]:
                earliest[item.sha] = item.committed_at
        return {
            (item.external_id, sha, item.entity_ref, item.environment.lower(), item.status, item.finished_at,
             earliest.get(sha))
            for item in self.deployments.values()
            for sha in dict.fromkeys(item.commit_shas)
        }

    def check(self, *scopes_and_members):
        stored = set(DeploymentCommit.objects.values_list(
            "deployment__external_id", "sha", "entity_ref", "environment", "status", "finished_at", "committed_at"))
        assert stored == self.expected_commits()
        failed = dora.failed_deployment_ids(self.deployments.values(), self.incidents.values())
        assert set(Deployment.objects.filter(caused_incident=True).values_list("external_id", flat=True)) == failed
        assert Deployment.objects.count() == len(self.deployments)
        for scope, members in scopes_and_members or [(Scope(), None)]:
            self.check_figures(scope, members)

    def check_figures(self, scope, members=None):
        deployments = [d for d in self.deployments.values() if members is None or d.entity_ref in members]
        incidents = list(self.incidents.values())
        expected = dora.four_keys(deployments, self.changes.values(), incidents, WINDOW.start, WINDOW.end)
        restore = dora.time_to_restore_hours(
            [i for i in incidents if members is None or i.entity_ref in members], WINDOW.start, WINDOW.end)
        got = dora_queries.metrics(scope, WINDOW)
        assert got.count == expected.deployment_frequency.count
        assert got.days_with_deploy_per_week == expected.deployment_frequency.days_with_deploy_per_week
        for name, want in (("lead_time_hours", expected.lead_time_hours),
                           ("change_failure_rate", expected.change_failure_rate),
                           ("time_to_restore_hours", restore)):
            have = getattr(got, name)
            assert (have is None) == (want is None), name
            if want is not None:
                assert have == pytest.approx(want, abs=1e-6), name
        return got


@pytest.fixture
def ledger():
    return Ledger()


# ---------------------------------------------------------------- arrival order


def test_a_change_arriving_after_its_deployment_gives_the_lead_time(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1", "s2"]))
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).lead_time_hours is None
    ledger.post_changes(("c1", change("s1", NOW - D - 6 * H)))
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).lead_time_hours == pytest.approx(6)


def test_a_change_arriving_before_its_deployment_gives_the_same_lead_time(ledger):
    ledger.post_changes(("c1", change("s1", NOW - D - 6 * H)))
    ledger.post_deployments(deploy("d1", NOW - D, ["s1", "s2"]))
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).lead_time_hours == pytest.approx(6)


def test_an_incident_arriving_before_its_deployment_marks_it_failed(ledger):
    ledger.post_incidents(incident("i1", NOW - D + H, deployment="d1"), incident("i2", NOW - D + H, sha="t2"))
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]), deploy("d2", NOW - 2 * D, ["s2", "t2"]),
                            deploy("d3", NOW - 3 * D, ["s3"]))
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).change_failure_rate == pytest.approx(2 / 3)


def test_an_incident_arriving_after_its_deployment_marks_it_failed(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]), deploy("d2", NOW - 2 * D, ["s2", "t2"]))
    ledger.check()
    ledger.post_incidents(incident("i1", NOW - D + H, sha="t2"))
    ledger.check()
    assert set(Deployment.objects.filter(caused_incident=True).values_list("external_id", flat=True)) == {"d2"}


def test_an_incident_filed_against_another_entity_still_fails_the_deployment(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"], entity=A))
    ledger.post_incidents(incident("i1", NOW - D + H, NOW, deployment="d1", entity=B))
    ledger.check((Scope("entity", A), {A}), (Scope("entity", B), {B}))


# ---------------------------------------------------------------- re-posts


def test_an_incident_reposted_with_another_cause_unfails_the_old_deployment(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]), deploy("d2", NOW - 2 * D, ["s2"]))
    ledger.post_incidents(incident("i1", NOW - D + H, deployment="d1"))
    ledger.check()
    ledger.post_incidents(incident("i1", NOW - D + H, deployment="d2"))
    ledger.check()
    assert set(Deployment.objects.filter(caused_incident=True).values_list("external_id", flat=True)) == {"d2"}
    ledger.post_incidents(incident("i1", NOW - D + H, sha="s1"))
    ledger.check()
    assert set(Deployment.objects.filter(caused_incident=True).values_list("external_id", flat=True)) == {"d1"}
    ledger.post_incidents(incident("i1", NOW - D + H))
    ledger.check()
    assert not Deployment.objects.filter(caused_incident=True).exists()


def test_a_deployment_still_named_by_another_incident_stays_failed(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]))
    ledger.post_incidents(incident("i1", NOW - D + H, deployment="d1"), incident("i2", NOW - D + H, sha="s1"))
    ledger.post_incidents(incident("i1", NOW - D + H))
    ledger.check()
    assert Deployment.objects.get().caused_incident


def test_a_deployment_reposted_with_other_shas_follows_them(ledger):
    ledger.post_changes(("c1", change("s1", NOW - D - 2 * H)), ("c2", change("s2", NOW - D - 8 * H)))
    ledger.post_incidents(incident("i1", NOW - D + H, sha="s1"))
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]))
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).change_failure_rate == 1
    # The sha the incident names is gone: no longer failed; the new sha gives the lead time.
    ledger.post_deployments(deploy("d1", NOW - D, ["s2"]))
    ledger.check()
    got = dora_queries.metrics(Scope(), WINDOW)
    assert got.change_failure_rate == 0 and got.lead_time_hours == pytest.approx(8)
    ledger.post_deployments(deploy("d1", NOW - D, ["s2", "s1", "s2"]))
    ledger.check()


def test_a_deployment_reposted_with_another_status_time_or_entity_moves_its_commits(ledger):
    ledger.post_changes(("c1", change("s1", NOW - 3 * D)))
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]))
    ledger.check((Scope("entity", A), {A}), (Scope("entity", B), {B}))
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"], status="failure"))
    ledger.check((Scope("entity", A), {A}))
    assert dora_queries.metrics(Scope(), WINDOW).lead_time_hours is None
    ledger.post_deployments(deploy("d1", NOW - 2 * D, ["s1"], environment="Production"))
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).lead_time_hours == pytest.approx(24)
    ledger.post_deployments(deploy("d1", NOW - 2 * D, ["s1"], entity=B))
    ledger.check((Scope("entity", A), {A}), (Scope("entity", B), {B}))
    assert dora_queries.metrics(Scope("entity", B), WINDOW).count == 1
    ledger.post_deployments(deploy("d1", NOW - 40 * D, ["s1"], entity=B))
    ledger.check((Scope("entity", B), {B}))
    assert dora_queries.metrics(Scope("entity", B), WINDOW).count == 0


def test_a_change_reposted_with_another_time_moves_the_lead_time(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]))
    ledger.post_changes(("c1", change("s1", NOW - D - 5 * H)), ("c2", change("s1", NOW - D - 3 * H)))
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).lead_time_hours == pytest.approx(5)  # the earliest counts
    ledger.post_changes(("c1", change("s1", NOW - D - H)))
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).lead_time_hours == pytest.approx(3)
    ledger.post_changes(("c2", change("s1", NOW - D + H)))  # after the deploy: c1 is the earliest again
    ledger.check()
    assert dora_queries.metrics(Scope(), WINDOW).lead_time_hours == pytest.approx(1)


def test_a_change_reposted_with_another_sha_leaves_the_old_one(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]), deploy("d2", NOW - 2 * D, ["s2"]))
    ledger.post_changes(("c1", change("s1", NOW - D - 5 * H)))
    ledger.post_changes(("c1", change("s2", NOW - 2 * D - 7 * H)))
    ledger.check()
    assert dict(DeploymentCommit.objects.values_list("sha", "committed_at")) == {
        "s1": None, "s2": NOW - 2 * D - 7 * H}


def test_a_bulk_post_with_the_same_external_id_twice_keeps_the_last(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]))
    dora_events.store("incident", [
        dora_events.Parsed(incident("i1", NOW, deployment="d1"), "i1"),
        dora_events.Parsed(incident("i1", NOW), "i1"),
    ])
    ledger.incidents["i1"] = incident("i1", NOW)
    ledger.check()


@pytest.mark.parametrize("seed", range(6))
def test_any_order_of_posts_and_reposts_agrees_with_the_reference(seed, ledger):
    rng = random.Random(seed)
    shas = [f"s{n}" for n in range(12)]
    deployment_ids = [f"d{n}" for n in range(8)]
    for _ in range(40):
        kind = rng.choice(["deployment", "change", "incident"])
        if kind == "deployment":
            ledger.post_deployments(deploy(
                rng.choice(deployment_ids), NOW - timedelta(minutes=rng.randint(1, 40 * 24 * 60)),
                rng.sample(shas, rng.randint(0, 3)), rng.choice([A, B]),
                status=rng.choice(["success", "success", "failure"]),
                environment=rng.choice(["production", "production", "staging"])))
        elif kind == "change":
            ledger.post_changes((f"c{rng.randint(0, 9)}", change(
                rng.choice(shas), NOW - timedelta(minutes=rng.randint(1, 45 * 24 * 60)), rng.choice([A, B]))))
        else:
            cause = rng.choice(["deployment", "sha", None])
            opened = NOW - timedelta(minutes=rng.randint(1, 40 * 24 * 60))
            ledger.post_incidents(incident(
                f"i{rng.randint(0, 5)}", opened, opened + timedelta(minutes=rng.randint(0, 900)),
                sha=rng.choice(shas) if cause == "sha" else None,
                deployment=rng.choice(deployment_ids) if cause == "deployment" else None,
                entity=rng.choice([A, B])))
    ledger.check((Scope(), None), (Scope("entity", A), {A}), (Scope("entity", B), {B}))


# ---------------------------------------------------------------- rows edited one at a time (admin, shell)


def test_saving_and_deleting_single_rows_keeps_the_columns_right(ledger):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]), deploy("d2", NOW - 2 * D, ["s2"]))
    ledger.post_changes(("c1", change("s1", NOW - D - 4 * H)), ("c2", change("s2", NOW - 2 * D - 9 * H)))
    ledger.post_incidents(incident("i1", NOW - D + H, NOW, deployment="d1"))
    ledger.check()

    row = Change.objects.get(external_id="c1")
    row.committed_at = NOW - D - 10 * H
    row.save()
    ledger.changes["c1"] = change("s1", NOW - D - 10 * H)
    ledger.check()

    row.sha = "s2"  # the change now names another commit
    row.save()
    ledger.changes["c1"] = change("s2", NOW - D - 10 * H)
    ledger.check()

    Change.objects.get(external_id="c2").delete()  # s2's earliest change is c1 now
    del ledger.changes["c2"]
    ledger.check()

    found = Incident.objects.get(external_id="i1")
    found.caused_by_deployment, found.caused_by_sha = "", "s2"
    found.save()
    ledger.incidents["i1"] = incident("i1", NOW - D + H, NOW, sha="s2")
    ledger.check()

    shipped = Deployment.objects.get(external_id="d2")
    shipped.entity_ref, shipped.finished_at, shipped.status = B, NOW - 3 * D, "failure"
    shipped.save()
    ledger.deployments["d2"] = deploy("d2", NOW - 3 * D, ["s2"], entity=B, status="failure")
    ledger.check()

    DeploymentCommit.objects.create(deployment=Deployment.objects.get(external_id="d1"), sha="s2")
    ledger.deployments["d1"] = deploy("d1", NOW - D, ["s1", "s2"])
    ledger.check()
    assert Deployment.objects.get(external_id="d1").caused_incident

    DeploymentCommit.objects.get(deployment__external_id="d1", sha="s2").delete()
    ledger.deployments["d1"] = deploy("d1", NOW - D, ["s1"])
    ledger.check()

    Incident.objects.filter(external_id="i1").delete()
    del ledger.incidents["i1"]
    ledger.check()

    Deployment.objects.filter(external_id="d2").delete()
    del ledger.deployments["d2"]
    ledger.check()


def test_deleting_many_rows_at_once_refreshes_what_they_named(ledger, django_assert_max_num_queries):
    ledger.post_deployments(*(deploy(f"d{n}", NOW - n * H, [f"s{n}"]) for n in range(1, 21)))
    ledger.post_changes(*((f"c{n}", change(f"s{n}", NOW - 30 * H)) for n in range(1, 21)))
    ledger.post_incidents(*(incident(f"i{n}", NOW, sha=f"s{n}") for n in range(1, 11)),
                          *(incident(f"j{n}", NOW, deployment=f"d{n}") for n in range(11, 21)))
    ledger.check()
    # One refresh per delete() call, not one per row.
    with django_assert_max_num_queries(12):
        Change.objects.filter(external_id__in=[f"c{n}" for n in range(1, 16)]).delete()
    for n in range(1, 16):
        del ledger.changes[f"c{n}"]
    ledger.check()
    with django_assert_max_num_queries(12):
        Incident.objects.filter(external_id__in=["i1", "i2", "j11", "j12"]).delete()
    for key in ("i1", "i2", "j11", "j12"):
        del ledger.incidents[key]
    ledger.check()
    DeploymentCommit.objects.filter(sha__in=["s3", "s4"]).delete()
    for n in (3, 4):
        ledger.deployments[f"d{n}"] = deploy(f"d{n}", NOW - n * H, [])
    ledger.check()


def test_a_new_incident_created_in_admin_marks_its_deployment(ledger, staff_client):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1"]))
    response = staff_client.post("/admin/scorecards/incident/add/", {
        "external_id": "i1", "entity_ref": A, "opened_at_0": "2024-06-02", "opened_at_1": "10:30:00",
        "resolved_at_0": "", "resolved_at_1": "", "caused_by_sha": "s1", "caused_by_deployment": "",
        "received_at_0": "2024-06-02", "received_at_1": "10:30:00",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Deployment.objects.get().caused_incident
    incident_pk = Incident.objects.get().pk
    response = staff_client.post(f"/admin/scorecards/incident/{incident_pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Deployment.objects.get().caused_incident


def test_removing_a_commit_in_the_deployment_admin_unfails_it(ledger, staff_client):
    ledger.post_deployments(deploy("d1", NOW - D, ["s1", "s2"]))
    ledger.post_incidents(incident("i1", NOW, sha="s2"))
    assert Deployment.objects.get().caused_incident
    deployment = Deployment.objects.get()
    commits = list(deployment.commits.order_by("sha"))
    response = staff_client.post(f"/admin/scorecards/deployment/{deployment.pk}/change/", {
        "external_id": "d1", "entity_ref": A, "environment": "production", "status": "success",
        "finished_at_0": "2024-06-02", "finished_at_1": "09:30:00",
        "received_at_0": "2024-06-02", "received_at_1": "09:30:00",
        "commits-TOTAL_FORMS": "2", "commits-INITIAL_FORMS": "2", "commits-MIN_NUM_FORMS": "0",
        "commits-MAX_NUM_FORMS": "1000",
        "commits-0-id": str(commits[0].pk), "commits-0-deployment": str(deployment.pk), "commits-0-sha": "s1",
        "commits-1-id": str(commits[1].pk), "commits-1-deployment": str(deployment.pk), "commits-1-sha": "s2",
        "commits-1-DELETE": "on",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(DeploymentCommit.objects.values_list("sha", flat=True)) == ["s1"]
    assert not Deployment.objects.get().caused_incident


# ---------------------------------------------------------------- rebuilding everything


def scramble_derived():
    """Wrong values everywhere, written without signals."""
    DeploymentCommit.objects.update(entity_ref="x", environment="x", status="x", finished_at=NOW, committed_at=NOW)
    Deployment.objects.update(caused_incident=True)


def random_ledger(ledger, seed=3):
    rng = random.Random(seed)
    for index in range(20):
        shas = [f"s{index}-{n}" for n in range(rng.randint(0, 3))]
        ledger.post_deployments(deploy(f"d{index}", NOW - timedelta(hours=rng.randint(1, 900)), shas,
                                       rng.choice([A, B])))
        for sha in shas:
            if rng.random() < 0.8:
                ledger.post_changes((sha, change(sha, NOW - timedelta(hours=rng.randint(1, 1000)))))
        if rng.random() < 0.3:
            ledger.post_incidents(incident(f"i{index}", NOW - D, NOW, sha=shas[0] if shas else None,
                                           deployment=None if shas else f"d{index}"))


def test_rebuild_derived_recomputes_every_row(ledger):
    random_ledger(ledger)
    ledger.check()
    scramble_derived()
    dora_events.rebuild_derived()
    ledger.check()


def test_the_migration_fills_the_columns_of_existing_rows(ledger):
    random_ledger(ledger, seed=5)
    DeploymentCommit.objects.update(entity_ref="", environment="", status="", finished_at=None, committed_at=None)
    Deployment.objects.update(caused_incident=False)
    migration = importlib.import_module("scorecards.migrations.0003_dora_derived")
    # The fill only needs the editor's connection (a real one cannot open inside the test's transaction on SQLite).
    migration.fill_derived(None, SimpleNamespace(connection=connection))
    ledger.check()
