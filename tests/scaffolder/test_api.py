"""The scaffolder API: Backstage's routes and JSON shapes, token authentication, errors in Backstage's form."""

import base64
import json

import pytest
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent
from scaffolder.models import Task

pytestmark = pytest.mark.django_db

API = "/api/scaffolder/v2"

HELLO = """
type: service
parameters:
  - title: Who
    required: [who]
    properties:
      who: {type: string, pattern: "^[a-z]+$"}
steps:
  - {id: greet, name: Greet, action: debug:log, input: {message: "Hello ${{ parameters.who }}"}}
output:
  links:
    - {title: Docs, url: "https://docs.example/${{ parameters.who }}"}
"""


@pytest.fixture
def hello(add_template):
    return add_template("hello", HELLO)


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def post(client, path, body, headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_creating_a_task_answers_201_with_its_id(client, hello, alice):
    response = post(client, f"{API}/tasks", {"templateRef": "template:default/hello", "values": {"who": "ada"}},
                    auth(alice))
    assert response.status_code == 201
    task = Task.objects.get(pk=response.json()["id"])
    assert task.status == "completed" and task.created_by == alice
    audit = AuditEvent.objects.get(action="scaffolder.task.create", object_id=str(task.pk))
    assert audit.after["via"] == "api"


def test_the_task_has_backstages_shape(client, hello, alice):
    headers = auth(alice)
    task_id = post(client, f"{API}/tasks", {"templateRef": "template:default/hello", "values": {"who": "ada"}},
                   headers).json()["id"]
    body = client.get(f"{API}/tasks/{task_id}", **headers).json()
    assert body["id"] == task_id and body["status"] == "completed"
    assert {"id", "spec", "status", "createdAt", "lastHeartbeatAt", "createdBy"} <= set(body)
    assert body["createdBy"] == "user:default/alice"
    spec = body["spec"]
    assert spec["apiVersion"] == "scaffolder.backstage.io/v1beta3"
    assert spec["parameters"] == {"who": "ada"}
    assert spec["templateInfo"]["entityRef"] == "template:default/hello"
    assert spec["steps"][0]["action"] == "debug:log"
    assert body["createdAt"].endswith("Z")
    assert body["output"]["links"] == [{"title": "Docs", "url": "https://docs.example/ada"}]


def test_events_are_log_lines_then_a_completion(client, hello, alice):
    headers = auth(alice)
    task_id = post(client, f"{API}/tasks", {"templateRef": "template:default/hello", "values": {"who": "ada"}},
                   headers).json()["id"]
    events = client.get(f"{API}/tasks/{task_id}/events", **headers).json()
    assert [e["type"] for e in events][-1] == "completion"
    logs = [e for e in events if e["type"] == "log"]
    assert {"id", "taskId", "type", "body", "createdAt"} <= set(logs[0])
    greet = next(e for e in logs if e["body"]["message"] == "Hello ada")
    assert greet["body"]["stepId"] == "greet"
    assert any(e["body"].get("status") == "completed" and e["body"].get("stepId") == "greet" for e in logs)
    completion = events[-1]
    assert completion["body"]["status"] == "completed" and completion["body"]["output"]["links"]
    later = client.get(f"{API}/tasks/{task_id}/events?after={greet['id']}", **headers).json()
    assert all(e["id"] > greet["id"] for e in later)


def test_the_event_stream_sends_server_sent_events_and_ends(client, hello, alice):
    headers = auth(alice)
    task_id = post(client, f"{API}/tasks", {"templateRef": "template:default/hello", "values": {"who": "ada"}},
                   headers).json()["id"]
    response = client.get(f"{API}/tasks/{task_id}/eventstream", HTTP_ACCEPT="text/event-stream", **headers)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    text = b"".join(response.streaming_content).decode()
    blocks = [b for b in text.strip().split("\n\n") if b.startswith("event:")]
    assert blocks[0].startswith("event: log\ndata: ")
    assert blocks[-1].startswith("event: completion\ndata: ")
    assert json.loads(blocks[-1].split("data: ", 1)[1])["body"]["status"] == "completed"


def test_invalid_values_are_a_400_naming_the_fields(client, hello, alice):
    response = post(client, f"{API}/tasks", {"templateRef": "template:default/hello", "values": {"who": "Ada 1"}},
                    auth(alice))
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["name"] == "InputError" and "Does not match the pattern" in body["error"]["message"]
    assert body["errors"] == {"who": ["Does not match the pattern ^[a-z]+$"]}
    assert body["response"]["statusCode"] == 400
    assert Task.objects.count() == 0


@pytest.mark.parametrize("payload", [
    {"values": {}},
    {"templateRef": "template:default/hello", "values": "not a mapping"},
    {"templateRef": "template:default/hello", "values": {}, "secrets": {"k": ["list"]}},
])
def test_malformed_bodies_are_a_400(client, hello, alice, payload):
    response = post(client, f"{API}/tasks", payload, auth(alice))
    assert response.status_code == 400 and response.json()["error"]["name"] == "InputError"
    assert Task.objects.count() == 0


def test_an_unknown_template_is_a_404(client, hello, alice):
    response = post(client, f"{API}/tasks", {"templateRef": "template:default/nope", "values": {}}, auth(alice))
    assert response.status_code == 404 and response.json()["error"]["name"] == "NotFoundError"


def test_without_credentials_the_api_answers_401(client, hello):
    response = post(client, f"{API}/tasks", {"templateRef": "template:default/hello", "values": {"who": "a"}}, {})
    assert response.status_code == 401
    assert client.get(f"{API}/tasks").status_code == 401


def test_other_peoples_tasks_are_not_found_but_staff_see_them(client, hello, alice, charlie, sam):
    task_id = post(client, f"{API}/tasks", {"templateRef": "template:default/hello", "values": {"who": "ada"}},
                   auth(alice)).json()["id"]
    assert client.get(f"{API}/tasks/{task_id}", **auth(charlie)).status_code == 404
    assert client.get(f"{API}/tasks/{task_id}/events", **auth(charlie)).status_code == 404
    assert client.get(f"{API}/tasks/{task_id}", **auth(sam)).status_code == 200
    assert client.get(f"{API}/tasks", **auth(charlie)).json() == {"tasks": [], "totalTasks": 0}
    listed = client.get(f"{API}/tasks?createdBy=user:default/alice", **auth(sam)).json()
    assert listed["totalTasks"] == 1 and listed["tasks"][0]["id"] == task_id


def test_cancelling_through_the_api(client, hello, alice):
    task = Task.objects.create(template_ref="template:default/hello", template={}, created_by=alice)
    response = post(client, f"{API}/tasks/{task.pk}/cancel", {}, auth(alice))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_a_dry_run_returns_the_files_and_log_and_stores_nothing(client, org, alice):
    template = {
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "dry"},
        "spec": {"type": "service", "parameters": [{"properties": {"name": {"type": "string"}}}],
                 "steps": [
                     {"id": "fetch", "action": "fetch:template",
                      "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
                     {"id": "publish", "action": "publish:git", "input": {"repoUrl": "localhost?owner=o&repo=r"}},
                     {"id": "register", "action": "catalog:register",
                      "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}"}}]},
    }
    files = [{"path": "skeleton/README.md", "base64Content": base64.b64encode(b"# ${{ values.name }}").decode()}]
    response = post(client, f"{API}/dry-run", {"template": template, "values": {"name": "demo"},
                                               "directoryContents": files}, auth(alice))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    produced = {f["path"]: base64.b64decode(f["base64Content"]).decode() for f in body["directoryContents"]}
    assert produced == {"README.md": "# demo"}
    assert [s["status"] for s in body["steps"]] == ["completed", "skipped", "skipped"]
    assert any("dry-run" in line["body"]["message"] for line in body["log"])
    assert Task.objects.count() == 0


def test_a_dry_run_refuses_paths_outside_the_template(client, org, alice):
    template = {"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "x"},
                "spec": {"type": "service", "steps": []}}
    for path in ("../escape.txt", "/etc/passwd"):
        response = post(client, f"{API}/dry-run", {"template": template, "directoryContents": [
            {"path": path, "base64Content": "aGk="}]}, auth(alice))
        assert response.status_code == 400, path


def test_actions_and_parameter_schema(client, hello, alice):
    actions = client.get(f"{API}/actions", **auth(alice)).json()
    assert {"fetch:template", "publish:git", "catalog:register"} <= {a["id"] for a in actions}
    assert "input" in actions[0]["schema"]
    schema = client.get(f"{API}/templates/default/template/hello/parameter-schema", **auth(alice)).json()
    assert schema["title"] == "Hello" and schema["steps"][0]["title"] == "Who"
    assert schema["steps"][0]["schema"]["required"] == ["who"]
