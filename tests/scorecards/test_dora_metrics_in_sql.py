"""The four keys computed by the database agree with scorecards.dora's reference implementation."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Entity
from scorecards import dora, dora_events, dora_queries
from scorecards.dora_queries import Scope, Window
from tests.scorecards.dora_builders import A, B, change, deploy, incident

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 6, 3, 9, 30, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def store(deployments=(), changes=(), incidents=()):
    """Through the REST API's store, which keeps the derived columns the queries read."""
    if deployments:
        dora_events.store("deployment", [dora_events.Parsed(item, item.external_id) for item in deployments])
    if changes:
        # One external id per change: a sha recorded twice is two changes.
        dora_events.store("change", [dora_events.Parsed(item, f"c{index}") for index, item in enumerate(changes)])
    if incidents:
        dora_events.store("incident", [dora_events.Parsed(item, item.external_id) for item in incidents])


def assert_same(scope, window, deployments, changes, incidents, restore_incidents=None):
    """The SQL figures for ``scope`` equal the reference over the scope's events.

    Any incident may mark a deployment as failed (it names its cause); time to restore counts
    the scope's own incidents (``restore_incidents``, by default the same list).
    """
    expected = dora.four_keys(deployments, changes, incidents, window.start, window.end)
    if restore_incidents is not None:
        expected = dora.FourKeys(expected.deployment_frequency, expected.lead_time_hours,
                                 expected.change_failure_rate,
                                 dora.time_to_restore_hours(restore_incidents, window.start, window.end))
    got = dora_queries.metrics(scope, window)
    assert got.count == expected.deployment_frequency.count
    assert got.per_week == pytest.approx(expected.deployment_frequency.per_week)
    assert got.days_with_deploy_per_week == expected.deployment_frequency.days_with_deploy_per_week
    assert got.bucket == expected.deployment_frequency.bucket
    for name in ("lead_time_hours", "change_failure_rate", "time_to_restore_hours"):
        want = getattr(expected, name)
        have = getattr(got, name)
        assert (have is None) == (want is None), name
        if want is not None:
            assert have == pytest.approx(want, abs=1e-6), name
    return got


def test_no_deployments_gives_zero_frequency_and_no_other_figures():
    window = Window.last(30, NOW)
    got = assert_same(Scope("entity", A), window, [], [], [])
    api = got.as_api()
    assert api == {
        "deployment_frequency": {"count": 0, "per_week": 0.0, "bucket": "yearly", "level": "low"},
        "lead_time_for_changes": {"median_hours": None, "level": None},
        "change_failure_rate": {"ratio": None, "level": None},
        "time_to_restore": {"median_hours": None, "level": None},
    }


def test_lead_time_ignores_changes_committed_after_the_deploy_and_unknown_shas():
    deployments = [deploy("d1", NOW - 2 * D, ["s1", "s2", "s3", "unknown"]), deploy("d2", NOW - D, ["s4"])]
    changes = [
        change("s1", NOW - 2 * D - 5 * H),
        change("s2", NOW - 2 * D - 1 * H),
        change("s3", NOW - 2 * D + 3 * H),  # committed after d1 finished: ignored
        change("s4", NOW - D - 10 * H),
        change("s4", NOW - D - 20 * H),  # recorded twice: the earliest counts
    ]
    store(deployments, changes)
    got = assert_same(Scope("entity", A), Window.last(30, NOW), deployments, changes, [])
    assert got.lead_time_hours == pytest.approx(5.0)  # median of 5, 1, 20


def test_incidents_without_a_cause_fail_no_deployment_but_count_for_restore():
    deployments = [deploy(f"d{i}", NOW - i * D, [f"s{i}"]) for i in range(1, 5)]
    incidents = [
        incident("i1", NOW - 3 * D, NOW - 3 * D + 2 * H),
        incident("i2", NOW - 2 * D, NOW - 2 * D + 6 * H),
        incident("i3", NOW - D),  # still open: left out of time to restore
    ]
    store(deployments, [], incidents)
    got = assert_same(Scope("entity", A), Window.last(30, NOW), deployments, [], incidents)
    assert got.change_failure_rate == 0
    assert got.time_to_restore_hours == pytest.approx(4.0)


def test_change_failure_rate_links_incidents_by_deployment_or_by_sha():
    deployments = [deploy(f"d{i}", NOW - i * D, [f"s{i}", f"t{i}"]) for i in range(1, 9)]
    incidents = [
        incident("i1", NOW - D, NOW, deployment="d1"),
        incident("i2", NOW - D, NOW, sha="t2"),
        incident("i3", NOW - D, NOW, sha="t2"),  # the same deployment twice counts once
        incident("i4", NOW - D, NOW, sha="nothing"),
    ]
    store(deployments, [], incidents)
    got = assert_same(Scope("entity", A), Window.last(30, NOW), deployments, [], incidents)
    assert got.change_failure_rate == pytest.approx(2 / 8)


def test_only_successful_production_deployments_in_the_window_count():
    deployments = [
        deploy("ok", NOW - D),
        deploy("staging", NOW - D, environment="staging"),
        deploy("upper", NOW - 2 * D, environment="Production"),
        deploy("failed", NOW - D, status="failure"),
        deploy("old", NOW - 31 * D),
        deploy("edge", NOW - 30 * D),  # the window's first instant counts
    ]
    store(deployments)
    got = assert_same(Scope("entity", A), Window.last(30, NOW), deployments, [], [])
    assert got.count == 3


def test_deploy_days_are_24_hour_slots_back_from_the_end():
    # Deploys right at slot edges: exactly 1 day before the end starts the second slot.
    deployments = [deploy("d1", NOW - D), deploy("d2", NOW - D + timedelta(seconds=1)), deploy("d3", NOW - 7 * D),
                   deploy("d4", NOW - 7 * D - timedelta(seconds=1)), deploy("d5", NOW - timedelta(seconds=1))]
    store(deployments)
    got = assert_same(Scope("entity", A), Window.last(28, NOW), deployments, [], [])
    assert got.days_with_deploy_per_week == [0, 0, 1, 2]


@pytest.fixture
def teams():
    rows = [
        ("component:default/a", "group:default/team-a", "system:default/shop"),
        ("component:default/b", "group:default/team-a", "system:default/billing"),
        ("component:default/c", "group:default/team-b", "system:default/shop"),
    ]
    for ref, owner, system in rows:
        kind, rest = ref.split(":")
        namespace, name = rest.split("/")
        Entity.objects.create(ref=ref, kind=kind, namespace=namespace, name=name, owner_ref=owner, system_ref=system,
                              data={"kind": "Component", "metadata": {"name": name}}, etag="x")
    return rows


def random_events(seed: int, refs: list[str]):
    rng = random.Random(seed)
    deployments, changes, incidents = [], [], []
    for index in range(rng.randint(0, 60)):
        ref = rng.choice(refs)
        finished = NOW - timedelta(minutes=rng.randint(1, 100 * 24 * 60))
        shas = [f"{seed}-{index}-{n}" for n in range(rng.randint(0, 4))]
        for sha in shas:
            if rng.random() < 0.85:
                changes.append(change(sha, finished - timedelta(minutes=rng.randint(-300, 20_000)), ref))
        deployments.append(deploy(f"{seed}-d{index}", finished, shas, ref,
                                  status=rng.choice(["success"] * 5 + ["failure"]),
                                  environment=rng.choice(["production"] * 4 + ["staging"])))
    for index in range(rng.randint(0, 15)):
        opened = NOW - timedelta(minutes=rng.randint(1, 100 * 24 * 60))
        resolved = opened + timedelta(minutes=rng.randint(0, 5000)) if rng.random() < 0.8 else None
        cause = rng.choice(deployments) if deployments and rng.random() < 0.7 else None
        by_sha = cause is not None and cause.commit_shas and rng.random() < 0.5
        incidents.append(incident(
            f"{seed}-i{index}", opened, resolved,
            sha=cause.commit_shas[0] if by_sha else None,
            deployment=cause.external_id if cause is not None and not by_sha else None,
            entity=cause.entity_ref if cause is not None else rng.choice(refs),
        ))
    return deployments, changes, incidents


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("days", [7, 30, 90])
def test_every_scope_agrees_with_the_reference_on_random_data(teams, seed, days):
    refs = [ref for ref, _, _ in teams]
    deployments, changes, incidents = random_events(seed, refs)
    store(deployments, changes, incidents)
    window = Window.last(days, NOW)
    scopes = [
        (Scope(), set(refs)),
        (Scope("entity", refs[0]), {refs[0]}),
        (Scope("group", "group:default/team-a"), {refs[0], refs[1]}),
        (Scope("system", "system:default/shop"), {refs[0], refs[2]}),
    ]
    for scope, members in scopes:
        # Changes and incidents link by sha and external id, whichever entity they name.
        assert_same(scope, window, [d for d in deployments if d.entity_ref in members], changes, incidents,
                    [i for i in incidents if i.entity_ref in members])


def test_time_to_restore_counts_only_incidents_of_the_scope(teams):
    incidents = [
        incident("i1", NOW - D, NOW - D + 2 * H, entity=A),
        incident("i2", NOW - D, NOW - D + 8 * H, entity=B),
    ]
    store([], [], incidents)
    window = Window.last(30, NOW)
    assert dora_queries.metrics(Scope("entity", A), window).time_to_restore_hours == pytest.approx(2)
    assert dora_queries.metrics(Scope("group", "group:default/team-a"), window).time_to_restore_hours == \
        pytest.approx(5)


@pytest.mark.parametrize("seed", range(4))
def test_weekly_trend_agrees_with_the_reference(teams, seed):
    refs = [ref for ref, _, _ in teams]
    deployments, changes, incidents = random_events(seed, refs)
    store(deployments, changes, incidents)
    got = dora_queries.weekly_trend(Scope(), 30, NOW)
    expected = dora.weekly_trend([*deployments, *changes, *incidents], 30, NOW)
    assert [(p.start, p.end, p.partial, p.deployments, p.days_with_deploy) for p in got] == \
        [(p.start, p.end, p.partial, p.deployments, p.days_with_deploy) for p in expected]
    for have, want in zip(got, expected, strict=True):
        for name in ("lead_time_hours", "change_failure_rate", "time_to_restore_hours"):
            assert getattr(have, name) == pytest.approx(getattr(want, name), abs=1e-6), name


@pytest.mark.parametrize("seed", range(4))
def test_figures_per_entity_agree_with_the_reference(teams, seed):
    refs = [ref for ref, _, _ in teams]
    deployments, changes, incidents = random_events(seed, refs)
    store(deployments, changes, incidents)
    window = Window.last(30, NOW)
    figures = dora_queries.figures_by_entity(None, 30, NOW)
    only_some = dora_queries.figures_by_entity([refs[0]], 30, NOW)
    assert set(only_some) <= {refs[0]}
    for ref in refs:
        expected = dora.four_keys([d for d in deployments if d.entity_ref == ref], changes,
                                  [i for i in incidents if i.entity_ref == ref], window.start, window.end).figures()
        # Incidents filed against another entity still mark this entity's deployments as failed.
        expected["change_failure_rate"] = dora.change_failure_rate(
            [d for d in deployments if d.entity_ref == ref], incidents, window.start, window.end)
        have = figures.get(ref, dora_queries.no_figures())
        for name, want in expected.items():
            assert have[name] == pytest.approx(want, abs=1e-6), (ref, name)
        if ref in only_some:
            assert only_some[ref] == figures[ref]


@pytest.mark.parametrize("seed", range(4))
def test_figures_per_owning_group_agree_with_each_group_s_scope(teams, seed):
    refs = [ref for ref, _, _ in teams]
    deployments, changes, incidents = random_events(seed, refs)
    store(deployments, changes, incidents)
    window = Window.last(30, NOW)
    by_owner = dora_queries.figures_by_owner(window)
    for owner in ("group:default/team-a", "group:default/team-b"):
        members = {ref for ref, group, _ in teams if group == owner}
        expected = dora.four_keys([d for d in deployments if d.entity_ref in members], changes, incidents,
                                  window.start, window.end).figures()
        expected["time_to_restore_hours"] = dora.time_to_restore_hours(
            [i for i in incidents if i.entity_ref in members], window.start, window.end)
        have = by_owner.get(owner, dora_queries.no_figures())
        for name, want in expected.items():
            assert have[name] == pytest.approx(want, abs=1e-6), (owner, name)
    assert set(by_owner) <= {"group:default/team-a", "group:default/team-b"}
