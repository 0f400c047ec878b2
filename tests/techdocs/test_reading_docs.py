"""The docs reader: nav, page, table of contents, previous/next, edit link, status; hostile paths and HTML."""

import re

import pytest
from django.urls import reverse

from techdocs.models import DocPage

pytestmark = pytest.mark.django_db

SITE_URL = "/docs/default/component/payments/"


def test_the_index_page_shows_nav_content_toc_and_status(alice_client, built):
    response = alice_client.get(SITE_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Payments handbook" in body
    assert "Welcome to the payments service." in body
    nav = body[body.index('data-testid="docs-nav"'):body.index('data-testid="docs-content"')]
    assert f'href="{SITE_URL}" aria-current="page"' in nav
    assert f'href="{SITE_URL}guide/install/"' in nav and f'href="{SITE_URL}reference/"' in nav
    assert "<summary>Guide</summary>" in nav
    assert 'data-testid="docs-build-status">Built<' in body
    assert "Last built" in body


def test_a_nested_page_highlights_itself_and_opens_its_section(alice_client, built):
    response = alice_client.get(f"{SITE_URL}guide/install/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="{SITE_URL}guide/install/" aria-current="page"' in body
    assert "<details open>" in body
    # the table of contents lists the headings below the page title
    toc = body[body.index('data-testid="docs-toc"'):]
    assert 'href="#requirements"' in toc and 'href="#steps"' in toc
    assert 'id="requirements"' in body
    # previous and next follow the nav order
    assert re.search(rf'rel="prev" href="{SITE_URL}"', body)
    assert re.search(rf'rel="next" href="{SITE_URL}guide/configure/"', body)
    # the builder's edit URL wins over the entity's edit-url annotation
    assert 'href="https://git.example.com/acme/payments/edit/main/docs/guide/install.md"' in body


def test_following_a_nav_link_reaches_the_page(alice_client, built):
    body = alice_client.get(SITE_URL).content.decode()
    href = re.search(r'href="([^"]+)">Reference<', body).group(1)
    page = alice_client.get(href)
    assert page.status_code == 200
    assert "Refunds are final." in page.content.decode()


def test_the_entity_edit_url_is_used_when_the_page_has_none(alice_client, built):
    DocPage.objects.filter(site=built).update(edit_url="")
    body = alice_client.get(f"{SITE_URL}reference/").content.decode()
    assert 'href="https://git.example.com/acme/payments/edit/main/catalog-info.yaml"' in body


def test_an_unsafe_edit_url_is_never_linked(alice_client, built, payments):
    DocPage.objects.filter(site=built).update(edit_url="javascript:alert(1)")
    data = payments.data
    data["metadata"]["annotations"]["backstage.io/edit-url"] = "javascript:alert(2)"
    type(payments).objects.filter(pk=payments.pk).update(data=data)
    body = alice_client.get(f"{SITE_URL}reference/").content.decode()
    assert "javascript:" not in body
    assert "Edit this page" not in body


def test_code_tables_admonitions_and_mermaid_render_with_their_classes(alice_client, built):
    body = alice_client.get(f"{SITE_URL}reference/").content.decode()
    assert '<div class="highlight">' in body and '<span class="k">def</span>' in body
    assert "<table>" in body and "<td>cents</td>" in body
    assert '<div class="admonition warning">' in body and "Careful" in body
    assert '<pre class="mermaid">graph TD; A--&gt;B;' in body


def test_script_in_markdown_never_reaches_the_page(alice_client, built):
    body = alice_client.get(SITE_URL).content.decode()
    content = body[body.index('data-testid="docs-content"'):body.index("techdocs-pager")]
    assert "<script" not in content
    assert 'alert("owned")' not in body
    assert "onerror" not in content
    assert "javascript:" not in content
    assert 'src="/docs/default/component/payments/img/diagram.png"' in content


@pytest.mark.parametrize("path", [
    "../../catalog/",
    "guide/../../../etc/passwd",
    "guide/../reference/",
    "%2e%2e/%2e%2e/etc/passwd",
    "./reference/",
    "guide//install/",
    "img/..%2f..%2fdiagram.png",
])
def test_a_path_with_dot_segments_is_not_found(alice_client, built, path):
    response = alice_client.get(f"{SITE_URL}{path}")
    assert response.status_code == 404


def test_an_unknown_page_is_not_found_and_a_page_without_slash_redirects(alice_client, built):
    assert alice_client.get(f"{SITE_URL}nothing/").status_code == 404
    response = alice_client.get(f"{SITE_URL}guide/install")
    assert response.status_code == 302 and response["Location"] == f"{SITE_URL}guide/install/"
    assert alice_client.get("/docs/default/component/nobody/").status_code == 404


def test_an_entity_without_docs_says_so(alice_client, payments):
    response = alice_client.get("/docs/default/component/ledger/")
    assert response.status_code == 404
    assert "has no" in response.content.decode()
    response = alice_client.get(SITE_URL)
    assert response.status_code == 200
    assert "not been built yet" in response.content.decode()


def test_the_docs_list_shows_sites_and_filters_by_owner_and_kind(alice_client, built):
    response = alice_client.get(reverse("techdocs:index"))
    body = response.content.decode()
    assert "Payments handbook" in body and SITE_URL in body
    assert '<option value="group:default/team-a"' in body
    assert '<option value="component"' in body
    narrowed = alice_client.get(reverse("techdocs:index"), {"owner": "group:default/team-b"})
    assert "Payments handbook" not in narrowed.content.decode()
    assert "No docs match" in narrowed.content.decode()
    by_kind = alice_client.get(reverse("techdocs:index"), {"kind": "component", "owner": "group:default/team-a"})
    assert "Payments handbook" in by_kind.content.decode()


def test_the_docs_list_search_finds_pages_with_excerpts(alice_client, built):
    response = alice_client.get(reverse("techdocs:index"), {"q": "settlement"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "Pages matching" in body
    assert "<mark>settlement</mark>" in body
    assert f'href="{SITE_URL}guide/install/"' in body or f'href="{SITE_URL}guide/install/#requirements"' in body


def test_the_docs_list_without_sites_explains_how_to_add_docs(alice_client):
    body = alice_client.get(reverse("techdocs:index")).content.decode()
    assert "backstage.io/techdocs-ref" in body


def test_signed_out_visitors_are_sent_to_sign_in(client, built):
    response = client.get(SITE_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_pages_with_spaces_and_accents_in_their_names_are_reachable(alice_client, payments, docs_repo):
    from techdocs.publish import build_entity_docs

    (docs_repo / "mkdocs.yml").write_text("site_name: Payments handbook\n")
    (docs_repo / "docs" / "notes d'été.md").write_text("# Notes d'été\n\nSunny [back](index.md).\n")
    assert build_entity_docs(payments).status == "built"
    body = alice_client.get(SITE_URL).content.decode()
    href = re.search(r'href="([^"]+)">Notes d&#x27;été<', body).group(1)
    assert href == f"{SITE_URL}notes%20d%27%C3%A9t%C3%A9/"
    page = alice_client.get(href)
    assert page.status_code == 200 and "Sunny" in page.content.decode()
