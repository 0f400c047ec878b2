"""Quotas (count, cost, tier, naming, TTL) and TTL helpers (parsing, expiry, expiring soon)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scaffolder.provisioning import (
    ExistingClaim,
    Lease,
    PolicyError,
    QuotaPolicy,
    QuotaRequest,
    TTLError,
    Usage,
    check_request,
    expires_at,
    expiring_soon,
    format_ttl,
    is_expired,
    parse_ttl,
    policy_from_dict,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def preview(name, cost="2.00"):
    return ExistingClaim(
        offering="preview-environment", resource_type="preview-environment", name=name, monthly_cost=Decimal(cost)
    )


def database(name, cost):
    return ExistingClaim(offering="postgresql", resource_type="database", name=name, monthly_cost=Decimal(cost))


def request(**overrides):
    values = {
        "offering": "preview-environment",
        "resource_type": "preview-environment",
        "name": "pr-4",
        "estimated_monthly_cost": Decimal("2.00"),
        "currency": "EUR",
        "offering_title": "Preview environment",
    }
    values.update(overrides)
    return QuotaRequest(**values)


# ---------------------------------------------------------------------------------------- counts


def test_it_refuses_a_preview_when_the_group_already_has_its_maximum():
    policy = QuotaPolicy(group="team-a", max_count_by_resource_type={"preview-environment": 3})
    usage = Usage([preview("pr-1"), preview("pr-2"), preview("pr-3")])
    [violation] = check_request(policy, usage, request())
    assert violation.message == "Quota 'preview environments' for group team-a: 3 of 3 in use"
    assert (violation.code, violation.limit, violation.current) == ("count:resource-type:preview-environment", 3, 3)


def test_it_allows_a_preview_while_below_the_maximum():
    policy = QuotaPolicy(group="team-a", max_count_by_resource_type={"preview-environment": 3})
    assert check_request(policy, Usage([preview("pr-1"), preview("pr-2")]), request()) == []


def test_claims_of_other_types_do_not_count_against_a_type_quota():
    policy = QuotaPolicy(group="team-a", max_count_by_resource_type={"preview-environment": 1})
    assert check_request(policy, Usage([database("orders", "10")]), request()) == []


def test_a_per_offering_quota_is_named_after_the_offering():
    policy = QuotaPolicy(group="team-b", max_count_by_offering={"postgresql": 1})
    usage = Usage([database("orders", "30")])
    wanted = request(
        offering="postgresql", resource_type="database", name="billing", offering_title="PostgreSQL database"
    )
    [violation] = check_request(policy, usage, wanted)
    assert violation.message == "Quota 'PostgreSQL database' for group team-b: 1 of 1 in use"


def test_a_zero_quota_forbids_the_offering_entirely():
    policy = QuotaPolicy(group="team-a", max_count_by_resource_type={"preview-environment": 0})
    [violation] = check_request(policy, Usage(), request())
    assert violation.message.endswith(": 0 of 0 in use")


# ------------------------------------------------------------------------------------------ cost


def test_it_refuses_a_request_that_would_exceed_the_monthly_cost_limit():
    policy = QuotaPolicy(group="team-a", max_monthly_cost=Decimal("1000"))
    usage = Usage([database("orders", "600"), database("billing", "350")])
    [violation] = check_request(policy, usage, request(estimated_monthly_cost=Decimal("60")))
    assert violation.code == "monthly-cost"
    assert violation.message == (
        "Quota 'monthly cost' for group team-a: 950.00 of 1000.00 EUR in use; this request would add 60.00 EUR"
    )


def test_a_request_reaching_the_cost_limit_exactly_is_allowed():
    policy = QuotaPolicy(group="team-a", max_monthly_cost=Decimal("1000"))
    usage = Usage([database("orders", "950")])
    assert check_request(policy, usage, request(estimated_monthly_cost=Decimal("50"))) == []


# --------------------------------------------------------------------------------- tier and name


def test_it_refuses_a_tier_the_group_may_not_use():
    policy = QuotaPolicy(group="team-a", allowed_tiers=frozenset({"internal", "standard"}))
    [violation] = check_request(policy, Usage(), request(tier="production"))
    assert violation.message == "Tier 'production' is not allowed for group team-a (allowed: internal, standard)"
    assert check_request(policy, Usage(), request(tier="standard")) == []


def test_an_offering_without_tiers_passes_a_tier_policy():
    policy = QuotaPolicy(group="team-a", allowed_tiers=frozenset({"internal"}))
    assert check_request(policy, Usage(), request(tier=None)) == []


def test_it_refuses_a_name_breaking_the_naming_rule():
    policy = QuotaPolicy(group="team-a", name_pattern=r"team-a-[a-z0-9-]+", name_rule_help="names start with team-a-")
    [violation] = check_request(policy, Usage(), request(name="orders"))
    assert violation.message == "Name 'orders' breaks the naming rule of group team-a: names start with team-a-"
    assert check_request(policy, Usage(), request(name="team-a-orders")) == []


def test_the_naming_rule_must_match_the_whole_name():
    policy = QuotaPolicy(group="team-a", name_pattern=r"team-a-[a-z]+")
    [violation] = check_request(policy, Usage(), request(name="team-a-orders-2"))
    assert "must match team-a-[a-z]+" in violation.message


def test_it_refuses_a_name_the_group_already_uses():
    [violation] = check_request(QuotaPolicy(group="team-a"), Usage([database("pr-4", "1")]), request())
    assert violation.code == "name-in-use"


def test_it_refuses_a_ttl_above_the_groups_maximum():
    policy = QuotaPolicy(group="team-a", max_ttl=timedelta(days=2))
    [violation] = check_request(policy, Usage(), request(ttl=timedelta(days=3)))
    assert violation.message == "Quota 'maximum TTL' for group team-a: 3d requested, at most 2d allowed"


def test_it_lists_every_broken_quota_at_once():
    policy = policy_from_dict(
        {
            "group": "team-a",
            "max_count_by_resource_type": {"preview-environment": 1},
            "max_monthly_cost": "3",
            "allowed_tiers": ["internal"],
            "name_pattern": "team-a-.+",
        }
    )
    violations = check_request(policy, Usage([preview("pr-1")]), request(tier="production"))
    assert [v.code for v in violations] == ["count:resource-type:preview-environment", "monthly-cost", "tier", "naming"]


def test_an_empty_policy_allows_anything():
    assert check_request(QuotaPolicy(group="team-a"), Usage([preview(f"old-{n}") for n in range(50)]), request()) == []


# -------------------------------------------------------------------------------------- policies


def test_a_policy_loads_from_stored_data():
    policy = policy_from_dict(
        {"group": "team-a", "max_monthly_cost": 250.5, "allowed_tiers": ["standard"], "max_ttl": "7d"}
    )
    assert policy.max_monthly_cost == Decimal("250.5")
    assert policy.allowed_tiers == frozenset({"standard"})
    assert policy.max_ttl == timedelta(days=7)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"group": "team-a", "name_pattern": "team-a-("}, "not a valid regular expression"),
        ({"group": "team-a", "name_pattern": "a" * 201}, "longer than 200"),
        ({"group": "team-a", "max_count_by_resource_type": {"database": -1}}, "must not be negative"),
        ({"group": "team-a", "max_count_by_resource_type": {"database": "3"}}, "whole number"),
        ({"group": "team-a", "max_count_by_offering": {"redis": True}}, "whole number"),
        ({"group": "team-a", "max_count_by_offering": ["redis"]}, "must be a mapping"),
        ({"group": "team-a", "max_monthly_cost": "lots"}, "not a number"),
        ({"group": "team-a", "max_monthly_cost": "NaN"}, "finite"),
        ({"group": "team-a", "max_monthly_cost": "-5"}, "must not be negative"),
        ({"group": "team-a", "max_ttl": "forever"}, "max_ttl"),
        ({"group": "team-a", "allowed_tiers": "production"}, "list of tier names"),
        ({"group": "team-a", "max_previews": 3}, "unknown quota policy field(s): max_previews"),
        ({"max_monthly_cost": "5"}, "needs a group name"),
        (["group", "team-a"], "must be a mapping"),
    ],
)
def test_it_refuses_a_malformed_policy_with_the_reason(data, expected):
    with pytest.raises(PolicyError) as exc_info:
        policy_from_dict(data)
    assert expected in str(exc_info.value)


# ------------------------------------------------------------------------------------------- TTL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72h", timedelta(hours=72)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("90m", timedelta(minutes=90)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m", timedelta(weeks=1, days=2, hours=3, minutes=4)),
        ("3D", timedelta(days=3)),
    ],
)
def test_it_parses_ttls(text, expected):
    assert parse_ttl(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "72", "h", "3x", "3 d", "-3h", "1.5d", "1h1d", "1d1d", "P3D", "999999d", "3d\n", " 3d", "3d;rm", "0h", "0d0h"],
)
def test_it_refuses_ttls_that_are_not_positive_durations(text):
    with pytest.raises(TTLError):
        parse_ttl(text)


def test_it_refuses_a_ttl_that_is_not_text():
    with pytest.raises(TTLError, match="must be a string"):
        parse_ttl(72)


def test_it_refuses_a_ttl_above_the_limit_and_names_the_limit():
    assert parse_ttl("7d", max_ttl=timedelta(days=7)) == timedelta(days=7)
    with pytest.raises(TTLError, match="longer than the maximum of 1w"):
        parse_ttl("169h", max_ttl=timedelta(days=7))


@pytest.mark.parametrize("text", ["72h", "3d", "1d12h", "2w", "90m", "1w2d3h4m"])
def test_formatting_a_parsed_ttl_gives_an_equal_ttl(text):
    assert parse_ttl(format_ttl(parse_ttl(text))) == parse_ttl(text)


# ---------------------------------------------------------------------------------------- expiry


def test_expires_at_adds_the_ttl_to_the_request_time():
    assert expires_at(NOW, "3d") == datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    assert expires_at(NOW, timedelta(hours=1)) == datetime(2025, 3, 1, 13, 0, tzinfo=UTC)


def test_expiry_keeps_the_request_time_zone_correct():
    paris = timezone(timedelta(hours=1))
    requested = datetime(2025, 3, 1, 13, 0, tzinfo=paris)
    assert expires_at(requested, "1h") == datetime(2025, 3, 1, 13, 0, tzinfo=UTC)


def test_expiry_needs_a_timezone_aware_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        expires_at(datetime(2025, 3, 1), "1h")  # noqa: DTZ001 - deliberately naive
    with pytest.raises(ValueError, match="timezone-aware"):
        is_expired(NOW, datetime(2025, 3, 1))  # noqa: DTZ001 - deliberately naive


def test_a_lease_expires_exactly_when_its_ttl_runs_out():
    lease = Lease(NOW, "72h")
    assert lease.expires_at == NOW + timedelta(hours=72)
    assert not lease.is_expired(lease.expires_at - timedelta(seconds=1))
    assert lease.is_expired(lease.expires_at)
    assert lease.is_expired(lease.expires_at + timedelta(days=1))
    assert lease.remaining(lease.expires_at + timedelta(days=1)) == timedelta()


def test_a_lease_is_expiring_soon_within_a_day_of_its_end():
    lease = Lease(NOW, "3d")
    end = lease.expires_at
    assert not lease.expiring_soon(end - timedelta(hours=24, seconds=1))
    assert lease.expiring_soon(end - timedelta(hours=24))
    assert lease.expiring_soon(end - timedelta(minutes=5))
    assert not lease.expiring_soon(end), "an expired lease is expired, not expiring soon"


def test_the_expiring_soon_window_can_be_chosen():
    lease = Lease(NOW, "3d")
    two_days_before = lease.expires_at - timedelta(days=2)
    assert not lease.expiring_soon(two_days_before)
    assert lease.expiring_soon(two_days_before, within=timedelta(days=2))
    assert expiring_soon(lease.expires_at, two_days_before, within=timedelta(days=2))


def test_a_lease_refuses_a_zero_ttl():
    with pytest.raises(TTLError):
        Lease(NOW, timedelta(0))
