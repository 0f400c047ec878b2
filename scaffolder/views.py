"""Scaffolder pages: the template list, the wizard (steps, review), tasks, and the template editor."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog.models import Entity, EntityTag
from catalog.presentation import short_ref

from . import conf, formschema, presentation
from .catalog_adapter import DjangoCatalog
from .execution import PollingCancelToken, reader_for, user_info
from .forms import CatalogChoices, StepForm
from .launch import (
    LoadedTemplate,
    can_manage,
    cancel_task,
    create_task,
    load_template,
    template_entity,
    validation_errors,
)
from .models import Task, TemplatePolicy
from .policies import guardrails_for, user_group_refs
from .runner import RunLimits, RunOptions, run_template
from .template import TemplateError, parse_template
from .wizard import WizardState

PAGE_SIZE = 50
LOG_LINES_SHOWN = 2000
MAX_EDITOR_BYTES = 512 * 1024


# --- the template list ------------------------------------------------------------------------------


def _templates():
    return Entity.objects.filter(kind="template", orphan=False)


def index(request: HttpRequest):
    tag = request.GET.get("tag", "").strip()
    owner = request.GET.get("owner", "").strip().lower()
    text = request.GET.get("q", "").strip()[:200]
    templates = _templates()
    if tag:
        templates = templates.filter(tag_rows__tag=tag)
    if owner:
        templates = templates.filter(owner_ref=owner)
    for word in text.lower().split()[:8]:
        templates = templates.filter(search_text__contains=word)
    templates = templates.distinct().order_by("title", "name").only(
        "ref", "kind", "namespace", "name", "title", "description", "owner_ref", "tags", "spec_type", "data"
    )
    all_templates = _templates()
    tags = (EntityTag.objects.filter(entity__in=all_templates.values("pk")).values_list("tag")
            .annotate(n=Count("entity_id")).order_by("-n", "tag")[:30])
    owners = all_templates.exclude(owner_ref="").values_list("owner_ref").annotate(n=Count("pk")).order_by("owner_ref")
    cards = []
    policies = list(TemplatePolicy.objects.filter(enabled=True))
    groups = user_group_refs(request.user) if any(p.group_refs for p in policies) else set()
    for entity in templates[:500]:
        allowed = guardrails_for(request.user, entity.ref, policies, groups).allowed
        cards.append({"entity": entity, "allowed": allowed,
                      "url": reverse("scaffolder:template", args=[entity.namespace, entity.name])})
    context = {
        "cards": cards,
        "tags": [(value, count, value == tag) for value, count in tags],
        "owners": [(value, short_ref(value, default_kind="group"), count, value == owner) for value, count in owners],
        "tag": tag,
        "owner": owner,
        "text": text,
        "any_filter": bool(tag or owner or text),
        "total": all_templates.count(),
    }
    template = "scaffolder/index.html#results" if request.htmx else "scaffolder/index.html"
    return render(request, template, context)


# --- the wizard -------------------------------------------------------------------------------------


def _template_or_404(namespace: str, name: str) -> Entity:
    entity = template_entity(namespace, name)
    if entity is None:
        raise Http404(f"No template {namespace}/{name} in the catalog.")
    return entity


def _prepare(request: HttpRequest, namespace: str, name: str):
    """(loaded template, guardrails, state) or an HttpResponse explaining why not."""
    entity = _template_or_404(namespace, name)
    try:
        loaded = load_template(entity)
    except (TemplateError, formschema.FormSchemaError) as exc:
        return render(request, "scaffolder/unusable.html", {"entity": entity, "error": str(exc)})
    guardrails = guardrails_for(request.user, entity.ref)
    if not guardrails.allowed:
        return render(request, "scaffolder/denied.html", {"entity": entity, "reason": guardrails.reason}, status=403)
    return loaded, guardrails, WizardState(request.session, entity.ref, entity.etag)


def _progress(loaded: LoadedTemplate, current: int, reached: int) -> list[dict[str, Any]]:
    entity = loaded.entity
    items = []
    for step in loaded.steps:
        items.append({
            "title": step.title,
            "state": "current" if step.index == current else ("done" if step.index < reached else "todo"),
            "url": reverse("scaffolder:step", args=[entity.namespace, entity.name, step.index])
            if step.index <= reached else "",
        })
    review_url = reverse("scaffolder:review", args=[entity.namespace, entity.name])
    items.append({"title": "Review", "state": "current" if current == len(loaded.steps) else "todo",
                  "url": review_url if reached >= len(loaded.steps) else ""})
    return items


def wizard(request: HttpRequest, namespace: str, name: str, index: int = 0):
    prepared = _prepare(request, namespace, name)
    if isinstance(prepared, HttpResponse):
        return prepared
    loaded, guardrails, state = prepared
    entity = loaded.entity
    if request.GET.get("restart"):
        state.clear()
        state.save()
    if index >= len(loaded.steps):
        return redirect("scaffolder:review", entity.namespace, entity.name)
    if index > state.reached:
        return redirect("scaffolder:step", entity.namespace, entity.name, state.reached)
    step = loaded.steps[index]
    refresh_url = reverse("scaffolder:step", args=[entity.namespace, entity.name, index])
    catalog = CatalogChoices(request.user)
    common = {"catalog": catalog, "guardrails": guardrails, "kept_secrets": state.step_secrets(step),
              "refresh_url": refresh_url}
    status = 200
    if request.method == "POST":
        bound = StepForm(step, data=request.POST, **common)
        if request.POST.get("_refresh"):
            form = StepForm(step, values=bound.values, show_secrets=True, **common)
            return render(request, "scaffolder/wizard_step.html#fields", {"form": form})
        if request.POST.get("_action") == "back":
            state.store_step(step, bound.values, loaded.secret_names())
            state.save()
            return redirect("scaffolder:step", entity.namespace, entity.name, max(index - 1, 0))
        if bound.is_valid():
            state.store_step(step, bound.step_values(), loaded.secret_names())
            state.reached = max(state.reached, index + 1)
            state.save()
            if index + 1 < len(loaded.steps):
                return redirect("scaffolder:step", entity.namespace, entity.name, index + 1)
            return redirect("scaffolder:review", entity.namespace, entity.name)
        form, status = bound, 200
    else:
        form = StepForm(step, values=state.values, **common)
    context = {
        "loaded": loaded,
        "entity": entity,
        "step": step,
        "index": index,
        "form": form,
        "progress": _progress(loaded, index, state.reached),
        "is_last": index + 1 == len(loaded.steps),
    }
    return render(request, "scaffolder/wizard_step.html", context, status=status)


def _first_step_with(loaded: LoadedTemplate, names: set[str]) -> int:
    for step in loaded.steps:
        if any(spec.name in names for spec in step.all_fields):
            return step.index
    return 0


def review(request: HttpRequest, namespace: str, name: str):
    prepared = _prepare(request, namespace, name)
    if isinstance(prepared, HttpResponse):
        return prepared
    loaded, guardrails, state = prepared
    entity = loaded.entity
    if state.reached < len(loaded.steps):
        return redirect("scaffolder:step", entity.namespace, entity.name, state.reached)
    values = state.merged()
    errors = validation_errors(loaded, values, guardrails)
    if errors:
        labels = {spec.name: spec.label for step in loaded.steps for spec in step.all_fields}
        for field_name, field_errors in errors.items():
            label = labels.get(field_name, "" if field_name == formschema.NON_FIELD else field_name)
            for message in field_errors:
                messages.error(request, f"{label}: {message}" if label else message)
        index = _first_step_with(loaded, set(errors))
        state.reached = min(state.reached, index)
        state.save()
        return redirect("scaffolder:step", entity.namespace, entity.name, index)
    if request.method == "POST":
        task = create_task(request.user, loaded, values, request=request)
        state.clear()
        request.session.modified = True
        return redirect(task)
    context = {
        "loaded": loaded,
        "entity": entity,
        "rows": formschema.review_rows(loaded.steps, values),
        "progress": _progress(loaded, len(loaded.steps), state.reached),
        "back_url": reverse("scaffolder:step", args=[entity.namespace, entity.name, len(loaded.steps) - 1])
        if loaded.steps else "",
    }
    return render(request, "scaffolder/review.html", context)


# --- tasks ------------------------------------------------------------------------------------------


def _task_for(request: HttpRequest, pk) -> Task:
    task = Task.objects.select_related("created_by").filter(pk=pk).first()
    if task is None or not can_manage(request.user, task):
        raise Http404("No such task.")
    return task


def task_list(request: HttpRequest):
    show_all = request.user.is_staff and request.GET.get("scope") == "all"
    tasks = Task.objects.select_related("created_by").defer("template", "output")
    if not show_all:
        tasks = tasks.filter(created_by=request.user)
    status = request.GET.get("status", "")
    if status in Task.Status.values:
        tasks = tasks.filter(status=status)
    page = Paginator(tasks.order_by("-created_at"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "scaffolder/task_list.html", {
        "page": page, "show_all": show_all, "status": status, "statuses": Task.Status.choices,
    })


def task_detail(request: HttpRequest, pk):
    task = _task_for(request, pk)
    steps = list(task.steps.all())
    total = task.log_lines.count()
    lines = list(task.log_lines.order_by("-seq")[:LOG_LINES_SHOWN])[::-1]
    context = {
        "task": task,
        "steps": [{"step": s, "duration": presentation.duration_text(s.duration)} for s in steps],
        "lines": lines,
        "hidden_lines": max(total - len(lines), 0),
        "links": presentation.output_links(task.output),
        "texts": presentation.output_texts(task.output),
        "duration": presentation.duration_text(task.duration),
        "can_manage": can_manage(request.user, task),
        "rerun_possible": template_entity(*_ns_name(task.template_ref)) is not None,
    }
    template = "scaffolder/task_detail.html#live" if request.htmx else "scaffolder/task_detail.html"
    return render(request, template, context)


def _ns_name(ref: str) -> tuple[str, str]:
    rest = ref.split(":", 1)[-1]
    namespace, _, name = rest.rpartition("/")
    return namespace or "default", name


@require_POST
def task_cancel(request: HttpRequest, pk):
    task = _task_for(request, pk)
    messages.info(request, cancel_task(request.user, task, request=request))
    return redirect(task)


@require_POST
def task_rerun(request: HttpRequest, pk):
    task = _task_for(request, pk)
    namespace, name = _ns_name(task.template_ref)
    entity = template_entity(namespace, name)
    if entity is None:
        messages.error(request, f"The template {task.template_ref} is no longer in the catalog.")
        return redirect(task)
    try:
        loaded = load_template(entity)
    except (TemplateError, formschema.FormSchemaError) as exc:
        messages.error(request, f"The template cannot be shown as a form: {exc}")
        return redirect(task)
    state = WizardState(request.session, entity.ref, entity.etag)
    state.prefill(task.parameters or {}, loaded.secret_names())
    state.save()
    if loaded.secret_names():
        messages.info(request, "The form is filled in with the values of the earlier run; enter the secrets again.")
    else:
        messages.info(request, "The form is filled in with the values of the earlier run.")
    return redirect("scaffolder:step", entity.namespace, entity.name, 0)


# --- the template editor ----------------------------------------------------------------------------


def _editor_yaml(entity: Entity) -> str:
    data = json.loads(json.dumps(entity.data))
    metadata = data.get("metadata") or {}
    for key in ("uid", "etag"):
        metadata.pop(key, None)
    annotations = metadata.get("annotations") or {}
    for key in [k for k in annotations if k.startswith("backstage.io/managed-by")]:
        annotations.pop(key)
    if not annotations:
        metadata.pop("annotations", None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def _parse_editor_yaml(text: str):
    if len(text.encode()) > MAX_EDITOR_BYTES:
        raise TemplateError(f"the template is larger than {MAX_EDITOR_BYTES // 1024} KB")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(f"not valid YAML: {exc}") from None
    template = parse_template(data)
    steps = formschema.parameter_steps((data.get("spec") or {}).get("parameters"))
    return template, steps


def editor(request: HttpRequest):
    source_ref = (request.POST.get("source") or request.GET.get("template") or "").strip()
    source = None
    if source_ref:
        namespace, _, name = source_ref.rpartition("/")
        source = template_entity(namespace or "default", name)
    text = request.POST.get("template_yaml")
    if text is None:
        text = _editor_yaml(source) if source else ""
    action = request.POST.get("_action", "")
    context: dict[str, Any] = {
        "text": text, "source": source,
        "sources": _templates().order_by("title", "name").only("ref", "namespace", "name", "title")[:500],
    }
    if request.method != "POST" or not text.strip():
        return render(request, "scaffolder/editor.html", context)
    try:
        template, steps = _parse_editor_yaml(text)
    except (TemplateError, formschema.FormSchemaError) as exc:
        context["yaml_error"] = str(exc)
        return render(request, "scaffolder/editor.html", context)
    catalog = CatalogChoices(request.user)
    refresh_url = reverse("scaffolder:editor")
    forms = []
    for step in steps:
        kwargs = {"catalog": catalog, "prefix": f"s{step.index}", "refresh_url": refresh_url,
                  "target_id": f"step-{step.index}-fields"}
        posted = any(key.startswith(f"s{step.index}-") for key in request.POST)
        form = StepForm(step, data=request.POST, **kwargs)
        if action != "dry-run" and not request.POST.get("_refresh"):
            # Show the form again with what was typed, without judging it yet.
            form = StepForm(step, values=form.values if posted else None, **kwargs)
        forms.append(form)
    if request.POST.get("_refresh"):
        index = int(request.POST.get("_step") or 0) if str(request.POST.get("_step") or "0").isdigit() else 0
        index = min(index, len(forms) - 1)
        shown = StepForm(steps[index], values=forms[index].values, show_secrets=True, catalog=catalog,
                         prefix=f"s{index}", refresh_url=refresh_url, target_id=f"step-{index}-fields")
        return render(request, "scaffolder/wizard_step.html#fields", {"form": shown})
    context.update({"template": template, "forms": forms})
    if action == "dry-run" and all(form.is_valid() for form in forms):
        values: dict[str, Any] = {}
        for form in forms:
            values = _merge(values, form.step_values())
        context["result"] = _dry_run(request, template, steps, values, source)
    elif action == "dry-run":
        context["form_errors"] = True
    return render(request, "scaffolder/editor.html", context)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merge(merged[key], value) if isinstance(merged.get(key), dict) and isinstance(value, dict) \
            else value
    return merged


def _dry_run(request, template, steps, values, source: Entity | None) -> dict[str, Any]:
    """Run the template in dry-run mode: nothing is published, registered or stored."""
    limits = conf.run_limits()
    reader = None
    catalog = DjangoCatalog(user=request.user, readonly=True)
    secret_names = formschema.secret_fields(steps) | set(template.secret_parameter_names())
    secret_values = []
    for name in secret_names:
        node: Any = values
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str | int | float) and str(node):
            secret_values.append(str(node))
    try:
        reader = reader_for(source.source_location) if source is not None else None
        result = run_template(
            template,
            values,
            RunOptions(
                registry=conf.action_registry(), reader=reader, catalog=catalog, git_hosts=conf.git_hosts(),
                user=user_info(request.user), secret_values=secret_values, dry_run=True,
                limits=RunLimits(task_seconds=min(limits.task_seconds, 120), step_seconds=min(limits.step_seconds, 60),
                                 workspace=limits.workspace, max_wait_seconds=5),
                work_dir=conf.work_dir(),
            ),
            cancel=PollingCancelToken(pollers=[catalog.pump]),
        )
    except Exception as exc:  # a reader that cannot be built, for instance
        return {"status": "failed", "error": str(exc), "steps": [], "log": [], "files": []}
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    return {
        "status": str(result.status),
        "error": result.error or "",
        "steps": result.steps,
        "log": result.log,
        "files": presentation.file_previews(result.files),
        "links": presentation.output_links(result.output),
        "texts": presentation.output_texts(result.output),
    }

