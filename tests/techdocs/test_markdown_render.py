from techdocs.markdown_render import (
    SiteLinks,
    html_to_text,
    page_path_for,
    pygments_css,
    pygments_theme_css,
    render_markdown,
)


def test_fenced_code_is_highlighted_with_pygments_classes():
    page = render_markdown("```python\ndef handler(event):\n    return 42\n```\n")
    assert '<div class="highlight">' in page.html
    assert '<span class="k">def</span>' in page.html
    assert '<span class="nf">handler</span>' in page.html


def test_the_stylesheet_covers_highlight_classes_for_light_and_dark_themes():
    light = pygments_css()
    assert ".highlight .k {" in light
    assert all(line.startswith(".highlight") for line in light.splitlines())
    themed = pygments_theme_css(dark_selector=".dark")
    assert ".dark .highlight .k {" in themed
    assert ".highlight .k {" in themed


def test_admonitions_and_collapsible_details_render():
    page = render_markdown('!!! warning "Careful"\n    Mind the gap.\n\n??? note "More"\n    Hidden text.\n')
    assert '<div class="admonition warning">' in page.html
    assert '<p class="admonition-title">Careful</p>' in page.html
    assert '<details class="note">' in page.html
    assert "<summary>More</summary>" in page.html


def test_the_table_of_contents_is_a_tree_with_permalinks_in_the_page():
    page = render_markdown("# Guide & tips\n\n## Install\n\n### On Linux\n\n## Use\n")
    assert page.toc == [{
        "id": "guide-tips", "title": "Guide & tips", "level": 1, "children": [
            {"id": "install", "title": "Install", "level": 2, "children": [
                {"id": "on-linux", "title": "On Linux", "level": 3, "children": []},
            ]},
            {"id": "use", "title": "Use", "level": 2, "children": []},
        ],
    }]
    assert [heading["id"] for heading in page.headings] == ["guide-tips", "install", "on-linux", "use"]
    assert page.title == "Guide & tips"
    assert '<a class="headerlink" href="#install"' in page.html
    assert '<h3 id="on-linux">' in page.html


def test_headings_in_other_scripts_keep_readable_ids():
    page = render_markdown("## Überblick\n")
    assert page.toc[0]["id"] == "überblick"


def test_task_lists_render_as_disabled_checkboxes():
    page = render_markdown("- [x] write docs\n- [ ] review docs\n")
    assert page.html.count('type="checkbox"') == 2
    assert page.html.count("disabled") == 2
    assert page.html.count("checked") == 1
    assert 'class="task-list-item"' in page.html


def test_footnotes_link_both_ways():
    page = render_markdown("Claim.[^source]\n\n[^source]: The evidence.\n")
    assert 'href="#fn:source"' in page.html
    assert 'id="fn:source"' in page.html
    assert 'href="#fnref:source"' in page.html


def test_definition_lists_abbreviations_and_attribute_lists():
    page = render_markdown(
        "API\n:   A contract.\n\nThe API is stable.\n{ .lead }\n\n*[API]: Application Programming Interface\n"
    )
    assert "<dl>" in page.html and "<dt>" in page.html and "<dd>" in page.html
    assert '<abbr title="Application Programming Interface">API</abbr>' in page.html
    assert '<p class="lead">' in page.html


def test_tables_use_align_attributes_not_styles():
    page = render_markdown("| left | right |\n|:-----|------:|\n| a | b |\n")
    assert '<th align="left">' in page.html
    assert '<td align="right">' in page.html
    assert "style=" not in page.html


def test_mermaid_fences_are_kept_for_the_diagram_script():
    page = render_markdown("```mermaid\ngraph TD\n  A-->B\n```\n")
    assert '<pre class="mermaid">graph TD\n  A--&gt;B</pre>' in page.html
    assert "highlight" not in page.html


def test_raw_html_is_allowed_then_sanitized():
    page = render_markdown(
        '<div class="box"><b>bold</b><img src=x onerror="alert(1)"></div>\n\n<script>alert(2)</script>\n'
    )
    assert '<div class="box"><b>bold</b>' in page.html
    assert "alert" not in page.html


def test_search_text_has_no_markup_or_permalink_signs():
    page = render_markdown("# Title\n\nSome *emphasis* and `code`\nwrapped.\n\n```\nline one\nline two\n```\n")
    assert page.text == "Title\nSome emphasis and code wrapped.\nline one\nline two"


def test_html_to_text_skips_footnote_back_links():
    text = html_to_text('<p>note&#160;<a class="footnote-backref" href="#fnref:1">&#8617;</a></p><p>a &amp; b</p>')
    assert text == "note\na & b"


def test_page_paths_drop_the_suffix_and_index():
    assert page_path_for("index.md") == ""
    assert page_path_for("guide/index.md") == "guide"
    assert page_path_for("guide/install.md") == "guide/install"


SITE_PAGES = {"index.md": "", "guide/index.md": "guide", "guide/install.md": "guide/install",
              "reference/api.md": "reference/api"}
SITE_FILES = ["img/logo.png", "guide/diagram.svg", "files/report v2.pdf"]


def test_relative_page_links_become_site_urls_with_their_anchors():
    links = SiteLinks(
        SITE_PAGES,
        SITE_FILES,
        page_url=lambda path: f"/docs/default/component/svc/{path}/".replace("//", "/"),
        asset_url=lambda path: f"/assets/{path}",
    )
    page = render_markdown(
        "[install](install.md#linux) [api](../reference/api.md) [home](../index.md#top) [self](#here)\n"
        "[index](./) [external](https://example.com/other.md) [site](/absolute/path)\n",
        links=links.for_page("guide/index.md"),
    )
    assert 'href="/docs/default/component/svc/guide/install/#linux"' in page.html
    assert 'href="/docs/default/component/svc/reference/api/"' in page.html
    assert 'href="/docs/default/component/svc/#top"' in page.html
    assert 'href="#here"' in page.html
    assert 'href="/docs/default/component/svc/guide/"' in page.html
    assert 'href="https://example.com/other.md"' in page.html
    assert 'href="/absolute/path"' in page.html


def test_images_and_attachments_go_through_the_asset_url_and_are_collected():
    links = SiteLinks(SITE_PAGES, SITE_FILES, page_url=lambda path: f"/p/{path}", asset_url=lambda path: f"/a/{path}")
    page_links = links.for_page("guide/install.md")
    page = render_markdown(
        "![logo](../img/logo.png) ![diagram](diagram.svg) [report](../files/report%20v2.pdf)\n"
        '<img src="../img/logo.png" alt="again">\n',
        links=page_links,
    )
    assert 'src="/a/img/logo.png"' in page.html
    assert 'src="/a/guide/diagram.svg"' in page.html
    assert 'href="/a/files/report v2.pdf"' in page.html
    assert page_links.assets == ["img/logo.png", "guide/diagram.svg", "files/report v2.pdf"]


def test_without_url_functions_links_are_relative_to_the_page_folder():
    links = SiteLinks(SITE_PAGES, SITE_FILES)
    page = render_markdown("[api](../reference/api.md) [home](../index.md) ![logo](../img/logo.png)\n",
                           links=links.for_page("guide/install.md"))
    assert 'href="../../reference/api/"' in page.html
    assert 'href="../../"' in page.html
    assert 'src="../../img/logo.png"' in page.html


def test_a_colon_in_a_file_name_cannot_become_a_url_scheme():
    links = SiteLinks({"index.md": "", "javascript:alert(1).md": "javascript:alert(1)"}, [])
    page = render_markdown("[odd](./javascript:alert(1).md)\n", links=links.for_page("index.md"))
    assert 'href="javascript%3Aalert%281%29/"' in page.html


def test_broken_and_escaping_links_are_reported_and_left_alone():
    links = SiteLinks(SITE_PAGES, SITE_FILES, page_url=lambda path: f"/p/{path}", asset_url=lambda path: f"/a/{path}")
    page_links = links.for_page("index.md")
    page = render_markdown("[gone](missing.md) [out](../README.md) ![none](img/none.png)\n", links=page_links)
    assert 'href="missing.md"' in page.html
    assert 'href="../README.md"' in page.html
    assert len(page_links.warnings) == 3
    assert any("outside the docs folder" in warning for warning in page_links.warnings)
    assert page_links.assets == []


def test_toc_titles_are_plain_text_without_what_the_sanitizer_removed():
    page = render_markdown("# <script>alert(1)</script>Deploy `app` & <b>run</b>\n")
    assert page.toc[0]["title"] == "Deploy app & run"
    assert page.title == "Deploy app & run"
