"""Expressions in template inputs: typing, filters, conditions, and the sandbox."""

import pytest

from scaffolder.expressions import (
    ExpressionEngine,
    ExpressionError,
    dump,
    is_truthy,
    parse_entity_ref,
    parse_repo_url,
    pick,
    project_slug,
)

CONTEXT = {
    "parameters": {
        "name": "payments",
        "count": 3,
        "enabled": False,
        "tags": ["a", "b"],
        "repoUrl": "github.com?owner=acme&repo=payments",
        "owner": "group:default/team-a",
    },
    "steps": {"publish": {"output": {"remoteUrl": "https://example.test/acme/payments.git"}}},
    "user": {"ref": "user:default/alice", "entity": {"metadata": {"name": "alice"}}},
    "secrets": {"token": "s3cr3t"},
}


@pytest.fixture
def engine():
    return ExpressionEngine(max_output=100_000)


def test_a_lone_expression_keeps_the_type_of_its_result(engine):
    assert engine.render_value("${{ parameters.count }}", CONTEXT) == 3
    assert engine.render_value("${{ parameters.enabled }}", CONTEXT) is False
    assert engine.render_value("${{ parameters.tags }}", CONTEXT) == ["a", "b"]
    assert engine.render_value("${{ {'n': parameters.count} }}", CONTEXT) == {"n": 3}


def test_mixed_text_renders_to_a_string(engine):
    assert engine.render_value("svc-${{ parameters.count }}", CONTEXT) == "svc-3"
    assert engine.render_value(" ${{ parameters.count }}", CONTEXT) == " 3"
    assert engine.render_value("${{ parameters.count }}${{ parameters.count }}", CONTEXT) == "33"


def test_nested_inputs_are_rendered_everywhere(engine):
    rendered = engine.render_value(
        {"values": {"name": "${{ parameters.name }}", "list": ["${{ parameters.count }}", 7, True]}},
        CONTEXT,
    )
    assert rendered == {"values": {"name": "payments", "list": [3, 7, True]}}


def test_undefined_lookups_are_empty_and_drop_the_key(engine):
    rendered = engine.render_value(
        {"missing": "${{ parameters.nothing.deeper.still }}", "kept": "x${{ parameters.nothing }}y"}, CONTEXT
    )
    assert rendered == {"kept": "xy"}
    assert engine.render_value("${{ parameters.nothing }}", CONTEXT) is None


def test_step_outputs_user_and_secrets_are_in_scope(engine):
    assert engine.render_value("${{ steps.publish.output.remoteUrl }}", CONTEXT).endswith("payments.git")
    assert engine.render_value("${{ user.ref }}", CONTEXT) == "user:default/alice"
    assert engine.render_value("${{ user.entity.metadata.name }}", CONTEXT) == "alice"
    assert engine.render_value("${{ secrets.token }}", CONTEXT) == "s3cr3t"


def test_each_values_are_in_scope(engine):
    context = {**CONTEXT, "each": {"key": "0", "value": {"name": "first"}}}
    assert engine.render_value("${{ each.key }}-${{ each.value.name }}", context) == "0-first"


def test_parse_repo_url_splits_the_picker_format(engine):
    assert engine.render_value("${{ parameters.repoUrl | parseRepoUrl }}", CONTEXT) == {
        "host": "github.com",
        "owner": "acme",
        "repo": "payments",
    }
    assert parse_repo_url("dev.azure.com?organization=org&project=p&repo=r") == {
        "host": "dev.azure.com",
        "organization": "org",
        "project": "p",
        "repo": "r",
    }


def test_parse_repo_url_rejects_a_url_without_repo(engine):
    with pytest.raises(ExpressionError, match="missing repo"):
        engine.render_value("${{ 'github.com?owner=acme' | parseRepoUrl }}", CONTEXT)


def test_parse_repo_url_rejects_paths_and_garbage():
    for bad in ["", "github.com/evil?owner=o&repo=r", "gith ub.com?owner=o&repo=r", 42]:
        with pytest.raises(ValueError):
            parse_repo_url(bad)


def test_project_slug_is_owner_slash_repo(engine):
    assert engine.render_value("${{ parameters.repoUrl | projectSlug }}", CONTEXT) == "acme/payments"
    assert project_slug("gitlab.com?owner=grp&repo=r") == "grp/r"


def test_parse_entity_ref_with_and_without_defaults(engine):
    assert engine.render_value("${{ parameters.owner | parseEntityRef }}", CONTEXT) == {
        "kind": "group",
        "namespace": "default",
        "name": "team-a",
    }
    with_defaults = engine.render_value(
        '${{ "techdocs" | parseEntityRef({ defaultKind: "group", defaultNamespace: "another" }) }}', CONTEXT
    )
    assert with_defaults == {"kind": "group", "namespace": "another", "name": "techdocs"}
    with pytest.raises(ValueError, match="no kind"):
        parse_entity_ref("techdocs")


def test_pick_reads_a_dotted_path(engine):
    assert engine.render_value("${{ parameters.owner | parseEntityRef | pick('name') }}", CONTEXT) == "team-a"
    assert pick({"a": {"b": [1, {"c": 2}]}}, "a.b.1.c") == 2
    assert pick({"a": 1}, "a.b") is None


def test_dump_is_compact_json_like_nunjucks(engine):
    assert engine.render_value("name: ${{ parameters.name | dump }}", CONTEXT) == 'name: "payments"'
    assert dump({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert engine.render_value("x${{ parameters.nothing | dump }}", CONTEXT) == "x"


def test_nunjucks_inline_if_without_else_is_empty(engine):
    assert engine.render_value("${{ parameters.nothing if parameters.nothing }}", CONTEXT) is None
    assert engine.render_value("${{ parameters.name if parameters.name else 'x' }}", CONTEXT) == "payments"


def test_string_concatenation_with_plus_works_on_missing_parts(engine):
    assert engine.render_value('${{ parameters.name + "/" + parameters.nothing }}', CONTEXT) == "payments/"


def test_blocks_render_in_inputs(engine):
    text = "{% for t in parameters.tags %}[${{ t }}]{% endfor %}"
    assert engine.render_value(text, CONTEXT) == "[a][b]"


def test_skeleton_text_keeps_trailing_newlines_and_whitespace_control(engine):
    source = 'name: ${{ values.name | dump }}\n  {%- if values.description %}\n  description: x\n  {%- endif %}\nend\n'
    assert engine.render_string(source, {"values": {"name": "n"}}) == 'name: "n"\nend\n'
    assert engine.render_string(source, {"values": {"name": "n", "description": "d"}}) == (
        'name: "n"\n  description: x\nend\n'
    )


def test_plain_double_braces_are_text_outside_cookiecutter_mode(engine):
    jsx = "<div style={{ margin: 0 }}>${{ values.name }}</div>"
    assert engine.render_string(jsx, {"values": {"name": "n"}}) == "<div style={{ margin: 0 }}>n</div>"


def test_cookiecutter_mode_uses_double_braces_and_jsonify(engine):
    text = "{{ cookiecutter.name }} {{ cookiecutter.tags | jsonify }}"
    rendered = engine.render_string(text, {"cookiecutter": {"name": "n", "tags": ["x"]}}, cookiecutter=True)
    assert rendered == 'n ["x"]'


@pytest.mark.parametrize(
    "condition, expected",
    [
        (None, True),
        (True, True),
        (False, False),
        ("${{ parameters.enabled }}", False),
        ("${{ not parameters.enabled }}", True),
        ("${{ parameters.count > 2 }}", True),
        ("${{ parameters.tags }}", True),
        ("${{ [] }}", False),
        ("${{ {} }}", True),  # objects are truthy in JavaScript
        ("${{ parameters.nothing }}", False),
        ("${{ 0 }}", False),
        ("false", True),  # a literal non-empty string is truthy, as in Backstage
    ],
)
def test_if_conditions_follow_backstage_truthiness(engine, condition, expected):
    assert engine.evaluate_condition(condition, CONTEXT) is expected


def test_is_truthy_treats_empty_lists_as_false_and_objects_as_true():
    assert is_truthy([]) is False
    assert is_truthy({}) is True
    assert is_truthy("") is False
    assert is_truthy(0.0) is False


@pytest.mark.parametrize(
    "hostile",
    [
        "${{ parameters.__class__ }}",
        "${{ ''.__class__.__mro__[1].__subclasses__() }}",
        "${{ cycler.__init__.__globals__ }}",
        "${{ self._TemplateReference__context }}",
        "${{ '{0.__class__}'.format(parameters) }}",
        "${{ parameters['__class__'] }}",
        "${{ (parameters | attr('__class__')) }}",
        "{% for c in ''.__class__.__base__.__subclasses__() %}{% endfor %}",
    ],
)
def test_sandbox_escapes_fail_with_an_expression_error(engine, hostile):
    with pytest.raises(ExpressionError, match="not allowed"):
        engine.render_value(hostile, CONTEXT)


def test_immutable_sandbox_refuses_to_modify_values(engine):
    with pytest.raises(ExpressionError):
        engine.render_value("${{ parameters.tags.append('x') }}", CONTEXT)
    assert CONTEXT["parameters"]["tags"] == ["a", "b"]


@pytest.mark.parametrize(
    "expensive",
    [
        "${{ range(10**9) | list }}",
        "${{ 'a' * 10**9 }}",
        "${{ [1] * 10**9 }}",
        "${{ 10 ** 1000000 }}",
        "${{ 'x' | center(10**9) }}",
        "${{ 'x'.ljust(10**9) }}",
        "${{ '%0999999999d' % 1 }}",
        "${{ '{:>999999999}'.format(1) }}",
        "${{ range(100000) | join('x' * 50) }}",
        "${{ ('a' * 90000) ~ ('a' * 90000) }}",
        "${{ ('a' * 50000) | replace('a', 'bbbb') }}",
        "{% for i in range(100000) %}{% for j in range(100) %}xy{% endfor %}{% endfor %}",
        "${{ lipsum(100000) }}",
    ],
)
def test_oversized_or_costly_results_are_refused(engine, expensive):
    with pytest.raises(ExpressionError):
        engine.render_value(expensive, CONTEXT)


def test_syntax_errors_name_the_expression(engine):
    with pytest.raises(ExpressionError, match=r"syntax error.*parameters\.name \+"):
        engine.render_value("${{ parameters.name + }}", CONTEXT)


def test_runtime_errors_are_expression_errors(engine):
    with pytest.raises(ExpressionError, match="ZeroDivisionError"):
        engine.render_value("${{ 1 / 0 }}", CONTEXT)


def test_text_without_expressions_is_returned_untouched(engine):
    assert engine.render_value("plain {{ not ours }}", CONTEXT) == "plain {{ not ours }}"
    assert engine.render_value(42, CONTEXT) == 42
