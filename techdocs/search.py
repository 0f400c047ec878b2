"""Searching doc pages, for the global search box and the /docs/ page.

PostgreSQL: full-text over title, headings and text (the 'simple' configuration; the weighted,
GIN-indexed search_document column of migration 0002), ranked with titles above headings above text.
SQLite (the local default): every word must appear in the title, a heading or the text.
Each hit carries an excerpt of the text around the first match, escaped, with matches in <mark>.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Case, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe

from .models import DocPage, page_url

MAX_QUERY = 200
MAX_WORDS = 8
EXCERPT_CHARS = 240

# A stored tsvector column that migration 0002 adds on PostgreSQL (title > headings > text), GIN-indexed.
_DOCUMENT = '"techdocs_docpage"."search_document"'


@dataclass(frozen=True)
class PageHit:
    page: DocPage
    title: str
    url: str
    site_title: str
    excerpt: SafeString


def query_words(query: str) -> list[str]:
    """The words to look for and highlight (websearch operators and negated words left out)."""
    words = []
    for raw in re.findall(r'-?"[^"]*"|\S+', query[:MAX_QUERY]):
        if raw.startswith("-") or raw.lower() == "or":
            continue
        for word in re.findall(r"\w[\w.\-]*\w|\w", raw.strip('"')):
            if word.lower() not in (w.lower() for w in words):
                words.append(word)
    return words[:MAX_WORDS]


def search_pages(query: str, *, limit: int = 20, pages: QuerySet[DocPage] | None = None) -> list[PageHit]:
    query = " ".join(query.split())[:MAX_QUERY]
    words = query_words(query)
    if not words:
        return []
    base = (pages if pages is not None else DocPage.objects.all()).select_related("site__entity")
    if connection.vendor == "postgresql":
        found = _search_postgresql(base, query, words)
    else:
        found = _search_plain(base, words)
    found = found.defer("html", "toc")[:limit]
    return [_hit(page, words) for page in found]


def _search_plain(pages: QuerySet[DocPage], words: list[str]) -> QuerySet[DocPage]:
    for word in words:
        pages = pages.filter(Q(title__icontains=word) | Q(heading_text__icontains=word) | Q(text__icontains=word))
    first = words[0]
    return pages.annotate(
        rank=Case(
            When(title__icontains=first, then=Value(3)),
            When(heading_text__icontains=first, then=Value(2)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("-rank", "site__entity_ref", "order")


def _search_postgresql(pages: QuerySet[DocPage], query: str, words: list[str]) -> QuerySet[DocPage]:
    ts_query = "websearch_to_tsquery('simple'::regconfig, %s)"
    # Constant SQL; the query text is a parameter.
    matches = RawSQL(f"{_DOCUMENT} @@ {ts_query}", [query], output_field=BooleanField())  # noqa: S611
    rank = RawSQL(f"ts_rank({_DOCUMENT}, {ts_query})", [query], output_field=FloatField())  # noqa: S611
    return pages.filter(matches).annotate(rank=rank).order_by("-rank", "site__entity_ref", "order")


def _hit(page: DocPage, words: list[str]) -> PageHit:
    site = page.site
    entity = site.entity
    heading = _matching_heading(page, words)
    url = page_url(entity, page.path) + (f"#{heading['id']}" if heading and heading.get("id") else "")
    return PageHit(
        page=page,
        title=page.title,
        url=url,
        site_title=site.site_name or entity.title or entity.name,
        excerpt=excerpt(_body(page), words),
    )


def _body(page: DocPage) -> str:
    """The page's text without its title (the first line when that is the title)."""
    first, _newline, rest = (page.text or "").partition("\n")
    return rest if first.strip() == page.title.strip() and rest else (page.text or page.title)


def _matching_heading(page: DocPage, words: list[str]) -> dict | None:
    lowered = [word.lower() for word in words]
    for heading in page.headings or []:
        title = str(heading.get("title", "")).lower()
        if heading.get("level", 1) > 1 and any(word in title for word in lowered):
            return heading
    return None


def excerpt(text: str, words: list[str], size: int = EXCERPT_CHARS) -> SafeString:
    """About ``size`` characters of ``text`` around the first match, HTML-escaped, matches in <mark>."""
    text = " ".join(text.split())
    if not words:
        return mark_safe(html.escape(text[:size]))  # noqa: S308 - escaped
    pattern = re.compile("|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    match = pattern.search(text)
    start = 0
    if match and match.start() > size // 3:
        start = text.rfind(" ", 0, match.start() - size // 3) + 1
    window = text[start:start + size]
    if start + size < len(text):
        cut = window.rfind(" ")
        window = (window[:cut] if cut > size // 2 else window) + " …"
    if start > 0:
        window = "… " + window
    pieces = []
    position = 0
    for found in pattern.finditer(window):
        pieces.append(html.escape(window[position:found.start()]))
        pieces.append(f"<mark>{html.escape(found.group())}</mark>")
        position = found.end()
    pieces.append(html.escape(window[position:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece is escaped
