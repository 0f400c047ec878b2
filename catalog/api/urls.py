"""Backstage-compatible catalog API routes, mounted at /api/catalog/ (no trailing slashes, as Backstage)."""

from django.urls import path

from . import views

app_name = "catalog-api"
urlpatterns = [
    path("entities", views.EntitiesView.as_view(), name="entities"),
    path("entities/by-query", views.EntitiesByQueryView.as_view(), name="entities-by-query"),
    path("entities/by-refs", views.EntitiesByRefsView.as_view(), name="entities-by-refs"),
    path("entities/by-name/<str:kind>/<str:namespace>/<str:name>", views.EntityByNameView.as_view(),
         name="entity-by-name"),
    path("entities/by-uid/<str:uid>", views.EntityByUidView.as_view(), name="entity-by-uid"),
    path("entity-facets", views.EntityFacetsView.as_view(), name="entity-facets"),
    path("locations", views.LocationsView.as_view(), name="locations"),
    path("locations/by-entity/<str:kind>/<str:namespace>/<str:name>", views.LocationByEntityView.as_view(),
         name="location-by-entity"),
    path("locations/<str:location_id>", views.LocationDetailView.as_view(), name="location"),
    path("refresh", views.RefreshView.as_view(), name="refresh"),
    path("validate-entity", views.ValidateEntityView.as_view(), name="validate-entity"),
]
