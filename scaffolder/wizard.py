"""Wizard state kept in the session, one entry per template: values, secrets, progress.

Secret values live only here (never in a model) and are dropped as soon as the task is
created, or when the wizard is started over.
"""

from __future__ import annotations

import copy
from typing import Any

from . import formschema
from .launch import get_path

PREFIX = "scaffolder:wizard:"


def _drop_path(values: dict[str, Any], name: str) -> None:
    parts = name.split(".")
    chain = [values]
    node: Any = values
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
        chain.append(node)
    chain[-1].pop(parts[-1], None)
    for depth in range(len(parts) - 1, 0, -1):  # remove groups left empty
        parent = chain[depth - 1]
        if parent.get(parts[depth - 1]) == {}:
            parent.pop(parts[depth - 1])


def _has_path(values: Any, name: str) -> bool:
    node = values
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


class WizardState:
    def __init__(self, session, template_ref: str, etag: str = "") -> None:
        self.session = session
        self.key = PREFIX + template_ref
        data = session.get(self.key) or {}
        if etag and data.get("etag") not in ("", None, etag):
            data = {**data, "reached": 0}  # the template changed: walk through the steps again
        self.values: dict[str, Any] = data.get("values") or {}
        self.secrets: dict[str, Any] = data.get("secrets") or {}
        self.reached: int = int(data.get("reached") or 0)
        self.etag = etag

    def save(self) -> None:
        self.session[self.key] = {
            "values": self.values, "secrets": self.secrets, "reached": self.reached, "etag": self.etag,
        }
        self.session.modified = True

    def clear(self) -> None:
        self.session.pop(self.key, None)
        self.values, self.secrets, self.reached = {}, {}, 0

    def merged(self) -> dict[str, Any]:
        """Every value, secrets included (for validation and for the run)."""
        values = copy.deepcopy(self.values)
        for name, value in self.secrets.items():
            formschema.set_path(values, name, value)
        return values

    def step_secrets(self, step: formschema.FormStep) -> dict[str, Any]:
        names = {spec.name for spec in step.all_fields}
        return {name: value for name, value in self.secrets.items() if name in names}

    def store_step(self, step: formschema.FormStep, values: dict[str, Any], secret_names: set[str]) -> None:
        """Replace what this step holds by ``values`` (fields hidden by a condition are dropped)."""
        for spec in step.all_fields:
            _drop_path(self.values, spec.name)
            self.secrets.pop(spec.name, None)
        for spec in formschema.fields_for(step, values):
            if not _has_path(values, spec.name):
                continue
            value = get_path(values, spec.name)
            if spec.name in secret_names or spec.secret:
                if value not in (None, ""):
                    self.secrets[spec.name] = value
            else:
                formschema.set_path(self.values, spec.name, copy.deepcopy(value))

    def prefill(self, values: dict[str, Any], secret_names: set[str]) -> None:
        """Start over from earlier values (Run again); secrets must be entered again."""
        self.values = copy.deepcopy(values)
        for name in secret_names:
            _drop_path(self.values, name)
        self.secrets = {}
        self.reached = 0


def clear_all(session) -> None:
    for key in [k for k in session.keys() if k.startswith(PREFIX)]:
        session.pop(key, None)
