"""Other apps add actions to template runs through SCAFFOLDER_ACTION_REGISTRARS."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from scaffolder import conf
from scaffolder.actions import Action
from scaffolder.models import Task

pytestmark = pytest.mark.django_db


def add_shout(registry):
    registry.register(Action(
        id="test:shout", description="Logs its text in capitals",
        input_schema={"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        handler=lambda ctx, data: ctx.log(data["text"].upper()),
    ))
    return registry


@pytest.fixture
def shouting(settings):
    settings.SCAFFOLDER_ACTION_REGISTRARS = ["tests.scaffolder.test_action_registrars.add_shout"]


def test_a_registered_action_runs_in_templates(alice_client, add_template, shouting):
    add_template("loud", "type: service\nparameters: []\n"
                         "steps:\n  - {id: s, action: 'test:shout', input: {text: hey}}\n")
    alice_client.post(reverse("scaffolder:review", args=["default", "loud"]), {"confirm": "1"})
    task = Task.objects.get()
    assert task.status == "completed", task.error
    assert task.log_lines.filter(message="HEY").exists()


def test_registered_actions_are_listed_by_the_api(client, alice, shouting):
    token = Token.objects.create(user=alice)
    ids = {a["id"] for a in client.get("/api/scaffolder/v2/actions", HTTP_AUTHORIZATION=f"Token {token.key}").json()}
    assert "test:shout" in ids and "fetch:template" in ids


def test_the_provisioning_actions_are_added_when_that_app_is_installed():
    ids = conf.action_registry().ids()
    assert "publish:git" in ids
    from django.apps import apps

    if apps.is_installed("scaffolder.provisioning"):
        assert "platform:claim" in ids
