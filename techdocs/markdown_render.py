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

import html as html_lib
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode
from pygments.formatters import HtmlFormatter
from pygments.util import ClassNotFound

from techdocs.sanitize import sanitize_html

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "MarkdownRenderer",
    "PageLinks",
    "RenderedMarkdown",
    "SiteLinks",
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


def _markdown_instance() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "abbr", "admonition", "attr_list", "def_list", "footnotes", "tables", "toc", "md_in_html",
            "pymdownx.details", "pymdownx.highlight", "pymdownx.superfences", "pymdownx.tasklist",
            "pymdownx.magiclink",
        ],
        extension_configs={
            "toc": {"permalink": True, "permalink_class": "headerlink", "slugify": slugify_unicode},
            "tables": {"use_align_attribute": True},
            "pymdownx.highlight": {"use_pygments": True, "css_class": "highlight", "guess_lang": False},
            "pymdownx.superfences": {
                "custom_fences": [{"name": "mermaid", "class": "mermaid", "format": _mermaid_fence}],
            },
            "pymdownx.tasklist": {"custom_checkbox": False},
        },
        output_format="html",
    )


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
            # From the heading's sanitized HTML, so text that the page drops (a script) is dropped here too.
            title = html_to_text(sanitize_html(token.get("html") or token.get("name") or "")).replace("\n", " ")
        tree.append({
            "id": token.get("id", ""),
            "title": title.strip(),
            "level": int(token.get("level", 1)),
            "children": _toc_tree(token.get("children", [])),
        })
    return tree


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
_BLOCK_BOUNDARY = re.compile(r"</?(?:" + "|".join(sorted(_BLOCK_TAGS)) + r")\b[^>]*>")


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: one line per block, spaces collapsed, permalinks left out.

    Works on the sanitizer's own well-formed output, so a few regular expressions and nh3 (to
    drop the remaining tags) do what an HTML parser would, several times faster.
    """
    html = _SKIPPED_LINK.sub("", html)
    # Line breaks only mean something inside code; elsewhere they are wrapped prose.
    parts = _PRE_BLOCK.split(html)
    html = "".join(part if part.startswith("<pre") else part.replace("\n", " ") for part in parts)
    html = _BLOCK_BOUNDARY.sub(lambda match: "\n" + match.group(0), html)
    text = html_lib.unescape(nh3.clean(html, tags=set(), clean_content_tags=set()))
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.split("\n"))
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
