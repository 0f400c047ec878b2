"""Doc pages in the global search, with excerpts that are escaped and highlighted."""

import pytest
from django.urls import reverse

from techdocs.models import DocPage
from techdocs.search import excerpt, query_words, search_pages

pytestmark = pytest.mark.django_db


def test_the_global_search_finds_doc_pages_with_a_highlighted_excerpt(alice_client, built):
    response = alice_client.get(reverse("search"), {"q": "settlement token"})
    body = response.content.decode()
    assert "Install" in body
    assert "Docs · Payments handbook" in body
    assert "<mark>settlement</mark> <mark>token</mark>" in body
    assert "/docs/default/component/payments/guide/install/" in body


def test_a_heading_match_links_to_the_heading(built):
    hits = search_pages("requirements")
    assert hits and hits[0].url == "/docs/default/component/payments/guide/install/#requirements"


def test_titles_rank_above_body_text(built):
    hits = search_pages("reference")
    assert hits[0].title == "Reference"


def test_every_word_must_match(built):
    assert search_pages("settlement refunds") == []
    assert [hit.title for hit in search_pages("refunds final")] == ["Reference"]


def test_excerpts_escape_the_text_before_marking_matches(built):
    DocPage.objects.filter(path="reference").update(text="Use <script>alert(1)</script> to zebra & go")
    hits = search_pages("zebra")
    assert hits
    html = str(hits[0].excerpt)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<mark>zebra</mark>" in html
    assert "&amp; go" in html


def test_excerpts_are_cut_around_the_first_match():
    text = "lorem " * 200 + "needle in the haystack " + "ipsum " * 200
    html = str(excerpt(text, ["needle"]))
    assert html.startswith("… ") and html.endswith(" …")
    assert "<mark>needle</mark>" in html
    assert len(html) < 320


def test_query_words_leave_out_operators():
    assert query_words('"settlement token" -refund or ledger') == ["settlement", "token", "ledger"]
    assert query_words("   ") == []


def test_a_search_with_only_symbols_finds_nothing(built):
    assert search_pages("%% ** --") == []

