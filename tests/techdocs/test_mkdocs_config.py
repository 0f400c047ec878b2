import pytest

from techdocs.mkdocs_config import ConfigError, NavEntry, parse_config, safe_relative_path


def test_it_reads_the_settings_the_builder_uses():
    config = parse_config(
        "site_name: Payments\n"
        "site_description: How payments work\n"
        "docs_dir: documentation\n"
        "repo_url: https://github.com/acme/payments\n"
        "edit_uri: edit/main/documentation/\n"
        "markdown_extensions:\n"
        "  - admonition\n"
        "  - toc:\n"
        "      permalink: true\n"
    )
    assert config.site_name == "Payments"
    assert config.site_description == "How payments work"
    assert config.docs_dir == "documentation"
    assert config.repo_url == "https://github.com/acme/payments"
    assert config.edit_uri == "edit/main/documentation/"
    assert config.markdown_extensions == ("admonition", "toc")
    assert config.nav is None


def test_it_defaults_docs_dir_to_docs_and_accepts_an_empty_file():
    config = parse_config("")
    assert config.docs_dir == "docs"
    assert config.site_name is None


def test_it_reads_nested_nav_sections_bare_paths_and_external_links():
    config = parse_config(
        "nav:\n"
        "  - Home: index.md\n"
        "  - guide/setup.md\n"
        "  - Guide:\n"
        "      - Install: guide/./install.md\n"
        "      - Deeper:\n"
        "          - Tuning: guide/tuning.md\n"
        "  - Backstage: https://backstage.io/docs\n"
    )
    assert config.nav == (
        NavEntry(title="Home", file="index.md"),
        NavEntry(title=None, file="guide/setup.md"),
        NavEntry(title="Guide", children=(
            NavEntry(title="Install", file="guide/install.md"),
            NavEntry(title="Deeper", children=(NavEntry(title="Tuning", file="guide/tuning.md"),)),
        )),
        NavEntry(title="Backstage", url="https://backstage.io/docs"),
    )


def test_it_treats_python_tags_as_text_without_running_anything():
    config = parse_config(
        "site_name: Tagged\n"
        "markdown_extensions:\n"
        "  - pymdownx.emoji:\n"
        "      emoji_index: !!python/name:pymdownx.emoji.twemoji\n"
        "      emoji_generator: !!python/object/apply:os.system ['touch /tmp/pwned']\n"
        "  - pymdownx.superfences:\n"
        "      custom_fences:\n"
        "        - name: mermaid\n"
        "          format: !!python/name:pymdownx.superfences.fence_code_format\n"
        "extra:\n"
        "  token: !ENV [TOKEN, none]\n"
    )
    assert config.site_name == "Tagged"
    assert config.markdown_extensions == ("pymdownx.emoji", "pymdownx.superfences")


@pytest.mark.parametrize("docs_dir", ["../elsewhere", "docs/../../x", "/etc", "C:\\docs", "..\\up", "~root"])
def test_it_refuses_a_docs_dir_outside_the_site(docs_dir):
    with pytest.raises(ConfigError, match="docs_dir"):
        parse_config(f"docs_dir: '{docs_dir}'\n")


@pytest.mark.parametrize("target", ["../secret.md", "/etc/passwd", "guide/../../x.md"])
def test_it_refuses_a_nav_entry_outside_the_docs_folder(target):
    with pytest.raises(ConfigError, match="nav entry"):
        parse_config(f"nav:\n  - Secret: '{target}'\n")


def test_it_leaves_out_a_nav_link_with_a_script_scheme_and_says_so():
    config = parse_config("nav:\n  - Home: index.md\n  - Evil: 'javascript:alert(1)'\n")
    assert config.nav == (NavEntry(title="Home", file="index.md"),)
    assert any("javascript" in warning for warning in config.warnings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("site_name: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("nav: index.md\n", "nav must be a list"),
        ("nav:\n  - A: index.md\n    B: other.md\n", "exactly one title"),
        ("nav:\n  - Empty:\n", "needs a page path"),
        ("nav:\n  - 42\n", "must be a path"),
    ],
)
def test_it_explains_a_malformed_config(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_it_stops_on_a_nav_that_refers_to_itself():
    with pytest.raises(ConfigError, match="nested deeper"):
        parse_config("nav: &loop\n  - Loop: *loop\n")


def test_it_stops_on_an_alias_bomb_in_the_nav():
    lines = ["a0: &a0 [{P: p.md}, {P: p.md}, {P: p.md}, {P: p.md}, {P: p.md}, {P: p.md}, {P: p.md}]"]
    for level in range(1, 9):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{{S: {previous}}}, {{S: {previous}}}, {{S: {previous}}}]")
    lines.append("nav: *a8")
    with pytest.raises(ConfigError, match="more than"):
        parse_config("\n".join(lines) + "\n")


def test_it_ignores_a_repo_url_that_is_not_http():
    config = parse_config("repo_url: 'javascript:alert(1)'\n")
    assert config.repo_url is None
    assert config.warnings


def test_safe_relative_path_normalises_harmless_segments():
    assert safe_relative_path("./docs//guide/", what="x") == "docs/guide"
    assert safe_relative_path(".", what="x") == "."
