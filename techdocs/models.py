"""Built docs, stored per catalog entity: the site (nav, status, log), its pages and the files they use.

A build replaces a site's pages and files in one transaction, and only when it succeeded: a failed
build records its error and log on the site and leaves the last good pages in place.
"""

from urllib.parse import quote

from django.db import models
from django.urls import reverse


class DocSite(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Not built yet"
        BUILDING = "building", "Building"
        OK = "ok", "Built"
        FAILED = "failed", "Failed"

    entity = models.OneToOneField("catalog.Entity", on_delete=models.CASCADE, related_name="docsite")
    # A copy of the entity's ref, for the admin, logs and ordering.
    entity_ref = models.CharField(max_length=400, db_index=True)
    techdocs_ref = models.CharField(max_length=2000, blank=True)
    site_name = models.CharField(max_length=255, blank=True)
    site_description = models.TextField(blank=True)
    # [{"title", "path", "url", "children"}], as the builder's NavItem tree.
    nav = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    # When the stored pages were built, from which source revision and content hash.
    built_at = models.DateTimeField(null=True, blank=True)
    revision = models.CharField(max_length=64, blank=True)
    source_hash = models.CharField(max_length=64, blank=True)
    # The last attempt, successful or not.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failed_hash = models.CharField(max_length=64, blank=True)
    build_log = models.TextField(blank=True)
    # Problems with single files in the stored build: [{"path", "message"}].
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    page_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["entity_ref"]

    def __str__(self) -> str:
        return self.site_name or self.entity_ref

    def get_absolute_url(self) -> str:
        return reverse("techdocs:site", args=[self.entity.namespace, self.entity.kind, self.entity.name])

    @property
    def status_badge(self) -> str:
        return {"ok": "ok", "failed": "bad", "building": "accent"}.get(self.status, "warn")


class DocPage(models.Model):
    site = models.ForeignKey(DocSite, on_delete=models.CASCADE, related_name="pages")
    # "" for the site's index page, "guide/install" for guide/install.md.
    path = models.CharField(max_length=1000)
    source_path = models.CharField(max_length=1000, blank=True)
    title = models.CharField(max_length=500)
    # Sanitized by the builder; shown as it is.
    html = models.TextField()
    toc = models.JSONField(default=list, blank=True)
    headings = models.JSONField(default=list, blank=True)
    # The heading titles as one line, for search.
    heading_text = models.TextField(blank=True)
    text = models.TextField(blank=True)
    edit_url = models.URLField(max_length=2000, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["site", "order"]
        constraints = [models.UniqueConstraint(fields=["site", "path"], name="unique_doc_page")]

    def __str__(self) -> str:
        return f"{self.site}: {self.title}"

    def get_absolute_url(self) -> str:
        return page_url(self.site.entity, self.path)


class DocAsset(models.Model):
    """A file a page refers to (an image, a download), stored with the build."""

    site = models.ForeignKey(DocSite, on_delete=models.CASCADE, related_name="assets")
    path = models.CharField(max_length=1000)
    content_type = models.CharField(max_length=255)
    content = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["site", "path"]
        constraints = [models.UniqueConstraint(fields=["site", "path"], name="unique_doc_asset")]

    def __str__(self) -> str:
        return f"{self.site}: {self.path}"


def site_url(entity) -> str:
    return reverse("techdocs:site", args=[entity.namespace, entity.kind, entity.name])


def page_url(entity, path: str, *, base: str | None = None) -> str:
    """The reader URL of a page: pages are folders (``.../guide/install/``), the index page is the site."""
    base = base or site_url(entity)
    return f"{base}{quote(path, safe='/')}/" if path else base


def asset_url(entity, path: str, *, base: str | None = None) -> str:
    return f"{base or site_url(entity)}{quote(path, safe='/')}"
