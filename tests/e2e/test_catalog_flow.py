import pytest

from catalog.ingest import refresh_location
from catalog.models import Location
from tests.catalog.test_ingest import GROUP, component, write

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def small_catalog(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    path = write(
        tmp_path, "catalog-info.yaml", GROUP,
        component("payments", dependsOn="[component:ledger]"), component("ledger"),
        component("storefront").replace("type: service", "type: website"),
    )
    refresh_location(Location.objects.create(type="file", target=str(path)))


def test_a_person_filters_the_catalog_and_opens_an_entity(signed_in_page, small_catalog):
    page = signed_in_page
    page.goto("/catalog/")
    page.wait_for_selector("[data-testid=entity-table]")
    assert page.locator("[data-testid=entity-table] tbody tr").count() == 4

    # pick the "website" type facet: the table narrows without a full reload
    page.click("[data-facet=type] a[data-value=website]")
    page.wait_for_function("document.querySelectorAll('[data-testid=entity-table] tbody tr').length === 1")
    assert "type=website" in page.url
    assert page.locator("[data-testid=entity-table] a.entity-link").inner_text() == "storefront"

    # text filter on the full list, then open the entity
    page.goto("/catalog/")
    page.fill("#catalog-q", "ledger")
    page.wait_for_function("document.querySelectorAll('[data-testid=entity-table] tbody tr').length === 1")
    page.click("[data-testid=entity-table] a.entity-link")
    page.wait_for_selector("h1:has-text('ledger')")
    assert page.locator("[data-testid=entity-kind]").inner_text() == "Component"
    assert page.locator("text=Dependency of").count() >= 1
