import json
from pathlib import Path

import pytest

from catalog.placeholders import PlaceholderError, find_placeholders, substitute_placeholders
from catalog.reading import ReadOptions, read_location


def files_fetcher(files: dict[str, bytes]):
    def fetch(reference: str) -> bytes:
        if reference not in files:
            raise PlaceholderError(f"not found: {reference}")
        return files[reference]

    return fetch


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


API_WITH_PLACEHOLDERS = """\
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: petstore
spec:
  type: openapi
  owner: team-a
  definition:
    $text: {reference}
"""


def test_it_substitutes_text_json_and_yaml_anywhere_in_a_document():
    document = {
        "kind": "API",
        "spec": {
            "definition": {"$text": "./api.yaml"},
            "items": [{"$json": "./config.json"}, {"plain": "value"}],
            "extra": {"$yaml": "./extra.yaml"},
        },
    }
    fetch = files_fetcher(
        {
            "./api.yaml": b"openapi: 3.0.0\n",
            "./config.json": json.dumps({"retries": 3}).encode(),
            "./extra.yaml": b"- one\n- two\n",
        }
    )

    result = substitute_placeholders(document, fetch)

    assert result["spec"]["definition"] == "openapi: 3.0.0\n"
    assert result["spec"]["items"] == [{"retries": 3}, {"plain": "value"}]
    assert result["spec"]["extra"] == ["one", "two"]
    assert document["spec"]["definition"] == {"$text": "./api.yaml"}


def test_it_leaves_lookalikes_alone():
    document = {
        "schema": {"$ref": "#/definitions/node"},
        "two_keys": {"$text": "./a", "other": 1},
        "not_a_string": {"$json": 42},
    }

    assert substitute_placeholders(document, files_fetcher({})) == document
    assert find_placeholders(document) == []


def test_it_finds_placeholders_with_their_paths():
    document = {"spec": {"list": [{"$yaml": "./a.yaml"}], "definition": {"$text": "./b.txt"}}}

    found = [(p.path, p.kind, p.reference) for p in find_placeholders(document)]

    assert found == [("spec.list[0]", "yaml", "./a.yaml"), ("spec.definition", "text", "./b.txt")]


def test_it_names_the_placeholder_path_when_content_is_invalid():
    document = {"spec": {"config": {"$json": "./broken.json"}}}

    with pytest.raises(PlaceholderError) as caught:
        substitute_placeholders(document, files_fetcher({"./broken.json": b"{not json"}))

    assert caught.value.path == "spec.config"
    assert "$json ./broken.json: invalid JSON" in str(caught.value)


def test_it_refuses_yaml_content_that_is_an_alias_bomb():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )

    with pytest.raises(PlaceholderError, match="alias bomb"):
        substitute_placeholders({"x": {"$yaml": "./bomb.yaml"}}, files_fetcher({"./bomb.yaml": bomb.encode()}))


def test_it_refuses_content_over_the_size_limit():
    with pytest.raises(PlaceholderError, match="over the limit of 10 bytes"):
        substitute_placeholders({"x": {"$text": "./big"}}, files_fetcher({"./big": b"x" * 11}), max_bytes=10)


def test_it_refuses_too_many_placeholders_in_one_document():
    document = {"items": [{"$text": "./a"}] * 5}

    with pytest.raises(PlaceholderError, match="more than 3 placeholders"):
        substitute_placeholders(document, files_fetcher({"./a": b"a"}), max_placeholders=3)


def test_it_refuses_json_nested_too_deeply():
    deep = b"[" * 5000 + b"]" * 5000

    with pytest.raises(PlaceholderError, match="nested"):
        substitute_placeholders({"x": {"$json": "./deep.json"}}, files_fetcher({"./deep.json": deep}))


# Placeholders read through a location: the reader decides what may be read.


def test_a_text_placeholder_is_read_relative_to_the_entity_file(tmp_path):
    write(tmp_path / "apis" / "petstore.oas.yaml", "openapi: 3.1.0\n")
    entity = write(
        tmp_path / "apis" / "catalog-info.yaml", API_WITH_PLACEHOLDERS.format(reference="./petstore.oas.yaml")
    )

    result = read_location(str(entity), type="file")

    assert result.errors == []
    assert result.documents[0].data["spec"]["definition"] == "openapi: 3.1.0\n"


def test_a_placeholder_cannot_climb_out_of_the_root(tmp_path):
    root = tmp_path / "repo"
    write(tmp_path / "secret.txt", "top secret")
    entity = write(root / "catalog-info.yaml", API_WITH_PLACEHOLDERS.format(reference="../../etc/passwd"))

    result = read_location(str(entity), type="file")

    assert result.documents == []
    assert len(result.errors) == 1
    assert "spec.definition: $text ../../etc/passwd" in result.errors[0].message
    assert "resolves outside the location root" in result.errors[0].message
    assert result.errors[0].line == 1


def test_a_placeholder_cannot_use_an_absolute_path(tmp_path):
    entity = write(tmp_path / "catalog-info.yaml", API_WITH_PLACEHOLDERS.format(reference="/etc/passwd"))

    result = read_location(str(entity), type="file")

    assert result.documents == []
    assert "'/etc/passwd' is an absolute path" in result.errors[0].message


def test_a_placeholder_cannot_follow_a_symlink_out_of_the_root(tmp_path):
    root = tmp_path / "repo"
    outside = write(tmp_path / "outside" / "secret.txt", "top secret")
    root.mkdir()
    (root / "spec.yaml").symlink_to(outside)
    entity = write(root / "catalog-info.yaml", API_WITH_PLACEHOLDERS.format(reference="./spec.yaml"))

    result = read_location(str(entity), type="file")

    assert result.documents == []
    assert "symlink that resolves outside the location root" in result.errors[0].message
    assert "top secret" not in result.errors[0].message


def test_a_placeholder_may_follow_a_symlink_that_stays_inside(tmp_path):
    write(tmp_path / "specs" / "real.yaml", "openapi: 3.0.0\n")
    (tmp_path / "spec.yaml").symlink_to(tmp_path / "specs" / "real.yaml")
    entity = write(tmp_path / "catalog-info.yaml", API_WITH_PLACEHOLDERS.format(reference="./spec.yaml"))

    result = read_location(str(entity), type="file")

    assert result.errors == []
    assert result.documents[0].data["spec"]["definition"] == "openapi: 3.0.0\n"


def test_a_missing_placeholder_file_is_an_error_on_that_entity_only(tmp_path):
    write(
        tmp_path / "catalog-info.yaml",
        API_WITH_PLACEHOLDERS.format(reference="./gone.yaml") + "---\nkind: Component\nmetadata: {name: c}\n",
    )

    result = read_location(str(tmp_path), type="file")

    assert [d.data["kind"] for d in result.documents] == ["Component"]
    assert "document 1: spec.definition: $text ./gone.yaml: not found" in result.errors[0].message


def test_a_placeholder_url_must_be_allow_listed(tmp_path):
    entity = write(
        tmp_path / "catalog-info.yaml",
        API_WITH_PLACEHOLDERS.format(reference="https://internal.example.net/spec.yaml"),
    )

    result = read_location(str(entity), type="file", options=ReadOptions(allow_hosts=("*.example.com",)))

    assert result.documents == []
    message = result.errors[0].message
    assert "host 'internal.example.net' is not allowed" in message
    assert "CAUSEWAY_READ_ALLOW" in message


def test_placeholder_bytes_count_in_the_content_hash(tmp_path):
    spec = write(tmp_path / "spec.yaml", "openapi: 3.0.0\n")
    entity = write(tmp_path / "catalog-info.yaml", API_WITH_PLACEHOLDERS.format(reference="./spec.yaml"))
    before = read_location(str(entity), type="file").content_hash

    spec.write_text("openapi: 3.1.0\n")

    assert read_location(str(entity), type="file").content_hash != before
