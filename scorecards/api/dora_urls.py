"""DORA API routes, mounted at /api/dora/ (no trailing slashes, like the catalog API)."""

from django.urls import path

from . import views

app_name = "dora-api"
urlpatterns = [
    path("deployments", views.DeploymentsView.as_view(), name="deployments"),
    path("changes", views.ChangesView.as_view(), name="changes"),
    path("incidents", views.IncidentsView.as_view(), name="incidents"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
]
