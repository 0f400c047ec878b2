"""A person picks a template, fills its form (a field appears and goes as choices change), confirms,
watches the task finish and opens the new entity in the catalog."""

import pytest

from tests.scaffolder.conftest import DEMO_TEMPLATES, ORG, register_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def templates(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path), str(DEMO_TEMPLATES)]
    settings.SCAFFOLDER_GIT_HOSTS = {"localhost": {"remote_base": (tmp_path / "git").as_uri(), "create_repos": True}}
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "git-cache"
    org = tmp_path / "org" / "catalog-info.yaml"
    org.parent.mkdir()
    org.write_text(ORG)
    register_file(org)
    register_file(DEMO_TEMPLATES / "catalog-info.yaml")
    return tmp_path


def test_a_person_creates_a_service_from_a_template(signed_in_page, templates):
    page = signed_in_page
    page.goto("/create/")
    page.click("[data-testid=choose-django-service]")
    page.wait_for_selector("h2:has-text('About the service')")

    page.fill("#id_name", "shop-api")
    page.fill("#id_description", "Sells things")
    page.fill("#id_owner", "group:default/team-a")
    page.click("button:has-text('Next')")
    page.wait_for_selector("h2:has-text('Choices')")

    # PostgreSQL (the default) asks for a version; choosing SQLite redraws the step without it
    assert page.locator("#id_postgresVersion").count() == 1
    page.check("input[name=database][value=sqlite]")
    page.wait_for_selector("#id_postgresVersion", state="detached")
    page.click("button:has-text('Next')")
    page.wait_for_selector("h2:has-text('Repository')")

    page.fill("[name=repoUrl_owner]", "team-a")
    page.fill("[name=repoUrl_repo]", "shop-api")
    page.click("button:has-text('Review')")
    page.wait_for_selector("[data-testid=review]")
    assert "shop-api" in page.locator("[data-testid=review]").inner_text()
    assert "SQLite" in page.locator("[data-testid=review]").inner_text()

    page.click("button:has-text('Create')")
    page.wait_for_selector("[data-testid=task-status]:has-text('Completed')", timeout=60_000)
    log = page.locator("[data-testid=log]").inner_text()
    assert "Finished step Register in the catalog" in log
    assert page.locator("[data-testid=steps] .badge.ok").count() == 3

    page.click("text=Open in catalog")
    page.wait_for_selector("h1:has-text('shop-api')")
    assert page.locator("[data-testid=entity-kind]").inner_text() == "Component"
    assert (templates / "git" / "team-a" / "shop-api.git" / "HEAD").is_file()
