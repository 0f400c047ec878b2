import html as html_lib
import pickle
import re

import markdown
import nh3
import pymdownx.highlight
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown.extensions.toc import slugify_unicode

from techdocs.markdown_render import (
    MarkdownRenderer,
    SiteLinks,
    UrlPrefix,
    _heading_text,
    html_to_text,
    page_path_for,
    pygments_css,
    pygments_theme_css,
    render_markdown,
)
from techdocs.sanitize import sanitize_html


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


CODE_SAMPLES = (
    "```python\ndef handler(event):\n    return {'ok': True}\n```\n\n"
    "```js\nconst total = items.reduce((a, b) => a + b, 0);\n```\n\n"
    "```nosuchlanguage\nkept as plain text\n```\n\n"
    "```\nno language at all\n```\n\n"
    '```python hl_lines="2" linenums="3" title="handler.py"\nimport os\nprint(os.sep)\n```\n\n'
    "```yaml {.wide #config}\nkey: value\n```\n\n"
    "    indented = 'code block'\n\n"
    "Inline `code` stays plain.\n"
)


def stock_markdown() -> markdown.Markdown:
    """The extensions as their packages ship them, without the renderer's Pygments shortcuts."""
    return markdown.Markdown(
        extensions=["abbr", "admonition", "attr_list", "def_list", "footnotes", "tables", "toc", "md_in_html",
                    "pymdownx.details", "pymdownx.highlight", "pymdownx.superfences", "pymdownx.tasklist",
                    "pymdownx.magiclink"],
        extension_configs={
            "toc": {"permalink": True, "permalink_class": "headerlink", "slugify": slugify_unicode},
            "tables": {"use_align_attribute": True},
            "pymdownx.highlight": {"use_pygments": True, "css_class": "highlight", "guess_lang": False},
            "pymdownx.tasklist": {"custom_checkbox": False},
        },
        output_format="html",
    )


def test_highlighted_code_is_exactly_what_stock_pymdownx_highlight_writes():
    renderer = MarkdownRenderer()
    for _ in range(2):  # the second time with lexers taken from the renderer's cache
        assert renderer.render(CODE_SAMPLES).html == sanitize_html(stock_markdown().convert(CODE_SAMPLES))
    assert '<span class="hll">' in renderer.render(CODE_SAMPLES).html
    assert '<span class="filename">handler.py</span>' in renderer.render(CODE_SAMPLES).html


EVERYTHING_ELSE = (
    "# Title &amp; more {: #top }\n\nSome *em*, **strong**, `code`, <kbd>raw</kbd> &copy; and a [link](a.md \"t\").\n\n"
    "![img](pic.png) <https://example.com> mail@example.com www.example.com\n\n"
    "| a | b |\n|:--|--:|\n| 1 | *2* |\n\n!!! note \"Careful\"\n    Inside **admonition**.\n\n"
    "??? tip \"More\"\n    Hidden.\n\n- [x] done\n- [ ] todo\n    - nested\n\nTerm\n:   Definition\n\n"
    "Footnote[^1] and HTML.\n\n[^1]: The note.\n\n*[HTML]: Hyper Text\n\n"
    '<div markdown="1">*inside html*</div>\n\n> quoted\n> text\n\n1. one\n2. two\n\n---\n\n'
    "## Second `heading` with <b>bold</b>\n\nLine  \nbreak and \\*escaped\\*.\n"
)


def test_pages_render_exactly_as_with_the_stock_extensions():
    renderer = MarkdownRenderer()
    page = CODE_SAMPLES + "\n" + EVERYTHING_ELSE
    for _ in range(2):
        assert renderer.render(page).html == sanitize_html(stock_markdown().convert(page))


def test_each_language_is_looked_up_once_per_renderer(monkeypatch):
    looked_up = []
    original = pymdownx.highlight.get_lexer_by_name

    def counting_lookup(name, **options):
        looked_up.append(name)
        return original(name, **options)

    monkeypatch.setattr(pymdownx.highlight, "get_lexer_by_name", counting_lookup)
    renderer = MarkdownRenderer()
    page = "```python\nx = 1\n```\n\n```python\ny = 2\n```\n\n```nosuchlanguage\nz\n```\n"
    first = renderer.render(page).html
    assert renderer.render(page).html == first
    # python once; the unknown name once, then the plain-text lexer standing in for it.
    assert looked_up == ["python", "nosuchlanguage", "text"]


def test_task_list_checkboxes_come_out_the_same_every_time():
    outputs = {render_markdown("- [x] done\n- [ ] todo\n").html for _ in range(30)}
    assert len(outputs) == 1
    assert '<input checked="" type="checkbox" disabled="">' in outputs.pop()


def slow_heading_text(heading_html: str) -> str:
    return html_to_text(sanitize_html(heading_html)).replace("\n", " ").strip()


@pytest.mark.parametrize("heading_html", [
    "Plain title", "  spaced \t out  ", "Fish &amp; chips", "a &lt;b&gt; c", "&amp;lt; literal", "caf\u00e9 \u00a0 bar",
    "with\nnewline", "<b>bold</b> and `code`", "&copy; 2024", "&amp", "\ufeffmarked", "x\x00y", "a\rb", "",
])
def test_plain_heading_titles_take_a_shortcut_with_the_same_result(heading_html):
    assert _heading_text(heading_html).strip() == slow_heading_text(heading_html)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), st.sampled_from(["&amp;", "&lt;", "&gt;", "&", "<", " ", "\n",
                                                                 "\xa0", "\ufeff", "\u2028", "\x85"])),
                max_size=6).map("".join))
def test_heading_titles_equal_the_sanitized_text_of_the_heading(heading_html):
    assert _heading_text(heading_html).strip() == slow_heading_text(heading_html)


def test_url_prefixes_quote_paths_and_survive_pickling():
    pages, files = UrlPrefix("/docs/default/component/svc/", folders=True), UrlPrefix("/docs/default/component/svc/")
    assert pages("") == "/docs/default/component/svc/"
    assert pages("guide/install now") == "/docs/default/component/svc/guide/install%20now/"
    assert files("img/a#b.png") == "/docs/default/component/svc/img/a%23b.png"
    assert pickle.loads(pickle.dumps(pages)) == pages  # noqa: S301 (our own bytes)
    assert pickle.loads(pickle.dumps(files))("x") == files("x")  # noqa: S301


def text_through_an_html_parser(clean_html: str) -> str:
    """html_to_text's steps, with nh3 parsing the HTML to drop the tags: the behaviour to keep."""
    html = re.sub(r'<a\b[^>]*\bclass="[^"]*\b(?:footnote-backref|headerlink)\b[^"]*"[^>]*>.*?</a>', "", clean_html,
                  flags=re.DOTALL)
    parts = re.split(r"(<pre\b.*?</pre>)", html, flags=re.DOTALL)
    html = "".join(part if part.startswith("<pre") else part.replace("\n", " ") for part in parts)
    block_tags = ("address|article|aside|blockquote|br|dd|details|div|dl|dt|figcaption|figure|footer|h1|h2|h3|h4|"
                  "h5|h6|header|hr|li|ol|p|pre|section|summary|table|td|th|tr|ul")
    html = re.sub(rf"</?(?:{block_tags})\b[^>]*>", lambda match: "\n" + match.group(0), html)
    text = html_lib.unescape(nh3.clean(html, tags=set(), clean_content_tags=set()))
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


HTML_PIECES = st.one_of(
    st.builds(lambda tag, attributes: f"<{tag}{attributes}>",
              st.sampled_from(["p", "div", "span", "b", "a", "table", "tr", "td", "th", "caption", "ul", "li", "dl",
                               "dt", "dd", "h1", "h2", "pre", "code", "br", "img", "input", "form", "select",
                               "textarea", "script", "style", "svg", "template", "custom", "button", "plaintext",
                               "details", "summary", "sup", "em", "blockquote", "colgroup", "col", "tbody"]),
              st.sampled_from(["", ' class="headerlink"', ' title="a>b<p>c"', ' href="x.md"', ' type="hidden"',
                               ' alt="<div>"', " title=a>b"])),
    st.builds("</{}>".format,
              st.sampled_from(["p", "div", "a", "table", "tr", "td", "li", "h1", "pre", "b", "custom"])),
    st.sampled_from(["text", " ", "\n", "a & b", "&amp;", "&lt;p&gt;", "&nbsp;", "&#10;", "\r\n", "<", ">",
                     "<!-- c -->", "<![CDATA[x]]>", "&copy", "\u2028", "\x0c"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(HTML_PIECES, max_size=25).map("".join))
def test_plain_text_of_sanitized_html_is_what_an_html_parser_would_give(hostile_html):
    clean = sanitize_html(hostile_html)
    assert html_to_text(clean) == text_through_an_html_parser(clean)


def test_plain_text_is_not_fooled_by_a_closing_bracket_inside_an_attribute():
    # Older nh3 releases leave ">" unescaped in attribute values.
    assert html_to_text('<p title="a>b">text</p><div class="x>y">more</div>') == "text\nmore"
