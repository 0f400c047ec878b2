"""TechDocs API routes, mounted at /api/techdocs/ (no trailing slashes, like the catalog API)."""

from django.urls import path

from . import views

app_name = "techdocs-api"
urlpatterns = [
    path("<str:namespace>/<str:kind>/<str:name>", views.SiteView.as_view(), name="site"),
    path("<str:namespace>/<str:kind>/<str:name>/build", views.BuildView.as_view(), name="build"),
]
