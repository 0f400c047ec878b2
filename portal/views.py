import datetime as dt

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import extensions
from .models import AuditEvent


def home(request):
    recent = AuditEvent.objects.all()[:10] if request.user.is_authenticated else []
    return render(
        request,
        "portal/home.html",
        {"cards": extensions.home_cards(request.user), "recent_events": recent},
    )


def search(request):
    query = request.GET.get("q", "").strip()[:200]
    hits = extensions.search(query, request.user, limit=50) if query else []
    template = "portal/search.html#results" if request.htmx else "portal/search.html"
    return render(request, template, {"query": query, "hits": hits})


AUDIT_PAGE_SIZE = 50


@staff_member_required
def audit_events(request):
    events = AuditEvent.objects.all()
    filters = {
        "actor": request.GET.get("actor", "").strip(),
        "action": request.GET.get("action", "").strip(),
        "object_type": request.GET.get("object_type", "").strip(),
        "days": request.GET.get("days", "").strip(),
    }
    if filters["actor"]:
        events = events.filter(actor_name__icontains=filters["actor"])
    if filters["action"]:
        events = events.filter(action__startswith=filters["action"])
    if filters["object_type"]:
        events = events.filter(object_type=filters["object_type"])
    if filters["days"].isdigit():
        events = events.filter(created_at__gte=timezone.now() - dt.timedelta(days=int(filters["days"])))
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    object_types = (
        AuditEvent.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "object_types": [t for t in object_types if t],
        "querystring": query.urlencode(),
    }
    template = "portal/audit_list.html#table" if request.htmx else "portal/audit_list.html"
    return render(request, template, context)


@login_not_required
@require_GET
@never_cache
def healthz(request):
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:  # any driver error means "not ready"
        return False, f"{type(exc).__name__}: {exc}"


def _check_broker() -> tuple[bool, str]:
    from .celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, conn.transport_cls if isinstance(conn.transport_cls, str) else "connected"
    except Exception as exc:  # any transport error means "not ready"
        return False, f"{type(exc).__name__}: {exc}"


@login_not_required
@require_GET
@never_cache
def readyz(request):
    """Ready to serve: the database answers and, when a broker is configured, the broker too."""
    checks = {}
    ok, detail = _check_database()
    checks["database"] = {"ok": ok, "detail": detail}
    if settings.CELERY_BROKER_URL:
        ok, detail = _check_broker()
        checks["broker"] = {"ok": ok, "detail": detail}
    else:
        checks["broker"] = {"ok": True, "detail": "not configured: tasks run in-process"}
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)
