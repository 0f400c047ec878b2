from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("audit/", views.audit_events, name="audit-events"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/catalog/", include("catalog.api.urls")),
    path("api/techdocs/", include("techdocs.api.urls")),
    path("api/provisioning/", include("scaffolder.provisioning.api")),
    path("api/scorecards/", include("scorecards.api.urls")),
    path("api/dora/", include("scorecards.api.dora_urls")),
    path("api/scaffolder/", include("scaffolder.api.urls")),
    path("api/schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("catalog/", include("catalog.urls")),
    path("create/", include("scaffolder.urls")),
    path("resources/", include("scaffolder.provisioning.urls")),
    path("docs/", include("techdocs.urls")),
    path("scorecards/", include("scorecards.urls")),
    path("dora/", include("scorecards.dora_urls")),
]
