"""Parsing templates and running them: steps, conditions, loops, limits, cancellation, secrets."""

import os
import subprocess
import threading
import time

import pytest
import yaml

from scaffolder.actions import (
    Action,
    InMemoryCatalog,
    LocalDirectoryReader,
    UserInfo,
    default_registry,
    git_hosts_from_settings,
)
from scaffolder.runner import (
    CancelToken,
    RecordingEvents,
    RunLimits,
    RunOptions,
    StepStatus,
    TaskStatus,
    run_template,
)
from scaffolder.template import TemplateError, parse_template
from scaffolder.workspace import WorkspaceLimits

ALICE = UserInfo(
    ref="user:default/alice",
    entity={"kind": "User", "metadata": {"name": "alice"},
            "spec": {"profile": {"displayName": "Alice Doe", "email": "alice@example.test"}}},
)


def template(steps, parameters=None, output=None):
    spec = {"owner": "group:default/platform", "type": "service", "steps": steps}
    if parameters is not None:
        spec["parameters"] = parameters
    if output is not None:
        spec["output"] = output
    return parse_template({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "demo", "title": "Demo"},
        "spec": spec,
    })


@pytest.fixture
def work_dir(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def options(tmp_path, work_dir):
    (tmp_path / "template").mkdir()
    return RunOptions(
        registry=default_registry(),
        reader=LocalDirectoryReader(tmp_path / "template"),
        user=ALICE,
        work_dir=work_dir,
        limits=RunLimits(step_seconds=10, task_seconds=20, max_wait_seconds=30),
    )


def log_text(result):
    return "\n".join(line.line for line in result.log)


# --------------------------------------------------------------------------------------- parsing


def test_parameters_may_be_one_schema_or_a_list_of_pages():
    single = template([], parameters={"properties": {"name": {"type": "string"}}})
    pages = template([], parameters=[{"title": "One", "properties": {"a": {"type": "string"}}},
                                     {"title": "Two", "properties": {"b": {"type": "string"}}}])
    assert [p.title for p in single.parameter_steps] == [None]
    assert [p.title for p in pages.parameter_steps] == ["One", "Two"]
    assert [name for name, _ in pages.iter_parameters()] == ["a", "b"]


def test_steps_are_parsed_with_defaults():
    parsed = template([{"action": "debug:log"}, {"id": "x", "name": "X", "action": "debug:log",
                                                  "if": "${{ true }}", "each": [1]}])
    first, second = parsed.steps
    assert (first.id, first.name, first.input) == ("step-1", "step-1", {})
    assert (second.if_, second.each) == ("${{ true }}", [1])
    assert parsed.owner == "group:default/platform"
    assert parsed.ref == "template:default/demo"


@pytest.mark.parametrize(
    "entity, message",
    [
        ("nope", "must be a mapping"),
        ({"apiVersion": "backstage.io/v1beta2", "kind": "Template"}, "apiVersion must be"),
        ({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Component"}, "kind must be 'Template'"),
        ({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {}}, "metadata.name"),
        ({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "t"}},
         "spec is required"),
    ],
)
def test_malformed_entities_are_refused_clearly(entity, message):
    with pytest.raises(TemplateError, match=message):
        parse_template(entity)


@pytest.mark.parametrize(
    "steps, message",
    [
        ({"id": "x"}, "spec.steps must be a list"),
        ([{"id": "x"}], r"spec.steps\[0\].action is required"),
        ([{"id": "x", "action": "a:b"}, {"id": "x", "action": "a:b"}], "used by more than one step"),
        ([{"id": "bad id!", "action": "a:b"}], r"spec.steps\[0\].id"),
        ([{"action": "a:b", "input": ["x"]}], "input must be a mapping"),
        ([{"action": "a:b", "if": 3}], "if must be a boolean"),
        ([{"action": "a:b", "each": 3}], "each must be"),
    ],
)
def test_malformed_steps_are_refused_clearly(steps, message):
    with pytest.raises(TemplateError, match=message):
        template(steps)


def test_malformed_parameters_are_refused_clearly():
    with pytest.raises(TemplateError, match=r"spec.parameters\[1\] must be an object schema"):
        template([], parameters=[{"properties": {}}, "x"])
    with pytest.raises(TemplateError, match="required must be a list"):
        template([], parameters={"required": "name"})
    with pytest.raises(TemplateError, match="spec.output.links"):
        template([], output={"links": "x"})


def test_secret_parameters_are_found_by_field_and_widget():
    parsed = template([], parameters=[
        {"properties": {"token": {"type": "string", "ui:field": "Secret"}, "name": {"type": "string"}}},
        {"properties": {"password": {"type": "string", "ui:widget": "password"}}},
    ])
    assert parsed.secret_parameter_names() == ["token", "password"]
    assert parsed.secret_values({"token": "t0k", "password": "pw", "name": "n"}) == ["t0k", "pw"]


# --------------------------------------------------------------------------------------- running


def write_skeleton(tmp_path):
    skeleton = tmp_path / "template" / "skeleton"
    skeleton.mkdir(parents=True)
    (skeleton / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name | dump }}\n"
        "spec:\n  type: service\n  lifecycle: experimental\n  owner: ${{ values.owner | dump }}\n"
    )
    (skeleton / "README.md").write_text("# ${{ values.name }}\n")
    return skeleton


def git_out(*args):
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], env=env, check=True, capture_output=True, text=True).stdout


def read_from_bare_repo(url):
    """A catalog loader that reads `<remote>/blob/<branch>/<path>` from a local bare repo."""
    remote, rest = url.split("/blob/", 1)
    branch, path = rest.split("/", 1)
    text = git_out("--git-dir", remote.removeprefix("file://"), "show", f"{branch}:{path}")
    return list(yaml.safe_load_all(text))


FULL_STEPS = [
    {"id": "fetch", "name": "Fetch", "action": "fetch:template",
     "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}", "owner": "${{ parameters.owner }}"}}},
    {"id": "publish", "name": "Publish", "action": "publish:git",
     "input": {"repoUrl": "${{ parameters.repoUrl }}", "description": "This is ${{ parameters.name }}"}},
    {"id": "register", "name": "Register", "action": "catalog:register",
     "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}",
               "catalogInfoPath": "/catalog-info.yaml"}},
]
FULL_OUTPUT = {"links": [{"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"},
                         {"title": "Open in catalog", "entityRef": "${{ steps.register.output.entityRef }}"}]}
FULL_PARAMETERS = {"name": "payments", "owner": "group:default/team-a", "repoUrl": "localhost?owner=acme&repo=payments"}


def test_a_full_run_fetches_publishes_and_registers(tmp_path, options, work_dir):
    write_skeleton(tmp_path)
    bare_root = tmp_path / "remotes"
    options.git_hosts = git_hosts_from_settings(
        {"localhost": {"remote_base": bare_root.as_uri(), "create_repos": True,
                       "committer_name": "Causeway", "committer_email": "bot@causeway.test"}}
    )
    options.catalog = catalog = InMemoryCatalog(loader=read_from_bare_repo)
    events = RecordingEvents()
    result = run_template(template(FULL_STEPS, output=FULL_OUTPUT), FULL_PARAMETERS, options, events=events)

    assert result.status == TaskStatus.COMPLETED, result.error
    assert [s.status for s in result.steps] == [StepStatus.COMPLETED] * 3
    bare = bare_root / "acme" / "payments.git"
    files = git_out("--git-dir", str(bare), "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(files) == ["README.md", "catalog-info.yaml"]
    pushed = yaml.safe_load(git_out("--git-dir", str(bare), "show", "main:catalog-info.yaml"))
    assert pushed["metadata"]["name"] == "payments"
    assert pushed["spec"]["owner"] == "group:default/team-a"
    author = git_out("--git-dir", str(bare), "log", "-1", "--format=%an <%ae>|%cn", "main").strip()
    assert author == "Alice Doe <alice@example.test>|Causeway"
    assert catalog.locations == [f"{bare.as_uri()}/blob/main/catalog-info.yaml"]
    assert result.output == {"links": [{"title": "Repository", "url": bare.as_uri()},
                                       {"title": "Open in catalog", "entityRef": "component:default/payments"}]}
    assert result.step("publish").output["commitHash"] == git_out("--git-dir", str(bare), "rev-parse", "main").strip()
    assert events.started == ["fetch", "publish", "register"]
    assert events.finished == [("fetch", StepStatus.COMPLETED), ("publish", StepStatus.COMPLETED),
                               ("register", StepStatus.COMPLETED)]
    assert all(s.started_at <= s.finished_at for s in result.steps)
    assert "Beginning step Publish" in log_text(result)
    assert list(work_dir.iterdir()) == []  # the workspace is gone


def test_a_dry_run_returns_files_and_skips_side_effects(tmp_path, options, work_dir):
    write_skeleton(tmp_path)
    bare_root = tmp_path / "remotes"
    options.git_hosts = git_hosts_from_settings({"localhost": {"remote_base": bare_root.as_uri(),
                                                               "create_repos": True}})
    options.catalog = catalog = InMemoryCatalog()
    options.dry_run = True
    result = run_template(template(FULL_STEPS, output=FULL_OUTPUT), FULL_PARAMETERS, options)

    assert result.status == TaskStatus.COMPLETED, result.error
    assert [s.status for s in result.steps] == [StepStatus.COMPLETED, StepStatus.SKIPPED, StepStatus.SKIPPED]
    assert not bare_root.exists()
    assert catalog.locations == []
    files = {f.path: f for f in result.files}
    assert sorted(files) == ["README.md", "catalog-info.yaml"]
    assert yaml.safe_load(files["catalog-info.yaml"].text)["metadata"]["name"] == "payments"
    assert "Skipping because publish:git does not support dry-run" in log_text(result)
    assert result.output["links"][0]["url"] == "<example>"
    assert list(work_dir.iterdir()) == []


def test_an_unknown_action_fails_its_step_not_the_runner(options):
    steps = [{"id": "odd", "action": "acme:frobnicate"}, {"id": "after", "action": "debug:log",
                                                            "input": {"message": "never"}}]
    result = run_template(template(steps), {}, options)
    assert result.status == TaskStatus.FAILED
    assert result.step("odd").status == StepStatus.FAILED
    assert result.step("odd").error == "unsupported action 'acme:frobnicate'"
    assert result.step("after").status == StepStatus.SKIPPED
    assert "never" not in log_text(result)


def test_if_conditions_skip_steps(options):
    steps = [
        {"id": "no", "action": "debug:log", "if": "${{ parameters.enabled }}", "input": {"message": "A"}},
        {"id": "literal", "action": "debug:log", "if": False, "input": {"message": "B"}},
        {"id": "yes", "action": "debug:log", "if": "${{ not parameters.enabled }}", "input": {"message": "C"}},
    ]
    result = run_template(template(steps), {"enabled": False}, options)
    assert [s.status for s in result.steps] == [StepStatus.SKIPPED, StepStatus.SKIPPED, StepStatus.COMPLETED]
    assert "Skipping step no because its if condition was false" in log_text(result)
    assert "C" in [line.line for line in result.log]


def echo_action():
    return Action(id="test:echo", description="echo", supports_dry_run=True,
                  input_schema={"type": "object", "properties": {"value": {}}},
                  handler=lambda ctx, data: {"value": data.get("value")})


def test_each_runs_once_per_item_and_collects_outputs(options):
    options.registry.register(echo_action())
    steps = [
        {"id": "loop", "action": "test:echo", "each": "${{ parameters.names }}",
         "input": {"value": "${{ each.key }}:${{ each.value }}"}},
        {"id": "dict", "action": "test:echo", "each": {"a": 1, "b": 2},
         "if": "${{ each.value > 1 }}", "input": {"value": "${{ each.key }}"}},
        {"id": "use", "action": "test:echo", "input": {"value": "${{ steps.loop.output.value }}"}},
    ]
    result = run_template(template(steps), {"names": ["x", "y"]}, options)
    assert result.status == TaskStatus.COMPLETED, result.error
    assert result.step("loop").output == {"value": ["0:x", "1:y"]}
    assert result.step("dict").output == {"value": ["b"]}
    assert result.step("use").output == {"value": ["0:x", "1:y"]}
    assert 'Running step each: {"key": "0", "value": "x"}' in log_text(result)


def test_each_must_resolve_to_a_list_or_object(options):
    result = run_template(template([{"id": "e", "action": "debug:log", "each": "${{ parameters.n }}"}]),
                          {"n": 3}, options)
    assert result.status == TaskStatus.FAILED
    assert "must resolve to a list or an object" in result.step("e").error


def test_invalid_input_fails_the_step_and_names_the_field(options):
    steps = [{"id": "w", "action": "debug:wait", "input": {"seconds": "${{ parameters.s }}"}}]
    result = run_template(template(steps), {"s": "soon"}, options)
    assert result.status == TaskStatus.FAILED
    assert "invalid input for action 'debug:wait': input.seconds: 'soon' is not of type 'number'" in result.error


def test_a_broken_expression_fails_the_step_clearly(options):
    steps = [{"id": "x", "action": "debug:log", "input": {"message": "${{ parameters.__class__ }}"}}]
    result = run_template(template(steps), {}, options)
    assert result.step("x").status == StepStatus.FAILED
    assert "not allowed" in result.step("x").error


def test_a_step_over_its_time_limit_fails_clearly(options):
    options.limits = RunLimits(step_seconds=0.3, task_seconds=20, max_wait_seconds=30)
    steps = [{"id": "slow", "action": "debug:wait", "input": {"seconds": 10}}]
    started = time.monotonic()
    result = run_template(template(steps), {}, options)
    assert time.monotonic() - started < 3
    assert result.status == TaskStatus.FAILED
    assert result.step("slow").error == "the step exceeded its time limit of 0.3 seconds"


def test_the_task_time_limit_covers_all_steps(options):
    options.limits = RunLimits(step_seconds=10, task_seconds=0.4, max_wait_seconds=30)
    steps = [{"id": "a", "action": "debug:wait", "input": {"seconds": 0.25}},
             {"id": "b", "action": "debug:wait", "input": {"seconds": 5}},
             {"id": "c", "action": "debug:log", "input": {"message": "late"}}]
    result = run_template(template(steps), {}, options)
    assert result.status == TaskStatus.FAILED
    assert [s.status for s in result.steps] == [StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED]
    assert result.step("b").error == "the task exceeded its time limit of 0.4 seconds"


def test_a_step_ignoring_the_stop_request_is_interrupted(options):
    def spin(ctx, data):
        while True:  # never looks at ctx.is_cancelled()
            sum(range(100))

    options.registry.register(Action(id="test:spin", description="spins", input_schema={"type": "object"},
                                     handler=spin))
    options.limits = RunLimits(step_seconds=0.2, task_seconds=20, stop_grace_seconds=0.2)
    started = time.monotonic()
    result = run_template(template([{"id": "spin", "action": "test:spin"}]), {}, options)
    assert time.monotonic() - started < 3
    assert result.step("spin").status == StepStatus.FAILED
    assert "time limit" in result.step("spin").error


def test_debug_wait_is_bounded_by_settings(options):
    options.limits = RunLimits(max_wait_seconds=1)
    result = run_template(template([{"id": "w", "action": "debug:wait", "input": {"minutes": 5}}]), {}, options)
    assert "limited to 1 seconds" in result.step("w").error


def test_cancelling_stops_the_running_step_and_the_rest(options):
    cancel = CancelToken()
    steps = [{"id": "wait", "action": "debug:wait", "input": {"seconds": 10}},
             {"id": "after", "action": "debug:log", "input": {"message": "after"}}]
    threading.Timer(0.2, cancel.cancel).start()
    started = time.monotonic()
    result = run_template(template(steps), {}, options, cancel=cancel)
    assert time.monotonic() - started < 3
    assert result.status == TaskStatus.CANCELLED
    assert [s.status for s in result.steps] == [StepStatus.CANCELLED, StepStatus.CANCELLED]


def test_a_task_cancelled_before_it_starts_runs_nothing(options):
    cancel = CancelToken()
    cancel.cancel()
    result = run_template(template([{"id": "a", "action": "debug:log", "input": {"message": "x"}}]), {}, options,
                          cancel=cancel)
    assert result.status == TaskStatus.CANCELLED
    assert result.step("a").status == StepStatus.CANCELLED


def test_a_huge_file_fails_the_step_with_the_limit(tmp_path, options):
    skeleton = tmp_path / "template" / "skeleton"
    skeleton.mkdir()
    (skeleton / "big.txt").write_text("x" * 5000)
    options.limits = RunLimits(workspace=WorkspaceLimits(max_bytes=100_000, max_files=100, max_file_bytes=1000))
    result = run_template(template([{"id": "f", "action": "fetch:template", "input": {"url": "./skeleton"}}]),
                          {}, options)
    assert result.status == TaskStatus.FAILED
    assert "big.txt" in result.step("f").error and "over the limit of 1000 bytes" in result.step("f").error


def test_files_written_around_the_workspace_api_are_still_counted(options):
    def sneak(ctx, data):
        (ctx.workspace.root / "blob.bin").write_bytes(b"x" * 3000)

    options.registry.register(Action(id="test:sneak", description="", input_schema={"type": "object"},
                                     handler=sneak))
    options.limits = RunLimits(workspace=WorkspaceLimits(max_bytes=2000, max_files=10, max_file_bytes=10_000))
    result = run_template(template([{"id": "s", "action": "test:sneak"}]), {}, options)
    assert result.step("s").status == StepStatus.FAILED
    assert "over the limit of 2000 bytes" in result.step("s").error


def test_secrets_are_redacted_from_logs_inputs_outputs_and_errors(options):
    options.registry.register(echo_action())
    options.secrets = {"apiKey": "KEY-123"}
    parsed = template(
        [
            {"id": "log", "action": "debug:log", "input": {"message": "token=${{ parameters.token }}"}},
            {"id": "key", "action": "test:echo", "input": {"value": "${{ secrets.apiKey }}"}},
            {"id": "fail", "action": "debug:wait", "input": {"seconds": "${{ parameters.token }}"}},
        ],
        parameters={"properties": {"token": {"type": "string", "ui:field": "Secret"}}},
        output={"text": [{"title": "t", "content": "${{ parameters.token }}"}]},
    )
    events = RecordingEvents()
    result = run_template(parsed, {"token": "hunter2"}, options, events=events)
    everything = log_text(result) + repr(result.steps) + repr(events.lines) + (result.error or "")
    assert "hunter2" not in everything
    assert "KEY-123" not in everything
    assert "token=***" in log_text(result)
    assert result.step("key").input == {"value": "***"}
    assert result.step("key").output == {"value": "***"}
    assert result.step("fail").status == StepStatus.FAILED


def test_secrets_are_only_in_scope_for_step_inputs(options):
    options.secrets = {"apiKey": "KEY-123"}
    parsed = template([{"id": "a", "action": "debug:log", "if": "${{ secrets.apiKey }}"}],
                      output={"text": [{"title": "t", "content": "[${{ secrets.apiKey }}]"}]})
    result = run_template(parsed, {}, options)
    assert result.step("a").status == StepStatus.SKIPPED
    assert result.output == {"text": [{"title": "t", "content": "[]"}]}


def test_an_unexpected_exception_in_an_action_is_reported_not_raised(options):
    def broken(ctx, data):
        raise KeyError("boom")

    options.registry.register(Action(id="test:broken", description="", input_schema={"type": "object"},
                                     handler=broken))
    result = run_template(template([{"id": "b", "action": "test:broken"}]), {}, options)
    assert result.status == TaskStatus.FAILED
    assert result.step("b").error == "unexpected error: KeyError: 'boom'"


def test_log_lines_from_actions_carry_their_step(options):
    events = RecordingEvents()
    run_template(template([{"id": "l", "action": "debug:log", "input": {"message": "one\ntwo"}}]), {}, options,
                 events=events)
    mine = [line.line for line in events.lines if line.step_id == "l"]
    assert mine[1:3] == ["one", "two"]


def test_a_runaway_output_expression_is_stopped_by_the_task_time_limit(options):
    options.limits = RunLimits(task_seconds=0.5, stop_grace_seconds=0.2)
    runaway = (
        "{% macro m(n) %}{% if n %}${{ m(n - 1) }}${{ m(n - 1) }}{% endif %}{% endmacro %}"
        "${{ m(40) | length }}"
    )
    started = time.monotonic()
    result = run_template(template([], output={"text": [{"title": "t", "content": runaway}]}), {}, options)
    assert time.monotonic() - started < 5
    assert result.status == TaskStatus.FAILED
    assert "could not render the template output" in result.error


def test_values_typed_by_users_are_data_not_expressions(tmp_path, options):
    skeleton = tmp_path / "template" / "skeleton"
    skeleton.mkdir()
    (skeleton / "${{ values.name }}.txt").write_text("${{ values.name }}")
    options.dry_run = True
    steps = [{"id": "f", "action": "fetch:template",
              "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}}]
    result = run_template(template(steps), {"name": "${{ 7 * 7 }}"}, options)
    assert [(f.path, f.text) for f in result.files] == [("${{ 7 * 7 }}.txt", "${{ 7 * 7 }}")]
