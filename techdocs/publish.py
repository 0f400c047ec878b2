"""Building an entity's docs and storing them: resolve the source, skip it when unchanged, build, store.

``build_entity_docs(entity, force=False) -> BuildOutcome`` is what the Celery task, the Rebuild button,
the API and ``manage.py techdocs_build`` call. A build that fails keeps the site's last good pages and
records the error and the log; a successful one replaces pages and files in one transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.models import Entity
from portal import audit

from . import conf
from .builder import BuildError, BuildResult, NavItem, UrlPrefix, build_site, source_hash
from .models import DocAsset, DocPage, DocSite, site_url
from .sources import TECHDOCS_REF_ANNOTATION, GitSource, checkout, resolve_source

logger = logging.getLogger(__name__)

# Types a browser shows inline that cannot run script; everything else is served as a download.
INLINE_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "image/x-icon",
    "image/vnd.microsoft.icon", "text/plain", "text/csv", "application/json",
})
# Heading text kept for search (PostgreSQL indexes at most this much of it, and 200000 characters of text).
HEADING_TEXT_LIMIT = 50_000


@dataclass(frozen=True)
class BuildOutcome:
    ref: str
    status: str  # "built", "unchanged", "failed", "removed", "skipped"
    message: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def ok(self) -> bool:
        return self.status in ("built", "unchanged")


def techdocs_ref(entity: Entity) -> str:
    annotations = (entity.data or {}).get("metadata", {}).get("annotations") or {}
    value = annotations.get(TECHDOCS_REF_ANNOTATION)
    return value.strip() if isinstance(value, str) else ""


def documented_entities() -> QuerySet[Entity]:
    """Entities carrying the techdocs-ref annotation."""
    return Entity.objects.filter(data__metadata__annotations__has_key=TECHDOCS_REF_ANNOTATION)


def refs_to_build(refs: list[str]) -> list[str]:
    """Of ``refs``, those with the annotation or with a site (whose annotation may have gone)."""
    refs = [ref.lower() for ref in refs]
    wanted = Entity.objects.filter(ref__in=refs).filter(
        Q(data__metadata__annotations__has_key=TECHDOCS_REF_ANNOTATION) | Q(docsite__isnull=False)
    )
    return list(wanted.values_list("ref", flat=True))


def build_entity_docs(entity: Entity, *, force: bool = False) -> BuildOutcome:
    ref_value = techdocs_ref(entity)
    if not ref_value:
        deleted, _ = DocSite.objects.filter(entity=entity).delete()
        if deleted:
            message = "The entity no longer has a techdocs-ref; its docs were removed."
            audit.record(None, "techdocs.site.remove", entity, message=message)
            return BuildOutcome(entity.ref, "removed", message)
        return BuildOutcome(entity.ref, "skipped", "The entity has no backstage.io/techdocs-ref annotation.")

    site, _created = DocSite.objects.get_or_create(entity=entity, defaults={"entity_ref": entity.ref})
    previous_status = site.status
    started = timezone.now()
    DocSite.objects.filter(pk=site.pk).update(status=DocSite.Status.BUILDING, last_attempt_at=started,
                                              techdocs_ref=ref_value, entity_ref=entity.ref)
    log: list[str] = [f"techdocs-ref {ref_value!r} of {entity.ref}, from {entity.source_location or 'no location'}"]
    content_hash = ""
    try:
        source = resolve_source(ref_value, entity.source_location, file_roots=conf.file_roots())
        if isinstance(source, GitSource) and not source.from_annotation:
            location = entity.location
            # The stored source location has credentials taken out; the registered location still has them.
            if location is not None and location.type == "git" and location.target:
                source = dataclasses.replace(source, remote=location.target)
        limits = conf.build_limits()
        with checkout(source, cache_dir=conf.git_cache_dir(), timeout=conf.git_timeout(),
                      allow_hosts=conf.allow_hosts(), limits=limits) as work:
            log.extend(work.log)
            content_hash = source_hash(work.root, work.docs_dir, limits=limits)
            if not force and _unchanged(site, previous_status, content_hash):
                return _keep(site, previous_status, content_hash, work.revision)
            base = site_url(entity)
            # The same URLs as models.page_url and models.asset_url, in a form worker processes can take.
            result = build_site(
                work.root, work.docs_dir, limits=limits,
                page_url=UrlPrefix(base, folders=True), asset_url=UrlPrefix(base),
            )
            log.extend(result.log)
            if not result.pages:
                raise BuildError(_no_pages_message(result))
            _store(site, result, work.revision, log, started)
    except BuildError as exc:
        return _fail(site, str(exc), log, content_hash)
    except Exception as exc:  # a bug must not leave the site "building" forever
        logger.exception("docs build of %s failed unexpectedly", entity.ref)
        return _fail(site, f"unexpected error while building ({type(exc).__name__}: {exc})", log, content_hash)
    site.refresh_from_db()
    summary = f"Built {site.page_count} page{'s' if site.page_count != 1 else ''}"
    if site.errors:
        summary += f" with {len(site.errors)} file error{'s' if len(site.errors) != 1 else ''}"
    return BuildOutcome(entity.ref, "built", summary + ".")


def _unchanged(site: DocSite, previous_status: str, content_hash: str) -> bool:
    if content_hash == site.source_hash and site.page_count:
        return True
    return previous_status == DocSite.Status.FAILED and content_hash == site.failed_hash


def _keep(site: DocSite, previous_status: str, content_hash: str, revision: str) -> BuildOutcome:
    if content_hash == site.source_hash and site.page_count:
        DocSite.objects.filter(pk=site.pk).update(status=DocSite.Status.OK, last_error="", failed_hash="",
                                                  revision=revision or site.revision)
        return BuildOutcome(site.entity_ref, "unchanged", "The docs source has not changed since the last build.")
    DocSite.objects.filter(pk=site.pk).update(status=previous_status)
    return BuildOutcome(site.entity_ref, "unchanged",
                        f"The docs source has not changed since the last build, which failed: {site.last_error}")


def _no_pages_message(result: BuildResult) -> str:
    if result.errors:
        return "no page could be built: " + "; ".join(str(issue) for issue in result.errors[:5])
    return f"the docs folder {result.docs_dir!r} has no Markdown pages"


def _fail(site: DocSite, error: str, log: list[str], content_hash: str) -> BuildOutcome:
    log.append(f"error: {error}")
    log.append("the build failed; the pages of the last good build are kept")
    DocSite.objects.filter(pk=site.pk).update(
        status=DocSite.Status.FAILED, last_error=error, build_log="\n".join(log), failed_hash=content_hash,
    )
    return BuildOutcome(site.entity_ref, "failed", f"The docs build failed: {error}")


def nav_to_json(items) -> list[dict[str, Any]]:
    return [
        {"title": item.title, "path": item.path, "url": item.url, "children": nav_to_json(item.children)}
        for item in items
    ]


def nav_from_json(items: list[dict[str, Any]]) -> list[NavItem]:
    return [
        NavItem(title=item.get("title", ""), path=item.get("path"), url=item.get("url"),
                children=tuple(nav_from_json(item.get("children") or [])))
        for item in items or []
    ]


def content_type_for(path: str) -> str:
    guessed, encoding = mimetypes.guess_type(path, strict=False)
    if encoding or not guessed:
        return "application/octet-stream"
    return guessed


def _store(site: DocSite, result: BuildResult, revision: str, log: list[str], started) -> None:
    pages = [
        DocPage(
            site=site, path=page.path, source_path=page.source_path, title=page.title[:500] or page.path or "Home",
            html=page.html, toc=page.toc, headings=page.headings,
            heading_text=" ".join(heading["title"] for heading in page.headings)[:HEADING_TEXT_LIMIT],
            text=page.text, edit_url=(page.edit_url or "")[:2000], order=order,
        )
        for order, page in enumerate(result.pages)
    ]
    assets = []
    for path, file_path in result.assets:
        try:
            content = file_path.read_bytes()
        except OSError as exc:
            log.append(f"warning: {path}: could not be read for storing ({exc.strerror or exc})")
            continue
        assets.append(DocAsset(site=site, path=path, content_type=content_type_for(path), content=content,
                               size=len(content), sha256=hashlib.sha256(content).hexdigest()))
    log.append(f"stored {len(pages)} pages and {len(assets)} files")
    with transaction.atomic():
        locked = DocSite.objects.select_for_update().get(pk=site.pk)
        locked.pages.all().delete()
        locked.assets.all().delete()
        DocPage.objects.bulk_create(pages, batch_size=200)
        DocAsset.objects.bulk_create(assets, batch_size=50)
        locked.site_name = result.site_name[:255]
        locked.site_description = result.site_description or ""
        locked.nav = nav_to_json(result.nav)
        locked.status = DocSite.Status.OK
        locked.built_at = started
        locked.revision = revision or result.content_hash[:12]
        locked.source_hash = result.content_hash
        locked.failed_hash = ""
        locked.last_error = ""
        locked.build_log = "\n".join(log)
        locked.errors = [{"path": issue.path, "message": issue.message} for issue in result.errors]
        locked.warnings = [{"path": issue.path, "message": issue.message} for issue in result.warnings]
        locked.page_count = len(pages)
        locked.save()
