"""The GitOps repository adapter: created on first use, retries a push refused because someone else
pushed first, and never shows its credentials."""

import subprocess
from pathlib import Path

import pytest

from scaffolder.provisioning import conf
from scaffolder.provisioning.gitops import GitOpsError, GitOpsRepository
from tests.provisioning.conftest import commit_count, files, git, show


def test_a_file_url_is_created_on_first_use_and_read_back(tmp_path):
    repo = GitOpsRepository(f"file://{tmp_path}/repo.git", "main")
    result = repo.change(lambda tree: tree.write("claims/a/b/c.yaml", "x: 1\n"), "first")
    assert result is not None and commit_count(tmp_path / "repo.git") == 1
    assert repo.read("claims/a/b/c.yaml") == "x: 1\n"
    assert repo.read("nothing.yaml") is None
    assert repo.change(lambda tree: tree.write("claims/a/b/c.yaml", "x: 1\n"), "same again") is None
    assert commit_count(tmp_path / "repo.git") == 1


def test_relative_paths_are_taken_from_the_project_not_the_working_folder(settings):
    settings.PROVISIONING_GITOPS_REPO = "var/somewhere.git"
    assert conf.gitops_repo() == str((Path(settings.BASE_DIR) / "var" / "somewhere.git").resolve())
    settings.PROVISIONING_GITOPS_REPO = "git@git.example.com:platform/gitops.git"
    assert conf.gitops_repo() == "git@git.example.com:platform/gitops.git"
    assert conf.local_repo_path() is None


def test_a_push_refused_because_someone_else_pushed_is_made_again_on_the_new_tip(tmp_path):
    bare = tmp_path / "repo.git"
    repo = GitOpsRepository(str(bare), "main")
    repo.change(lambda tree: tree.write("base.txt", "base\n"), "base")
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(bare), str(other)], check=True)
    calls = []

    def apply(tree):
        calls.append(1)
        if len(calls) == 1:  # someone pushes while this change is being made
            (other / "theirs.txt").write_text("theirs\n")
            subprocess.run(["git", "-C", str(other), "add", "-A"], check=True)
            subprocess.run(["git", "-C", str(other), "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-qm",
                            "theirs"], check=True)
            subprocess.run(["git", "-C", str(other), "push", "-q", "origin", "HEAD:main"], check=True)
        tree.write("mine.txt", "mine\n")

    result = repo.change(apply, "mine")
    assert len(calls) == 2
    assert git(bare, "log", "--format=%s", "main").split() == ["mine", "theirs", "base"]
    assert result.sha == git(bare, "rev-parse", "main").strip()
    assert {"theirs.txt", "mine.txt", "base.txt"} <= set(files(bare))
    assert show(bare, "mine.txt") == "mine\n"


def test_credentials_never_appear_in_errors(tmp_path):
    repo = GitOpsRepository("https://127.0.0.1:9/platform/gitops.git", "main", token="s3cr3t-t0ken", timeout=20)
    with pytest.raises(GitOpsError) as failed:
        repo.change(lambda tree: tree.write("a.txt", "a"), "x")
    assert "s3cr3t-t0ken" not in str(failed.value)
    repo = GitOpsRepository("https://bot:hunter2@127.0.0.1:9/gitops.git", "main", timeout=20)
    assert "hunter2" not in repo.shown
    with pytest.raises(GitOpsError) as failed:
        repo.change(lambda tree: tree.write("a.txt", "a"), "x")
    assert "hunter2" not in str(failed.value)


def test_an_existing_folder_that_is_not_a_repository_is_refused(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file").write_text("x")
    with pytest.raises(GitOpsError, match="is not a bare git repository"):
        GitOpsRepository(str(tmp_path / "junk"), "main").change(lambda tree: None, "x")
