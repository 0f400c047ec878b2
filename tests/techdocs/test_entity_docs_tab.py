"""The catalog entity page gets a Docs tab for entities with a techdocs-ref."""

import pytest

from techdocs.models import DocSite

pytestmark = pytest.mark.django_db

TAB_URL = "/catalog/default/component/payments/docs/"


def test_a_documented_entity_has_a_docs_tab_showing_its_index_page(alice_client, built):
    overview = alice_client.get("/catalog/default/component/payments/").content.decode()
    assert f'href="{TAB_URL}"' in overview
    response = alice_client.get(TAB_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="docs-tab"' in body
    assert "Welcome to the payments service." in body
    assert 'data-testid="docs-build-status">Built<' in body
    assert 'href="/docs/default/component/payments/guide/install/"' in body
    assert 'data-testid="docs-rebuild"' in body
    assert "<script>alert" not in body


def test_an_entity_without_docs_has_no_tab(alice_client, payments):
    overview = alice_client.get("/catalog/default/component/ledger/").content.decode()
    assert "/catalog/default/component/ledger/docs/" not in overview
    assert alice_client.get("/catalog/default/component/ledger/docs/").status_code == 404


def test_the_tab_shows_a_failed_build(client, charlie, built, docs_repo):
    from techdocs.publish import build_entity_docs

    (docs_repo / "mkdocs.yml").write_text("docs_dir: /etc\n")
    build_entity_docs(built.entity)
    client.force_login(charlie)
    body = client.get(TAB_URL).content.decode()
    assert "The last build failed" in body
    assert "Welcome to the payments service." in body
    assert 'data-testid="docs-rebuild"' not in body


def test_the_tab_says_when_docs_are_not_built_yet(alice_client, payments):
    assert not DocSite.objects.exists()
    body = alice_client.get(TAB_URL).content.decode()
    assert "not been built yet" in body
