"""Demo data: register the golden-path templates and run one of them end to end.

The run publishes a new repository (a bare git repository under VAR_DIR/git-repos/ through
the ``localhost`` git host) and registers it in the catalog. Running the demo again keeps
what is there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.contrib.auth import get_user_model

from catalog.ingest import LocationNotAllowed, check_target_allowed, refresh_location
from catalog.models import Entity, Location

from . import conf
from .launch import create_task, load_template, template_entity, validation_errors
from .policies import Guardrails

DEMO_TEMPLATES = Path(__file__).resolve().parent / "demo_templates" / "catalog-info.yaml"
DEMO_TEMPLATE = ("default", "django-service")
DEMO_COMPONENT = "returns-service"
DEMO_REPO_OWNER = "demo"


def load(out) -> None:
    try:
        check_target_allowed(Location.Type.FILE, str(DEMO_TEMPLATES))
    except LocationNotAllowed as exc:
        out.write(f"Demo templates skipped: {exc} Add {DEMO_TEMPLATES.parent} to CAUSEWAY_FILE_ROOTS.")
        return
    location, _ = Location.objects.get_or_create(type=Location.Type.FILE, target=str(DEMO_TEMPLATES))
    report = refresh_location(location, force=True)
    out.write(f"Demo templates at {DEMO_TEMPLATES.parent}: {report.summary()}")

    ref = f"component:default/{DEMO_COMPONENT}"
    if Entity.objects.filter(ref=ref).exists():
        out.write(f"{ref} was already created from a template; not running it again.")
        return
    entity = template_entity(*DEMO_TEMPLATE)
    if entity is None:
        out.write("The django-service template is not in the catalog; no demo run.")
        return
    if conf.git_hosts_settings().get(conf.LOCAL_HOST, {}).get("remote_base") == conf.git_repos_dir().as_uri():
        leftover = conf.git_repos_dir() / DEMO_REPO_OWNER / f"{DEMO_COMPONENT}.git"
        if leftover.exists():  # an earlier demo run that did not get as far as the catalog
            shutil.rmtree(leftover)
    group = (Entity.objects.filter(ref="group:default/platform").first()
             or Entity.objects.filter(kind="group", orphan=False).order_by("name").first())
    values = {
        "name": DEMO_COMPONENT,
        "description": "Handles parcels sent back by customers.",
        "owner": group.ref if group else "group:default/platform",
        "python": "3.12",
        "database": "postgresql",
        "postgresVersion": 17,
        "healthcheck": True,
        "repoUrl": f"{conf.LOCAL_HOST}?owner={DEMO_REPO_OWNER}&repo={DEMO_COMPONENT}",
    }
    loaded = load_template(entity)
    errors = validation_errors(loaded, values, Guardrails())
    if errors:
        out.write(f"The demo values do not fit the template: {errors}")
        return
    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    task = create_task(user, loaded, values, via="demo")
    if task.status == task.Status.COMPLETED:
        out.write(f"Ran {entity.ref}: {ref} is published to {task.output.get('links', [{}])[-1].get('url', '')} "
                  "and registered in the catalog.")
    elif task.is_finished:
        out.write(f"The demo run of {entity.ref} {task.status}: {task.error}")
    else:
        out.write(f"The demo run of {entity.ref} is queued (task {task.pk}); a worker will finish it.")
