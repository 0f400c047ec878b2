"""Every Backstage software template in the fixtures parses and runs as Backstage would run it.

Publishing goes to a local stand-in of the GitHub REST API (127.0.0.1) that creates local
bare repositories; registration goes to the in-memory catalog, which reads the pushed
catalog file back from the bare repository. Remote ``fetch:plain`` URLs are served from a
folder made by the test. Actions we do not implement must fail their step with
"unsupported action", never crash.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from scaffolder.actions import (
    InMemoryCatalog,
    LocalDirectoryReader,
    UserInfo,
    default_registry,
    git_hosts_from_settings,
)
from scaffolder.runner import RunOptions, StepStatus, TaskStatus, run_template
from scaffolder.template import parse_template
from tests.scaffolder.test_actions_publish import ForgeStandIn

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("CAUSEWAY_FIXTURES", REPO_ROOT / ".." / "shared" / "fixtures" / "backstage"))
TEMPLATES = FIXTURES / "software-templates"
FORGE_WEB = "https://forge.example.test/"
ALICE = UserInfo(ref="user:default/alice",
                 entity={"kind": "User", "metadata": {"name": "alice"},
                         "spec": {"profile": {"displayName": "Alice", "email": "alice@example.test"}}})


def template_files() -> list[Path]:
    return sorted(TEMPLATES.glob("*/template.yaml")) if TEMPLATES.is_dir() else []


def template_id(path: Path | None) -> str:
    return path.parent.name if path else "none"


def sample_values(parsed, name: str, with_description: bool = True) -> dict:
    """Valid form values built from the parameter schemas, the way a user would fill them."""
    values = {}
    for field, schema in parsed.iter_parameters():
        ui_field = schema.get("ui:field")
        if ui_field == "RepoUrlPicker":
            values[field] = f"github.com?owner=acme&repo={name}"
        elif ui_field == "OwnerPicker":
            values[field] = "group:default/team-a"
        elif ui_field == "EntityNamePicker":
            values[field] = name
        elif "enum" in schema:
            values[field] = schema["enum"][0]
        elif "default" in schema:
            values[field] = schema["default"]
        elif schema.get("type") == "boolean":
            values[field] = True
        elif schema.get("type") in ("number", "integer"):
            values[field] = 1
        elif field == "description":
            if with_description:
                values[field] = f"Made from {name}"
        else:
            values[field] = re.sub(r"[^a-z0-9]", "", field.lower()) or "value"
    return values


def git_out(*args):
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], env=env, check=True, capture_output=True, text=True).stdout


def run_fixture(template_file: Path, tmp_path: Path, name: str, with_description: bool = True):
    parsed = parse_template(yaml.safe_load(template_file.read_text()))
    forge_root = tmp_path / "forge"
    mirror = tmp_path / "mirror"
    (mirror / "backstage-community-sessions").mkdir(parents=True)
    (mirror / "backstage-community-sessions" / "README.md").write_text("# Community sessions\n")

    def load_from_forge(url: str) -> list[dict]:
        repo_path, rest = url.removeprefix(FORGE_WEB).split("/blob/", 1)
        branch, path = rest.split("/", 1)
        text = git_out("--git-dir", str(forge_root / f"{repo_path}.git"), "show", f"{branch}:{path}")
        return list(yaml.safe_load_all(text))

    catalog = InMemoryCatalog(loader=load_from_forge)
    values = sample_values(parsed, name, with_description)
    with ForgeStandIn(forge_root) as forge:
        options = RunOptions(
            registry=default_registry(),
            reader=LocalDirectoryReader(
                template_file.parent,
                remote_trees={"https://github.com/backstage/community/tree/main": mirror},
            ),
            catalog=catalog,
            git_hosts=git_hosts_from_settings({"github.com": {"api_base_url": forge.url, "token": "t0ken"}}),
            user=ALICE,
            work_dir=tmp_path,
        )
        result = run_template(parsed, values, options)
    return parsed, values, result, forge_root, catalog


@pytest.mark.parametrize("template_file", template_files() or [None], ids=template_id)
def test_the_backstage_template_parses(template_file):
    if template_file is None:
        pytest.skip(f"Backstage templates not found at {TEMPLATES}")
    parsed = parse_template(yaml.safe_load(template_file.read_text()))
    assert parsed.steps, "every fixture template has steps"
    assert parsed.parameter_steps and all(page.title for page in parsed.parameter_steps)


@pytest.mark.parametrize("template_file", template_files() or [None], ids=template_id)
def test_the_backstage_template_runs_like_backstage(template_file, tmp_path):
    if template_file is None:
        pytest.skip(f"Backstage templates not found at {TEMPLATES}")
    name = f"compat-{template_file.parent.name}"
    parsed, values, result, forge_root, catalog = run_fixture(template_file, tmp_path, name)
    registry = default_registry()
    unsupported = [s for s in parsed.steps if s.action not in registry]

    if unsupported:
        # The run goes as far as the first action we do not have, then stops cleanly.
        first = unsupported[0]
        assert result.status == TaskStatus.FAILED
        assert result.step(first.id).status == StepStatus.FAILED
        assert result.step(first.id).error == f"unsupported action {first.action!r}"
        before = parsed.steps[: parsed.steps.index(first)]
        assert all(result.step(s.id).status == StepStatus.COMPLETED for s in before)
        return

    assert result.status == TaskStatus.COMPLETED, result.error
    repo = forge_root / "acme" / f"{name}.git"
    branch = "master"  # publish:github's default branch
    pushed = set(git_out("--git-dir", str(repo), "ls-tree", "-r", "--name-only", branch).split())
    skeleton = template_file.parent / "skeleton"
    expected = {str(p.relative_to(skeleton)) for p in skeleton.rglob("*") if p.is_file()}
    assert len(pushed) == len(expected), "every skeleton file is pushed, none is added"
    assert not any("${{" in p for p in pushed), "file and folder names are rendered"

    info = yaml.safe_load(git_out("--git-dir", str(repo), "show", f"{branch}:catalog-info.yaml"))
    assert info["kind"] == "Component"
    assert info["metadata"]["name"] == name
    assert info["metadata"]["description"] == f"Made from {name}"
    assert info["metadata"]["annotations"]["github.com/project-slug"] == f"acme/{name}"
    assert info["spec"]["owner"] == values.get("owner", info["spec"]["owner"])

    mkdocs = yaml.safe_load(git_out("--git-dir", str(repo), "show", f"{branch}:mkdocs.yml"))
    assert mkdocs["site_name"] == name
    for path in pushed:
        text = git_out("--git-dir", str(repo), "show", f"{branch}:{path}")
        assert "${{" not in text, f"{path} still holds an expression"

    assert catalog.locations == [f"{FORGE_WEB}acme/{name}/blob/{branch}/catalog-info.yaml"]
    links = {link["title"]: link for link in result.output["links"]}
    assert links["Repository"]["url"] == repo.as_uri()
    assert links["Open in catalog"]["entityRef"] == f"component:default/{name}"


def test_the_springboot_template_renders_paths_and_properties(tmp_path):
    template_file = TEMPLATES / "springboot-grpc-template" / "template.yaml"
    if not template_file.is_file():
        pytest.skip(f"Backstage templates not found at {TEMPLATES}")
    _, values, result, forge_root, _ = run_fixture(template_file, tmp_path, "grpc-svc")
    assert result.status == TaskStatus.COMPLETED, result.error
    repo = forge_root / "acme" / "grpc-svc.git"
    pushed = set(git_out("--git-dir", str(repo), "ls-tree", "-r", "--name-only", "master").split())
    package = values["java_package_name"]
    assert "grpc-svc.sh" in pushed
    assert f"src/main/java/com/example/{package}/Application.java" in pushed
    props = git_out("--git-dir", str(repo), "show", "master:src/main/resources/application.properties")
    assert "spring.application.name=grpc-svc" in props
    assert "server.port=8080" in props
    pom = git_out("--git-dir", str(repo), "show", "master:pom.xml")
    assert "<artifactId>grpc-svc</artifactId>" in pom
    assert "${java.version}" in pom  # Maven's own placeholders are left alone


def test_an_empty_description_leaves_it_out_of_the_catalog_file(tmp_path):
    template_file = TEMPLATES / "react-ssr-template" / "template.yaml"
    if not template_file.is_file():
        pytest.skip(f"Backstage templates not found at {TEMPLATES}")
    _, _, result, forge_root, _ = run_fixture(template_file, tmp_path, "site", with_description=False)
    assert result.status == TaskStatus.COMPLETED, result.error
    text = git_out("--git-dir", str(forge_root / "acme" / "site.git"), "show", "master:catalog-info.yaml")
    info = yaml.safe_load(text)
    assert "description" not in info["metadata"]
    assert info["metadata"]["name"] == "site"
