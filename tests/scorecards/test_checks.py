import copy

import pytest
import yaml

from scorecards.checks import (
    CHECK_TYPES,
    MAX_MATCH_SUBJECT,
    MAX_OBSERVED_JSON,
    CheckError,
    CheckResult,
    EntityFacts,
    PathError,
    evaluate,
    owner_group_ref,
    parse_path,
    resolve_path,
    validate_check,
)

ENTITY = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {
        "name": "artist-lookup",
        "namespace": "default",
        "tags": ["java", "data"],
        "annotations": {
            "backstage.io/techdocs-ref": "dir:.",
            "github.com/project-slug": "acme/artist-lookup",
            "blank": "  ",
        },
        "description": "",
    },
    "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "replicas": 3, "public": True},
}
RELATIONS = [
    {"type": "ownedBy", "targetRef": "group:default/team-a"},
    {"type": "dependsOn", "targetRef": "resource:default/artists-db"},
    {"type": "dependsOn", "targetRef": "component:default/queue"},
]
GROUPS = frozenset({"group:default/team-a", "group:ops/sre"})


def facts(entity=None, **changes):
    values = {
        "entity": copy.deepcopy(ENTITY) if entity is None else entity,
        "relations": RELATIONS,
        "existing_group_refs": GROUPS,
        "techdocs": {"built": True, "errors": 0},
        "dora": {"lead_time_hours": 12.5, "change_failure_rate": None},
    }
    values.update(changes)
    return EntityFacts(**values)


def run(check, **changes):
    return evaluate(check, facts(**changes))


# ---------------------------------------------------------------- field paths


def test_it_parses_dotted_bracketed_and_indexed_paths():
    assert parse_path("spec.lifecycle") == ("spec", "lifecycle")
    assert parse_path('metadata.annotations["backstage.io/techdocs-ref"]') == (
        "metadata",
        "annotations",
        "backstage.io/techdocs-ref",
    )
    assert parse_path("metadata.annotations['a.b']") == ("metadata", "annotations", "a.b")
    assert parse_path("metadata.tags[1]") == ("metadata", "tags", 1)
    assert parse_path('["odd key"].x') == ("odd key", "x")
    assert parse_path(r'a["say \"hi\""]') == ("a", 'say "hi"')


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("", "empty"),
        ("spec.", "ends with '.'"),
        ("metadata.annotations.backstage.io/techdocs-ref", "use brackets"),
        ("spec..owner", "expected a key"),
        ('metadata["unclosed', "unclosed"),
        ("metadata[abc]", "quoted key or a list position"),
        ('metadata[""]', "empty key"),
        ('metadata["a"x', "expected ']'"),
        (r'metadata["\n"]', "unknown escape"),
        ("a" * 501, "longer than"),
        (".spec", "unexpected character"),
    ],
)
def test_it_rejects_malformed_paths_with_a_reason(path, fragment):
    with pytest.raises(PathError, match=None) as caught:
        parse_path(path)
    assert fragment in str(caught.value)


def test_it_resolves_paths_and_reports_missing_steps():
    steps = parse_path("metadata.tags[1]")
    assert resolve_path(ENTITY, steps) == "data"
    from scorecards.checks import MISSING

    assert resolve_path(ENTITY, parse_path("metadata.tags[5]")) is MISSING
    assert resolve_path(ENTITY, parse_path("spec.lifecycle.deeper")) is MISSING
    assert resolve_path(ENTITY, parse_path("spec[0]")) is MISSING


# ---------------------------------------------------------------- field_present


def test_field_present_passes_with_the_value_observed():
    result = run({"type": "field_present", "path": "spec.lifecycle"})
    assert result == CheckResult(True, "production", "spec.lifecycle is set")


def test_field_present_reads_bracketed_annotation_keys():
    result = run({"type": "field_present", "path": 'metadata.annotations["backstage.io/techdocs-ref"]'})
    assert result.passed and result.observed == "dir:."


@pytest.mark.parametrize(
    "path, message",
    [
        ("spec.system", "spec.system is missing"),
        ("metadata.description", "metadata.description is empty"),
        ('metadata.annotations["blank"]', 'metadata.annotations["blank"] is empty'),
    ],
)
def test_field_present_fails_on_missing_or_blank_values(path, message):
    result = run({"type": "field_present", "path": path})
    assert not result.passed
    assert result.message == message


def test_field_present_treats_an_empty_list_as_absent():
    entity = copy.deepcopy(ENTITY)
    entity["metadata"]["tags"] = []
    result = evaluate({"type": "field_present", "path": "metadata.tags"}, facts(entity))
    assert not result.passed and result.observed == []


# ---------------------------------------------------------------- field_equals, field_in


def test_field_equals_passes_and_fails_with_observed_value():
    ok = run({"type": "field_equals", "path": "spec.type", "value": "service"})
    bad = run({"type": "field_equals", "path": "spec.type", "value": "website"})
    assert ok.passed and ok.observed == "service"
    assert not bad.passed and bad.observed == "service"
    assert bad.message == 'spec.type is "service", expected "website"'


def test_field_equals_keeps_booleans_and_numbers_apart():
    assert not run({"type": "field_equals", "path": "spec.public", "value": 1}).passed
    assert run({"type": "field_equals", "path": "spec.public", "value": True}).passed
    assert run({"type": "field_equals", "path": "spec.replicas", "value": 3.0}).passed


def test_field_equals_on_a_missing_field_fails_even_against_null():
    result = run({"type": "field_equals", "path": "spec.nothing", "value": None})
    assert not result.passed and result.observed is None
    assert "missing" in result.message


def test_field_in_checks_membership():
    ok = run({"type": "field_in", "path": "spec.lifecycle", "values": ["production", "deprecated"]})
    bad = run({"type": "field_in", "path": "spec.lifecycle", "values": ["experimental"]})
    assert ok.passed
    assert not bad.passed and bad.observed == "production"
    assert 'not one of "experimental"' in bad.message


# ---------------------------------------------------------------- field_matches


def test_field_matches_uses_search_semantics():
    assert run({"type": "field_matches", "path": "metadata.name", "pattern": "lookup"}).passed
    anchored = run({"type": "field_matches", "path": "metadata.name", "pattern": "^lookup$"})
    assert not anchored.passed and anchored.observed == "artist-lookup"


def test_field_matches_fails_on_non_strings_and_missing_values():
    number = run({"type": "field_matches", "path": "spec.replicas", "pattern": "3"})
    missing = run({"type": "field_matches", "path": "spec.system", "pattern": "."})
    assert not number.passed and "is a number, not a string" in number.message
    assert not missing.passed and missing.message == "spec.system is missing"


def test_field_matches_refuses_subjects_over_the_length_cap():
    entity = copy.deepcopy(ENTITY)
    entity["metadata"]["description"] = "a" * (MAX_MATCH_SUBJECT + 1) + "!"
    # A pattern that backtracks catastrophically on a long run of "a"s without a match.
    check = {"type": "field_matches", "path": "metadata.description", "pattern": "^(a+)+$"}
    result = evaluate(check, facts(entity))
    assert not result.passed
    assert "not matched" in result.message
    assert len(str(result.observed)) <= MAX_OBSERVED_JSON


def test_field_matches_accepts_a_subject_at_the_cap():
    entity = copy.deepcopy(ENTITY)
    entity["metadata"]["description"] = "b" * MAX_MATCH_SUBJECT
    assert evaluate({"type": "field_matches", "path": "metadata.description", "pattern": "^b+$"}, facts(entity)).passed


# ---------------------------------------------------------------- annotation_present, relation_exists


def test_annotation_present_passes_and_fails():
    assert run({"type": "annotation_present", "key": "github.com/project-slug"}).passed
    missing = run({"type": "annotation_present", "key": "pagerduty.com/service-id"})
    blank = run({"type": "annotation_present", "key": "blank"})
    assert not missing.passed and missing.message == "annotation pagerduty.com/service-id is missing"
    assert not blank.passed and blank.observed == "  "


def test_annotation_present_survives_entities_without_metadata():
    result = evaluate({"type": "annotation_present", "key": "x"}, facts({"kind": "Component"}))
    assert not result.passed


def test_relation_exists_counts_relations_of_the_type():
    one = run({"type": "relation_exists", "relation": "ownedBy"})
    two = run({"type": "relation_exists", "relation": "dependsOn", "min_count": 2})
    three = run({"type": "relation_exists", "relation": "dependsOn", "min_count": 3})
    none = run({"type": "relation_exists", "relation": "providesApi"})
    assert one.passed and one.observed == 1
    assert two.passed and two.observed == 2
    assert not three.passed and three.observed == 2
    assert three.message == "2 dependsOn relations, at least 3 needed"
    assert not none.passed and none.observed == 0


# ---------------------------------------------------------------- owner_is_group


@pytest.mark.parametrize(
    "owner, namespace, expected",
    [
        ("team-a", "default", "group:default/team-a"),
        ("Team-A", "default", "group:default/team-a"),
        ("group:team-a", "default", "group:default/team-a"),
        ("sre", "ops", "group:ops/sre"),
        ("group:ops/sre", "default", "group:ops/sre"),
        ("Group:Default/Team-A", "default", "group:default/team-a"),
    ],
)
def test_owner_refs_resolve_like_backstage(owner, namespace, expected):
    assert owner_group_ref(owner, namespace) == (expected, "")


@pytest.mark.parametrize(
    "owner, reason",
    [
        ("user:jdoe", "is a user, not a group"),
        (None, "missing"),
        ("   ", "missing"),
        ("group:/x", "not a valid entity reference"),
        ("group:a/b/c", "not a valid entity reference"),
        (42, "missing"),
    ],
)
def test_owner_refs_that_are_not_groups_are_explained(owner, reason):
    ref, message = owner_group_ref(owner)
    assert ref is None and reason in message


def test_owner_is_group_passes_for_an_existing_group():
    result = run({"type": "owner_is_group"})
    assert result.passed and result.observed == "group:default/team-a"


def test_owner_is_group_uses_the_entity_namespace_for_a_bare_owner():
    entity = copy.deepcopy(ENTITY)
    entity["metadata"]["namespace"] = "ops"
    entity["spec"]["owner"] = "sre"
    assert evaluate({"type": "owner_is_group"}, facts(entity)).passed


def test_owner_is_group_fails_for_unknown_groups_and_users():
    entity = copy.deepcopy(ENTITY)
    entity["spec"]["owner"] = "team-z"
    unknown = evaluate({"type": "owner_is_group"}, facts(entity))
    entity["spec"]["owner"] = "user:default/jdoe"
    user = evaluate({"type": "owner_is_group"}, facts(entity))
    assert not unknown.passed and unknown.message == "owner group:default/team-z is not a group in the catalog"
    assert not user.passed and user.observed == "user:default/jdoe"


def test_owner_is_group_accepts_a_callable_lookup():
    asked = []

    def lookup(ref):
        asked.append(ref)
        return ref == "group:default/team-a"

    assert evaluate({"type": "owner_is_group"}, facts(existing_group_refs=lookup)).passed
    assert asked == ["group:default/team-a"]


def test_owner_is_group_over_the_backstage_example_components(backstage_fixtures):
    examples = backstage_fixtures / "packages" / "catalog-model" / "examples"
    group_refs = set()
    for path in sorted((examples / "acme").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "Group":
                group_refs.add(f"group:default/{document['metadata']['name']}".lower())
    outcomes = {}
    for path in sorted((examples / "components").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "Component":
                result = evaluate({"type": "owner_is_group"}, EntityFacts(document, existing_group_refs=group_refs))
                outcomes[document["metadata"]["name"]] = (document["spec"]["owner"], result.passed)
    assert outcomes["artist-lookup"] == ("team-a", True)
    # The examples give some components to the user "guest": bare (read as a group
    # that does not exist) or as user:guest. Only team owners pass.
    assert {owner for owner, ok in outcomes.values() if not ok} == {"guest", "user:guest"}
    assert all(ok for owner, ok in outcomes.values() if owner.startswith("team-"))


# ---------------------------------------------------------------- techdocs_built


@pytest.mark.parametrize(
    "techdocs, passed, message",
    [
        ({"built": True, "errors": 0}, True, "TechDocs built without errors"),
        ({"built": True, "errors": 2}, False, "TechDocs built with 2 error(s)"),
        ({"built": False, "errors": 0}, False, "the latest TechDocs build failed"),
        (None, False, "no TechDocs build recorded"),
    ],
)
def test_techdocs_built_needs_a_clean_build(techdocs, passed, message):
    result = run({"type": "techdocs_built"}, techdocs=techdocs)
    assert (result.passed, result.message) == (passed, message)
    if techdocs is not None:
        assert result.observed == techdocs


# ---------------------------------------------------------------- dora_threshold


@pytest.mark.parametrize(
    "operator, value, passed",
    [("<", 12.5, False), ("<=", 12.5, True), ("<", 24, True), (">", 12.5, False), (">=", 12.5, True), (">", 1, True)],
)
def test_dora_threshold_compares_with_each_operator(operator, value, passed):
    check = {"type": "dora_threshold", "figure": "lead_time_hours", "operator": operator, "value": value}
    result = run(check)
    assert result.passed is passed
    assert result.observed == 12.5


def test_dora_threshold_without_data_fails_with_no_data():
    for figure in ("change_failure_rate", "time_to_restore_hours"):  # None, and absent
        check = {"type": "dora_threshold", "figure": figure, "operator": "<", "value": 1}
        result = run(check)
        assert not result.passed and result.observed is None
        assert result.message.startswith("no data")


# ---------------------------------------------------------------- expression


def test_expression_passes_on_truthy_results():
    result = run({"type": "expression", "expression": "relations[?type=='dependsOn'].targetRef"})
    assert result.passed
    assert result.observed == ["resource:default/artists-db", "component:default/queue"]


def test_expression_fails_on_jmespath_falsy_results():
    empty = run({"type": "expression", "expression": "relations[?type=='providesApi']"})
    null = run({"type": "expression", "expression": "spec.nothing"})
    assert not empty.passed and empty.observed == []
    assert not null.passed and null.observed is None


def test_expression_treats_zero_as_true_like_jmespath():
    assert run({"type": "expression", "expression": "length(relations[?type=='x'])"}).passed


def test_expression_compares_with_equals():
    ok = run({"type": "expression", "expression": "length(relations)", "equals": 3})
    bad = run({"type": "expression", "expression": "length(metadata.tags)", "equals": 3})
    assert ok.passed
    assert not bad.passed and bad.observed == 2 and bad.message == "expression gives 2, expected 3"


def test_expression_runtime_errors_become_failures_with_a_message():
    result = run({"type": "expression", "expression": "length(spec.replicas)"})
    assert not result.passed and result.observed is None
    assert result.message.startswith("expression error:")
    assert "\n" not in result.message


def test_expression_observed_values_are_capped():
    entity = copy.deepcopy(ENTITY)
    entity["metadata"]["description"] = "x" * 10_000
    result = evaluate({"type": "expression", "expression": "@"}, facts(entity))
    assert result.passed
    assert isinstance(result.observed, str) and len(result.observed) <= MAX_OBSERVED_JSON


# ---------------------------------------------------------------- validate_check


def test_every_valid_example_check_validates_cleanly():
    checks = [
        {"type": "field_present", "path": "spec.lifecycle"},
        {"type": "field_equals", "path": "spec.type", "value": {"nested": [1, None]}},
        {"type": "field_matches", "path": "metadata.name", "pattern": "^[a-z-]+$"},
        {"type": "field_in", "path": "spec.lifecycle", "values": ["production", 1, None, False]},
        {"type": "annotation_present", "key": "backstage.io/techdocs-ref"},
        {"type": "relation_exists", "relation": "ownedBy", "min_count": 2},
        {"type": "owner_is_group"},
        {"type": "techdocs_built"},
        {"type": "dora_threshold", "figure": "change_failure_rate", "operator": "<=", "value": 0.15},
        {"type": "expression", "expression": "spec.type", "equals": "service"},
    ]
    assert sorted(check["type"] for check in checks) == sorted(CHECK_TYPES)
    for check in checks:
        assert validate_check(check) == [], check


@pytest.mark.parametrize(
    "check, expected",
    [
        (None, "check must be an object with a 'type'"),
        (["field_present"], "check must be an object with a 'type'"),
        ({"path": "spec.owner"}, "type: must be one of"),
        ({"type": "nope"}, "type: must be one of"),
        ({"type": "field_present"}, "path: is required for field_present"),
        ({"type": "field_present", "path": 7}, "path: path must be a string"),
        ({"type": "field_present", "path": "spec.owner", "valu": 1}, "valu: unknown parameter for field_present"),
        ({"type": "field_equals", "path": "spec.type"}, "value: is required"),
        ({"type": "field_equals", "path": "x", "value": float("nan")}, "value: must be a JSON value"),
        ({"type": "field_matches", "path": "x", "pattern": "(unclosed"}, "pattern: is not a valid regular expression"),
        ({"type": "field_matches", "path": "x", "pattern": ""}, "pattern: must be a non-empty"),
        ({"type": "field_matches", "path": "x", "pattern": "a" * 1001}, "pattern: is longer than"),
        ({"type": "field_in", "path": "x", "values": []}, "values: must be a non-empty list"),
        ({"type": "field_in", "path": "x", "values": [["nested"]]}, "values: must hold only"),
        ({"type": "annotation_present", "key": " "}, "key: must be a non-empty string"),
        ({"type": "relation_exists", "relation": "owned by"}, "relation: must be a relation type"),
        ({"type": "relation_exists", "relation": "ownedBy", "min_count": 0}, "min_count: must be a whole number"),
        ({"type": "relation_exists", "relation": "ownedBy", "min_count": True}, "min_count: must be a whole number"),
        ({"type": "dora_threshold", "figure": "mttr", "operator": "<", "value": 1}, "figure: must be one of"),
        ({"type": "dora_threshold", "figure": "lead_time_hours", "operator": "==", "value": 1}, "operator: must"),
        ({"type": "dora_threshold", "figure": "lead_time_hours", "operator": "<", "value": "1"}, "value: must be"),
        ({"type": "expression", "expression": "spec.[["}, "expression: is not a valid JMESPath expression"),
        ({"type": "expression", "expression": "foo(bar)"}, "expression: is not a valid JMESPath expression"),
        ({"type": "expression", "expression": "a || length(a, b)"}, "expression: is not a valid JMESPath"),
        ({"type": "expression", "expression": "merge()"}, "expression: is not a valid JMESPath"),
        ({"type": "expression", "expression": ""}, "expression: must be a non-empty"),
        ({"type": "expression", "expression": "(" * 3000}, "expression: is longer than"),
        ({"type": "owner_is_group", "group": "x"}, "group: unknown parameter for owner_is_group (allowed: none)"),
    ],
)
def test_bad_check_definitions_get_clear_messages(check, expected):
    problems = validate_check(check)
    assert problems, check
    assert any(problem.startswith(expected) for problem in problems), problems
    assert all("\n" not in problem for problem in problems)


def test_validate_check_reports_every_problem_at_once():
    problems = validate_check({"type": "dora_threshold", "figure": "x", "operator": "!", "extra": 1})
    assert [problem.split(":")[0] for problem in problems] == ["figure", "operator", "value", "extra"]


def test_jmespath_function_mistakes_are_caught_when_validating():
    (unknown,) = validate_check({"type": "expression", "expression": "foo(bar)"})
    (arity,) = validate_check({"type": "expression", "expression": "[?length(a, b)]"})
    assert unknown.endswith("unknown function foo()")
    assert arity.endswith("length() takes 1 argument(s), got 2")
    assert validate_check({"type": "expression", "expression": "merge(a, b, c)"}) == []


def test_regex_compile_errors_name_the_position():
    (problem,) = validate_check({"type": "field_matches", "path": "x", "pattern": "ab[c"})
    assert "position 2" in problem


def test_deeply_nested_jmespath_is_refused_not_crashed():
    problems = validate_check({"type": "expression", "expression": "(" * 1500 + "a" + ")" * 1500})
    assert problems and problems[0].startswith("expression:")


def test_evaluate_raises_check_error_for_invalid_checks():
    with pytest.raises(CheckError) as caught:
        evaluate({"type": "field_matches", "path": "x", "pattern": "("}, facts())
    assert caught.value.messages[0].startswith("pattern:")


def test_evaluation_survives_hostile_entities():
    hostile = EntityFacts(entity={"metadata": ["not", "a", "dict"], "spec": "text"}, relations=[None, "x", {}])
    for check in (
        {"type": "field_present", "path": "metadata.name"},
        {"type": "annotation_present", "key": "a"},
        {"type": "owner_is_group"},
        {"type": "relation_exists", "relation": "ownedBy"},
        {"type": "expression", "expression": "metadata[0]", "equals": "not"},
        {"type": "techdocs_built"},
        {"type": "dora_threshold", "figure": "lead_time_hours", "operator": "<", "value": 1},
    ):
        result = evaluate(check, hostile)
        assert isinstance(result, CheckResult)
        if check["type"] == "expression":
            assert result.passed
        else:
            assert not result.passed


def test_deeply_nested_entity_data_does_not_crash_a_check():
    deep: dict = {}
    cursor = deep
    for _ in range(5000):
        cursor["a"] = {}
        cursor = cursor["a"]
    result = evaluate({"type": "expression", "expression": "a"}, EntityFacts(deep))
    assert result.passed
    assert result.observed == "(value too deeply nested to show)"


def test_the_domain_modules_import_no_django():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, scorecards.checks, scorecards.levels, scorecards.dora; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')))"
    )
    repo = Path(__file__).resolve().parents[2]
    output = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "expression, detail",
    [
        ("a ||", "the expression ends too early"),
        ("foo bar", "unexpected token 'bar' at position 4"),
        ("a[?b==]", "invalid token ']' at position 6"),
        ('a."b', 'Unclosed " delimiter at position 2'),
    ],
)
def test_jmespath_syntax_errors_read_as_one_line(expression, detail):
    (problem,) = validate_check({"type": "expression", "expression": expression})
    assert problem == f"expression: is not a valid JMESPath expression: {detail}"


def test_jmespath_runtime_errors_do_not_quote_a_whole_entity():
    entity = copy.deepcopy(ENTITY)
    entity["metadata"]["description"] = "y" * 5000
    result = evaluate({"type": "expression", "expression": "sort_by(@, &a)"}, facts(entity))
    assert not result.passed
    assert result.message.startswith("expression error: In function sort_by()")
    assert len(result.message) < 400
