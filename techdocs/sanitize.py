"""Sanitising rendered docs HTML with an allow-list (nh3).

Public API (no Django):

- ``sanitize_html(html, *, rewrite_url=None) -> str``
- ``UrlRewriter``: ``(tag, attribute, value) -> str | None``, called for relative ``href``/``src``
  values only; return the new value, or None to drop the attribute.
- ``ALLOWED_TAGS``, ``ALLOWED_ATTRIBUTES``, ``URL_SCHEMES``: the policy, for reading and tests.

The allow-list covers what Markdown and our extensions produce: headings with ids, tables
(``align``, ``colspan``, ``rowspan``), Pygments spans (classes), admonitions and details, footnotes
(ids on ``sup`` and ``li``), definition lists, abbreviations, task-list checkboxes and images. Every
``<input>`` is forced to a disabled checkbox, whatever it claimed to be. Scripts, styles, frames,
objects, forms, SVG and MathML are removed together with their content; event handler and ``style``
attributes are dropped; URLs may be relative or use http, https or mailto (no ``javascript:`` and no
``data:``, not even for images).

Ids are kept unprefixed so table-of-contents anchors work; pages should be shown inside their own
container so a heading id cannot stand in for an id of the surrounding portal page.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "URL_SCHEMES", "UrlRewriter", "sanitize_html"]

UrlRewriter = Callable[[str, str, str], str | None]

URL_SCHEMES = frozenset({"http", "https", "mailto"})

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

ALLOWED_TAGS = frozenset({
    *_HEADINGS,
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "hr", "i", "img", "input", "ins",
    "kbd", "label", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var",
    "wbr",
})

ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "*": frozenset({"class", "title", "lang", "dir"}),
    **{heading: frozenset({"id"}) for heading in _HEADINGS},
    "a": frozenset({"href"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan", "align"}),
    "th": frozenset({"colspan", "rowspan", "align", "scope"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "li": frozenset({"id", "value"}),
    "sup": frozenset({"id"}),
    "dt": frozenset({"id"}),
    "details": frozenset({"open"}),
    "input": frozenset({"checked"}),
    "time": frozenset({"datetime"}),
}

# Removed with everything inside them (the text of a script is never worth keeping).
_REMOVED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript", "template",
    "svg", "math", "form", "textarea", "select", "button", "title", "xmp", "noembed", "noframes",
})

_FORCED_ATTRIBUTES = {
    "input": {"type": "checkbox", "disabled": ""},
    "img": {"loading": "lazy"},
}

_FORCED_INPUT_HASH_ORDER = ' disabled="" type="checkbox">'
_FORCED_INPUT_FIXED_ORDER = ' type="checkbox" disabled="">'

_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")
_URL_ATTRIBUTES = frozenset({"href", "src"})


def sanitize_html(html: str, *, rewrite_url: UrlRewriter | None = None) -> str:
    """Return ``html`` reduced to the allow-list; optionally rewrite relative link targets.

    The sanitiser checks URL schemes before ``rewrite_url`` sees a value, so a rewritten value is
    checked again here: it must still be relative or use an allowed scheme, or it is dropped.
    """

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if rewrite_url is None or attribute not in _URL_ATTRIBUTES or not _is_relative(value):
            return value
        try:
            rewritten = rewrite_url(tag, attribute, value)
        except Exception:  # a failing rewrite drops the link, never the page
            return None
        if rewritten is None or not is_safe_url(rewritten):
            return None
        return rewritten

    clean = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_REMOVED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        url_schemes=set(URL_SCHEMES),
        set_tag_attribute_values=_FORCED_ATTRIBUTES,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
    # nh3 adds forced attributes in hash order, which varies from call to call; one order for all.
    # The sequence can only be markup: serialized text escapes ">" and attribute values escape '"'.
    return clean.replace(_FORCED_INPUT_HASH_ORDER, _FORCED_INPUT_FIXED_ORDER)


def is_safe_url(value: str) -> bool:
    """True for relative URLs and for URLs with an allowed scheme."""
    # Browsers ignore tabs and newlines inside a scheme ("java\tscript:"), so look past them.
    compact = re.sub(r"[\x00-\x20]", "", value)
    match = _SCHEME.match(compact)
    return match is None or match.group(1).lower() in URL_SCHEMES


def _is_relative(value: str) -> bool:
    compact = re.sub(r"[\x00-\x20]", "", value)
    return _SCHEME.match(compact) is None and not compact.startswith(("//", "\\\\", "/\\", "\\/"))
