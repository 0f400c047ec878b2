"""Rules share results between entities with equal inputs: never a different answer than running the check.

``checks.expression_inputs`` finds the root paths a JMESPath expression reads; the evaluation's
memo keys an expression's result by the values there. Random entities through the memo must give
exactly what ``checks.evaluate`` gives.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorecards import checks
from scorecards.evaluation import CompiledRule

EXPRESSIONS = [
    "length(metadata.tags || `[]`) > `0`",
    "metadata.links[?type=='runbook'] | length(@) > `0`",
    "spec.type == 'service'",
    "sort_by(spec.items || `[]`, &to_string(@))[0]",
    "keys(metadata.annotations || `{}`)",
    "relations[?type=='ownedBy'] | length(@)",
    "{t: spec.type, l: spec.lifecycle}",
    "spec.items[*]",
    "not_null(spec.missing, metadata.name)",
    "keys(@)",
    "*.type",
]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["service", "website", "", "a"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["type", "url", "k"]), inner, max_size=3)),
    max_leaves=6)
entities = st.fixed_dictionaries({
    "metadata": st.fixed_dictionaries({"name": st.sampled_from(["a", "b"])}, optional={
        "tags": st.lists(st.sampled_from(["x", "y"]), max_size=2),
        "links": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["runbook", "docs"])}), max_size=2),
        "annotations": st.dictionaries(st.sampled_from(["a/b", "c"]), st.sampled_from(["1", ""]), max_size=2),
    }),
    "spec": st.dictionaries(st.sampled_from(["type", "lifecycle", "items"]), values, max_size=3),
})
relation_lists = st.lists(st.fixed_dictionaries({"type": st.sampled_from(["ownedBy", "partOf"]),
                                                 "targetRef": st.just("group:default/a")}), max_size=2)


@pytest.mark.parametrize(
    "expression, inputs",
    [
        ("length(metadata.tags || `[]`) > `0`", (("metadata", "tags"),)),
        ("metadata.links[?type=='runbook'] | length(@) > `0`", (("metadata", "links"),)),
        ("sort_by(spec.x, &name)[0]", (("spec", "x"),)),
        ('metadata.annotations."a.b"', (("metadata", "annotations", "a.b"),)),
        ("not_null(spec.a, spec.b)", (("spec", "a"), ("spec", "b"))),
        ("@", None),
        ("keys(@)", None),
        ("*.type", None),
    ],
)
def test_expression_inputs(expression, inputs):
    assert checks.expression_inputs(expression) == inputs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(entities, relation_lists), min_size=1, max_size=8))
def test_memoised_expressions_answer_as_the_check_itself(cases):
    rules = [CompiledRule(index, f"r{index}", f"rule {index}", {"type": "expression", "expression": expression},
                          "active", False) for index, expression in enumerate(EXPRESSIONS)]
    for entity, relations in cases * 2:  # twice: the second pass answers from the memo
        facts = checks.EntityFacts(entity=entity, relations=relations)
        for rule in rules:
            expected = checks.evaluate(rule.check, facts)
            got = rule.run(facts)
            assert (got.passed, got.message, got.observed) == (expected.passed, expected.message, expected.observed)
