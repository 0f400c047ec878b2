"""Guardrails: which groups may run a template, tighter field rules, and where tasks may publish.

Every enabled TemplatePolicy whose pattern matches a template's ref applies, all of them at
once: a person must be allowed by each policy that names groups; extra constraints add up;
allowed hosts and owners are intersected. With no matching policy everything is allowed.
The same rules are enforced on the form, in the API and, for publishing, while the task runs.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from catalog.ownership import identity_refs

from . import formschema
from .actions.registry import Action, ActionContext, ActionError, ActionRegistry
from .expressions import FilterArgumentError, parse_repo_url
from .models import TemplatePolicy

PUBLISH_ACTIONS = ("publish:git", "publish:github", "publish:gitlab")


@dataclass
class Guardrails:
    allowed: bool = True
    reason: str = ""
    extra_constraints: dict[str, Any] = field(default_factory=dict)
    hosts: set[str] | None = None  # None: any configured host
    owners: set[str] | None = None  # None: any owner
    policies: list[str] = field(default_factory=list)

    def host_allowed(self, host: str) -> bool:
        return self.hosts is None or host.lower() in self.hosts

    def owner_allowed(self, owner: str) -> bool:
        return self.owners is None or owner in self.owners

    def publish_problem(self, repo_url: str) -> str | None:
        """Why publishing to ``repo_url`` is refused, or None."""
        try:
            parsed = parse_repo_url(repo_url)
        except FilterArgumentError:
            return None  # malformed values are reported by the form or the action itself
        host = parsed["host"]
        owner = parsed.get("owner") or parsed.get("organization") or parsed.get("workspace") or ""
        if not self.host_allowed(host):
            allowed = ", ".join(sorted(self.hosts or [])) or "none"
            return f"Publishing to {host} is not allowed here (allowed hosts: {allowed})."
        if not self.owner_allowed(owner):
            allowed = ", ".join(sorted(self.owners or [])) or "none"
            return f"Publishing under the owner {owner!r} is not allowed here (allowed owners: {allowed})."
        return None


def user_group_refs(user) -> set[str]:
    """Catalog groups (and the catalog user) a person acts as, plus their portal groups by name."""
    if not getattr(user, "is_authenticated", False):
        return set()
    refs = set(identity_refs(user))
    refs |= {f"group:default/{name.lower()}" for name in user.groups.values_list("name", flat=True)}
    return refs


def matching_policies(template_ref: str) -> list[TemplatePolicy]:
    return [policy for policy in TemplatePolicy.objects.filter(enabled=True) if policy.matches(template_ref)]


def _merge_constraint(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    first, second = dict(first), dict(second)
    first_required = first.pop("required", None) is True
    second_required = second.pop("required", None) is True
    required = first_required or second_required
    merged: dict[str, Any] = {"allOf": [first, second]}
    if required:
        merged["required"] = True
    return merged


def guardrails_for(
    user, template_ref: str, policies: Iterable[TemplatePolicy] | None = None, groups: set[str] | None = None
) -> Guardrails:
    """The guardrails for ``user`` running ``template_ref``; ``policies`` (all enabled ones) and
    ``groups`` (the person's group refs) may be passed in when checking many templates at once."""
    if policies is None:
        policies = matching_policies(template_ref)
    else:
        policies = [policy for policy in policies if policy.enabled and policy.matches(template_ref)]
    result = Guardrails(policies=[p.name for p in policies])
    for policy in policies:
        if policy.group_refs:
            groups = user_group_refs(user) if groups is None else groups
            if not groups & set(policy.group_refs):
                result.allowed = False
                result.reason = (
                    f"The policy “{policy.name}” lets only members of "
                    f"{', '.join(policy.group_refs)} run this template."
                )
        for name, schema in (policy.extra_constraints or {}).items():
            if not isinstance(schema, dict):
                continue
            existing = result.extra_constraints.get(name)
            result.extra_constraints[name] = (
                _merge_constraint(existing, schema) if existing is not None else copy.deepcopy(schema)
            )
        if policy.hosts:
            result.hosts = set(policy.hosts) if result.hosts is None else result.hosts & set(policy.hosts)
        if policy.owners:
            result.owners = set(policy.owners) if result.owners is None else result.owners & set(policy.owners)
    return result


def check_extra_constraints(value: Any) -> None:
    """Raise FormSchemaError when ``value`` is not usable as extra constraints."""
    step = formschema.parameter_steps({"type": "object", "properties": {}})[0]
    formschema.validate_step(step, {}, value)


def publish_errors(steps: list[formschema.FormStep], values: dict[str, Any], guardrails: Guardrails
                   ) -> dict[str, list[str]]:
    """Errors for RepoUrlPicker values that break a policy's hosts or owners."""
    errors: dict[str, list[str]] = {}
    for step in steps:
        for spec in formschema.fields_for(step, values):
            if spec.kind != "repo_url_picker":
                continue
            value = _get_path(values, spec.name)
            if isinstance(value, str) and value:
                problem = guardrails.publish_problem(value)
                if problem:
                    errors.setdefault(spec.name, []).append(problem)
    return errors


def guarded_registry(registry: ActionRegistry, guardrails: Guardrails) -> ActionRegistry:
    """The same actions, with publish:* refusing targets the policies do not allow."""
    if guardrails.hosts is None and guardrails.owners is None:
        return registry
    guarded = ActionRegistry()
    for action in registry.list():
        if action.id in PUBLISH_ACTIONS:
            action = dataclasses.replace(action, handler=_guard(action, guardrails))
        guarded.register(action)
    return guarded


def _guard(action: Action, guardrails: Guardrails):
    def handler(ctx: ActionContext, data: dict[str, Any]):
        problem = guardrails.publish_problem(str(data.get("repoUrl") or ""))
        if problem:
            raise ActionError(problem)
        return action.handler(ctx, data)

    return handler


def _get_path(values: Any, name: str) -> Any:
    node = values
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
