from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.entity_list, name="index"),
    path("locations/", views.location_list, name="locations"),
    path("locations/new/", views.location_register, name="location-register"),
    path("locations/<uuid:pk>/", views.location_detail, name="location"),
    path("locations/<uuid:pk>/refresh/", views.location_refresh, name="location-refresh"),
    path("locations/<uuid:pk>/delete/", views.location_delete, name="location-delete"),
    path("<str:namespace>/<str:kind>/<str:name>/", views.entity_detail, name="entity"),
    path("<str:namespace>/<str:kind>/<str:name>/delete/", views.entity_delete, name="entity-delete"),
    path("<str:namespace>/<str:kind>/<str:name>/<slug:tab>/", views.entity_detail, name="entity-tab"),
]
