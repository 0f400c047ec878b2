"""The catalog's stored state: locations, the entities read from them, and their relations.

An entity's full Backstage JSON lives in `data`; the columns beside it are copies of the
fields the pages filter, sort and facet on, so those queries use indexes instead of JSON.
Refs are stored lower-cased (`kind:namespace/name`) because Backstage compares them
case-insensitively.
"""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Location(models.Model):
    class Type(models.TextChoices):
        FILE = "file", "Local path"
        GIT = "git", "Git repository"
        URL = "url", "URL"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        OK = "ok", "OK"
        WARNING = "warning", "Imported with errors"
        ERROR = "error", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=8, choices=Type.choices)
    target = models.CharField(max_length=2000)
    git_ref = models.CharField(max_length=255, blank=True, help_text="Branch, tag or commit (git only)")
    git_path = models.CharField(max_length=1000, blank=True, help_text="Path inside the repository (git only)")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_changed_at = models.DateTimeField(null=True, blank=True)
    # The reason the last read failed as a whole (nothing was changed then).
    last_error = models.TextField(blank=True)
    # Problems with single targets or documents: [{"target", "message", "line", "ref"}].
    errors = models.JSONField(default=list, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    revision = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["target"]
        constraints = [
            models.UniqueConstraint(fields=["type", "target", "git_ref", "git_path"], name="unique_location")
        ]

    def __str__(self) -> str:
        suffix = f"@{self.git_ref}" if self.git_ref else ""
        path = f" ({self.git_path})" if self.git_path else ""
        return f"{self.type}:{self.target}{suffix}{path}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:location", args=[self.pk])

    @property
    def display_target(self) -> str:
        return str(self)


class Entity(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ref = models.CharField(max_length=400, unique=True)
    kind = models.CharField(max_length=63, db_index=True)  # lower-case, for filtering
    namespace = models.CharField(max_length=63, db_index=True)
    name = models.CharField(max_length=63)
    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    spec_type = models.CharField(max_length=100, blank=True, db_index=True)
    lifecycle = models.CharField(max_length=100, blank=True, db_index=True)
    owner_ref = models.CharField(max_length=400, blank=True, db_index=True)
    system_ref = models.CharField(max_length=400, blank=True, db_index=True)
    tags = models.JSONField(default=list, blank=True)
    data = models.JSONField()
    etag = models.CharField(max_length=64)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="entities"
    )
    source_location = models.CharField(max_length=2100, blank=True)  # managed-by-location
    orphan = models.BooleanField(default=False, db_index=True)
    # Processing errors Backstage reports in `status.items`: [{"type", "level", "message", "error"}].
    errors = models.JSONField(default=list, blank=True)
    has_errors = models.BooleanField(default=False, db_index=True)
    search_text = models.TextField(blank=True)
    # Hash of the source document as read; an unchanged document is not validated again.
    source_hash = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ref"]
        verbose_name_plural = "entities"
        indexes = [
            models.Index(fields=["kind", "name"]),
            models.Index(fields=["kind", "spec_type"]),
            models.Index(fields=["name", "ref"]),  # the list's default order
        ]

    def __str__(self) -> str:
        return self.ref

    def get_absolute_url(self) -> str:
        return reverse("catalog:entity", args=[self.namespace, self.kind, self.name])

    @property
    def display_name(self) -> str:
        return self.title or self.data.get("metadata", {}).get("name", self.name)

    @property
    def kind_label(self) -> str:
        return self.data.get("kind", self.kind)

    @property
    def metadata(self) -> dict:
        return self.data.get("metadata", {})

    @property
    def spec(self) -> dict:
        return self.data.get("spec", {}) or {}


class EntityTag(models.Model):
    """One row per tag, so tag facets count with an index instead of scanning JSON."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=63, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity", "tag"], name="unique_entity_tag")]

    def __str__(self) -> str:
        return self.tag


class Relation(models.Model):
    """A directed relation `source_ref -type-> target_ref`, emitted while processing `originating`.

    Processing one entity emits both directions (`a ownedBy b` and `b ownerOf a`), as Backstage
    does; an entity's relations are the rows whose source is its ref, whoever emitted them.
    Rows go away with the entity that emitted them. The target may not exist (yet).
    """

    originating = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="emitted_relations")
    source_ref = models.CharField(max_length=400)
    type = models.CharField(max_length=50)
    target_ref = models.CharField(max_length=400)

    class Meta:
        indexes = [
            models.Index(fields=["source_ref", "type"]),
            models.Index(fields=["target_ref", "type"]),
        ]

    def __str__(self) -> str:
        return f"{self.source_ref} {self.type} {self.target_ref}"


class CatalogState(models.Model):
    """One row whose version goes up whenever entities change: cached counts key on it."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalog version {self.version}"
