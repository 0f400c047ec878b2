import functools
import http.server
import os
import socket
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog.reading import (
    LocationReadError,
    ReadOptions,
    UrlFetchError,
    UrllibFetcher,
    guess_location_type,
    host_is_allowed,
    parse_allow_hosts,
    read_location,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def component(name: str) -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  owner: team-a\n"


def location(name: str, *targets: str, extra: str = "") -> str:
    lines = "".join(f"    - {target}\n" for target in targets)
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\n"
        f"spec:\n{extra}  targets:\n{lines}"
    )


def names(result) -> list[str]:
    return [document.data["metadata"]["name"] for document in result.documents]


def messages(result) -> list[str]:
    return [error.message for error in result.errors]


# --------------------------------------------------------------------------- local paths


def test_it_reads_a_single_file_with_its_location_and_index(tmp_path):
    path = write(tmp_path / "catalog-info.yaml", component("one") + "---\n" + component("two"))

    result = read_location(str(path), type="file")

    assert names(result) == ["one", "two"]
    assert [d.location for d in result.documents] == [f"file:{path}", f"file:{path}"]
    assert [d.index for d in result.documents] == [0, 1]
    assert [d.line for d in result.documents] == [1, 8]
    assert result.errors == []
    assert result.revision is None
    assert len(result.content_hash) == 64


def test_it_scans_a_directory_for_catalog_info_files_only(tmp_path):
    write(tmp_path / "catalog-info.yaml", component("top"))
    write(tmp_path / "services" / "a" / "catalog-info.yml", component("a"))
    write(tmp_path / "services" / "b" / "catalog-info.yaml", component("b"))
    write(tmp_path / "services" / "b" / "other.yaml", component("not-a-catalog-file"))
    write(tmp_path / "node_modules" / "dep" / "catalog-info.yaml", component("vendored"))
    write(tmp_path / ".git" / "catalog-info.yaml", component("hidden"))

    result = read_location(str(tmp_path), type="file")

    assert sorted(names(result)) == ["a", "b", "top"]
    assert result.errors == []


def test_an_empty_directory_is_reported(tmp_path):
    result = read_location(str(tmp_path), type="file")

    assert result.documents == []
    assert "no catalog-info.yaml or catalog-info.yml found" in messages(result)[0]


def test_it_follows_nested_locations_with_relative_targets(tmp_path):
    write(tmp_path / "all.yaml", location("all", "./teams/all-teams.yaml", "./components/catalog-info.yaml"))
    write(tmp_path / "teams" / "all-teams.yaml", location("teams", "./a.yaml", "../shared/b.yaml"))
    write(tmp_path / "teams" / "a.yaml", component("team-a-thing"))
    write(tmp_path / "shared" / "b.yaml", component("shared-thing"))
    write(tmp_path / "components" / "catalog-info.yaml", component("component"))

    result = read_location(str(tmp_path / "all.yaml"), type="file")

    assert result.errors == []
    assert names(result) == ["all", "teams", "team-a-thing", "shared-thing", "component"]
    by_name = {d.data["metadata"]["name"]: d.location for d in result.documents}
    assert by_name["shared-thing"] == f"file:{tmp_path / 'shared' / 'b.yaml'}"


def test_a_single_target_and_a_directory_target_are_followed(tmp_path):
    write(
        tmp_path / "root.yaml",
        "kind: Location\nmetadata: {name: root}\nspec:\n  type: file\n  target: ./services\n",
    )
    write(tmp_path / "services" / "x" / "catalog-info.yaml", component("x"))

    result = read_location(str(tmp_path / "root.yaml"), type="file")

    assert names(result) == ["root", "x"]


def test_a_location_cycle_is_reported_and_not_followed_again(tmp_path):
    write(tmp_path / "a.yaml", location("a", "./b.yaml"))
    write(tmp_path / "b.yaml", location("b", "./a.yaml"))

    result = read_location(str(tmp_path / "a.yaml"), type="file")

    assert names(result) == ["a", "b"]
    assert len(result.errors) == 1
    assert result.errors[0].target == f"file:{tmp_path / 'a.yaml'}"
    assert "location cycle" in result.errors[0].message
    assert f"{tmp_path / 'a.yaml'} -> file:{tmp_path / 'b.yaml'} -> file:{tmp_path / 'a.yaml'}" in (
        result.errors[0].message
    )


def test_a_file_reached_twice_is_read_once(tmp_path):
    write(tmp_path / "all.yaml", location("all", "./left.yaml", "./right.yaml"))
    write(tmp_path / "left.yaml", location("left", "./shared.yaml"))
    write(tmp_path / "right.yaml", location("right", "./shared.yaml"))
    write(tmp_path / "shared.yaml", component("shared"))

    result = read_location(str(tmp_path / "all.yaml"), type="file")

    assert names(result).count("shared") == 1
    assert messages(result) == ["already read through another Location; not read again"]


def test_a_missing_target_is_an_error_while_the_others_are_read(tmp_path):
    write(tmp_path / "all.yaml", location("all", "./one.yaml", "./missing.yaml", "./two.yaml"))
    write(tmp_path / "one.yaml", component("one"))
    write(tmp_path / "two.yaml", component("two"))

    result = read_location(str(tmp_path / "all.yaml"), type="file")

    assert names(result) == ["all", "one", "two"]
    assert len(result.errors) == 1
    assert result.errors[0].target == f"file:{tmp_path / 'missing.yaml'}"
    assert result.errors[0].message.startswith("location target not found")


def test_an_optional_missing_target_is_not_an_error(tmp_path):
    write(tmp_path / "all.yaml", location("all", "./maybe.yaml", extra="  presence: optional\n"))

    result = read_location(str(tmp_path / "all.yaml"), type="file")

    assert names(result) == ["all"]
    assert result.errors == []


def test_a_target_outside_the_root_is_refused(tmp_path):
    write(tmp_path / "elsewhere.yaml", component("elsewhere"))
    write(tmp_path / "repo" / "all.yaml", location("all", "../elsewhere.yaml", "/etc/passwd"))

    result = read_location(str(tmp_path / "repo" / "all.yaml"), type="file")

    assert names(result) == ["all"]
    assert "'../elsewhere.yaml' resolves outside the location root" in messages(result)[0]
    assert "'/etc/passwd' is an absolute path" in messages(result)[1]


def test_a_wider_root_lets_targets_reach_further(tmp_path):
    write(tmp_path / "elsewhere.yaml", component("elsewhere"))
    write(tmp_path / "repo" / "all.yaml", location("all", "../elsewhere.yaml"))

    result = read_location(str(tmp_path / "repo" / "all.yaml"), type="file", options=ReadOptions(root=tmp_path))

    assert names(result) == ["all", "elsewhere"]


def test_an_unsupported_location_type_is_an_error(tmp_path):
    write(
        tmp_path / "all.yaml",
        "kind: Location\nmetadata: {name: all}\nspec:\n  type: github-discovery\n  target: ./x\n",
    )

    result = read_location(str(tmp_path / "all.yaml"), type="file")

    assert names(result) == ["all"]
    assert "location type 'github-discovery' is not supported" in messages(result)[0]


def test_a_symlinked_catalog_file_pointing_out_of_the_root_is_refused(tmp_path):
    secret = write(tmp_path / "outside" / "catalog-info.yaml", component("outside"))
    root = tmp_path / "repo"
    write(root / "ok" / "catalog-info.yaml", component("ok"))
    (root / "linked").mkdir()
    (root / "linked" / "catalog-info.yaml").symlink_to(secret)

    result = read_location(str(root), type="file")

    assert names(result) == ["ok"]
    assert len(result.errors) == 1
    assert result.errors[0].target == f"file:{root / 'linked' / 'catalog-info.yaml'}"
    assert "symlink that resolves outside the location root" in result.errors[0].message


def test_a_symlinked_directory_pointing_out_of_the_root_is_refused(tmp_path):
    write(tmp_path / "outside" / "catalog-info.yaml", component("outside"))
    root = tmp_path / "repo"
    write(root / "catalog-info.yaml", component("ok"))
    (root / "escape").symlink_to(tmp_path / "outside")

    result = read_location(str(root), type="file")

    assert names(result) == ["ok"]
    assert "symlink that resolves outside the location root" in messages(result)[0]


def test_a_location_target_through_a_symlink_out_of_the_root_is_refused(tmp_path):
    outside = write(tmp_path / "outside.yaml", component("outside"))
    root = tmp_path / "repo"
    write(root / "all.yaml", location("all", "./link.yaml"))
    (root / "link.yaml").symlink_to(outside)

    result = read_location(str(root / "all.yaml"), type="file")

    assert names(result) == ["all"]
    assert "symlink that resolves outside the location root" in messages(result)[0]


def test_a_fifo_named_like_a_catalog_file_is_not_read(tmp_path):
    os.mkfifo(tmp_path / "catalog-info.yaml")

    result = read_location(str(tmp_path), type="file")

    assert "is not a regular file" in messages(result)[0]


def test_a_missing_root_path_raises(tmp_path):
    with pytest.raises(LocationReadError, match="path not found"):
        read_location(str(tmp_path / "nope.yaml"), type="file")


def test_a_relative_root_path_raises():
    with pytest.raises(LocationReadError, match="must be an absolute path"):
        read_location("catalog-info.yaml", type="file")


def test_an_unknown_location_type_raises(tmp_path):
    with pytest.raises(LocationReadError, match="location type 'ftp' is not supported"):
        read_location(str(tmp_path), type="ftp")


def test_invalid_yaml_is_reported_with_its_line_and_other_files_still_read(tmp_path):
    write(tmp_path / "all.yaml", location("all", "./broken.yaml", "./fine.yaml"))
    write(tmp_path / "broken.yaml", "kind: Component\nmetadata:\n  name: [unclosed\nspec: {}\n")
    write(tmp_path / "fine.yaml", component("fine"))

    result = read_location(str(tmp_path / "all.yaml"), type="file")

    assert names(result) == ["all", "fine"]
    assert result.errors[0].target == f"file:{tmp_path / 'broken.yaml'}"
    assert result.errors[0].line == 4
    assert "invalid YAML" in result.errors[0].message


def test_an_alias_bomb_file_is_refused(tmp_path):
    levels = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    write(tmp_path / "catalog-info.yaml", "\n".join(levels) + "\n")

    result = read_location(str(tmp_path), type="file")

    assert result.documents == []
    assert "alias bomb" in messages(result)[0]


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    write(tmp_path / "all.yaml", location("all", "./big.yaml"))
    write(tmp_path / "big.yaml", component("big") + "#" * 5000 + "\n")

    result = read_location(str(tmp_path / "all.yaml"), type="file", options=ReadOptions(max_bytes=1000))

    assert names(result) == ["all"]
    assert "over the limit of 1000 bytes" in messages(result)[0]


def test_an_oversized_root_file_raises(tmp_path):
    path = write(tmp_path / "catalog-info.yaml", "#" * 2000)

    with pytest.raises(LocationReadError, match="over the limit of 1000 bytes"):
        read_location(str(path), type="file", options=ReadOptions(max_bytes=1000))


def test_list_and_scalar_documents_are_errors_with_their_position(tmp_path):
    path = write(tmp_path / "catalog-info.yaml", component("ok") + "---\n- a\n- b\n---\nhello\n")

    result = read_location(str(path), type="file")

    assert names(result) == ["ok"]
    assert [(e.line, e.message.split(",")[0]) for e in result.errors] == [
        (8, "document 2 is a list"),
        (11, "document 3 is a string"),
    ]


def test_the_content_hash_follows_the_bytes_read(tmp_path):
    write(tmp_path / "all.yaml", location("all", "./one.yaml"))
    one = write(tmp_path / "one.yaml", component("one"))
    first = read_location(str(tmp_path / "all.yaml"), type="file").content_hash

    assert read_location(str(tmp_path / "all.yaml"), type="file").content_hash == first
    one.write_text(component("one-renamed"))
    assert read_location(str(tmp_path / "all.yaml"), type="file").content_hash != first


def test_too_many_files_stop_the_read(tmp_path):
    for number in range(5):
        write(tmp_path / f"s{number}" / "catalog-info.yaml", component(f"c{number}"))

    result = read_location(str(tmp_path), type="file", options=ReadOptions(max_files=3))

    assert len(result.documents) == 3
    assert messages(result) == ["more than 3 files in one location; not read"] * 2


def test_a_location_stops_reading_past_its_total_byte_budget(tmp_path):
    write(tmp_path / "all.yaml", location("all", "./a.yaml", "./b.yaml"))
    write(tmp_path / "a.yaml", component("a") + "#" * 400 + "\n")
    write(tmp_path / "b.yaml", component("b") + "#" * 400 + "\n")

    result = read_location(str(tmp_path / "all.yaml"), type="file", options=ReadOptions(max_total_bytes=1000))

    assert names(result) == ["all", "a"]
    assert "read more than 1000 bytes in total" in messages(result)[0]


# --------------------------------------------------------------------------- git

GIT_ENVIRONMENT = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def git(*args: str, cwd: Path) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=GIT_ENVIRONMENT)
    return completed.stdout.strip()


@dataclass
class Repository:
    bare: Path
    work: Path

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            write(self.work / name, text)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", "HEAD:main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def tag(self, name: str) -> None:
        git("tag", "-a", name, "-m", name, cwd=self.work)
        git("push", "-q", "origin", name, cwd=self.work)


@pytest.fixture
def repository(tmp_path) -> Repository:
    bare = tmp_path / "origin.git"
    work = tmp_path / "work"
    git("init", "-q", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    git("init", "-q", "--initial-branch=main", str(work), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=work)
    return Repository(bare, work)


def git_options(tmp_path: Path, **overrides) -> ReadOptions:
    return ReadOptions(git_cache_dir=tmp_path / "cache", timeout=60, **overrides)


def test_it_reads_a_git_branch_and_a_tag_and_sees_new_commits(tmp_path, repository):
    first = repository.commit(
        {"catalog-info.yaml": location("root", "./services/a.yaml"), "services/a.yaml": component("a-v1")}
    )
    repository.tag("v1")
    second = repository.commit({"services/a.yaml": component("a-v2")})

    at_branch = read_location(str(repository.bare), type="git", options=git_options(tmp_path, git_ref="main"))
    at_tag = read_location(str(repository.bare), type="git", options=git_options(tmp_path, git_ref="v1"))

    assert at_branch.revision == second
    assert names(at_branch) == ["root", "a-v2"]
    assert at_tag.revision == first
    assert names(at_tag) == ["root", "a-v1"]
    assert at_branch.errors == [] and at_tag.errors == []
    assert at_branch.documents[1].location == f"git:{repository.bare}#main:services/a.yaml"

    third = repository.commit({"services/a.yaml": component("a-v3")})
    again = read_location(str(repository.bare), type="git", options=git_options(tmp_path, git_ref="main"))

    assert again.revision == third != second
    assert names(again) == ["root", "a-v3"]
    assert again.content_hash != at_branch.content_hash


def test_it_reads_git_head_by_default_and_a_commit_sha(tmp_path, repository):
    first = repository.commit({"catalog-info.yaml": component("first")})
    repository.commit({"catalog-info.yaml": component("second")})

    at_head = read_location(f"git+file://{repository.bare}", type="git", options=git_options(tmp_path))
    at_sha = read_location(str(repository.bare), type="git", options=git_options(tmp_path, git_ref=first))
    at_short_sha = read_location(str(repository.bare), type="git", options=git_options(tmp_path, git_ref=first[:10]))

    assert names(at_head) == ["second"]
    assert names(at_sha) == ["first"]
    assert at_short_sha.revision == first
    assert names(at_short_sha) == ["first"]


def test_it_reads_a_path_inside_a_git_repository(tmp_path, repository):
    repository.commit(
        {
            "catalog-info.yaml": component("top"),
            "services/a/catalog-info.yaml": component("a"),
            "services/b/catalog-info.yml": component("b"),
        }
    )

    scanned = read_location(str(repository.bare), type="git", options=git_options(tmp_path, git_path="services"))
    single = read_location(
        str(repository.bare), type="git", options=git_options(tmp_path, git_path="services/a/catalog-info.yaml")
    )

    assert names(scanned) == ["a", "b"]
    assert names(single) == ["a"]
    with pytest.raises(LocationReadError, match="location target not found: nowhere does not exist"):
        read_location(str(repository.bare), type="git", options=git_options(tmp_path, git_path="nowhere"))


def test_git_placeholders_and_symlinks_stay_inside_the_repository(tmp_path, repository):
    api = "kind: API\nmetadata:\n  name: {name}\nspec:\n  definition:\n    $text: {reference}\n"
    (repository.work / "specs").mkdir(parents=True)
    (repository.work / "specs" / "escape.yaml").symlink_to("../../outside.yaml")
    (repository.work / "specs" / "alias.yaml").symlink_to("real.yaml")
    repository.commit(
        {
            "specs/real.yaml": "openapi: 3.0.0\n",
            "catalog-info.yaml": api.format(name="inside", reference="./specs/alias.yaml")
            + "---\n"
            + api.format(name="escape", reference="./specs/escape.yaml")
            + "---\n"
            + api.format(name="climb", reference="../../etc/passwd"),
        }
    )

    result = read_location(str(repository.bare), type="git", options=git_options(tmp_path))

    assert names(result) == ["inside"]
    assert result.documents[0].data["spec"]["definition"] == "openapi: 3.0.0\n"
    assert "symlink to ../../outside.yaml, which resolves outside the repository" in messages(result)[0]
    assert "resolves outside the location root" in messages(result)[1]


def test_a_git_repository_that_does_not_exist_raises(tmp_path):
    with pytest.raises(LocationReadError, match="cannot read HEAD of git repository"):
        read_location(str(tmp_path / "missing.git"), type="git", options=git_options(tmp_path))


def test_a_git_ref_that_does_not_exist_raises(tmp_path, repository):
    repository.commit({"catalog-info.yaml": component("a")})

    with pytest.raises(LocationReadError, match="cannot read no-such-branch of git repository"):
        read_location(str(repository.bare), type="git", options=git_options(tmp_path, git_ref="no-such-branch"))


def test_a_git_ref_that_looks_like_an_option_is_refused(tmp_path, repository):
    with pytest.raises(LocationReadError, match="is not a valid git branch"):
        read_location(
            str(repository.bare), type="git", options=git_options(tmp_path, git_ref="--upload-pack=touch /tmp/x")
        )


def test_a_git_server_that_never_answers_times_out(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    started = time.monotonic()
    try:
        with pytest.raises(LocationReadError, match="took longer than 1 seconds"):
            read_location(
                f"git://{host}/repo.git",
                type="git",
                options=ReadOptions(git_cache_dir=tmp_path / "cache", timeout=1, allow_hosts=(host,)),
            )
    finally:
        listener.close()

    assert time.monotonic() - started < 10


def test_a_git_host_outside_the_allow_list_is_refused_without_network(tmp_path):
    with pytest.raises(LocationReadError) as caught:
        read_location("git+https://git.evil.example/repo.git", type="git", options=git_options(tmp_path))

    assert "git host 'git.evil.example' is not allowed" in str(caught.value)
    assert "CAUSEWAY_READ_ALLOW" in str(caught.value)


def test_unsupported_git_transports_are_refused(tmp_path):
    with pytest.raises(LocationReadError, match="not a git repository URL"):
        read_location("ext::sh -c touch% /tmp/pwned", type="git", options=git_options(tmp_path))
    with pytest.raises(LocationReadError, match="scheme 'ftp' is not supported"):
        read_location("ftp://git.example.com/repo.git", type="git", options=git_options(tmp_path))
    with pytest.raises(LocationReadError, match="not a git repository URL"):
        read_location("--upload-pack=touch /tmp/pwned", type="git", options=git_options(tmp_path))


# --------------------------------------------------------------------------- urls


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/redirect-away"):
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.invalid/catalog-info.yaml")
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture
def web(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_address[1]}"
    yield served, host
    server.shutdown()
    server.server_close()


def test_it_reads_an_allowed_url_and_follows_relative_targets(web):
    served, host = web
    write(served / "all.yaml", location("all", "./apis/api.yaml", "./missing.yaml"))
    write(
        served / "apis" / "api.yaml",
        "kind: API\nmetadata: {name: api}\nspec:\n  definition:\n    $text: ./spec.txt\n",
    )
    write(served / "apis" / "spec.txt", "openapi: 3.0.0\n")

    result = read_location(f"http://{host}/all.yaml", type="url", options=ReadOptions(allow_hosts=(host,)))

    assert names(result) == ["all", "api"]
    assert result.documents[1].location == f"url:http://{host}/apis/api.yaml"
    assert result.documents[1].data["spec"]["definition"] == "openapi: 3.0.0\n"
    assert [e.target for e in result.errors] == [f"url:http://{host}/missing.yaml"]
    assert "location target not found" in result.errors[0].message


def test_a_url_outside_the_allow_list_is_refused(web):
    served, host = web
    write(served / "catalog-info.yaml", component("x"))

    with pytest.raises(LocationReadError) as caught:
        read_location(
            f"http://{host}/catalog-info.yaml", type="url", options=ReadOptions(allow_hosts=("*.example.com",))
        )

    assert f"host '{host}' is not allowed" in str(caught.value)
    assert "CAUSEWAY_READ_ALLOW" in str(caught.value)


def test_an_allowed_host_on_another_port_is_refused(web):
    _served, host = web

    with pytest.raises(LocationReadError, match="is not allowed"):
        read_location(f"http://{host}/catalog-info.yaml", type="url", options=ReadOptions(allow_hosts=("127.0.0.1",)))


def test_a_redirect_to_a_host_outside_the_allow_list_is_refused(web):
    _served, host = web

    with pytest.raises(LocationReadError, match="host 'elsewhere.invalid' is not allowed"):
        read_location(f"http://{host}/redirect-away", type="url", options=ReadOptions(allow_hosts=(host,)))


def test_a_missing_url_raises_not_found(web):
    _served, host = web

    with pytest.raises(LocationReadError, match=r"location target not found: .* \(HTTP 404\)"):
        read_location(f"http://{host}/nothing.yaml", type="url", options=ReadOptions(allow_hosts=(host,)))


def test_an_oversized_url_body_is_refused(web):
    served, host = web
    write(served / "big.yaml", "#" * 5000)

    with pytest.raises(LocationReadError, match="over the limit of 1000 bytes"):
        read_location(f"http://{host}/big.yaml", type="url", options=ReadOptions(allow_hosts=(host,), max_bytes=1000))


def test_a_location_in_a_file_may_point_at_an_allowed_url_only(tmp_path, web):
    served, host = web
    write(served / "remote.yaml", component("remote"))
    write(tmp_path / "all.yaml", location("all", f"http://{host}/remote.yaml", "https://not-allowed.example/x.yaml"))

    result = read_location(str(tmp_path / "all.yaml"), type="file", options=ReadOptions(allow_hosts=(host,)))

    assert names(result) == ["all", "remote"]
    assert "host 'not-allowed.example' is not allowed" in messages(result)[0]


def test_the_default_fetcher_reports_an_unreachable_server():
    with pytest.raises(UrlFetchError, match="cannot reach"):
        UrllibFetcher().fetch("http://127.0.0.1:9/x", max_bytes=100, timeout=5, check_url=lambda url: None)


def test_host_patterns_match_hosts_and_ports():
    patterns = parse_allow_hosts("*.example.com, raw.githubusercontent.com 127.0.0.1:8123")

    assert patterns == ("*.example.com", "raw.githubusercontent.com", "127.0.0.1:8123")
    assert host_is_allowed("https://git.example.com/x", patterns)
    assert host_is_allowed("https://a.b.example.com/x", patterns)
    assert not host_is_allowed("https://example.com/x", patterns)
    assert not host_is_allowed("https://evilexample.com/x", patterns)
    assert not host_is_allowed("https://example.com.evil.net/x", patterns)
    assert host_is_allowed("https://raw.githubusercontent.com/o/r/main/catalog-info.yaml", patterns)
    assert not host_is_allowed("https://raw.githubusercontent.com:8443/x", patterns)
    assert host_is_allowed("http://127.0.0.1:8123/x", patterns)
    assert not host_is_allowed("http://127.0.0.1:8124/x", patterns)
    assert not host_is_allowed("https://user@evil.net@git.example.com/x", ("evil.net",))


def test_a_bad_host_pattern_is_refused():
    with pytest.raises(ValueError, match=r"CAUSEWAY_READ_ALLOW: '\*' is not a host pattern"):
        parse_allow_hosts("example.com, *")


def test_location_types_are_guessed_from_targets():
    assert guess_location_type("git+https://git.example.com/team/repo") == "git"
    assert guess_location_type("https://git.example.com/team/repo.git") == "git"
    assert guess_location_type("git@github.com:team/repo.git") == "git"
    assert guess_location_type("https://raw.githubusercontent.com/o/r/main/catalog-info.yaml") == "url"
    assert guess_location_type("/srv/catalog/catalog-info.yaml") == "file"


# --------------------------------------------------------------------------- the Backstage examples


class MirrorFetcher:
    """Serves every URL from the local test server, keeping the path: the remote host stays offline."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.inner = UrllibFetcher()

    def fetch(self, url, *, max_bytes, timeout, check_url):
        path = urllib.parse.urlsplit(url).path
        return self.inner.fetch(self.base + path, max_bytes=max_bytes, timeout=timeout, check_url=lambda u: None)


MISSING_API_FILES = ["spotify-api.yaml", "streetlights-api.yaml", "swapi-graphql.yaml"]
WAYBACK_SPECS = [
    "/APIs-guru/openapi-directory/blob/main/APIs/archive.org/wayback/1.0.0/openapi.yaml",
    "/APIs-guru/openapi-directory/blob/main/APIs/archive.org/search/1.0.0/openapi.yaml",
]


def test_it_reads_every_entity_reachable_from_the_backstage_examples(backstage_fixtures, web):
    examples = backstage_fixtures / "packages" / "catalog-model" / "examples"
    all_yaml = examples / "all.yaml"
    if not all_yaml.is_file():
        pytest.skip(f"Backstage fixtures not found at {all_yaml}")
    served, host = web
    for path in WAYBACK_SPECS:
        write(served / path.lstrip("/"), f"openapi: 3.0.0\ninfo: {{title: {path.split('/')[-3]}}}\n")
    options = ReadOptions(allow_hosts=("github.com",), url_fetcher=MirrorFetcher(f"http://{host}"))

    result = read_location(str(all_yaml), type="file", options=options)

    assert sorted(e.target for e in result.errors) == [f"file:{examples / 'apis' / name}" for name in MISSING_API_FILES]
    assert all(e.message.startswith("location target not found") for e in result.errors)
    kinds = Counter(d.data["kind"] for d in result.documents)
    assert kinds == {
        "Location": 7,
        "Component": 13,
        "API": 7,
        "Domain": 3,
        "System": 3,
        "AiResource": 2,
        "Resource": 1,
    }
    by_name = {d.data["metadata"]["name"]: d for d in result.documents if d.data["kind"] == "API"}
    webhook = by_name["petstore-webhook"].data["spec"]["definition"]
    assert webhook == (examples / "apis" / "petstore-webhook.oas.yaml").read_text()
    assert by_name["wayback-archive"].data["spec"]["definition"].startswith("openapi: 3.0.0\ninfo: {title: wayback}")
    assert result.documents[0].data["metadata"]["name"] == "example-all"
    assert result.documents[0].location == f"file:{all_yaml}"


def test_the_backstage_examples_report_remote_placeholders_that_are_not_allowed(backstage_fixtures):
    all_yaml = backstage_fixtures / "packages" / "catalog-model" / "examples" / "all.yaml"
    if not all_yaml.is_file():
        pytest.skip(f"Backstage fixtures not found at {all_yaml}")

    result = read_location(str(all_yaml), type="file")

    refused = [e for e in result.errors if "not found" not in e.message]
    assert len(refused) == 2
    assert all("host 'github.com' is not allowed" in e.message for e in refused)
    assert all("CAUSEWAY_READ_ALLOW" in e.message for e in refused)
    apis = [d.data["metadata"]["name"] for d in result.documents if d.data["kind"] == "API"]
    assert "wayback-archive" not in apis
    assert "petstore-webhook" in apis


def test_the_acme_org_locations_are_followed_from_a_multi_document_file(backstage_fixtures):
    acme = backstage_fixtures / "packages" / "catalog-model" / "examples" / "acme-corp.yaml"
    if not acme.is_file():
        pytest.skip(f"Backstage fixtures not found at {acme}")

    result = read_location(str(acme), type="file")

    kinds = Counter(d.data["kind"] for d in result.documents)
    assert result.errors == []
    assert kinds["Location"] == 2
    assert kinds["Group"] == 9
