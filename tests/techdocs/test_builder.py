import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

import techdocs.builder as builder_module
from techdocs.builder import (
    BuildError,
    BuildLimits,
    ConfigError,
    NavItem,
    UrlPrefix,
    build_site,
    nav_pages,
    previous_and_next,
    source_hash,
)


def write_files(base: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        target = base / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return base


NAV_SITE = {
    "mkdocs.yml": (
        "site_name: Payments\n"
        "site_description: Moving money\n"
        "repo_url: https://github.com/acme/payments\n"
        "edit_uri: edit/main/docs/\n"
        "nav:\n"
        "  - Welcome: index.md\n"
        "  - Guide:\n"
        "      - guide/install.md\n"
        "      - Advanced:\n"
        "          - Tuning: guide/tuning.md\n"
        "  - Backstage: https://backstage.io/docs\n"
    ),
    "docs/index.md": "# Payments\n\nSee the [install guide](guide/install.md#linux).\n",
    "docs/guide/install.md": "# Installing payments\n\n## Linux\n\n![arch](../img/arch.png)\n",
    "docs/guide/tuning.md": "# Tuning\n\nBack [home](../index.md).\n",
    "docs/extra.md": "# Extra page\n",
    "docs/img/arch.png": b"\x89PNG fake",
    "docs/img/unused.png": b"\x89PNG unused",
}


def test_it_builds_the_nav_from_mkdocs_yml_with_sections_and_external_links(tmp_path):
    result = build_site(write_files(tmp_path, NAV_SITE))
    assert result.errors == []
    assert result.site_name == "Payments"
    assert result.site_description == "Moving money"
    assert result.nav == [
        NavItem(title="Welcome", path=""),
        NavItem(title="Guide", children=(
            NavItem(title="Installing payments", path="guide/install"),
            NavItem(title="Advanced", children=(NavItem(title="Tuning", path="guide/tuning"),)),
        )),
        NavItem(title="Backstage", url="https://backstage.io/docs"),
    ]


def test_pages_follow_the_nav_order_and_pages_outside_the_nav_still_build(tmp_path):
    result = build_site(write_files(tmp_path, NAV_SITE))
    assert [page.path for page in result.pages] == ["", "guide/install", "guide/tuning", "extra"]
    assert [page.title for page in result.pages] == ["Welcome", "Installing payments", "Tuning", "Extra page"]
    assert result.page("guide/install").source_path == "guide/install.md"


def test_links_and_images_are_rewritten_and_referenced_files_listed(tmp_path):
    result = build_site(
        write_files(tmp_path, NAV_SITE),
        page_url=lambda path: f"/docs/default/component/payments/{path}",
        asset_url=lambda path: f"/docs-assets/payments/{path}",
    )
    assert 'href="/docs/default/component/payments/guide/install#linux"' in result.page("").html
    assert 'src="/docs-assets/payments/img/arch.png"' in result.page("guide/install").html
    assert 'href="/docs/default/component/payments/"' in result.page("guide/tuning").html
    assert result.assets == [("img/arch.png", (tmp_path / "docs/img/arch.png").resolve())]


def test_each_page_has_toc_headings_search_text_and_edit_url(tmp_path):
    page = build_site(write_files(tmp_path, NAV_SITE)).page("guide/install")
    assert page.toc[0]["title"] == "Installing payments"
    assert page.toc[0]["children"][0]["id"] == "linux"
    assert [heading["title"] for heading in page.headings] == ["Installing payments", "Linux"]
    assert page.text == "Installing payments\nLinux"
    assert page.edit_url == "https://github.com/acme/payments/edit/main/docs/guide/install.md"


def test_github_repos_get_the_mkdocs_default_edit_uri_and_an_empty_one_switches_it_off(tmp_path):
    write_files(tmp_path / "a", {"mkdocs.yml": "repo_url: https://github.com/acme/a/\n", "docs/index.md": "# A\n"})
    write_files(tmp_path / "b", {"mkdocs.yml": "repo_url: https://github.com/acme/b\nedit_uri: ''\n",
                                 "docs/index.md": "# B\n"})
    assert build_site(tmp_path / "a").pages[0].edit_url == "https://github.com/acme/a/edit/master/docs/index.md"
    assert build_site(tmp_path / "b").pages[0].edit_url is None


def test_previous_and_next_follow_the_nav(tmp_path):
    nav = build_site(write_files(tmp_path, NAV_SITE)).nav
    assert [item.path for item in nav_pages(nav)] == ["", "guide/install", "guide/tuning"]
    previous, following = previous_and_next(nav, "guide/install")
    assert (previous.path, following.path) == ("", "guide/tuning")
    assert previous_and_next(nav, "") == (None, nav_pages(nav)[1])
    assert previous_and_next(nav, "guide/tuning")[1] is None
    assert previous_and_next(nav, "extra") == (None, None)


def test_without_a_nav_pages_follow_the_folders_with_the_index_first(tmp_path):
    write_files(tmp_path, {
        "mkdocs.yml": "site_name: Folders\n",
        "docs/zebra.md": "# Zebra crossing\n",
        "docs/apple.md": "No heading here.\n",
        "docs/index.md": "Welcome without a heading.\n",
        "docs/getting-started/index.md": "# Start here\n",
        "docs/getting-started/b-step.md": "## Only a second level heading\n",
        "docs/getting-started/a-step.md": "# First step\n",
        "docs/api_reference/README.md": "# API\n",
    })
    result = build_site(tmp_path)
    assert result.errors == []
    assert result.nav == [
        NavItem(title="Home", path=""),
        NavItem(title="Apple", path="apple"),
        NavItem(title="Zebra crossing", path="zebra"),
        NavItem(title="Api reference", children=(NavItem(title="API", path="api_reference"),)),
        NavItem(title="Getting started", children=(
            NavItem(title="Start here", path="getting-started"),
            NavItem(title="First step", path="getting-started/a-step"),
            NavItem(title="B step", path="getting-started/b-step"),
        )),
    ]
    assert [page.path for page in result.pages] == [item.path for item in nav_pages(result.nav)]


def test_without_mkdocs_yml_the_docs_folder_is_built_with_defaults(tmp_path):
    write_files(tmp_path, {"service/docs/index.md": "# Service docs\n", "service/README.md": "# not docs\n"})
    result = build_site(tmp_path, "service")
    assert [page.title for page in result.pages] == ["Service docs"]
    assert result.docs_dir == "service/docs"
    assert result.site_name == "Service"


def test_a_custom_docs_dir_is_read_relative_to_the_config(tmp_path):
    write_files(tmp_path, {"site/mkdocs.yml": "docs_dir: pages\n", "site/pages/index.md": "# Custom\n"})
    assert build_site(tmp_path, "./site").pages[0].title == "Custom"


def test_a_missing_docs_folder_is_a_clear_build_error(tmp_path):
    write_files(tmp_path, {"mkdocs.yml": "site_name: Empty\n"})
    with pytest.raises(BuildError, match="docs folder 'docs' does not exist"):
        build_site(tmp_path)
    with pytest.raises(BuildError, match="does not exist"):
        build_site(tmp_path, "nowhere")


@pytest.mark.parametrize("ref", ["..", "../other", "/etc", "sub/../../x"])
def test_it_refuses_a_techdocs_ref_folder_outside_the_source(tmp_path, ref):
    (tmp_path / "source").mkdir()
    with pytest.raises(ConfigError, match="techdocs-ref folder"):
        build_site(tmp_path / "source", ref)


def test_it_refuses_dotdot_in_docs_dir_and_nav(tmp_path):
    write_files(tmp_path / "a", {"mkdocs.yml": "docs_dir: ../../etc\n"})
    write_files(tmp_path / "b", {"mkdocs.yml": "nav:\n  - Up: ../../secret.md\n", "docs/index.md": "# x\n"})
    with pytest.raises(ConfigError, match="docs_dir '../../etc' contains '..'"):
        build_site(tmp_path / "a")
    with pytest.raises(ConfigError, match="nav entry '../../secret.md' contains '..'"):
        build_site(tmp_path / "b")


def test_it_refuses_a_docs_folder_symlinked_outside_the_source(tmp_path):
    outside = write_files(tmp_path / "outside", {"index.md": "# Secret\n"})
    source = write_files(tmp_path / "source", {"mkdocs.yml": "site_name: Linked\n"})
    (source / "docs").symlink_to(outside, target_is_directory=True)
    with pytest.raises(BuildError, match="outside the source"):
        build_site(source)


def test_it_refuses_a_config_file_symlinked_outside_the_source(tmp_path):
    write_files(tmp_path / "outside", {"mkdocs.yml": "site_name: Elsewhere\n"})
    source = write_files(tmp_path / "source", {"docs/index.md": "# x\n"})
    (source / "mkdocs.yml").symlink_to(tmp_path / "outside" / "mkdocs.yml")
    with pytest.raises(BuildError, match="outside the source"):
        build_site(source)


def test_a_file_symlinked_outside_is_refused_while_the_rest_builds(tmp_path):
    write_files(tmp_path / "outside", {"secret.md": "# Top secret\n", "keys/id.png": b"key"})
    source = write_files(tmp_path / "source", {"docs/index.md": "# Home\n", "README.md": "# Readme\n"})
    (source / "docs" / "secret.md").symlink_to(tmp_path / "outside" / "secret.md")
    (source / "docs" / "keys").symlink_to(tmp_path / "outside" / "keys", target_is_directory=True)
    (source / "docs" / "readme-copy.md").symlink_to(source / "README.md")
    result = build_site(source)
    assert sorted(page.path for page in result.pages) == ["", "readme-copy"]
    assert {issue.path for issue in result.errors} == {"secret.md", "keys"}
    assert all("outside the source" in issue.message for issue in result.errors)
    assert all("Top secret" not in page.html for page in result.pages)


def test_a_symlink_loop_inside_the_docs_is_walked_once(tmp_path):
    source = write_files(tmp_path, {"docs/index.md": "# Home\n", "docs/sub/page.md": "# Page\n"})
    (source / "docs" / "sub" / "loop").symlink_to(source / "docs", target_is_directory=True)
    result = build_site(source)
    assert sorted(page.path for page in result.pages) == ["", "sub/page"]


def test_a_missing_nav_target_is_a_warning_and_the_rest_builds(tmp_path):
    write_files(tmp_path, {
        "mkdocs.yml": "nav:\n  - Home: index.md\n  - Gone: gone.md\n  - Section:\n      - Also gone: x/y.md\n",
        "docs/index.md": "# Home\n",
    })
    result = build_site(tmp_path)
    assert result.errors == []
    assert result.nav == [NavItem(title="Home", path="")]
    messages = [issue.message for issue in result.warnings]
    assert any("'gone.md'" in message for message in messages)
    assert any("'x/y.md'" in message for message in messages)


def test_broken_links_are_warnings_on_their_page(tmp_path):
    write_files(tmp_path, {"docs/index.md": "[missing](nope.md)\n"})
    result = build_site(tmp_path)
    assert [(issue.path, "nope.md" in issue.message) for issue in result.warnings] == [("index.md", True)]


def test_a_non_utf8_page_is_built_with_replacement_characters_and_a_warning(tmp_path):
    write_files(tmp_path, {"docs/index.md": "# Home\n", "docs/latin.md": "# Caf\xe9 menu\n".encode("latin-1")})
    result = build_site(tmp_path)
    assert result.errors == []
    assert result.page("latin").title == "Caf\ufffd menu"
    [warning] = result.warnings
    assert warning.path == "latin.md"
    assert "not valid UTF-8" in warning.message and "offset 5" in warning.message


def test_a_byte_order_mark_is_not_part_of_the_page(tmp_path):
    write_files(tmp_path, {"docs/index.md": "\ufeff# Marked\n".encode()})
    assert build_site(tmp_path).pages[0].title == "Marked"


def test_a_50_mb_page_is_refused_without_reading_it_and_the_rest_builds(tmp_path):
    write_files(tmp_path, {"docs/index.md": "# Home\n"})
    huge = tmp_path / "docs" / "huge.md"
    with open(huge, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: no 50 MB actually written
    try:
        started = time.monotonic()
        result = build_site(tmp_path)
        assert time.monotonic() - started < 5
    finally:
        huge.unlink()
    assert [page.path for page in result.pages] == [""]
    [error] = result.errors
    assert error.path == "huge.md"
    assert "52428800 bytes, over the 10485760 byte limit" in error.message


def test_a_10000_page_site_fails_before_anything_is_read_or_rendered(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for number in range(10_000):
        (docs / f"page-{number:05}.md").write_bytes(b"# Page\n")
    reads = []
    monkeypatch.setattr(builder_module, "_read_limited", lambda *args, **kwargs: reads.append(args) or b"")

    def refuse_to_render(*args, **kwargs):
        raise AssertionError("nothing should be rendered")

    monkeypatch.setattr(builder_module.MarkdownRenderer, "render", refuse_to_render)
    with pytest.raises(BuildError, match="more than 5000 pages"):
        build_site(tmp_path)
    assert reads == []


def test_the_total_size_limit_is_a_build_error(tmp_path):
    write_files(tmp_path, {"docs/index.md": "# Home\n", "docs/big.bin": b"x" * 2000})
    with pytest.raises(BuildError, match="over the 1000 byte limit"):
        build_site(tmp_path, limits=BuildLimits(max_total_bytes=1000))


def test_a_referenced_file_over_the_size_limit_is_an_error_and_not_listed(tmp_path):
    write_files(tmp_path, {"docs/index.md": "![big](big.png) ![small](small.png)\n",
                           "docs/big.png": b"x" * 5000, "docs/small.png": b"x"})
    result = build_site(tmp_path, limits=BuildLimits(max_file_bytes=1000))
    assert [relative for relative, _source in result.assets] == ["small.png"]
    assert [(issue.path, "over the 1000 byte limit" in issue.message) for issue in result.errors] == [
        ("big.png", True)]


def test_two_files_with_the_same_page_path_are_reported(tmp_path):
    write_files(tmp_path, {"docs/guide.md": "# Flat\n", "docs/guide/index.md": "# Nested\n"})
    result = build_site(tmp_path)
    assert [page.title for page in result.pages] == ["Flat"]
    assert [issue.path for issue in result.errors] == ["guide/index.md"]


def test_a_page_that_fails_to_render_is_an_error_and_the_rest_builds(tmp_path, monkeypatch):
    write_files(tmp_path, {"docs/index.md": "# Home\n", "docs/bad.md": "# Bad\nEXPLODE\n"})
    original = builder_module.MarkdownRenderer.render

    def render(self, text, **kwargs):
        if "EXPLODE" in text:
            raise ValueError("cannot parse")
        return original(self, text, **kwargs)

    monkeypatch.setattr(builder_module.MarkdownRenderer, "render", render)
    result = build_site(tmp_path)
    assert [page.path for page in result.pages] == [""]
    assert [(issue.path, issue.message) for issue in result.errors] == [
        ("bad.md", "the page could not be rendered (ValueError: cannot parse); skipped")]


def test_hidden_files_and_folders_are_not_part_of_the_site(tmp_path):
    write_files(tmp_path, {"docs/index.md": "# Home\n", "docs/.git/notes.md": "# Git\n", "docs/.draft.md": "# D\n"})
    assert [page.path for page in build_site(tmp_path).pages] == [""]


def test_the_content_hash_changes_only_when_the_source_changes(tmp_path):
    write_files(tmp_path, NAV_SITE)
    first = build_site(tmp_path).content_hash
    assert build_site(tmp_path).content_hash == first
    assert source_hash(tmp_path) == first

    page = tmp_path / "docs" / "index.md"
    os.utime(page, (1_000_000, 1_000_000))
    assert source_hash(tmp_path) == first

    original = page.read_bytes()
    page.write_bytes(original + b"\nMore.\n")
    changed = source_hash(tmp_path)
    assert changed != first
    page.write_bytes(original)
    assert source_hash(tmp_path) == first

    (tmp_path / "docs" / "img" / "arch.png").write_bytes(b"\x89PNG redrawn")
    assert source_hash(tmp_path) not in (first, changed)


def test_the_content_hash_covers_the_config_and_file_names(tmp_path):
    write_files(tmp_path, NAV_SITE)
    first = source_hash(tmp_path)
    config = tmp_path / "mkdocs.yml"
    config.write_text(config.read_text().replace("Payments", "Payouts"))
    second = source_hash(tmp_path)
    assert second != first
    (tmp_path / "docs" / "extra.md").rename(tmp_path / "docs" / "more.md")
    assert source_hash(tmp_path) not in (first, second)


def test_unsupported_markdown_extensions_are_logged(tmp_path):
    write_files(tmp_path, {"mkdocs.yml": "markdown_extensions:\n  - admonition\n  - pymdownx.arithmatex\n",
                           "docs/index.md": "# Home\n"})
    result = build_site(tmp_path)
    assert any("pymdownx.arithmatex" in line and "admonition" not in line for line in result.log)
    assert result.errors == []


def test_a_page_that_renders_too_slowly_is_stopped_and_the_rest_builds(tmp_path):
    write_files(tmp_path, {"docs/index.md": "# Home\n", "docs/slow.md": "[" * 20_000 + "x\n"})
    alarm_handler_before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    result = build_site(tmp_path, limits=BuildLimits(max_page_seconds=0.3))
    assert time.monotonic() - started < 5
    assert [page.path for page in result.pages] == [""]
    [error] = result.errors
    assert error.path == "slow.md"
    assert "longer than 0.3s" in error.message
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is alarm_handler_before


def test_the_whole_build_has_a_time_limit(tmp_path):
    write_files(tmp_path, {"docs/a.md": "# A\n", "docs/b.md": "# B\n"})
    with pytest.raises(BuildError, match="took longer than"):
        build_site(tmp_path, limits=BuildLimits(max_build_seconds=0))


def test_building_outside_the_main_thread_works_without_time_limits(tmp_path):
    write_files(tmp_path, NAV_SITE)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", build_site(tmp_path)))
    worker.start()
    worker.join(timeout=30)
    assert [page.path for page in outcome["result"].pages] == ["", "guide/install", "guide/tuning", "extra"]


def test_the_builder_imports_no_django():
    probe = "import sys, techdocs.builder; print(any(name.startswith('django') for name in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                               cwd=Path(__file__).resolve().parents[2])
    assert completed.stdout.strip() == "False"


def parallel_site(base: Path, pages: int = 45, *, slow_page: bool = True) -> Path:
    """A site big enough to be rendered in worker processes, with a bit of everything that can go wrong."""
    files: dict[str, str | bytes] = {
        "mkdocs.yml": "site_name: Big\nrepo_url: https://github.com/acme/big\nnav:\n  - Home: index.md\n"
                      "  - Section:\n      - section/page-3.md\n      - Gone: gone.md\n",
        "docs/index.md": "# Big\n\n- [x] done\n- [ ] todo\n\n[third](section/page-3.md#part) ![logo](img/logo.png)\n",
        "docs/img/logo.png": b"\x89PNG logo",
        "docs/latin.md": "# Caf\xe9\n".encode("latin-1"),
        "docs/broken.md": "# Broken\n\n[nowhere](nowhere.md) [up](../../etc/passwd)\n",
    }
    if slow_page:
        files["docs/slow.md"] = "[" * 20_000 + "x\n"
    for number in range(pages):
        files[f"docs/section/page-{number}.md"] = (
            f"# Page {number}\n\n## Part {number} &amp; more\n\nText with `code` and a [link](../index.md).\n\n"
            f"```python\ndef page_{number}():\n    return {number}\n```\n\n| a | b |\n|---|---|\n| {number} | x |\n"
        )
    return write_files(base, files)


def comparable(result) -> dict:
    return {
        "pages": result.pages, "nav": result.nav, "assets": result.assets, "warnings": result.warnings,
        "errors": result.errors, "site_name": result.site_name, "content_hash": result.content_hash,
    }


def test_a_site_rendered_in_worker_processes_is_the_same_as_one_rendered_in_one_process(tmp_path):
    parallel_site(tmp_path)
    options = {"limits": BuildLimits(max_page_seconds=0.5), "page_url": UrlPrefix("/docs/big/", folders=True),
               "asset_url": UrlPrefix("/docs/big/")}
    in_workers = build_site(tmp_path, workers=2, **options)
    in_process = build_site(tmp_path, workers=1, **options)
    [summary] = [line for line in in_workers.log if "worker process and this one" in line]
    pages_here = int(re.search(r"\((\d+) pages here\)", summary).group(1))
    assert 0 < pages_here < 48  # both processes rendered pages
    assert not any("worker" in line for line in in_process.log)
    assert comparable(in_workers) == comparable(in_process)
    assert len(in_workers.pages) == 48
    assert 'href="/docs/big/section/page-3/#part"' in in_workers.page("").html
    assert in_workers.assets == [("img/logo.png", (tmp_path / "docs/img/logo.png").resolve())]
    assert [issue.path for issue in in_workers.errors] == ["slow.md"]
    assert "longer than 0.5s" in in_workers.errors[0].message
    assert {issue.path for issue in in_workers.warnings} == {None, "latin.md", "broken.md"}


def test_the_default_is_one_worker_process_per_core_and_the_result_is_the_same(tmp_path, monkeypatch):
    parallel_site(tmp_path)
    monkeypatch.setattr(builder_module, "_usable_cores", lambda: 3)
    in_workers = build_site(tmp_path, limits=BuildLimits(max_page_seconds=0.5))
    assert any("in 3 processes: 2 worker processes and this one" in line for line in in_workers.log)
    monkeypatch.setattr(builder_module, "_usable_cores", lambda: 1)
    single_core = build_site(tmp_path, limits=BuildLimits(max_page_seconds=0.5))
    assert any("one CPU core" in line for line in single_core.log)
    assert comparable(in_workers) == comparable(single_core)


def test_a_small_site_is_rendered_in_this_process(tmp_path):
    result = build_site(write_files(tmp_path, NAV_SITE), workers=2)
    assert not any("worker" in line for line in result.log)
    assert len(result.pages) == 4


def test_url_functions_that_cannot_be_pickled_are_used_in_this_process(tmp_path):
    parallel_site(tmp_path)
    result = build_site(tmp_path, workers=2, page_url=lambda path: f"/lambda/{path}",
                        limits=BuildLimits(max_page_seconds=0.5))
    assert any("cannot be sent to worker processes" in line for line in result.log)
    assert 'href="/lambda/section/page-3#part"' in result.page("").html


def test_when_worker_processes_cannot_start_the_pages_are_rendered_here(tmp_path, monkeypatch):
    parallel_site(tmp_path)

    def refuse(processes):
        raise OSError("no processes for you")

    monkeypatch.setattr(builder_module, "_process_pool", refuse)
    result = build_site(tmp_path, workers=2, limits=BuildLimits(max_page_seconds=0.5))
    assert any("could not be started (OSError: no processes for you)" in line for line in result.log)
    assert len(result.pages) == 48


def test_pages_of_a_worker_that_died_are_rendered_here(tmp_path, monkeypatch):
    parallel_site(tmp_path)
    expected = comparable(build_site(tmp_path, workers=1, limits=BuildLimits(max_page_seconds=0.5)))

    def dying_pool(processes):
        context = multiprocessing.get_context("forkserver")
        # Every worker exits as it starts, as one killed for lack of memory would.
        return ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=os._exit, initargs=(3,))

    monkeypatch.setattr(builder_module, "_process_pool", dying_pool)
    result = build_site(tmp_path, workers=2, limits=BuildLimits(max_page_seconds=0.5))
    # Whether the pool broke before or after it got its first pages depends on timing.
    assert any("BrokenProcessPool" in line and "rendered in this process" in line for line in result.log)
    assert comparable(result) == expected


def build_in_a_daemonic_process(root: Path, answers) -> None:
    result = build_site(root, workers=2, limits=BuildLimits(max_page_seconds=0.5))
    answers.put((len(result.pages), result.log))


def test_a_daemonic_process_which_may_not_have_children_renders_the_pages_itself(tmp_path):
    parallel_site(tmp_path)
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    daemon = context.Process(target=build_in_a_daemonic_process, args=(tmp_path, answers), daemon=True)
    daemon.start()
    page_count, log = answers.get(timeout=60)
    daemon.join(timeout=10)
    assert page_count == 48
    assert any("worker processes could not be started" in line for line in log)


def test_the_build_time_limit_holds_while_workers_render(tmp_path):
    parallel_site(tmp_path, pages=60)
    started = time.monotonic()
    with pytest.raises(BuildError, match="the build took longer than 1s"):
        build_site(tmp_path, workers=2, limits=BuildLimits(max_page_seconds=None, max_build_seconds=1))
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("processes", "start_seconds"), [(2, 0), (2, 0.15), (3, 0), (3, 0.05), (4, 0.3)])
def test_pages_come_back_complete_and_in_order_however_fast_the_workers_start(
    tmp_path, monkeypatch, processes, start_seconds
):
    parallel_site(tmp_path, pages=120, slow_page=False)
    expected = comparable(build_site(tmp_path, workers=1))

    def slowly_starting_pool(workers):
        # Threads stand in for worker processes here, so that the start can be delayed at will.
        time.sleep(start_seconds)
        return ThreadPoolExecutor(max_workers=workers)

    monkeypatch.setattr(builder_module, "_process_pool", slowly_starting_pool)
    result = build_site(tmp_path, workers=processes)
    assert comparable(result) == expected
    assert len(result.pages) == 123


@pytest.mark.parametrize("pages_left", [0, 3, 8, 20])
def test_pages_come_back_complete_when_the_workers_start_near_the_end(tmp_path, monkeypatch, pages_left):
    parallel_site(tmp_path, pages=60, slow_page=False)
    expected = comparable(build_site(tmp_path, workers=1))
    page_count = len(expected["pages"])
    original = builder_module._render_jobs
    rendered_here: list = []
    nearly_done = threading.Event()

    def render_jobs(jobs, *args):
        outcomes = original(jobs, *args)
        if threading.current_thread() is threading.main_thread():
            rendered_here.extend(jobs)
            if page_count - len(rendered_here) <= pages_left and not nearly_done.is_set():
                nearly_done.set()
                time.sleep(0.2)  # the pool is ready before this process looks again
        return outcomes

    def late_pool(workers):
        nearly_done.wait(timeout=30)
        return ThreadPoolExecutor(max_workers=workers)

    monkeypatch.setattr(builder_module, "_render_jobs", render_jobs)
    monkeypatch.setattr(builder_module, "_process_pool", late_pool)
    result = build_site(tmp_path, workers=2)
    assert comparable(result) == expected
