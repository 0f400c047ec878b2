"""fetch:plain, fetch:plain:file and fetch:template."""

import os
import stat
import subprocess

import pytest

from scaffolder.actions import (
    ActionContext,
    ActionError,
    ActionInputError,
    GitCheckoutReader,
    LocalDirectoryReader,
    ReaderError,
    default_registry,
    validate_input,
)
from scaffolder.workspace import Workspace, WorkspaceLimitError, WorkspaceLimits, WorkspacePathError

REGISTRY = default_registry()


def run(ctx, action_id, data):
    action = REGISTRY.get(action_id)
    validate_input(action, data)
    return action.handler(ctx, data)


@pytest.fixture
def template_dir(tmp_path):
    folder = tmp_path / "template"
    (folder / "skeleton").mkdir(parents=True)
    return folder


@pytest.fixture
def ctx(tmp_path, template_dir):
    work = tmp_path / "work"
    work.mkdir()
    lines = []
    context = ActionContext(
        workspace=Workspace.create(parent=work),
        reader=LocalDirectoryReader(template_dir),
        log_sink=lines.append,
    )
    context.lines = lines
    return context


def write(path, text, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        os.chmod(path, mode)


def test_fetch_template_renders_names_and_contents(ctx, template_dir):
    skeleton = template_dir / "skeleton"
    write(skeleton / "README.md", "# ${{ values.name }}\n")
    write(skeleton / "src" / "${{ values.package }}" / "App.java", "package ${{ values.package }};\n")
    run(ctx, "fetch:template", {"url": "./skeleton", "values": {"name": "svc", "package": "billing"}})
    root = ctx.workspace.root
    assert (root / "README.md").read_text() == "# svc\n"
    assert (root / "src" / "billing" / "App.java").read_text() == "package billing;\n"


def test_fetch_template_writes_into_target_path(ctx, template_dir):
    write(template_dir / "skeleton" / "a.txt", "${{ values.x }}")
    run(ctx, "fetch:template", {"url": "./skeleton", "targetPath": "sub/dir", "values": {"x": "1"}})
    assert (ctx.workspace.root / "sub" / "dir" / "a.txt").read_text() == "1"


def test_fetch_template_renders_the_fixture_style_catalog_file(ctx, template_dir):
    write(
        template_dir / "skeleton" / "catalog-info.yaml",
        "metadata:\n  name: ${{values.name | dump}}\n  {%- if values.description %}\n"
        "  description: ${{values.description | dump}}\n  {%- endif %}\n  annotations:\n"
        '    github.com/project-slug: ${{values.destination.owner + "/" + values.destination.repo}}\n',
    )
    values = {"name": "web", "destination": {"owner": "acme", "repo": "web"}}
    run(ctx, "fetch:template", {"url": "./skeleton", "values": values})
    assert (ctx.workspace.root / "catalog-info.yaml").read_text() == (
        'metadata:\n  name: "web"\n  annotations:\n    github.com/project-slug: acme/web\n'
    )


def test_copy_without_templating_keeps_contents_but_renders_names(ctx, template_dir):
    skeleton = template_dir / "skeleton"
    write(skeleton / ".github" / "workflows" / "${{ values.name }}.yml", "run: ${{ github.sha }}")
    write(skeleton / "other.txt", "${{ values.name }}")
    run(
        ctx,
        "fetch:template",
        {"url": "./skeleton", "values": {"name": "ci"}, "copyWithoutTemplating": [".github/workflows/*"]},
    )
    root = ctx.workspace.root
    assert (root / ".github" / "workflows" / "ci.yml").read_text() == "run: ${{ github.sha }}"
    assert (root / "other.txt").read_text() == "ci"


def test_copy_without_render_keeps_names_and_contents(ctx, template_dir):
    write(template_dir / "skeleton" / ".github" / "workflows" / "${{ values.name }}.yml", "run: ${{ x }}")
    run(
        ctx,
        "fetch:template",
        {"url": "./skeleton", "values": {"name": "ci"}, "copyWithoutRender": [".github/workflows/*"]},
    )
    assert (ctx.workspace.root / ".github" / "workflows" / "${{ values.name }}.yml").read_text() == "run: ${{ x }}"


def test_copy_without_render_and_templating_together_is_an_error(ctx, template_dir):
    with pytest.raises(ActionError, match="cannot be used together"):
        run(ctx, "fetch:template", {"url": "./skeleton", "copyWithoutRender": [], "copyWithoutTemplating": []})


def test_template_file_extension_renders_only_those_files_and_strips_it(ctx, template_dir):
    skeleton = template_dir / "skeleton"
    write(skeleton / "main.py.njk", "name = '${{ values.name }}'\n")
    write(skeleton / "static.txt", "${{ values.name }}")
    run(ctx, "fetch:template", {"url": "./skeleton", "values": {"name": "n"}, "templateFileExtension": True})
    root = ctx.workspace.root
    assert (root / "main.py").read_text() == "name = 'n'\n"
    assert (root / "static.txt").read_text() == "${{ values.name }}"
    assert not (root / "main.py.njk").exists()


def test_custom_template_file_extension(ctx, template_dir):
    write(template_dir / "skeleton" / "a.md.tmpl", "${{ values.x }}")
    run(ctx, "fetch:template", {"url": "./skeleton", "values": {"x": "ok"}, "templateFileExtension": "tmpl"})
    assert (ctx.workspace.root / "a.md").read_text() == "ok"


def test_cookiecutter_compat_uses_cookiecutter_names(ctx, template_dir):
    skeleton = template_dir / "skeleton"
    write(skeleton / "{{ cookiecutter.name }}" / "setup.cfg", "name = {{ cookiecutter.name }}\n")
    run(ctx, "fetch:template", {"url": "./skeleton", "values": {"name": "pkg"}, "cookiecutterCompat": True})
    assert (ctx.workspace.root / "pkg" / "setup.cfg").read_text() == "name = pkg\n"


def test_binary_files_are_copied_untouched_and_modes_kept(ctx, template_dir):
    skeleton = template_dir / "skeleton"
    payload = b"\x89PNG\r\n\x00${{ values.x }}\xff"
    (skeleton / "logo.png").write_bytes(payload)
    write(skeleton / "run.sh", "#!/bin/sh\necho ${{ values.x }}\n", mode=0o755)
    run(ctx, "fetch:template", {"url": "./skeleton", "values": {"x": "hi"}})
    root = ctx.workspace.root
    assert (root / "logo.png").read_bytes() == payload
    assert (root / "run.sh").read_text() == "#!/bin/sh\necho hi\n"
    assert os.stat(root / "run.sh").st_mode & stat.S_IXUSR


def test_names_that_render_empty_are_skipped(ctx, template_dir):
    skeleton = template_dir / "skeleton"
    write(skeleton / "${{ values.optional }}" / "x.txt", "x")
    write(skeleton / "kept.txt", "k")
    run(ctx, "fetch:template", {"url": "./skeleton", "values": {}})
    assert sorted(p.name for p in ctx.workspace.root.iterdir()) == ["kept.txt"]


def test_existing_files_are_kept_unless_replace(ctx, template_dir):
    write(template_dir / "skeleton" / "a.txt", "new")
    ctx.workspace.write_text("a.txt", "old")
    run(ctx, "fetch:template", {"url": "./skeleton"})
    assert (ctx.workspace.root / "a.txt").read_text() == "old"
    run(ctx, "fetch:template", {"url": "./skeleton", "replace": True})
    assert (ctx.workspace.root / "a.txt").read_text() == "new"


def test_a_value_that_climbs_out_of_the_workspace_is_refused(ctx, template_dir, tmp_path):
    write(template_dir / "skeleton" / "${{ values.name }}" / "x.txt", "x")
    with pytest.raises(ActionError, match="leaves the workspace"):
        run(ctx, "fetch:template", {"url": "./skeleton", "values": {"name": "../../escaped"}})
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path / "work" / "escaped").exists()


def test_a_file_name_value_with_traversal_is_refused(ctx, template_dir, tmp_path):
    write(template_dir / "skeleton" / "${{ values.file }}", "x")
    with pytest.raises(ActionError, match="leaves the workspace"):
        run(ctx, "fetch:template", {"url": "./skeleton", "values": {"file": "../../../x"}})


def test_target_path_outside_the_workspace_is_refused(ctx, template_dir):
    write(template_dir / "skeleton" / "a.txt", "a")
    for target in ["../outside", "/etc", "a/../../b"]:
        with pytest.raises(WorkspacePathError):
            run(ctx, "fetch:template", {"url": "./skeleton", "targetPath": target})


def test_a_skeleton_symlink_pointing_outside_is_refused(ctx, template_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy")
    os.symlink(secret, template_dir / "skeleton" / "link.txt")
    with pytest.raises(ActionError, match="symbolic link pointing outside"):
        run(ctx, "fetch:template", {"url": "./skeleton"})
    assert not (ctx.workspace.root / "link.txt").exists()


def test_a_skeleton_symlink_inside_the_skeleton_is_kept_as_a_link(ctx, template_dir):
    skeleton = template_dir / "skeleton"
    write(skeleton / "docs" / "README.md", "${{ values.x }}")
    os.symlink("docs/README.md", skeleton / "README.md")
    run(ctx, "fetch:template", {"url": "./skeleton", "values": {"x": "y"}})
    root = ctx.workspace.root
    assert os.readlink(root / "README.md") == "docs/README.md"
    assert (root / "README.md").read_text() == "y"


def test_a_symlink_in_the_workspace_cannot_redirect_writes(ctx, template_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, ctx.workspace.root / "out")
    write(template_dir / "skeleton" / "out" / "x.txt", "x")
    with pytest.raises(ActionError, match="symbolic link"):
        run(ctx, "fetch:template", {"url": "./skeleton"})
    assert list(outside.iterdir()) == []


def test_the_url_cannot_leave_the_template_folder(ctx, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    for url in ["../elsewhere", "/etc", "skeleton/../../elsewhere"]:
        with pytest.raises(ReaderError):
            run(ctx, "fetch:template", {"url": url})


def test_remote_urls_are_refused_unless_mapped(ctx, tmp_path, template_dir):
    with pytest.raises(ReaderError, match="remote URLs must be configured"):
        run(ctx, "fetch:plain", {"url": "https://example.test/skeleton"})
    mirror = tmp_path / "mirror"
    write(mirror / "sub" / "file.txt", "mirrored")
    ctx.reader = LocalDirectoryReader(template_dir, remote_trees={"https://example.test/repo": mirror})
    run(ctx, "fetch:plain", {"url": "https://example.test/repo/sub", "targetPath": "m"})
    assert (ctx.workspace.root / "m" / "file.txt").read_text() == "mirrored"


def test_fetch_plain_copies_without_rendering(ctx, template_dir):
    write(template_dir / "skeleton" / "a" / "b.txt", "${{ values.x }}")
    run(ctx, "fetch:plain", {"url": "./skeleton", "targetPath": "copy"})
    assert (ctx.workspace.root / "copy" / "a" / "b.txt").read_text() == "${{ values.x }}"


def test_fetch_plain_file_copies_one_file(ctx, template_dir):
    write(template_dir / "skeleton" / "one.txt", "1")
    run(ctx, "fetch:plain:file", {"url": "./skeleton/one.txt", "targetPath": "dir/one.txt"})
    assert (ctx.workspace.root / "dir" / "one.txt").read_text() == "1"
    with pytest.raises(WorkspacePathError):
        run(ctx, "fetch:plain:file", {"url": "./skeleton/one.txt", "targetPath": "../one.txt"})


def test_fetch_plain_file_needs_a_target_path(ctx):
    with pytest.raises(ActionInputError, match="targetPath"):
        run(ctx, "fetch:plain:file", {"url": "./x"})


def test_input_validation_names_the_field(ctx):
    with pytest.raises(ActionInputError, match=r"input\.values: .* is not of type 'object'"):
        run(ctx, "fetch:template", {"url": "./skeleton", "values": "nope"})


def test_a_file_over_the_size_limit_fails_clearly(tmp_path, template_dir):
    (template_dir / "skeleton" / "big.bin").write_bytes(b"\x00" * 5000)
    limits = WorkspaceLimits(max_bytes=100_000, max_files=10, max_file_bytes=1000)
    context = ActionContext(
        workspace=Workspace.create(limits=limits, parent=tmp_path), reader=LocalDirectoryReader(template_dir)
    )
    with pytest.raises(WorkspaceLimitError, match="over the limit of 1000 bytes"):
        run(context, "fetch:template", {"url": "./skeleton"})


def test_too_many_files_fail_clearly(tmp_path, template_dir):
    for i in range(5):
        write(template_dir / "skeleton" / f"f{i}.txt", "x")
    limits = WorkspaceLimits(max_bytes=100_000, max_files=3, max_file_bytes=1000)
    context = ActionContext(
        workspace=Workspace.create(limits=limits, parent=tmp_path), reader=LocalDirectoryReader(template_dir)
    )
    with pytest.raises(WorkspaceLimitError, match="over the limit of 3"):
        run(context, "fetch:plain", {"url": "./skeleton"})


def test_a_skeleton_with_a_broken_expression_names_the_file(ctx, template_dir):
    write(template_dir / "skeleton" / "bad.txt", "${{ values.x + }}")
    with pytest.raises(ActionError, match="bad.txt"):
        run(ctx, "fetch:template", {"url": "./skeleton", "values": {"x": 1}})


def test_a_skeleton_cannot_escape_the_sandbox(ctx, template_dir):
    write(template_dir / "skeleton" / "evil.txt", "${{ values.__class__.__mro__ }}")
    with pytest.raises(ActionError, match="not allowed"):
        run(ctx, "fetch:template", {"url": "./skeleton", "values": {}})


def _git(*args, cwd=None):
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.test",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.test"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_templates_can_be_read_from_a_git_checkout(tmp_path):
    source = tmp_path / "source"
    write(source / "templates" / "svc" / "skeleton" / "hello.txt", "hello ${{ values.who }}")
    write(source / "templates" / "shared" / "common.txt", "shared")
    _git("init", "-q", "-b", "main", str(source))
    _git("add", ".", cwd=source)
    _git("commit", "-q", "-m", "init", cwd=source)
    with GitCheckoutReader(f"file://{source}", ref="main", subpath="templates/svc") as reader:
        context = ActionContext(workspace=Workspace.create(parent=tmp_path), reader=reader)
        run(context, "fetch:template", {"url": "./skeleton", "values": {"who": "git"}})
        run(context, "fetch:plain", {"url": "../shared", "targetPath": "shared"})
        with pytest.raises(ReaderError, match="outside"):
            run(context, "fetch:plain", {"url": "../../..", "targetPath": "x"})
    assert (context.workspace.root / "hello.txt").read_text() == "hello git"
    assert (context.workspace.root / "shared" / "common.txt").read_text() == "shared"


def test_an_unknown_git_ref_fails_clearly(tmp_path):
    source = tmp_path / "source"
    write(source / "a.txt", "a")
    _git("init", "-q", "-b", "main", str(source))
    _git("add", ".", cwd=source)
    _git("commit", "-q", "-m", "init", cwd=source)
    reader = GitCheckoutReader(f"file://{source}", ref="nope")
    with pytest.raises(ReaderError, match="could not clone"):
        reader.directory(".")
