import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from scorecards.dora import (
    DORA_FIGURES,
    PERFORMANCE_TABLES,
    Change,
    Deployment,
    DoraError,
    EventError,
    Incident,
    bucket_for_median_days,
    change_failure_rate,
    days_with_deploy_per_week,
    deployment_frequency,
    failed_deployment_ids,
    four_keys,
    frequency_bucket,
    full_week_starts,
    lead_time_hours,
    lead_time_samples_hours,
    level_for,
    levels_in_table,
    median,
    parse_event,
    time_to_restore_hours,
    weekly_trend,
)

# A Monday midnight; the 4-week window is [May 6, Jun 3).
END = datetime(2024, 6, 3, tzinfo=UTC)
START = END - timedelta(days=28)
H = timedelta(hours=1)
D = timedelta(days=1)


def deploy(external_id, finished_at, shas=(), status="success", environment="production", entity="component:a"):
    return Deployment(external_id, entity, environment, finished_at, status, tuple(shas))


def change(sha, committed_at):
    return Change(sha, "component:a", committed_at)


def incident(external_id, opened_at, resolved_at=None, sha=None, deployment=None):
    return Incident(external_id, "component:a", opened_at, resolved_at, sha, deployment)


# ---------------------------------------------------------------- helpers


def test_median_interpolates_between_the_middle_pair():
    assert median([]) is None
    assert median([5]) == 5.0
    assert median([3, 1, 2]) == 2.0
    assert median([1, 4]) == 2.5
    assert median([0, 0, 1, 1]) == 0.5


def test_full_weeks_are_counted_back_from_the_end():
    starts = full_week_starts(END - 10 * D, END)
    assert starts == [END - 7 * D]
    assert full_week_starts(START, END) == [START, START + 7 * D, START + 14 * D, START + 21 * D]
    assert full_week_starts(END - 6 * D, END) == []


def test_windows_must_be_ordered_and_timezone_aware():
    with pytest.raises(DoraError, match="start must be before its end"):
        deployment_frequency([], END, END)
    with pytest.raises(DoraError, match="start must be timezone-aware"):
        deployment_frequency([], datetime(2024, 5, 1), END)


def test_events_refuse_naive_datetimes():
    with pytest.raises(DoraError, match="finished_at must be timezone-aware"):
        Deployment("d", "component:a", "production", datetime(2024, 5, 1), "success")
    with pytest.raises(DoraError, match="resolved_at must be timezone-aware"):
        Incident("i", "component:a", END, datetime(2024, 5, 1))


# ---------------------------------------------------------------- deployment frequency


def test_no_deploys_gives_zero_and_yearly():
    result = deployment_frequency([], START, END)
    assert (result.count, result.per_week, result.days_with_deploy_per_week, result.bucket) == (
        0,
        0.0,
        [0, 0, 0, 0],
        "yearly",
    )


def test_only_failed_or_non_production_deploys_count_as_none():
    deployments = [
        deploy("f1", END - D, status="failure"),
        deploy("f2", END - 2 * D, status="cancelled"),
        deploy("s1", END - D, environment="staging"),
    ]
    assert deployment_frequency(deployments, START, END).count == 0


def test_the_production_environment_is_matched_case_insensitively():
    assert deployment_frequency([deploy("p", END - D, environment="Production")], START, END).count == 1


def test_deploy_days_and_per_week_rate():
    deployments = [
        deploy("a", END - 1 * H),  # day 0 of the newest week
        deploy("b", END - 2 * H),  # same day: one deploy day
        deploy("c", END - D - H),  # day 1
        deploy("d", END - 6 * D - H),  # day 6, still the newest week
        deploy("e", START + H),  # oldest week
        deploy("f", START + 7 * D),  # first instant of the second week
    ]
    result = deployment_frequency(deployments, START, END)
    assert result.count == 6
    assert result.per_week == 1.5  # 6 deploys over 28 days
    assert result.days_with_deploy_per_week == [1, 1, 0, 3]


def test_window_boundaries_include_the_start_and_exclude_the_end():
    deployments = [
        deploy("at-start", START),
        deploy("before", START - timedelta(seconds=1)),
        deploy("at-end", END),
    ]
    result = deployment_frequency(deployments, START, END)
    assert result.count == 1
    assert result.days_with_deploy_per_week == [1, 0, 0, 0]


def test_a_partial_oldest_week_counts_in_the_rate_but_not_the_bucket():
    start = END - 10 * D
    result = deployment_frequency([deploy("old", start + D), deploy("new", END - H)], start, END)
    assert result.count == 2
    assert result.per_week == pytest.approx(2 / (10 / 7))
    assert result.days_with_deploy_per_week == [1]
    assert result.bucket == "weekly"


def test_a_window_shorter_than_a_week_has_no_bucket():
    result = deployment_frequency([deploy("a", END - H)], END - 3 * D, END)
    assert result.days_with_deploy_per_week == []
    assert result.bucket is None


def test_days_with_deploy_ignores_times_outside_the_window():
    times = [START - H, END, END + D, END - H]
    assert days_with_deploy_per_week(times, START, END) == [0, 0, 0, 1]


@pytest.mark.parametrize(
    "days, bucket",
    [
        ([3, 4, 3, 0], "daily"),  # median deploy days 3
        ([7, 7, 2, 2], "daily"),  # median 4.5
        ([2, 2, 2, 7], "weekly"),  # median 2: not daily, every week deployed
        ([1, 1, 1, 0], "weekly"),  # deployed-week flags 1,1,1,0: median 1
        ([3, 3, 0, 0], "monthly"),  # flags median 0.5; the month had 2 deployed weeks
        ([0, 0, 2, 2], "monthly"),  # median days is 1, yet most weeks had no deploy
        ([0, 0, 0, 0], "yearly"),
        ([1, 0, 0, 0, 0, 0, 0, 0], "yearly"),  # month totals 1,1,1,1,0,0,0,0: median 0.5
        ([1, 0, 0, 0, 1, 0, 0, 0], "monthly"),
        ([0], "yearly"),
        ([5], "daily"),
    ],
)
def test_frequency_buckets_follow_four_keys(days, bucket):
    assert frequency_bucket(days) == bucket


def test_frequency_bucket_groups_weeks_by_the_given_months():
    days = [0, 0, 0, 1, 0, 0, 0, 0]
    assert frequency_bucket(days) == "yearly"  # default: weeks 0-3 and 4-7 are the months
    # Three April weeks and five May weeks: May's deployed week is repeated on five rows.
    months = ["2024-04"] * 3 + ["2024-05"] * 5
    assert frequency_bucket(days, months) == "monthly"


def test_deployment_frequency_uses_calendar_months_of_week_starts():
    end = datetime(2024, 6, 5, tzinfo=UTC)  # a Wednesday: weeks start Apr 10 ... May 29
    start = end - 56 * D
    result = deployment_frequency([deploy("a", datetime(2024, 5, 2, 9, tzinfo=UTC))], start, end)
    assert result.days_with_deploy_per_week == [0, 0, 0, 1, 0, 0, 0, 0]
    assert result.bucket == "monthly"


def test_frequency_bucket_of_no_weeks_is_none():
    assert frequency_bucket([]) is None


@pytest.mark.parametrize(
    "days, months, message",
    [
        ([8], None, r"days_with_deploy_per_week\[0\] must be a whole number from 0 to 7"),
        ([1, -1], None, r"days_with_deploy_per_week\[1\]"),
        ([True], None, r"days_with_deploy_per_week\[0\]"),
        ([1.5], None, r"days_with_deploy_per_week\[0\]"),
        ([1, 1], ["m"], "month_of_week must label every week"),
    ],
)
def test_frequency_bucket_refuses_bad_input(days, months, message):
    with pytest.raises(DoraError, match=message):
        frequency_bucket(days, months)


@pytest.mark.parametrize(
    "medians, bucket",
    [
        ((3, 0, 0), "daily"),
        ((2.99, 1, 0), "weekly"),
        ((2.99, 0.99, 1), "monthly"),
        ((0, 0, 0.99), "yearly"),
    ],
)
def test_bucket_thresholds_at_their_edges(medians, bucket):
    assert bucket_for_median_days(*medians) == bucket


# ---------------------------------------------------------------- lead time

DEPLOYED = END - 2 * D


def test_lead_time_is_the_median_of_commit_to_deploy_hours():
    deployments = [deploy("d1", DEPLOYED, ["a", "b", "c"])]
    changes = [change("a", DEPLOYED - 2 * H), change("b", DEPLOYED - 10 * H), change("c", DEPLOYED - 30 * H)]
    assert lead_time_samples_hours(deployments, changes, START, END) == [2.0, 10.0, 30.0]
    assert lead_time_hours(deployments, changes, START, END) == 10.0


def test_lead_time_ignores_changes_committed_at_or_after_the_deploy():
    deployments = [deploy("d1", DEPLOYED, ["a", "b", "late", "same"])]
    changes = [
        change("a", DEPLOYED - 2 * H),
        change("b", DEPLOYED - 10 * H),
        change("late", DEPLOYED + H),
        change("same", DEPLOYED),
    ]
    assert lead_time_hours(deployments, changes, START, END) == 6.0


def test_lead_time_pairs_each_deployment_with_each_of_its_changes():
    deployments = [deploy("d1", DEPLOYED, ["a"]), deploy("d2", DEPLOYED + D, ["a", "a", "b"])]
    changes = [change("a", DEPLOYED - 4 * H), change("b", DEPLOYED)]
    # (d1, a) 4h; (d2, a) 28h once despite the repeated sha; (d2, b) 24h.
    assert sorted(lead_time_samples_hours(deployments, changes, START, END)) == [4.0, 24.0, 28.0]
    assert lead_time_hours(deployments, changes, START, END) == 24.0


def test_lead_time_skips_unknown_shas_failed_and_out_of_window_deploys():
    deployments = [
        deploy("ok", DEPLOYED, ["a", "unknown"]),
        deploy("failed", DEPLOYED, ["b"], status="failure"),
        deploy("old", START - H, ["c"]),
    ]
    changes = [change("a", DEPLOYED - 5 * H), change("b", DEPLOYED - H), change("c", START - 2 * H)]
    assert lead_time_samples_hours(deployments, changes, START, END) == [5.0]


def test_lead_time_uses_the_earliest_record_of_a_sha():
    deployments = [deploy("d", DEPLOYED, ["a"])]
    changes = [change("a", DEPLOYED - H), change("a", DEPLOYED - 3 * H)]
    assert lead_time_hours(deployments, changes, START, END) == 3.0


def test_lead_time_without_deploys_or_changes_is_none():
    assert lead_time_hours([], [change("a", DEPLOYED)], START, END) is None
    assert lead_time_hours([deploy("d", DEPLOYED, ["a"])], [], START, END) is None


# ---------------------------------------------------------------- change failure rate


def test_change_failure_rate_links_incidents_by_deployment_id_or_sha():
    deployments = [
        deploy("d1", END - 1 * D, ["a"]),
        deploy("d2", END - 2 * D, ["b"]),
        deploy("d3", END - 3 * D, ["c", "x"]),
        deploy("d4", END - 4 * D, ["d"]),
        deploy("d5", END - 5 * D, ["e"], status="failure"),
        deploy("s1", END - 5 * D, ["f"], environment="staging"),
    ]
    incidents = [
        incident("i1", END - 20 * H, deployment="d1"),
        incident("i2", END - 20 * H, deployment="d1"),  # same deployment: still one failure
        incident("i3", END - 40 * H, sha="x"),
        incident("i4", END - 40 * H),  # no cause: links to nothing
        incident("i5", END - 40 * H, deployment="d5"),  # a failed deploy is not counted at all
        incident("i6", END - 40 * H, sha="f"),  # staging
    ]
    assert change_failure_rate(deployments, incidents, START, END) == 0.5
    assert failed_deployment_ids(deployments, incidents) == {"d1", "d3", "d5", "s1"}


def test_change_failure_rate_with_incidents_without_a_cause_is_zero():
    deployments = [deploy("d1", END - D), deploy("d2", END - 2 * D)]
    assert change_failure_rate(deployments, [incident("i", END - H)], START, END) == 0.0


def test_change_failure_rate_without_successful_deploys_is_none():
    assert change_failure_rate([], [], START, END) is None
    failed_only = [deploy("d1", END - D, status="failure")]
    assert change_failure_rate(failed_only, [incident("i", END - H, deployment="d1")], START, END) is None


def test_change_failure_rate_counts_only_deploys_in_the_window():
    deployments = [deploy("in", END - D), deploy("out", START - D)]
    incidents = [incident("i", END - H, deployment="out")]
    assert change_failure_rate(deployments, incidents, START, END) == 0.0


# ---------------------------------------------------------------- time to restore


def test_time_to_restore_is_the_median_over_resolved_incidents():
    opened = END - 5 * D
    incidents = [
        incident("i1", opened, opened + 1 * H),
        incident("i2", opened, opened + 3 * H),
        incident("i3", opened, opened + 10 * H),
        incident("open", opened),  # unresolved: left out
        incident("before", START - H, START + 99 * H),  # opened before the window
        incident("at-end", END, END + H),  # opened at the (excluded) end
    ]
    assert time_to_restore_hours(incidents, START, END) == 3.0


def test_time_to_restore_interpolates_an_even_count():
    opened = END - 5 * D
    incidents = [incident("i1", opened, opened + H), incident("i2", opened, opened + 4 * H)]
    assert time_to_restore_hours(incidents, START, END) == 2.5


def test_time_to_restore_counts_incidents_resolved_after_the_window():
    opened = END - H
    assert time_to_restore_hours([incident("i", opened, opened + 30 * H)], START, END) == 30.0


def test_time_to_restore_without_resolved_incidents_is_none():
    assert time_to_restore_hours([], START, END) is None
    assert time_to_restore_hours([incident("open", END - D)], START, END) is None


# ---------------------------------------------------------------- all four and trends


def test_four_keys_bundles_the_figures_by_their_names():
    deployments = [deploy("d1", END - D, ["a"]), deploy("d2", END - 2 * D, ["b"])]
    changes = [change("a", END - D - 2 * H), change("b", END - 2 * D - 4 * H)]
    incidents = [incident("i", END - 20 * H, END - 18 * H, deployment="d1")]
    keys = four_keys(iter(deployments), iter(changes), iter(incidents), START, END)
    assert tuple(keys.figures()) == DORA_FIGURES
    assert keys.figures() == {
        "deployment_frequency_per_week": 0.5,
        "lead_time_hours": 3.0,
        "change_failure_rate": 0.5,
        "time_to_restore_hours": 2.0,
    }
    assert keys.levels() == {
        "deployment_frequency_per_week": "medium",
        "lead_time_hours": "elite",
        "change_failure_rate": "low",
        "time_to_restore_hours": "high",
    }


def test_weekly_trend_gives_one_point_per_week_oldest_first():
    events = [
        deploy("w1a", END - 10 * D, ["a"]),
        deploy("w1b", END - 10 * D + H, ["b"]),
        change("a", END - 10 * D - 6 * H),
        change("b", END - 10 * D - 1 * H),
        incident("i", END - 9 * D, END - 9 * D + 5 * H, deployment="w1a"),
        deploy("w2", END - D, ["c"]),
        deploy("w2-failed", END - D, status="failure"),
    ]
    oldest, newest = weekly_trend(events, 14, END)
    assert (oldest.start, oldest.end, oldest.partial) == (END - 14 * D, END - 7 * D, False)
    assert (oldest.deployments, oldest.days_with_deploy) == (2, 1)
    assert oldest.lead_time_hours == 4.0  # median of 6h (a) and 2h (b)
    assert oldest.change_failure_rate == 0.5
    assert oldest.time_to_restore_hours == 5.0
    assert (newest.start, newest.end, newest.deployments) == (END - 7 * D, END, 1)
    assert newest.lead_time_hours is None  # change "c" was never recorded
    assert newest.change_failure_rate == 0.0
    assert newest.time_to_restore_hours is None


def test_weekly_trend_marks_a_short_oldest_week_as_partial():
    points = weekly_trend([], 10, END)
    assert [(p.start, p.end, p.partial) for p in points] == [
        (END - 10 * D, END - 7 * D, True),
        (END - 7 * D, END, False),
    ]
    assert all(p.deployments == 0 and p.change_failure_rate is None for p in points)


@pytest.mark.parametrize("window_days", [0, -7, 3661, 7.5, True, "14"])
def test_weekly_trend_refuses_bad_windows(window_days):
    with pytest.raises(DoraError, match="window_days"):
        weekly_trend([], window_days, END)


def test_weekly_trend_refuses_unknown_events_and_naive_now():
    with pytest.raises(DoraError, match="unexpected event of type dict"):
        weekly_trend([{"kind": "deployment"}], 7, END)
    with pytest.raises(DoraError, match="now must be timezone-aware"):
        weekly_trend([], 7, datetime(2024, 6, 3))


# ---------------------------------------------------------------- performance levels


@pytest.mark.parametrize(
    "metric, value, level",
    [
        ("deployment_frequency_per_week", 7, "elite"),
        ("deployment_frequency_per_week", 6.99, "high"),
        ("deployment_frequency_per_week", 1, "high"),
        ("deployment_frequency_per_week", 0.999, "medium"),
        ("deployment_frequency_per_week", 7 / 30, "medium"),
        ("deployment_frequency_per_week", 0.233, "low"),
        ("deployment_frequency_per_week", 0, "low"),
        ("lead_time_hours", 23.99, "elite"),
        ("lead_time_hours", 24, "high"),
        ("lead_time_hours", 167.99, "high"),
        ("lead_time_hours", 168, "medium"),
        ("lead_time_hours", 719.99, "medium"),
        ("lead_time_hours", 720, "low"),
        ("change_failure_rate", 0, "elite"),
        ("change_failure_rate", 0.05, "elite"),
        ("change_failure_rate", 0.0501, "high"),
        ("change_failure_rate", 0.10, "high"),
        ("change_failure_rate", 0.15, "medium"),
        ("change_failure_rate", 0.1501, "low"),
        ("time_to_restore_hours", 0.99, "elite"),
        ("time_to_restore_hours", 1, "high"),
        ("time_to_restore_hours", 24, "medium"),
        ("time_to_restore_hours", 167.99, "medium"),
        ("time_to_restore_hours", 168, "low"),
    ],
)
def test_2023_levels_at_their_edges(metric, value, level):
    assert level_for(metric, value) == level
    assert level_for(metric, value, "2023") == level


@pytest.mark.parametrize(
    "metric, value, level",
    [
        ("deployment_frequency_per_week", 100, "high"),
        ("deployment_frequency_per_week", 1, "high"),
        ("deployment_frequency_per_week", 0.5, "medium"),
        ("deployment_frequency_per_week", 0.2, "low"),
        ("lead_time_hours", 0.1, "high"),
        ("lead_time_hours", 168, "medium"),
        ("lead_time_hours", 720, "low"),
        ("change_failure_rate", 0.15, "high"),
        ("change_failure_rate", 0.16, "medium"),
        ("change_failure_rate", 0.30, "medium"),
        ("change_failure_rate", 0.31, "low"),
        ("time_to_restore_hours", 23.9, "high"),
        ("time_to_restore_hours", 24, "medium"),
        ("time_to_restore_hours", 168, "low"),
    ],
)
def test_2022_levels_have_no_elite(metric, value, level):
    assert level_for(metric, value, "2022") == level


@pytest.mark.parametrize(
    "metric, value, level",
    [
        ("deployment_frequency_per_week", 7, "elite"),
        ("deployment_frequency_per_week", 3, "high"),
        ("deployment_frequency_per_week", 7 / 30, "high"),
        ("deployment_frequency_per_week", 0.2, "medium"),
        ("deployment_frequency_per_week", 7 / 180, "medium"),
        ("deployment_frequency_per_week", 0.03, "low"),
        ("lead_time_hours", 0.5, "elite"),
        ("lead_time_hours", 1, "high"),
        ("lead_time_hours", 168, "medium"),
        ("lead_time_hours", 4319, "medium"),
        ("lead_time_hours", 4320, "low"),
        ("change_failure_rate", 0.15, "elite"),
        ("change_failure_rate", 0.30, "high"),
        ("change_failure_rate", 0.31, "low"),
        ("time_to_restore_hours", 0.5, "elite"),
        ("time_to_restore_hours", 23, "high"),
        ("time_to_restore_hours", 100, "medium"),
        ("time_to_restore_hours", 168, "low"),
    ],
)
def test_2021_levels(metric, value, level):
    assert level_for(metric, value, "2021") == level


def test_every_table_covers_every_figure():
    for table in PERFORMANCE_TABLES.values():
        assert set(table) == set(DORA_FIGURES)


def test_levels_in_each_table():
    assert levels_in_table("2023") == ("elite", "high", "medium", "low")
    assert levels_in_table("2022") == ("high", "medium", "low")
    assert levels_in_table("2021") == ("elite", "high", "medium", "low")


def test_no_data_has_no_level():
    assert level_for("lead_time_hours", None) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (("lead_time_hours", 1, "2019"), "unknown performance table '2019'"),
        (("mttr", 1), "unknown DORA figure 'mttr'"),
        (("lead_time_hours", float("nan")), "must be a finite number"),
        (("lead_time_hours", True), "must be a finite number"),
        (("lead_time_hours", "12"), "must be a finite number"),
    ],
)
def test_level_for_refuses_bad_input(args, message):
    with pytest.raises(DoraError, match=message):
        level_for(*args)


# ---------------------------------------------------------------- parse_event

DEPLOYMENT_PAYLOAD = {
    "external_id": "gha-1234",
    "entity_ref": "component:default/artist-lookup",
    "environment": "production",
    "finished_at": "2024-05-30T14:00:00+02:00",
    "status": "success",
    "commit_shas": ["a1b2c3d", "e4f5a6b"],
}


def test_parse_event_builds_a_deployment_in_utc():
    event = parse_event("deployment", DEPLOYMENT_PAYLOAD)
    assert event == Deployment(
        "gha-1234",
        "component:default/artist-lookup",
        "production",
        datetime(2024, 5, 30, 12, tzinfo=UTC),
        "success",
        ("a1b2c3d", "e4f5a6b"),
    )
    assert event.finished_at.utcoffset() == timedelta(0)


def test_parse_event_accepts_z_and_defaults_commit_shas():
    payload = {key: value for key, value in DEPLOYMENT_PAYLOAD.items() if key != "commit_shas"}
    payload["finished_at"] = "2024-05-30T12:00:00Z"
    event = parse_event("deployment", payload)
    assert event.commit_shas == ()
    assert event.finished_at == datetime(2024, 5, 30, 12, tzinfo=timezone(timedelta(0)))


def test_parse_event_builds_changes_and_incidents():
    assert parse_event(
        "change", {"sha": "a1b2c3d", "entity_ref": "component:a", "committed_at": "2024-05-30T10:00:00-05:00"}
    ) == Change("a1b2c3d", "component:a", datetime(2024, 5, 30, 15, tzinfo=UTC))
    open_incident = parse_event(
        "incident",
        {"external_id": "PD-1", "entity_ref": "component:a", "opened_at": "2024-05-30T10:00:00Z", "resolved_at": None},
    )
    assert open_incident.resolved_at is None and open_incident.caused_by_sha is None
    resolved = parse_event(
        "incident",
        {
            "external_id": "PD-2",
            "entity_ref": "component:a",
            "opened_at": "2024-05-30T10:00:00Z",
            "resolved_at": "2024-05-30T12:30:00Z",
            "caused_by_deployment": "gha-1234",
            "caused_by_sha": "a1b2c3d",
        },
    )
    assert time_to_restore_hours([resolved], START, END) == 2.5


def with_changes(**changes):
    payload = dict(DEPLOYMENT_PAYLOAD)
    for key, value in changes.items():
        if value is ...:
            del payload[key]
        else:
            payload[key] = value
    return payload


@pytest.mark.parametrize(
    "payload, field, fragment",
    [
        (with_changes(external_id=...), "external_id", "is required"),
        (with_changes(external_id=None), "external_id", "is required"),
        (with_changes(external_id="  "), "external_id", "must not be empty"),
        (with_changes(external_id="a b"), "external_id", "must not contain spaces"),
        (with_changes(external_id=12), "external_id", "must be a string, got a number"),
        (with_changes(entity_ref="x" * 256), "entity_ref", "at most 255 characters"),
        (with_changes(environment="prod\x00"), "environment", "control characters"),
        (with_changes(finished_at="2024-05-30T14:00:00"), "finished_at", "needs a UTC offset"),
        (with_changes(finished_at="2024-05-30"), "finished_at", "needs a UTC offset"),
        (with_changes(finished_at="yesterday"), "finished_at", "is not an ISO 8601 date-time"),
        (with_changes(finished_at=1717000000), "finished_at", "must be an ISO 8601 date-time string, got a number"),
        (with_changes(finished_at="9" * 100), "finished_at", "too long"),
        (with_changes(status="SUCCESS"), "status", "must be one of success, failure, cancelled"),
        (with_changes(status=None), "status", "is required"),
        (with_changes(commit_shas="a1b2c3d"), "commit_shas", "must be a list"),
        (with_changes(commit_shas=None), "commit_shas", "must not be null"),
        (with_changes(commit_shas=["a1b2c3d", 7]), "commit_shas[1]", "must be a string"),
        (with_changes(commit_shas=[""]), "commit_shas[0]", "must not be empty"),
        (with_changes(commit_shas=["a"] * 10_001), "commit_shas", "at most 10000"),
        (with_changes(sha="abc"), "sha", "is not a field of a deployment"),
    ],
)
def test_parse_event_errors_name_the_field(payload, field, fragment):
    with pytest.raises(EventError) as caught:
        parse_event("deployment", payload)
    assert caught.value.field == field
    assert fragment in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")


def test_parse_event_refuses_unknown_kinds_and_non_objects():
    with pytest.raises(EventError) as kind:
        parse_event("release", {})
    with pytest.raises(EventError) as payload:
        parse_event("change", ["sha"])
    assert kind.value.field == "kind"
    assert (payload.value.field, payload.value.message) == ("payload", "must be a JSON object, got a list")


def test_parse_event_refuses_an_incident_resolved_before_it_opened():
    with pytest.raises(EventError) as caught:
        parse_event(
            "incident",
            {
                "external_id": "PD-3",
                "entity_ref": "component:a",
                "opened_at": "2024-05-30T10:00:00Z",
                "resolved_at": "2024-05-30T11:00:00+02:00",
            },
        )
    assert (caught.value.field, caught.value.message) == ("resolved_at", "is before opened_at")


def test_parse_event_refuses_a_change_without_its_commit_time():
    with pytest.raises(EventError) as caught:
        parse_event("change", {"sha": "a1b2c3d", "entity_ref": "component:a"})
    assert (caught.value.field, caught.value.message) == ("committed_at", "is required")


def test_weeks_stay_seven_days_long_across_daylight_saving():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    end = datetime(2024, 4, 8, tzinfo=paris)  # the clocks moved forward on March 31
    starts = full_week_starts(end - 29 * D, end)
    assert len(starts) == 4
    assert [later - earlier for earlier, later in itertools.pairwise(starts)] == [7 * D] * 3
    assert end - starts[-1] == 7 * D
