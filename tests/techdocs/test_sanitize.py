import pytest

from techdocs.markdown_render import render_markdown
from techdocs.sanitize import is_safe_url, sanitize_html


def test_it_removes_scripts_with_their_content():
    cleaned = sanitize_html("<p>before</p><script>alert('x')</script><p>after</p>")
    assert "<script" not in cleaned
    assert "alert" not in cleaned
    assert "before" in cleaned and "after" in cleaned


@pytest.mark.parametrize(
    "hostile",
    [
        '<iframe src="https://evil.example"></iframe>',
        "<style>body { display: none }</style>",
        '<object data="evil.swf"></object>',
        '<embed src="evil.swf">',
        '<form action="https://evil.example"><input type="password" name="pw"><button>Go</button></form>',
        '<svg><script>alert(1)</script><circle r="5"/></svg>',
        '<svg onload="alert(1)"><a xlink:href="javascript:alert(1)">x</a></svg>',
        '<math><mtext><script>alert(1)</script></mtext></math>',
    ],
)
def test_it_removes_embedded_active_content(hostile):
    cleaned = sanitize_html(f"<p>safe</p>{hostile}")
    for marker in ("<iframe", "<style", "<object", "<embed", "<form", "<svg", "<math", "<script", "alert",
                   "evil", "password", "<button"):
        assert marker not in cleaned
    assert "<p>safe</p>" in cleaned


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src="x.png" onerror="alert(1)">',
        '<a href="page.html" onclick="alert(1)">x</a>',
        '<p onmouseover="alert(1)" style="position:fixed">x</p>',
        '<div ONCLICK="alert(1)">x</div>',
    ],
)
def test_it_drops_event_handlers_and_inline_styles(hostile):
    cleaned = sanitize_html(hostile)
    assert "alert" not in cleaned
    assert "style=" not in cleaned


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", " javascript:alert(1)",
     "data:text/html;base64,PHNjcmlwdD4=", "data:image/png;base64,iVBORw0KGgo=", "vbscript:msgbox(1)"],
)
def test_it_drops_script_and_data_urls_in_raw_html(url):
    cleaned = sanitize_html(f'<a href="{url}">link</a><img src="{url}" alt="pic">')
    assert "script" not in cleaned.lower()
    assert "data:" not in cleaned
    assert "link" in cleaned


def test_it_drops_script_urls_written_in_markdown_link_syntax():
    page = render_markdown(
        "[click](javascript:alert(1)) and ![pic](javascript:alert(2))\n\n"
        "<javascript:alert(3)>\n\n[x](  JAVASCRIPT:alert(4) )\n\n[ref][r]\n\n[r]: javascript:alert(5)\n"
    )
    assert "javascript" not in page.html.lower()
    assert "href=" not in page.html and "src=" not in page.html
    assert "click" in page.html and 'alt="pic"' in page.html


def test_markdown_script_links_keep_no_href():
    page = render_markdown("[click](javascript:alert(1))\n")
    assert "href" not in page.html
    assert "click" in page.html


def test_it_keeps_the_safe_url_schemes_and_relative_urls():
    cleaned = sanitize_html(
        '<a href="https://example.com/a">a</a><a href="http://example.com/b">b</a>'
        '<a href="mailto:team@example.com">c</a><a href="../guide/">d</a><a href="#anchor">e</a>'
    )
    for url in ("https://example.com/a", "http://example.com/b", "mailto:team@example.com", "../guide/", "#anchor"):
        assert f'href="{url}"' in cleaned


def test_it_turns_every_input_into_a_disabled_checkbox():
    cleaned = sanitize_html('<input type="text" name="q" value="secret" checked>')
    assert 'type="checkbox"' in cleaned
    assert "disabled" in cleaned
    assert "checked" in cleaned
    assert "secret" not in cleaned and "name=" not in cleaned


def test_it_keeps_what_markdown_output_needs():
    cleaned = sanitize_html(
        '<h2 id="intro">Intro<a class="headerlink" href="#intro" title="Permanent link">&para;</a></h2>'
        '<table><tr><th align="right" colspan="2">h</th></tr><tr><td rowspan="2">c</td></tr></table>'
        '<div class="highlight"><pre><code><span class="k">def</span></code></pre></div>'
        '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>'
        '<abbr title="HyperText">HTML</abbr><details class="note" open><summary>More</summary></details>'
        '<img src="img/a.png" alt="diagram">'
    )
    for fragment in ('id="intro"', 'class="headerlink"', 'align="right"', 'colspan="2"', 'rowspan="2"',
                     '<span class="k">', 'id="fnref:1"', 'title="HyperText"', "<details", "<summary>",
                     'src="img/a.png"', 'alt="diagram"'):
        assert fragment in cleaned


def test_a_rewritten_url_is_checked_again():
    cleaned = sanitize_html('<a href="page.md">x</a>', rewrite_url=lambda tag, attr, value: "javascript:alert(1)")
    assert "javascript" not in cleaned


def test_a_failing_rewrite_drops_the_link_only():
    def explode(tag, attr, value):
        raise RuntimeError("boom")

    cleaned = sanitize_html('<p><a href="page.md">text</a></p>', rewrite_url=explode)
    assert "href" not in cleaned
    assert "text" in cleaned


def test_rewrite_is_not_asked_about_absolute_urls():
    seen = []
    sanitize_html('<a href="https://example.com/x.md">x</a><a href="//cdn.example/y.md">y</a><a href="z.md">z</a>',
                  rewrite_url=lambda tag, attr, value: seen.append(value) or value)
    assert seen == ["z.md"]


def test_is_safe_url_sees_through_whitespace_in_a_scheme():
    assert not is_safe_url("java\nscript:alert(1)")
    assert is_safe_url("guide/page/")
    assert is_safe_url("https://example.com")
