"""The catalog adapter: fetching entities and registering what publish:git pushed, from any thread."""

import threading

import pytest

from catalog.models import Location
from scaffolder.actions import ActionError
from scaffolder.catalog_adapter import DjangoCatalog, LocationSpec, location_for_url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url, expected", [
    ("file:///srv/git/team/app.git/blob/main/catalog-info.yaml",
     LocationSpec("git", "file:///srv/git/team/app.git", "main", "catalog-info.yaml")),
    ("https://github.com/acme/app/blob/trunk/deploy/catalog-info.yaml",
     LocationSpec("git", "https://github.com/acme/app.git", "trunk", "deploy/catalog-info.yaml")),
    ("https://gitlab.example/acme/app/-/blob/main/catalog-info.yaml",
     LocationSpec("git", "https://gitlab.example/acme/app.git", "main", "catalog-info.yaml")),
    ("https://example.com/catalog-info.yaml", LocationSpec("url", "https://example.com/catalog-info.yaml")),
    ("file:///srv/catalog/catalog-info.yaml", LocationSpec("file", "/srv/catalog/catalog-info.yaml")),
    ("/srv/catalog/catalog-info.yaml", LocationSpec("file", "/srv/catalog/catalog-info.yaml")),
])
def test_catalog_file_urls_become_locations(url, expected):
    assert location_for_url(url) == expected


def test_other_urls_are_refused():
    with pytest.raises(ActionError):
        location_for_url("ftp://example.com/x.yaml")


def test_it_fetches_entities_by_ref(org):
    catalog = DjangoCatalog()
    assert catalog.fetch_entity("group:default/team-a")["metadata"]["name"] == "team-a"
    assert catalog.fetch_entity("Group:Default/Team-A")["kind"] == "Group"
    assert catalog.fetch_entity("group:default/nobody") is None


def test_registering_a_file_returns_its_entities_and_is_audited(org, scaffolder_env, alice):
    path = scaffolder_env / "new" / "catalog-info.yaml"
    path.parent.mkdir()
    path.write_text("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: fresh}\n"
                    "spec: {type: service, lifecycle: experimental, owner: team-a}\n")
    result = DjangoCatalog(user=alice, task_id="t-1").register_location(path.as_uri())
    assert [e["metadata"]["name"] for e in result["entities"]] == ["fresh"]
    location = Location.objects.get(target=str(path))
    assert location.created_by == alice
    from portal.models import AuditEvent

    event = AuditEvent.objects.get(action="catalog.location.register", object_id=str(location.pk))
    assert "t-1" in event.message
    # registering again refreshes the same location
    assert DjangoCatalog(user=alice).register_location(path.as_uri())["entities"]
    assert Location.objects.filter(target=str(path)).count() == 1


def test_a_location_that_cannot_be_read_is_not_kept(org, scaffolder_env):
    missing = scaffolder_env / "missing" / "catalog-info.yaml"
    with pytest.raises(ActionError, match="could not read"):
        DjangoCatalog().register_location(str(missing))
    assert not Location.objects.filter(target=str(missing)).exists()


def test_a_read_only_catalog_refuses_to_register(org, scaffolder_env):
    with pytest.raises(ActionError, match="read-only"):
        DjangoCatalog(readonly=True).register_location(str(scaffolder_env / "x.yaml"))


def test_calls_from_another_thread_are_served_by_the_owner_thread(org):
    catalog = DjangoCatalog()
    found = {}

    def in_a_step_thread():
        found["entity"] = catalog.fetch_entity("system:default/payments")

    worker = threading.Thread(target=in_a_step_thread)
    worker.start()
    while worker.is_alive():
        catalog.pump()  # what the task's cancel token does while the runner waits
        worker.join(0.01)
    assert found["entity"]["metadata"]["name"] == "payments"
