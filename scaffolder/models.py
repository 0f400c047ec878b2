"""The scaffolder's stored state: tasks (template runs), their steps and log, and guardrail policies.

A task keeps a snapshot of the template it ran, so a later change to the template does not
change what its page shows. Parameters are stored with every secret value replaced by
``***``; secret values themselves are never written to the database.
"""

import fnmatch
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

REDACTED = "***"


class Task(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Queued"
        PROCESSING = "processing", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    template_ref = models.CharField(max_length=400, db_index=True)
    template_title = models.CharField(max_length=255, blank=True)
    # The Template entity as it was when the task was created, and where its files live.
    template = models.JSONField()
    template_location = models.CharField(max_length=2100, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="scaffolder_tasks"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_by", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.template_ref} ({self.id})"

    def get_absolute_url(self) -> str:
        return reverse("scaffolder:task", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def display_title(self) -> str:
        return self.template_title or self.template_ref.split("/")[-1]

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def badge(self) -> str:
        return {"completed": "ok", "failed": "bad", "cancelled": "warn", "processing": "accent"}.get(self.status, "")


class TaskStep(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    step_id = models.CharField(max_length=200)
    name = models.CharField(max_length=255)
    action = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["task", "position"]
        constraints = [models.UniqueConstraint(fields=["task", "step_id"], name="unique_task_step")]

    def __str__(self) -> str:
        return f"{self.step_id} ({self.status})"

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def badge(self) -> str:
        return {"completed": "ok", "failed": "bad", "cancelled": "warn", "running": "accent"}.get(self.status, "")


class TaskLogLine(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="log_lines")
    step_id = models.CharField(max_length=200, blank=True)
    seq = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, default="info")
    message = models.TextField()

    class Meta:
        ordering = ["task", "seq"]
        constraints = [models.UniqueConstraint(fields=["task", "seq"], name="unique_task_log_seq")]

    def __str__(self) -> str:
        return self.message[:80]


def _string_list(value) -> list[str]:
    return [str(item).strip() for item in value or [] if str(item).strip()]


class TemplatePolicy(models.Model):
    """Guardrails staff set on templates: who may run them, tighter fields, where they may publish."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    template_pattern = models.CharField(
        max_length=400,
        help_text="Template refs this policy applies to; * matches anything, e.g. template:default/* "
        "or template:default/django-service.",
    )
    allowed_groups = models.JSONField(
        default=list,
        blank=True,
        help_text='Group refs whose members may run the templates, e.g. ["group:default/platform"]. '
        "Empty: everyone may.",
    )
    extra_constraints = models.JSONField(
        default=dict,
        blank=True,
        help_text='More JSON Schema per field (dotted names), e.g. {"name": {"pattern": "^svc-"}}; '
        '{"required": true} makes a field mandatory.',
    )
    allowed_hosts = models.JSONField(
        default=list, blank=True, help_text='Git hosts repositories may be published to, e.g. ["localhost"]. '
        "Empty: any configured host."
    )
    allowed_owners = models.JSONField(
        default=list, blank=True, help_text='Repository owners (organisations) allowed, e.g. ["platform"]. Empty: any.'
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "template policies"

    def __str__(self) -> str:
        return self.name

    def matches(self, template_ref: str) -> bool:
        return fnmatch.fnmatchcase(template_ref.lower(), self.template_pattern.strip().lower())

    @property
    def group_refs(self) -> list[str]:
        return [ref.lower() for ref in _string_list(self.allowed_groups)]

    @property
    def hosts(self) -> list[str]:
        return [host.lower() for host in _string_list(self.allowed_hosts)]

    @property
    def owners(self) -> list[str]:
        return _string_list(self.allowed_owners)
