"""TechDocs pages: the list of documented entities, the reader, files, the Rebuild button, the entity tab."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog.models import Entity
from catalog.ownership import can_act
from portal import audit

from .builder import previous_and_next
from .models import DocAsset, DocPage, DocSite, page_url, site_url
from .publish import INLINE_TYPES, nav_from_json, techdocs_ref
from .search import search_pages
from .sources import EDIT_URL_ANNOTATION

PAGE_SIZE = 50
SEARCH_HITS = 20
# Served with Content-Security-Policy so that even a file opened directly can run nothing.
ASSET_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _entity_or_404(namespace: str, kind: str, name: str) -> Entity:
    ref = f"{kind}:{namespace}/{name}".lower()
    entity = Entity.objects.select_related("location").filter(ref=ref).first()
    if entity is None:
        raise Http404(f"No entity {ref} in the catalog.")
    return entity


def _safe_link(url: str | None) -> str:
    """Only http(s) links leave the portal from a docs page (never javascript: or data:)."""
    if isinstance(url, str) and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return ""


# --- the list ---------------------------------------------------------------------------------------


def index(request: HttpRequest):
    text = request.GET.get("q", "").strip()[:200]
    owner = request.GET.get("owner", "").strip().lower()
    kind = request.GET.get("kind", "").strip().lower()
    sites = DocSite.objects.select_related("entity")
    if owner:
        sites = sites.filter(entity__owner_ref=owner)
    if kind:
        sites = sites.filter(entity__kind=kind)
    hits = []
    if text:
        hits = search_pages(text, limit=SEARCH_HITS, pages=DocPage.objects.filter(site__in=sites.values("pk")))
        matching = Q()
        for word in text.split()[:8]:
            matching &= (Q(entity__name__icontains=word) | Q(entity__title__icontains=word)
                         | Q(site_name__icontains=word) | Q(entity__description__icontains=word))
        sites = sites.filter(matching | Q(pk__in={hit.page.site_id for hit in hits}))
    page = Paginator(sites.order_by("entity__name", "entity_ref"), PAGE_SIZE).get_page(request.GET.get("page"))
    documented = Entity.objects.filter(docsite__isnull=False)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "hits": hits,
        "text": text,
        "owner": owner,
        "kind": kind,
        "owners": sorted(set(documented.exclude(owner_ref="").values_list("owner_ref", flat=True))),
        "kinds": sorted(set(documented.values_list("kind", flat=True))),
        "any_filter": bool(text or owner or kind),
        "querystring": query.urlencode(),
        "total": DocSite.objects.count(),
    }
    template = "techdocs/index.html#results" if request.htmx else "techdocs/index.html"
    return render(request, template, context)


# --- the reader -------------------------------------------------------------------------------------


def _split_path(subpath: str) -> list[str]:
    """The segments of a page or file path; 404 for anything that could step outside the site."""
    if "\\" in subpath or "\x00" in subpath:
        raise Http404("No such page.")
    segments = subpath.split("/") if subpath else []
    if any(segment in ("", ".", "..") for segment in segments):
        raise Http404("No such page.")
    return segments


def reader(request: HttpRequest, namespace: str, kind: str, name: str, subpath: str = ""):
    entity = _entity_or_404(namespace, kind, name)
    if subpath and not subpath.endswith("/"):
        return _asset(request, entity, "/".join(_split_path(subpath)))
    path = "/".join(_split_path(subpath[:-1] if subpath else ""))
    site = DocSite.objects.filter(entity=entity).first()
    if site is None or not site.page_count:
        if path:
            raise Http404("No such page.")
        return _not_built(request, entity, site)
    page = DocPage.objects.filter(site=site, path=path).first()
    if page is None:
        raise Http404(f"No page {path!r} in these docs.")
    return render(request, "techdocs/page.html", _page_context(request, entity, site, page))


def _page_context(request: HttpRequest, entity: Entity, site: DocSite, page: DocPage) -> dict[str, Any]:
    base = site_url(entity)
    nav = nav_from_json(site.nav)
    previous, following = previous_and_next(nav, page.path)
    toc = page.toc or []
    # The page's own title is its first heading: list what is below it.
    if len(toc) == 1 and toc[0].get("level") == 1:
        toc = toc[0].get("children") or []
    edit_url = _safe_link(page.edit_url) or _safe_link(
        ((entity.data or {}).get("metadata", {}).get("annotations") or {}).get(EDIT_URL_ANNOTATION))
    return {
        "entity": entity,
        "site": site,
        "page": page,
        "nav": _nav_entries(site.nav, page.path, base),
        "toc": toc,
        "previous": {"title": previous.title, "url": page_url(entity, previous.path or "", base=base)}
        if previous else None,
        "next": {"title": following.title, "url": page_url(entity, following.path or "", base=base)}
        if following else None,
        "edit_url": edit_url,
        "can_rebuild": can_act(request.user, entity),
        "base_url": base,
    }


def _nav_entries(items: list[dict[str, Any]], current: str, base: str) -> list[dict[str, Any]]:
    entries = []
    for item in items or []:
        children = _nav_entries(item.get("children") or [], current, base)
        path = item.get("path")
        entry = {
            "title": item.get("title") or "",
            "children": children,
            "current": path is not None and path == current,
            "open": any(child["current"] or child["open"] for child in children),
            "external": False,
        }
        if path is not None:
            entry["href"] = f"{base}{_quote(path)}/" if path else base
        elif item.get("url"):
            entry["href"] = _safe_link(item["url"])
            entry["external"] = True
        else:
            entry["href"] = ""
        entries.append(entry)
    return entries


def _quote(path: str) -> str:
    return quote(path, safe="/")


def _not_built(request: HttpRequest, entity: Entity, site: DocSite | None):
    context = {
        "entity": entity,
        "site": site,
        "has_ref": bool(techdocs_ref(entity)),
        "can_rebuild": can_act(request.user, entity),
    }
    return render(request, "techdocs/not_built.html", context, status=200 if context["has_ref"] else 404)


def _asset(request: HttpRequest, entity: Entity, path: str) -> HttpResponse:
    asset = DocAsset.objects.filter(site__entity=entity, path=path).first()
    if asset is None:
        if DocPage.objects.filter(site__entity=entity, path=path).exists():
            return HttpResponseRedirect(page_url(entity, path))
        raise Http404("No such file in these docs.")
    if request.headers.get("If-None-Match") == f'"{asset.sha256}"':
        response = HttpResponse(status=304)
    else:
        inline = asset.content_type in INLINE_TYPES
        content_type = asset.content_type
        if content_type.startswith("text/") or content_type == "application/json":
            content_type += "; charset=utf-8"
        response = HttpResponse(bytes(asset.content), content_type=content_type)
        if not inline:
            # HTML, SVG and anything unknown: never a document of this origin. <img> ignores this header.
            response["Content-Disposition"] = f'attachment; filename="{_download_name(path)}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = ASSET_CSP
    response["ETag"] = f'"{asset.sha256}"'
    response["Cache-Control"] = "private, max-age=300"
    return response


def _download_name(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:150] or "download"


# --- rebuilding -------------------------------------------------------------------------------------


@require_POST
def rebuild(request: HttpRequest, namespace: str, kind: str, name: str):
    entity = _entity_or_404(namespace, kind, name)
    if not can_act(request.user, entity):
        raise PermissionDenied("Only the entity's owners, or staff, may rebuild its docs.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = site_url(entity)
    if not techdocs_ref(entity):
        messages.error(request, f"{entity.ref} has no backstage.io/techdocs-ref annotation: there is nothing to build.")
        return redirect(target)
    from .tasks import build_entity

    result = build_entity.delay(entity.ref, force=True)
    site = DocSite.objects.filter(entity=entity).first()
    if result.ready():
        outcome = result.result or {}
        message = outcome.get("message", "")
        if outcome.get("status") == "failed":
            messages.error(request, message)
        else:
            messages.success(request, message)
    else:
        message = "Rebuild queued; the page shows the new build when it is done."
        messages.info(request, message)
    audit.record(request.user, "techdocs.site.rebuild", site or entity, message=message, request=request,
                 after={"entity": entity.ref})
    return redirect(target)


# --- the catalog's Docs tab -------------------------------------------------------------------------


def render_docs_tab(request: HttpRequest, entity: Entity) -> str:
    site = DocSite.objects.filter(entity=entity).first()
    index_page = DocPage.objects.filter(site=site, path="").first() if site else None
    if site is not None and index_page is None and site.page_count:
        index_page = DocPage.objects.filter(site=site).order_by("order").first()
    context = {
        "entity": entity,
        "site": site,
        "index_page": index_page,
        "reader_url": site_url(entity),
        "nav": _nav_entries(site.nav, index_page.path if index_page else "", site_url(entity)) if site else [],
        "can_rebuild": can_act(request.user, entity),
        "techdocs_ref": techdocs_ref(entity),
    }
    return render_to_string("techdocs/entity_tab.html", context, request=request)

