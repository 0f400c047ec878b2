import pytest

from catalog.ingest import refresh_location
from catalog.models import Location
from techdocs.models import DocSite
from tests.techdocs.conftest import CATALOG, SITE, write_files

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def documented_catalog(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    repo = write_files(tmp_path / "payments", {"catalog-info.yaml": CATALOG, **SITE})
    # The catalog's change signal queues the docs build (run at once without a broker).
    refresh_location(Location.objects.create(type="file", target=str(repo / "catalog-info.yaml")))
    assert DocSite.objects.get(entity__name="payments").status == "ok"


def test_a_person_opens_the_docs_tab_and_follows_the_nav(signed_in_page, documented_catalog):
    page = signed_in_page
    page.goto("/catalog/default/component/payments/")
    page.click("nav.tabs a:has-text('Docs')")
    page.wait_for_selector("[data-testid=docs-tab]")
    assert "Welcome to the payments service." in page.locator("[data-testid=docs-content]").inner_text()
    assert page.locator("[data-testid=docs-build-status]").inner_text() == "Built"

    # the section holding Install is collapsed on the index page: open it, then follow the link
    page.click("[data-testid=docs-nav] summary:has-text('Guide')")
    page.click("[data-testid=docs-nav] a:has-text('Install')")
    page.wait_for_url("**/docs/default/component/payments/guide/install/")
    assert page.locator("[data-testid=docs-content] h1").inner_text().startswith("Install")
    assert page.locator("[data-testid=docs-nav] a[aria-current=page]").inner_text() == "Install"
    assert page.locator("[data-testid=docs-toc] a").all_inner_texts() == ["Requirements", "Steps"]

    page.click("[data-testid=docs-next]")
    page.wait_for_url("**/guide/configure/")
    assert page.locator("[data-testid=docs-nav] a[aria-current=page]").inner_text() == "Configure"

    # the image on the index page loads through the docs file route
    page.goto("/docs/default/component/payments/")
    page.wait_for_selector("[data-testid=docs-content] img")
    assert page.locator("[data-testid=docs-content] script").count() == 0


def test_a_person_searches_and_filters_the_docs_list(signed_in_page, documented_catalog):
    page = signed_in_page
    page.goto("/docs/")
    page.wait_for_selector("[data-testid=docs-table]")
    page.fill("#docs-q", "settlement")
    page.wait_for_selector("[data-testid=docs-page-hits] mark")
    assert "q=settlement" in page.url
    page.click("[data-testid=docs-page-hits] a.result-title")
    page.wait_for_url("**/guide/install/**")
    page.goto("/docs/")
    page.select_option("#docs-kind", "component")
    page.wait_for_function("location.search.includes('kind=component')")
    assert page.locator("[data-testid=docs-table] a.docs-link").inner_text() == "Payments handbook"
