"""The scorecard and DORA examples in docs/api.md run as written and answer as documented.

Each ```bash block holding a curl command is followed by the status it answers (`200`) and a ```json
block with the answer. The examples run in order, like a reader trying them, against a catalog where
team-a owns payments and a Production readiness scorecard with the documented rules. Answers to
POSTs and errors must equal the documented ones; answers of GETs, whose ids and times vary, must
have the documented keys at every level.
"""

import json
import re
import shlex
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.urls import URLPattern
from rest_framework.authtoken.models import Token

from scorecards import evaluation
from scorecards.api import dora_urls
from scorecards.api import urls as scorecard_urls
from scorecards.models import Change, Deployment, Incident
from tests.conftest import REPO_ROOT
from tests.scorecards.conftest import add_rule, make_scorecard

pytestmark = pytest.mark.django_db

API_DOCS = REPO_ROOT / "docs" / "api.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def documented_section() -> str:
    text = API_DOCS.read_text()
    start = text.index("\n## Scorecards and DORA\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def documented_examples() -> list[dict]:
    """Every curl example of the section with the status and JSON answer written under it."""
    section = documented_section()
    blocks = list(FENCE.finditer(section))
    examples = []
    for block, following in zip(blocks, blocks[1:] + [None], strict=True):
        language, body = block.group(1), block.group(2)
        if language != "bash" or not body.lstrip().startswith("curl "):
            continue
        assert following is not None and following.group(1) == "json", f"no JSON answer under:\n{body}"
        between = section[block.end():following.start()]
        status = re.search(r"`(\d{3})`", between)
        assert status, f"no `status` between the example and its answer:\n{body}"
        examples.append({**parse_curl(body), "status": int(status.group(1)),
                         "answer": json.loads(following.group(2))})
    return examples


def parse_curl(command: str) -> dict:
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "curl"
    request = {"method": "GET", "headers": {}, "data": None, "url": None}
    rest = iter(words[1:])
    for word in rest:
        if word == "-X":
            request["method"] = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            request["headers"][name.strip()] = value.strip()
        elif word == "-d":
            request["data"] = next(rest)
        elif word.startswith("https://"):
            request["url"] = word
        else:
            raise AssertionError(f"the test does not know curl's {word!r}; keep the examples simple")
    assert request["url"], command
    return request


def keys(value):
    """The shape of an answer: its keys at every level, without the values."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keys(item) for item in value]
    return "value"


@pytest.fixture
def documented_world(catalog, django_user_model):
    """The catalog and scorecard the examples show, and a CI user allowed to send events."""
    scorecard = make_scorecard(kinds=["component"], description="What a service needs before it takes traffic")
    add_rule(scorecard, "Bronze", "Has an owner group", {"type": "owner_is_group"}, blocking=True,
             owner="platform-team", how_to_fix="Set `spec.owner` to a Group of the catalog.")
    add_rule(scorecard, "Silver", "Has docs", {"type": "annotation_present", "key": "backstage.io/techdocs-ref"},
             owner="platform-team", how_to_fix="Add `backstage.io/techdocs-ref: dir:.` and a `docs/` folder.")
    evaluation.evaluate()
    sender = django_user_model.objects.create_user("ci-deployments")
    sender.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="scorecards", codename__in=["add_deployment", "add_change", "add_incident"]))
    return Token.objects.create(user=sender)


def stored() -> tuple[int, int, int]:
    return Deployment.objects.count(), Change.objects.count(), Incident.objects.count()


def run_documented_examples(client, token: Token) -> None:
    examples = documented_examples()
    assert examples, "no curl examples found in the Scorecards and DORA section of docs/api.md"
    for example in examples:
        headers = {name: value.replace("$CAUSEWAY_TOKEN", token.key) for name, value in example["headers"].items()}
        url = urlsplit(example["url"])
        before = stored()
        response = client.generic(
            example["method"], f"{url.path}?{url.query}" if url.query else url.path, example["data"] or "",
            content_type=headers.pop("Content-Type", "application/octet-stream"), headers=headers,
        )
        where = f"{example['method']} {example['url']}"
        assert response.status_code == example["status"], f"{where}: {response.status_code} {response.content!r}"
        if example["method"] == "POST" or response.status_code != 200:
            assert response.json() == example["answer"], where
        else:
            assert keys(response.json()) == keys(example["answer"]), where
        if response.status_code != 200:
            assert stored() == before, f"{where} was refused but stored something"


def test_every_documented_example_answers_as_documented(documented_world, client):
    run_documented_examples(client, documented_world)


def test_the_examples_store_what_they_say(documented_world, client):
    run_documented_examples(client, documented_world)
    deployment = Deployment.objects.get(external_id="payments-4711")
    assert sorted(deployment.commits.values_list("sha", flat=True)) == [
        "9fceb02d0ae598e95dc970b74767f19372d61af8", "e83c5163316f89bfbde7d9ab23ca2e25604af290",
    ]
    assert set(Change.objects.values_list("entity_ref", flat=True)) == {"component:default/payments"}
    incident = Incident.objects.get(external_id="INC-2041")
    assert incident.resolved_at.isoformat() == "2024-05-01T13:55:00+00:00"
    assert incident.caused_by_deployment == "payments-4711"
    assert not Deployment.objects.filter(external_id__in=["payments-4712", "payments-4713"]).exists()


def test_every_endpoint_and_method_has_an_example():
    routes = set()
    for prefix, module in (("/api/scorecards/", scorecard_urls), ("/api/dora/", dora_urls)):
        for pattern in module.urlpatterns:
            assert isinstance(pattern, URLPattern)
            view = pattern.callback.view_class
            routes |= {(method.upper(), prefix + str(pattern.pattern)) for method in ("get", "post")
                       if hasattr(view, method)}
    documented = {(example["method"], urlsplit(example["url"]).path) for example in documented_examples()}
    assert routes == documented


def test_the_documented_limit_is_the_configured_one(documented_world, client, settings):
    section = documented_section()
    default = re.search(r"`DORA_MAX_EVENTS_PER_REQUEST` events\s+per\s+request\s+\(([\d,]+) by default", section)
    assert default and int(default.group(1).replace(",", "")) == settings.DORA_MAX_EVENTS_PER_REQUEST
    settings.DORA_MAX_EVENTS_PER_REQUEST = 1
    change = {"sha": "abc1234", "entity_ref": "payments", "committed_at": "2024-05-01T09:05:00Z"}
    response = client.post("/api/dora/changes", [change, change], content_type="application/json",
                           headers={"Authorization": f"Token {documented_world.key}"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "payload", "message": "holds 2 events; at most 1 per request"}
    ]


def test_reading_needs_a_known_token_or_a_signed_in_user(client):
    response = client.get("/api/scorecards/", headers={"Authorization": "Token not-a-key"})
    assert response.status_code == 403 and response.json() == {"detail": "Invalid token."}
    response = client.get("/api/dora/metrics")
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}
