import time
import tracemalloc

import pytest

from catalog.yamlsafe import (
    YamlBombError,
    YamlError,
    YamlTooLargeError,
    load_documents,
    load_single_value,
)


def billion_laughs(levels: int = 9) -> str:
    lines = ['lol0: &lol0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        references = ",".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{references}]")
    return "\n".join(lines) + "\n"


def test_it_loads_every_document_of_a_stream_with_its_index_and_line():
    loaded = load_documents(b"kind: A\n---\nkind: B\nname: b\n")

    assert [d.data for d in loaded.documents] == [{"kind": "A"}, {"kind": "B", "name": "b"}]
    assert [d.index for d in loaded.documents] == [0, 1]
    assert [d.line for d in loaded.documents] == [1, 3]
    assert loaded.problems == []


def test_it_skips_empty_documents_but_keeps_counting_them():
    loaded = load_documents("---\n---\nnull\n---\nkind: A\n")

    assert [d.data for d in loaded.documents] == [{"kind": "A"}]
    assert loaded.documents[0].index == 2
    assert loaded.problems == []


def test_it_reports_list_and_scalar_documents_with_their_position():
    loaded = load_documents("kind: A\n---\n- one\n- two\n---\njust text\n---\n42\n")

    assert [d.data for d in loaded.documents] == [{"kind": "A"}]
    assert [(p.index, p.line) for p in loaded.problems] == [(1, 3), (2, 6), (3, 8)]
    assert "document 2 is a list, expected a mapping" in loaded.problems[0].message
    assert "document 3 is a string" in loaded.problems[1].message
    assert "document 4 is a number" in loaded.problems[2].message


def test_it_gives_line_and_column_for_a_syntax_error():
    with pytest.raises(YamlError) as caught:
        load_documents("kind: A\nmetadata:\n  name: x\n  tags: [a, b\nspec: {}\n")

    assert caught.value.line == 5
    assert caught.value.column is not None
    assert str(caught.value).startswith("line 5, column")
    assert "invalid YAML" in str(caught.value)


def test_it_reports_a_mapping_value_where_none_is_allowed():
    with pytest.raises(YamlError, match=r"line 1, column 5: invalid YAML: mapping values are not allowed"):
        load_documents("a: b: c\n")


def test_it_refuses_content_over_the_size_limit_before_parsing():
    # Invalid YAML past the limit: a size error, not a syntax error, shows nothing was parsed.
    content = b"a: [" + b"x" * 2000

    with pytest.raises(YamlTooLargeError, match="2004 bytes, over the limit of 1000 bytes"):
        load_documents(content, max_bytes=1000)


def test_it_stops_a_billion_laughs_document_fast_and_small():
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(YamlBombError, match="alias bomb") as caught:
            load_documents(billion_laughs())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert time.monotonic() - started < 2
    assert peak < 20 * 1024 * 1024
    assert caught.value.line is not None


def test_it_stops_a_merge_key_bomb():
    lines = ["m0: &m0 {a: 1, b: 2}"]
    for level in range(1, 40):
        lines.append(f"m{level}: &m{level} {{<<: [*m{level - 1}, *m{level - 1}]}}")

    with pytest.raises(YamlBombError, match="once aliases are expanded"):
        load_documents("\n".join(lines))


def test_it_counts_literal_nodes_while_composing():
    many = "items: [" + ",".join(["1"] * 2000) + "]\n"

    with pytest.raises(YamlBombError, match="more than 1000 nodes"):
        load_documents(many, max_nodes=1000)


def test_it_still_allows_modest_aliases():
    loaded = load_documents("base: &base {owner: team-a}\nspec:\n  <<: *base\n  type: service\nalso: *base\n")

    data = loaded.documents[0].data
    assert data["spec"] == {"owner": "team-a", "type": "service"}
    assert data["also"] == {"owner": "team-a"}
    # Aliased values are copies: changing one does not change the other.
    data["also"]["owner"] = "team-b"
    assert data["base"] == {"owner": "team-a"}


def test_it_refuses_a_recursive_alias():
    with pytest.raises(YamlBombError, match="recursive alias"):
        load_documents("a: &a\n  b: *a\n")


def test_it_refuses_nesting_deeper_than_the_limit_without_a_recursion_crash():
    with pytest.raises(YamlError, match="nest"):
        load_documents("[" * 50_000 + "]" * 50_000)


def test_it_refuses_block_nesting_deeper_than_the_limit():
    deep = "".join(f"{'  ' * level}k:\n" for level in range(150)) + "  " * 150 + "end\n"

    with pytest.raises(YamlBombError, match="nested more than 100 levels") as caught:
        load_documents(deep)

    assert caught.value.line == 100


def test_it_refuses_python_and_binary_tags():
    loaded = load_documents(
        "a: !!python/object/apply:os.system ['true']\n---\nb: !!binary aGk=\n---\nc: !custom x\n---\nok: 1\n"
    )

    assert [d.data for d in loaded.documents] == [{"ok": 1}]
    messages = [p.message for p in loaded.problems]
    assert "unsupported YAML tag !!python/object/apply:os.system" in messages[0]
    assert "unsupported YAML tag !!binary" in messages[1]
    assert "unsupported YAML tag !custom" in messages[2]


def test_it_reports_a_duplicate_key_with_its_line():
    loaded = load_documents("kind: A\nmetadata:\n  name: a\n  name: b\n")

    assert loaded.documents == []
    assert loaded.problems[0].line == 4
    assert "duplicate key 'name'" in loaded.problems[0].message


def test_it_keeps_dates_and_keys_as_the_text_written():
    loaded = load_documents("created: 2024-01-31\non: push\n")

    assert loaded.documents[0].data == {"created": "2024-01-31", "on": "push"}


def test_it_refuses_text_that_is_not_utf8():
    with pytest.raises(YamlError, match="not valid UTF-8"):
        load_documents(b"name: \xff\xfe\n")


def test_a_single_value_can_be_any_shape_but_only_one_document():
    assert load_single_value("- a\n- b\n") == ["a", "b"]
    with pytest.raises(YamlError, match="exactly one YAML document, found 2"):
        load_single_value("a: 1\n---\nb: 2\n")
    with pytest.raises(YamlBombError):
        load_single_value(billion_laughs())
