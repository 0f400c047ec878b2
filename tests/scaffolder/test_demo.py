"""`manage.py demo`: the golden-path templates are registered and one of them is run end to end."""

import io

import pytest

from catalog.models import Entity
from scaffolder import demo
from scaffolder.models import Task

pytestmark = pytest.mark.django_db


def test_the_demo_registers_the_templates_and_creates_a_repository(settings, tmp_path, org, alice):
    alice.is_superuser = True
    alice.save()
    settings.VAR_DIR = tmp_path / "var"
    settings.SCAFFOLDER_GIT_HOSTS = None  # the default: localhost -> VAR_DIR/git-repos
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path), str(demo.DEMO_TEMPLATES.parent)]
    out = io.StringIO()
    demo.load(out)
    assert Entity.objects.filter(kind="template").count() == 3
    repo = tmp_path / "var" / "git-repos" / "demo" / f"{demo.DEMO_COMPONENT}.git"
    assert (repo / "HEAD").is_file()
    entity = Entity.objects.get(ref=f"component:default/{demo.DEMO_COMPONENT}")
    assert entity.location.type == "git" and entity.owner_ref.startswith("group:")
    assert "registered in the catalog" in out.getvalue()
    task = Task.objects.get()
    assert task.status == "completed" and task.created_by == alice

    again = io.StringIO()
    demo.load(again)  # idempotent
    assert Task.objects.count() == 1 and "already created" in again.getvalue()


def test_the_demo_says_when_its_folder_is_not_readable(settings, tmp_path, org):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    out = io.StringIO()
    demo.load(out)
    assert "CAUSEWAY_FILE_ROOTS" in out.getvalue()
    assert not Entity.objects.filter(kind="template").exists()
