"""Every Backstage software template in the fixtures renders its form pages once it is in the catalog."""

import pytest
import yaml
from django.urls import reverse

from catalog.ingest import refresh_location
from catalog.models import Entity, Location
from scaffolder import formschema
from scaffolder.launch import load_template
from scaffolder.wizard import WizardState
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

NAMES = sorted(p.parent.name for p in (FIXTURES / "software-templates").glob("*/template.yaml"))


@pytest.fixture
def registered(backstage_fixtures, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(backstage_fixtures)]

    def register(name: str) -> Entity:
        path = backstage_fixtures / "software-templates" / name / "template.yaml"
        location = Location.objects.create(type="file", target=str(path))
        report = refresh_location(location)
        assert report.status == "updated", report.errors
        return Entity.objects.get(kind="template", location=location)

    return register


@pytest.mark.parametrize("name", NAMES or ["none"])
def test_each_fixture_template_renders_every_form_page(alice_client, registered, name):
    if name == "none":
        pytest.skip("no software templates in the fixtures")
    entity = registered(name)
    loaded = load_template(entity)
    args = [entity.namespace, entity.name]
    first = alice_client.get(reverse("scaffolder:template", args=args))
    assert first.status_code == 200, first.content.decode()[:2000]
    assert "cannot be shown as a form" not in first.content.decode()

    # Walk the wizard with example values, as if each page had been filled in.
    session = alice_client.session
    state = WizardState(session, entity.ref, entity.etag)
    state.values = formschema.example_values(loaded.steps)
    state.reached = len(loaded.steps)
    state.save()
    session.save()
    for step in loaded.steps:
        response = alice_client.get(reverse("scaffolder:step", args=[*args, step.index]))
        assert response.status_code == 200, (name, step.title)
        assert f"<h2>{step.title}</h2>" in response.content.decode()
    review = alice_client.get(reverse("scaffolder:review", args=args))
    assert review.status_code == 200, [str(m) for m in review.wsgi_request._messages]
    assert "Create" in review.content.decode()

    editor = alice_client.post(reverse("scaffolder:editor"),
                               {"template_yaml": yaml.safe_dump(entity.data), "_action": "preview"})
    assert editor.status_code == 200 and "yaml_error" not in editor.context
