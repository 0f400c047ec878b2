"""Small helpers the scorecard and DORA pages share: safe Markdown and number formatting."""

from __future__ import annotations

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "h3", "h4", "h5", "h6", "hr",
    "table", "thead", "tbody", "tr", "th", "td",
}
MAX_MARKDOWN = 20_000


def markdown_html(text: str) -> str:
    """Markdown to HTML that is safe to show: no raw HTML, scripts, styles or javascript: links."""
    if not text or not text.strip():
        return ""
    html = markdown.markdown(text[:MAX_MARKDOWN], extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def hours_text(hours: float | None) -> str:
    """A duration for people: 45 min, 5.2 h, 3.1 days, 2.3 weeks."""
    if hours is None:
        return "no data"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    if hours < 24 * 21:
        return f"{hours / 24:.1f} days"
    return f"{hours / 168:.1f} weeks"


def percent_text(ratio: float | None) -> str:
    return "no data" if ratio is None else f"{ratio * 100:.0f}%"


LEVEL_BADGES = {"elite": "ok", "high": "ok", "medium": "warn", "low": "bad"}


def level_badge(level: str | None) -> str:
    return LEVEL_BADGES.get(level or "", "")
