"""Rendering one Markdown page to sanitized HTML, its table of contents and its search text.

Public API (no Django):

- ``MarkdownRenderer().render(text, *, links=None) -> RenderedMarkdown``: one renderer per build
  (it reuses a single python-markdown instance, reset between pages; not thread-safe).
- ``render_markdown(text, *, links=None) -> RenderedMarkdown``: one-off convenience.
- ``SiteLinks(pages, files, *, page_url=None, asset_url=None).for_page(source_path) -> PageLinks``:
  rewrites a page's relative links. ``pages`` maps each Markdown source path (relative to the docs
  folder, e.g. ``"guide/install.md"``) to its page path (``"guide/install"``; ``index.md`` becomes its
  folder's path, ``""`` at the top). ``files`` are the other files of the docs folder. A link to a page
  becomes ``page_url(page_path)`` plus its ``#anchor``; a link or image to a file becomes
  ``asset_url(file_path)`` and the file is recorded in ``PageLinks.assets``. Links that leave the docs
  folder or point at nothing are left as written and reported in ``PageLinks.warnings``. External
  links are untouched. ``page_url`` and ``asset_url`` receive plain paths and must quote them for a URL.
  Without them, URLs are relative to the page (quoted here), which is assumed to be served as a folder
  (``<site>/<page path>/``), assets at ``<site>/<file path>``.
- ``UrlPrefix(base, folders=False)``: a picklable ``page_url``/``asset_url``: ``base`` + the quoted path,
  plus ``/`` after a non-empty path with ``folders=True`` (pages served as folders). Builds render in
  worker processes only when their URL functions can be pickled, which lambdas cannot.
- ``html_to_text(html) -> str``: plain text of rendered HTML, for search.
- ``pygments_css(style, selector)`` and ``pygments_theme_css(light_style, dark_style, dark_selector)``:
  the stylesheet for highlighted code (``.highlight`` blocks).
- ``SUPPORTED_EXTENSIONS``: ``markdown_extensions`` names from ``mkdocs.yml`` that we always provide.

Supported Markdown: tables, fenced code with Pygments classes (``<div class="highlight">``),
admonitions and collapsible ``???`` details, a table of contents with permalinks, task lists,
footnotes, definition lists, attribute lists, abbreviations, automatic links, and ```` ```mermaid ````
fences kept as ``<pre class="mermaid">`` for the diagram script. Raw HTML is allowed by Markdown and
then sanitized (see ``techdocs.sanitize``).

The table of contents is data: a list of ``{"id", "title", "level", "children"}`` dicts whose titles
are plain text (escape them when displaying).
"""

from __future__ import annotations

import functools
import html as html_lib
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import markdown
from markdown.extensions.toc import slugify_unicode
from pygments.formatters import HtmlFormatter
from pygments.style import Style, StyleMeta
from pygments.util import ClassNotFound
from pymdownx.highlight import Highlight, HighlightExtension

from techdocs.sanitize import sanitize_html

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "MarkdownRenderer",
    "PageLinks",
    "RenderedMarkdown",
    "SiteLinks",
    "UrlPrefix",
    "html_to_text",
    "pygments_css",
    "pygments_theme_css",
    "render_markdown",
]

UrlFor = Callable[[str], str]

SUPPORTED_EXTENSIONS = frozenset({
    "abbr", "admonition", "attr_list", "def_list", "fenced_code", "footnotes", "tables", "toc",
    "codehilite", "extra", "md_in_html", "pymdownx.details", "pymdownx.highlight", "pymdownx.magiclink",
    "pymdownx.superfences", "pymdownx.tasklist", "pymdownx.inlinehilite", "markdown_inline_graphviz",
})


@dataclass(frozen=True)
class RenderedMarkdown:
    html: str
    toc: list[dict[str, Any]]
    headings: list[dict[str, Any]]
    # Text of the first level-1 heading, None when the page has none.
    title: str | None
    text: str


def _mermaid_fence(source: str, language: str, class_name: str, options: dict, md: Any, **kwargs: Any) -> str:
    # The diagram script reads the element's text, so the source goes in escaped and unwrapped.
    return f'<pre class="mermaid">{html_lib.escape(source)}</pre>'


class _NoStylesheetMeta(StyleMeta):
    def __iter__(cls):  # noqa: N805 (a metaclass method: cls is the style class)
        return iter(())


class _ClassesOnlyStyle(Style, metaclass=_NoStylesheetMeta):
    """A Pygments style with no token rules, for formatters that only write class names.

    Pygments' HTML formatter builds a stylesheet from its style in its constructor, and pymdownx makes
    one formatter per code block. With class names in the output (``noclasses`` off, as here) that
    stylesheet is never read: the colours come from ``pygments_css``. An empty one costs nothing.
    """

    styles = {}


class _ReusedLexersHighlight(Highlight):
    """pymdownx's highlighter, taking lexers from a cache shared by the code blocks of one renderer.

    Without language guessing the lexer depends on the language name only, and Pygments lexers hold
    no state between calls, so one instance per name serves every block (looking a name up costs as
    much as highlighting a short block, and a name Pygments lacks costs far more).
    """

    def __init__(self, md: markdown.Markdown, *, lexers: dict[tuple[str, bool], Any], **options: Any) -> None:
        super().__init__(md, **options)
        self._lexers = lexers

    def get_lexer(self, src: str, language: str, inline: bool, stripnl: bool) -> Any:
        if self.guess_lang:
            return super().get_lexer(src, language, inline, stripnl)
        key = (language, stripnl)
        found = self._lexers.get(key)
        if found is None:
            found = self._lexers[key] = super().get_lexer(src, language, inline, stripnl)
        return found


class _HighlightExtension(HighlightExtension):
    """``pymdownx.highlight`` whose fenced-code highlighter reuses lexers (see ``_ReusedLexersHighlight``).

    SuperFences asks the highlight extension for its highlighter class through
    ``get_pymdownx_highlighter``; the cache belongs to this extension, so to one Markdown instance.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lexers: dict[tuple[str, bool], Any] = {}

    def get_pymdownx_highlighter(self) -> Callable[..., Highlight]:
        return functools.partial(_ReusedLexersHighlight, lexers=self._lexers)


def _markdown_instance() -> markdown.Markdown:
    md = markdown.Markdown(
        extensions=[
            "abbr", "admonition", "attr_list", "def_list", "footnotes", "tables", "toc", "md_in_html",
            "pymdownx.details",
            _HighlightExtension(use_pygments=True, css_class="highlight", guess_lang=False,
                                pygments_style=_ClassesOnlyStyle),
            "pymdownx.superfences", "pymdownx.tasklist", "pymdownx.magiclink",
        ],
        extension_configs={
            "toc": {"permalink": True, "permalink_class": "headerlink", "slugify": slugify_unicode},
            "tables": {"use_align_attribute": True},
            "pymdownx.superfences": {
                "custom_fences": [{"name": "mermaid", "class": "mermaid", "format": _mermaid_fence}],
            },
            "pymdownx.tasklist": {"custom_checkbox": False},
        },
        output_format="html",
    )
    # The inline processor looks its patterns up by index, once per pattern for every piece of text; a
    # Registry checks its sort order on each lookup, a list does not. The extensions have registered all
    # their patterns by now (python-markdown's own smarty extension swaps this list the same way).
    inline = md.treeprocessors["inline"]
    inline.inlinePatterns = list(md.inlinePatterns)
    return md


class MarkdownRenderer:
    """Renders pages one after another with one Markdown instance (not safe across threads)."""

    def __init__(self) -> None:
        self._md = _markdown_instance()

    def render(self, text: str, *, links: Callable[[str, str, str], str | None] | None = None) -> RenderedMarkdown:
        self._md.reset()
        raw_html = self._md.convert(text)
        toc = _toc_tree(getattr(self._md, "toc_tokens", []))
        self._md.reset()
        clean_html = sanitize_html(raw_html, rewrite_url=links)
        headings = list(_flatten_toc(toc))
        title = next((heading["title"] for heading in headings if heading["level"] == 1), None)
        return RenderedMarkdown(html=clean_html, toc=toc, headings=headings, title=title,
                                text=html_to_text(clean_html))


def render_markdown(text: str, *, links: Callable[[str, str, str], str | None] | None = None) -> RenderedMarkdown:
    return MarkdownRenderer().render(text, links=links)


def _toc_tree(tokens: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    tree = []
    for token in tokens:
        label = token.get("data-toc-label")
        if label:
            title = html_lib.unescape(label)
        else:
            title = _heading_text(token.get("html") or token.get("name") or "")
        tree.append({
            "id": token.get("id", ""),
            "title": title.strip(),
            "level": int(token.get("level", 1)),
            "children": _toc_tree(token.get("children", [])),
        })
    return tree


# Heading HTML that is plain text: no tags, no character references but the three the Markdown
# serializer writes, no characters the HTML parser changes or drops (controls, CR, surrogates,
# noncharacters). Most headings are like this.
_PLAIN_HEADING = re.compile(
    "(?:[^<&\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufeff\ufffe\uffff]|&(?:amp|lt|gt);)*"
)


def _heading_text(heading_html: str) -> str:
    """Plain text of a heading's inner HTML, as one line.

    Taken from the heading's sanitized HTML, so text that the page drops (a script) is dropped here
    too. Plain-text headings skip the sanitizer, which would only decode their three entities and
    write them back.
    """
    if _PLAIN_HEADING.fullmatch(heading_html):
        return " ".join(html_lib.unescape(heading_html).split())
    return html_to_text(sanitize_html(heading_html)).replace("\n", " ")


def _flatten_toc(toc: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for entry in toc:
        yield {"id": entry["id"], "title": entry["title"], "level": entry["level"]}
        yield from _flatten_toc(entry["children"])


# --- links ----------------------------------------------------------------------------------------


class SiteLinks:
    """The pages and files of one docs site, for rewriting the relative links of its pages."""

    def __init__(
        self,
        pages: Mapping[str, str],
        files: Iterable[str],
        *,
        page_url: UrlFor | None = None,
        asset_url: UrlFor | None = None,
    ) -> None:
        self._page_by_source = dict(pages)
        self._page_paths = set(self._page_by_source.values())
        self._files = set(files)
        self._page_url = page_url
        self._asset_url = asset_url

    def for_page(self, source_path: str) -> PageLinks:
        return PageLinks(site=self, source_path=source_path,
                         page_path=self._page_by_source.get(source_path, page_path_for(source_path)))


@dataclass
class PageLinks:
    """Rewrites the links of one page; callable as a ``techdocs.sanitize.UrlRewriter``."""

    site: SiteLinks
    source_path: str
    page_path: str
    assets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __call__(self, tag: str, attribute: str, value: str) -> str | None:
        parts = urlsplit(value)
        if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
            return value
        fragment = value.partition("#")[2]
        suffix = f"#{fragment}" if fragment else ""
        target = posixpath.normpath(posixpath.join(posixpath.dirname(self.source_path), unquote(parts.path)))
        if target == ".." or target.startswith("../"):
            self._warn(f"link {value!r} points outside the docs folder")
            return value
        if target == ".":
            target = ""
        site = self.site
        if target in site._page_by_source:
            return self._page(site._page_by_source[target]) + suffix
        if target in site._files:
            if target not in self.assets:
                self.assets.append(target)
            if site._asset_url is not None:
                return site._asset_url(target) + suffix
            return _relative_url(target, self.page_path, folder=False) + suffix
        if target in site._page_paths:
            return self._page(target) + suffix
        self._warn(f"link {value!r} points at {target or '.'!r}, which is not in the docs folder")
        return value

    def _page(self, page_path: str) -> str:
        if self.site._page_url is not None:
            return self.site._page_url(page_path)
        return _relative_url(page_path, self.page_path, folder=True)

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


@dataclass(frozen=True)
class UrlPrefix:
    """A ``page_url`` or ``asset_url`` that puts ``base`` before the quoted path; picklable.

    With ``folders=True`` (pages served as folders) a non-empty path gets a trailing ``/`` and the
    empty path (the index page) is ``base`` itself.
    """

    base: str
    folders: bool = False

    def __call__(self, path: str) -> str:
        url = self.base + quote(path, safe="/")
        return url + "/" if path and self.folders else url


def page_path_for(source_path: str) -> str:
    """``guide/install.md`` -> ``guide/install``; ``guide/index.md`` -> ``guide``; ``index.md`` -> ``""``."""
    stem, _dot, _suffix = source_path.rpartition(".")
    stem = stem or source_path
    folder, _slash, name = stem.rpartition("/")
    return folder if name == "index" else stem


def _relative_url(target: str, current_page: str, *, folder: bool) -> str:
    relative = posixpath.relpath(target or ".", current_page or ".")
    if folder:
        relative = "./" if relative == "." else relative + "/"
    # quote() encodes ':' so a path segment can never be read as a URL scheme.
    return quote(relative, safe="/.-_~")


# --- plain text -----------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre",
    "section", "summary", "table", "td", "th", "tr", "ul",
})
_SKIPPED_LINK_CLASSES = frozenset({"headerlink", "footnote-backref"})


_SKIPPED_LINK = re.compile(
    r"<a\b[^>]*\bclass=\"[^\"]*\b(?:" + "|".join(sorted(_SKIPPED_LINK_CLASSES)) + r")\b[^\"]*\"[^>]*>.*?</a>",
    re.DOTALL,
)
_PRE_BLOCK = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL)
# Tags as the sanitizer writes them: every "<" outside a tag is escaped, attribute values are always
# in double quotes and have their own quotes escaped (and, in older nh3 releases, may hold a ">").
_TAG_BODY = r'(?:[^">]|"[^"]*")*>'
_BLOCK_TAG = re.compile(r"</?(?:" + "|".join(sorted(_BLOCK_TAGS)) + r")\b" + _TAG_BODY)
_ANY_TAG = re.compile("<" + _TAG_BODY)


def html_to_text(html: str) -> str:
    """Plain text of sanitized HTML (``sanitize_html`` output): one line per block, spaces collapsed,
    permalinks left out.

    The sanitizer's output is well-formed and regular, so regular expressions do what an HTML parser
    would here, several times faster: block tags become line breaks, other tags go, entities are
    decoded. (The sanitizer has already resolved whatever an HTML parser would rearrange.)
    """
    html = _SKIPPED_LINK.sub("", html)
    # Line breaks only mean something inside code; elsewhere they are wrapped prose.
    parts = _PRE_BLOCK.split(html)
    html = "".join(part if part.startswith("<pre") else part.replace("\n", " ") for part in parts)
    text = html_lib.unescape(_ANY_TAG.sub("", _BLOCK_TAG.sub("\n", html)))
    # split() and join() fold whitespace as re's \s+ does (both use str.isspace), in a fraction of the time.
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# --- stylesheet -----------------------------------------------------------------------------------


def pygments_css(style: str = "default", selector: str = ".highlight") -> str:
    """CSS for highlighted code under ``selector`` only (Pygments' global ``pre`` rules left out)."""
    try:
        formatter = HtmlFormatter(style=style)
    except ClassNotFound:
        raise ValueError(f"unknown Pygments style {style!r}")
    rules = [line for line in formatter.get_style_defs(selector).splitlines() if line.startswith(selector)]
    return "\n".join([f"{selector} pre {{ line-height: 125%; }}", *rules]) + "\n"


def pygments_theme_css(
    light_style: str = "default",
    dark_style: str = "github-dark",
    dark_selector: str = '[data-theme="dark"]',
) -> str:
    """Light rules under ``.highlight`` and dark rules under ``<dark_selector> .highlight``."""
    return pygments_css(light_style, ".highlight") + pygments_css(dark_style, f"{dark_selector} .highlight")
