"""A developer requests a preview environment in the browser, sees the cost first, then sees it listed."""

import subprocess

import pytest

from catalog.ingest import refresh_location
from catalog.models import Location
from scaffolder.provisioning.models import Claim

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a]}
"""


@pytest.fixture
def gitops(tmp_path, settings, alice):
    repo = tmp_path / "gitops.git"
    settings.PROVISIONING_GITOPS_REPO = str(repo)
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "git-cache"
    path = tmp_path / "people" / "catalog-info.yaml"
    path.parent.mkdir()
    path.write_text(PEOPLE)
    refresh_location(Location.objects.create(type="file", target=str(path)))
    return repo


def test_a_developer_requests_a_preview_environment_and_sees_it_listed(signed_in_page, gitops):
    page = signed_in_page
    page.goto("/resources/")
    page.click("[data-testid=request-resource]")
    page.click("[data-testid=offering-preview-environment] a")
    page.wait_for_selector("h1:has-text('Preview environment')")

    page.fill("#id_name", "cart-preview")
    page.fill("#id_values-repository", "https://git.example.com/acme/shop")
    page.fill("#id_values-branch", "feature/cart")
    page.fill("#id_values-commit", "0123456789abcdef0123456789abcdef01234567")
    page.fill("#id_values-ttl", "48h")
    page.click("[data-testid=estimate-button]")
    page.wait_for_selector("[data-testid=confirm-button]")
    assert page.locator("[data-testid=estimate-total]").inner_text() == "1.20"

    page.click("[data-testid=confirm-button]")
    page.wait_for_selector("[data-testid=manifests]")
    assert "kind: PreviewEnvironment" in page.locator("[data-testid=manifests]").inner_text()
    assert "requested for team-a" in page.locator(".message-success").inner_text()

    page.goto("/resources/")
    row = page.locator("[data-testid=claim-team-a-cart-preview]")
    assert row.count() == 1
    assert "requested" in row.inner_text() and "1d23h" in row.inner_text()
    claim = Claim.objects.get()
    log = subprocess.run(["git", "--git-dir", str(gitops), "log", "--format=%s", "main"],
                         capture_output=True, text=True, check=True).stdout
    assert log.strip() == "Request preview-environment cart-preview of team-a"
    assert claim.commit_sha


def test_a_mistake_is_shown_beside_its_field(signed_in_page, gitops):
    page = signed_in_page
    page.goto("/resources/new/preview-environment/")
    page.fill("#id_name", "Cart Preview")
    page.fill("#id_values-commit", "main")
    page.click("[data-testid=estimate-button]")
    page.wait_for_selector("[data-testid=error-name]")
    assert "is not a valid name" in page.locator("[data-testid=error-name]").inner_text()
    assert "40-character commit SHA" in page.locator("[data-testid=error-commit]").inner_text()
    assert page.locator("[data-testid=confirm-button]").count() == 0
    assert not Claim.objects.exists()
