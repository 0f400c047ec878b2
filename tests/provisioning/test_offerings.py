"""Offerings: built-in definitions, form validation, cost estimates, admin-defined offerings."""

from datetime import timedelta
from decimal import Decimal

import pytest
from jsonschema import Draft7Validator

from scaffolder.provisioning import (
    CostTable,
    Offering,
    OfferingError,
    ProvisioningSettings,
    QuantityError,
    SettingsError,
    ValidationFailed,
    builtin_offerings,
    estimate_monthly_cost,
    offering_from_dict,
    parse_cpu,
    parse_memory,
    validate_values,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def preview_values(**overrides):
    values = {
        "repository": "https://git.example.com/acme/shop",
        "branch": "feature/checkout",
        "commit": SHA,
    }
    values.update(overrides)
    return values


def fields(exc_info):
    return {error.field for error in exc_info.value.errors}


def messages(exc_info):
    return " | ".join(str(error) for error in exc_info.value.errors)


# ------------------------------------------------------------------------------------ built-ins


def test_the_builtin_offerings_cover_databases_caches_previews_and_namespaces():
    offerings = builtin_offerings()
    assert set(offerings) == {"postgresql", "mysql", "redis", "preview-environment", "team-namespace"}
    assert {o.resource_type for o in offerings.values()} == {"database", "cache", "preview-environment", "namespace"}


def test_each_builtin_call_returns_fresh_offerings_so_no_state_is_shared():
    first = builtin_offerings()
    first["postgresql"].tiers["production"] = None
    assert builtin_offerings()["postgresql"].tiers["production"].replicas == 3


@pytest.mark.parametrize("key", sorted(builtin_offerings()))
def test_each_builtin_parameter_schema_is_a_valid_draft_7_object_schema(key):
    schema = builtin_offerings()[key].parameter_schema
    Draft7Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["ui:order"]) == set(schema["properties"])


def test_tier_and_size_choices_explain_what_they_map_to():
    tier = builtin_offerings()["postgresql"].parameter_schema["properties"]["tier"]
    assert tier["ui:widget"] == "radio"
    assert "production: 3 replicas, backups kept 30 days, customer-managed" in tier["ui:help"]
    size = builtin_offerings()["postgresql"].parameter_schema["properties"]["size"]
    assert "large: 8 CPU, 32Gi memory, 500Gi storage" in size["ui:help"]


# ----------------------------------------------------------------------------------- validation


def test_defaults_fill_in_fields_left_out():
    values = validate_values(builtin_offerings()["postgresql"], {})
    assert values == {"version": "17", "tier": "standard", "size": "small"}


def test_validation_does_not_change_the_callers_values():
    submitted = {"tier": "production"}
    validate_values(builtin_offerings()["postgresql"], submitted)
    assert submitted == {"tier": "production"}


def test_it_rejects_an_unknown_tier_and_lists_the_choices():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["postgresql"], {"tier": "gold"})
    assert fields(exc_info) == {"tier"}
    assert "'gold' is not one of the choices: production, standard, internal" in messages(exc_info)


def test_it_rejects_a_version_outside_the_allowed_list():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["mysql"], {"version": "5.7"})
    assert fields(exc_info) == {"version"}


def test_it_rejects_unknown_fields_by_name():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["redis"], {"size": "small", "replicas": 9, "admin": True})
    assert fields(exc_info) == {"replicas", "admin"}
    assert "is not a known field" in messages(exc_info)


def test_it_reports_every_missing_required_field_at_once():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], {})
    assert fields(exc_info) == {"repository", "branch", "commit"}
    assert exc_info.value.by_field()["commit"] == ["is required"]


def test_it_rejects_a_wrongly_typed_value_with_the_expected_type():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["team-namespace"], {"podsQuota": "fifty"})
    assert "podsQuota: must be of type integer, got str" in messages(exc_info)


@pytest.mark.parametrize("values", [None, "tier=production", ["tier"], 42])
def test_it_rejects_values_that_are_not_a_mapping(values):
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["postgresql"], values)
    assert "must be a mapping" in messages(exc_info)


@pytest.mark.parametrize("bad", [float("nan"), object(), {1, 2}, b"bytes"])
def test_it_rejects_values_that_are_not_plain_json(bad):
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["postgresql"], {"purpose": bad})
    assert "plain JSON data" in messages(exc_info)


def test_it_rejects_absurdly_nested_values_without_crashing():
    nested = []
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["postgresql"], {"purpose": nested})
    assert "plain JSON data" in messages(exc_info)


def test_it_rejects_a_commit_that_is_not_a_full_sha():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], preview_values(commit="abc123"))
    assert fields(exc_info) == {"commit"}
    assert "full 40-character commit SHA" in messages(exc_info)


def test_an_uppercase_commit_sha_is_normalised_to_lowercase():
    values = validate_values(builtin_offerings()["preview-environment"], preview_values(commit=SHA.upper()))
    assert values["commit"] == SHA


@pytest.mark.parametrize("version", ["latest", "^1.2.0", "~1.2.3", ">=1.0.0", "1.2", "1.x", "1.2.3-rc.1", "*", ""])
def test_it_refuses_dependency_versions_that_are_not_exact_stable_versions(version):
    dependencies = [{"name": "payments", "version": "2.0.1"}, {"name": "auth", "version": version}]
    values = preview_values(dependencies=dependencies)
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], values)
    assert fields(exc_info) == {"dependencies[1].version"}
    assert "exact stable version" in messages(exc_info)


@pytest.mark.parametrize("version", ["1.2.3", "v10.0.12", "0.0.1"])
def test_it_accepts_exact_dependency_versions(version):
    values = preview_values(dependencies=[{"name": "auth", "version": version}])
    assert validate_values(builtin_offerings()["preview-environment"], values)["dependencies"][0]["version"] == version


def test_it_reports_a_dependency_missing_its_version():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], preview_values(dependencies=[{"name": "auth"}]))
    assert fields(exc_info) == {"dependencies[0].version"}


def test_it_refuses_the_same_dependency_twice():
    deps = [{"name": "auth", "version": "1.0.0"}, {"name": "auth", "version": "2.0.0"}]
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], preview_values(dependencies=deps))
    assert fields(exc_info) == {"dependencies[1].name"}


@pytest.mark.parametrize(
    "branch", ["-rf", "feature/../main", "feature//x", "main.lock", "feature/", ".hidden", "a/.b", "main\nevil: true"]
)
def test_it_refuses_branch_names_git_would_refuse(branch):
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], preview_values(branch=branch))
    assert fields(exc_info) == {"branch"}


@pytest.mark.parametrize(
    "repository",
    [
        "http://git.example.com/acme/shop",
        "https://user:secret@git.example.com/acme/shop",
        "https://git.example.com/acme/../../etc",
        "https://git.example.com/acme/shop\n  evil: true",
        "file:///etc/passwd",
        "git.example.com/acme/shop",
    ],
)
def test_it_refuses_repositories_that_are_not_plain_https_urls(repository):
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], preview_values(repository=repository))
    assert fields(exc_info) == {"repository"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("commit", SHA + "\n"),
        ("ttl", "72h\n"),
        ("branch", "main\n"),
        ("repository", "https://git.example.com/acme/shop\n"),
        ("dependencies", [{"name": "auth\n", "version": "1.0.0"}]),
        ("dependencies", [{"name": "auth", "version": "1.0.0\n"}]),
    ],
)
def test_a_trailing_newline_does_not_slip_past_an_anchored_pattern(field, value):
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], preview_values(**{field: value}))
    assert {name.split("[")[0] for name in fields(exc_info)} == {field}


def test_it_refuses_a_ttl_longer_than_the_configured_maximum():
    settings = ProvisioningSettings(max_preview_ttl=timedelta(days=3))
    offering = builtin_offerings()["preview-environment"]
    assert validate_values(offering, preview_values(ttl="3d"), settings)["ttl"] == "3d"
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(offering, preview_values(ttl="73h"), settings)
    assert fields(exc_info) == {"ttl"}
    assert "longer than the maximum of 3d" in messages(exc_info)


@pytest.mark.parametrize("ttl", ["0h", "forever", "72", "1h1d"])
def test_it_refuses_a_ttl_that_is_not_a_positive_duration(ttl):
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], preview_values(ttl=ttl))
    assert fields(exc_info) == {"ttl"}


def test_it_refuses_preview_requests_above_the_offering_limits():
    values = preview_values(cpu="8", memory="64Gi")
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], values)
    assert fields(exc_info) == {"cpu", "memory"}
    assert "8 is more than the maximum of 4" in messages(exc_info)


def test_it_refuses_a_zero_cpu_request():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["preview-environment"], preview_values(cpu="0m"))
    assert "cpu: must be more than zero" in messages(exc_info)


def test_it_refuses_namespace_defaults_that_do_not_fit_the_quota():
    values = {"cpuQuota": "1", "defaultCpuLimit": "2", "defaultMemoryRequest": "1Gi", "defaultMemoryLimit": "512Mi"}
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["team-namespace"], values)
    assert fields(exc_info) == {"defaultCpuLimit", "defaultMemoryRequest"}
    assert "defaultCpuLimit: must not be more than cpuQuota (1)" in messages(exc_info)


def test_it_refuses_a_namespace_quota_above_the_platform_limit():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["team-namespace"], {"cpuQuota": "100", "podsQuota": 501})
    assert fields(exc_info) == {"cpuQuota", "podsQuota"}


def test_it_refuses_group_names_with_spaces_or_newlines():
    with pytest.raises(ValidationFailed) as exc_info:
        validate_values(builtin_offerings()["team-namespace"], {"adminsGroup": "admins\n- kind: User"})
    assert fields(exc_info) == {"adminsGroup"}


# ---------------------------------------------------------------------------------------- costs


def test_a_production_medium_postgresql_costs_instances_storage_backups_and_key():
    estimate = estimate_monthly_cost(builtin_offerings()["postgresql"], {"tier": "production", "size": "medium"})
    lines = {line.label: line.amount for line in estimate.lines}
    # 3 replicas x 110; 3 x 100 GiB x 0.12; 100 GiB x 0.05 x 30/30 days; key 1.00
    assert lines == {
        "instances": Decimal("330.00"),
        "storage": Decimal("36.00"),
        "backups": Decimal("5.00"),
        "encryption key": Decimal("1.00"),
    }
    assert estimate.total == Decimal("372.00")
    assert estimate.currency == "USD"


def test_an_internal_database_has_one_instance_short_backups_and_no_key_fee():
    estimate = estimate_monthly_cost(builtin_offerings()["postgresql"], {"tier": "internal", "size": "small"})
    lines = {line.label: line.amount for line in estimate.lines}
    # 1 x 30; 20 GiB x 0.12; 20 x 0.05 x 1/30 = 0.033 -> 0.03
    assert lines == {"instances": Decimal("30.00"), "storage": Decimal("2.40"), "backups": Decimal("0.03")}
    assert estimate.total == Decimal("32.43")


@pytest.mark.parametrize("key", ["postgresql", "mysql", "redis"])
def test_bigger_sizes_and_higher_tiers_cost_more(key):
    offering = builtin_offerings()[key]

    def cost(tier, size):
        return estimate_monthly_cost(offering, {"tier": tier, "size": size}).total

    assert cost("standard", "small") < cost("standard", "medium") < cost("standard", "large")
    assert cost("internal", "medium") < cost("standard", "medium") < cost("production", "medium")


def test_a_redis_cache_costs_its_size_times_its_replicas():
    estimate = estimate_monthly_cost(builtin_offerings()["redis"], {"tier": "production", "size": "medium"})
    assert [(line.label, line.amount) for line in estimate.lines] == [("instances", Decimal("165.00"))]
    assert "3 x medium (1 CPU, 4Gi memory)" in estimate.lines[0].detail


def test_a_preview_costs_cpu_and_memory_for_the_hours_it_lives():
    values = preview_values(cpu="2", memory="4Gi", ttl="3d")
    estimate = estimate_monthly_cost(builtin_offerings()["preview-environment"], values)
    # 2 cores x 72 h x 0.04 = 5.76; 4 GiB x 72 h x 0.005 = 1.44
    assert [(line.label, line.amount) for line in estimate.lines] == [
        ("cpu", Decimal("5.76")),
        ("memory", Decimal("1.44")),
    ]
    assert estimate.total == Decimal("7.20")
    assert estimate.lines[0].detail == "2 CPU x 72 h at 0.04 per core-hour"


def test_a_preview_longer_than_a_month_is_priced_for_one_month():
    settings = ProvisioningSettings(max_preview_ttl=timedelta(days=90))
    offering = builtin_offerings()["preview-environment"]
    six_weeks = estimate_monthly_cost(offering, preview_values(cpu="1", memory="1Gi", ttl="6w"), settings)
    month = Decimal("730")
    assert six_weeks.total == (month * Decimal("0.04") + month * Decimal("0.005")).quantize(Decimal("0.01"))


def test_the_currency_comes_from_the_settings():
    estimate = estimate_monthly_cost(
        builtin_offerings()["team-namespace"], {}, ProvisioningSettings(currency="EUR")
    )
    assert str(estimate) == "5.00 EUR"
    assert estimate.as_dict() == {
        "total": "5.00",
        "currency": "EUR",
        "lines": [
            {"label": "namespace", "amount": "5.00", "detail": estimate.lines[0].detail},
        ],
    }


@pytest.mark.parametrize("key", sorted(builtin_offerings()))
def test_every_total_is_the_sum_of_its_breakdown(key):
    values = preview_values() if key == "preview-environment" else {}
    estimate = estimate_monthly_cost(builtin_offerings()[key], values)
    assert estimate.total == sum(line.amount for line in estimate.lines)
    assert estimate.total > 0


def test_cost_estimation_validates_its_values_first():
    with pytest.raises(ValidationFailed):
        estimate_monthly_cost(builtin_offerings()["postgresql"], {"size": "enormous"})


# ------------------------------------------------------------------------------------ quantities


@pytest.mark.parametrize(("text", "millicores"), [("500m", 500), ("2", 2000), ("1.5", 1500), ("0.25", 250)])
def test_it_parses_cpu_quantities_into_millicores(text, millicores):
    assert parse_cpu(text) == millicores


@pytest.mark.parametrize(("text", "size"), [("512Mi", 512 * 2**20), ("8Gi", 8 * 2**30), ("1Ti", 2**40)])
def test_it_parses_memory_quantities_into_bytes(text, size):
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "two", "1.2345", "-1", "5 m", "8G", "1e3", None, 8])
def test_it_refuses_malformed_quantities(text):
    with pytest.raises(QuantityError):
        parse_cpu(text)
    with pytest.raises(QuantityError):
        parse_memory(text)


# --------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "overrides",
    [
        {"currency": "euro"},
        {"preview_base_domain": "../evil"},
        {"preview_base_domain": "Preview.Example.com"},
        {"ingress_namespace": "ingress nginx"},
        {"claim_api_version": "1"},
        {"max_preview_ttl": timedelta(0)},
    ],
)
def test_it_refuses_bad_settings_with_a_clear_error(overrides):
    with pytest.raises(SettingsError):
        ProvisioningSettings(**overrides)


# ------------------------------------------------------------------------------ admin offerings


def mariadb_data(**overrides):
    base = builtin_offerings()["mysql"]
    data = {
        "key": "mariadb",
        "title": "MariaDB database",
        "description": "MariaDB for legacy apps",
        "resource_type": "database",
        "model": "database",
        "claim_kind": "MariaDBInstance",
        "engine": "mariadb",
        "parameter_schema": {
            **base.parameter_schema,
            "properties": {
                **base.parameter_schema["properties"],
                "version": {"type": "string", "enum": ["10.11", "11.4"], "default": "11.4"},
            },
        },
        "sizes": {"small": {"cpu": "1", "memory": "2Gi", "storage": "10Gi"}},
        "tiers": {"internal": {"replicas": 1, "backup_retention_days": 3}},
        "cost_table": {
            "by_size": {"small": "12.50"},
            "rates": {"storage_gib_month": "0.1", "backup_gib_month": "0.03", "customer_managed_key_month": "1"},
        },
    }
    data["parameter_schema"]["properties"]["tier"] = {"type": "string", "enum": ["internal"], "default": "internal"}
    data["parameter_schema"]["properties"]["size"] = {"type": "string", "enum": ["small"], "default": "small"}
    data.update(overrides)
    return data


def test_platform_admins_can_add_an_offering_as_data():
    offering = offering_from_dict(mariadb_data())
    assert isinstance(offering, Offering)
    assert offering.tiers["internal"].replicas == 1
    estimate = estimate_monthly_cost(offering, {})
    # 12.50 + 10 GiB x 0.1 + 10 x 0.03 x 3/30
    assert estimate.total == Decimal("13.53")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"model": "mainframe"}, "model 'mainframe' is not one of"),
        ({"key": "../mariadb"}, "path separators"),
        ({"claim_kind": "mariadb instance"}, "claim_kind"),
        ({"engine": "Maria DB"}, "engine"),
        ({"parameter_schema": {"type": "object", "properties": {"x": {"type": "strang"}}}}, "not a valid JSON Schema"),
        ({"tiers": {"gold": {"replicas": 1}}}, "tier choices must be exactly: gold"),
        ({"tiers": {"internal": {"replicas": 0}}}, "replicas must be a whole number of at least 1"),
        ({"tiers": {"internal": {"replicas": 1, "key_management": "none"}}}, "key_management must be one of"),
        ({"tiers": {"internal": {"replicas": 1, "colour": "red"}}}, "malformed sizes, tiers"),
        ({"sizes": {"small": {"cpu": "lots", "memory": "2Gi", "storage": "1Gi"}}}, "size small"),
        ({"sizes": {"small": {"cpu": "1", "memory": "2Gi"}}}, "a database size needs storage"),
        ({"cost_table": {"by_size": {"small": "ten"}}}, "malformed sizes, tiers"),
        ({"cost_table": {"by_size": {}}}, "no price for size small"),
    ],
)
def test_it_refuses_malformed_admin_offerings_with_the_reason(overrides, expected):
    with pytest.raises(OfferingError) as exc_info:
        offering_from_dict(mariadb_data(**overrides))
    assert expected in str(exc_info.value)


def test_it_refuses_an_offering_missing_required_fields():
    with pytest.raises(OfferingError, match="missing: model, parameter_schema"):
        offering_from_dict({"key": "x", "title": "X", "resource_type": "database"})


def test_an_offering_needs_the_rates_its_model_prices_with():
    with pytest.raises(OfferingError, match="cpu_core_hour"):
        Offering(
            key="sandbox",
            title="Sandbox",
            description="",
            resource_type="preview-environment",
            model="preview-environment",
            claim_kind="Sandbox",
            parameter_schema=builtin_offerings()["preview-environment"].parameter_schema,
            limits={"max_cpu": "2", "max_memory": "4Gi"},
            cost_table=CostTable(rates={"memory_gib_hour": Decimal("0.01")}),
        )
