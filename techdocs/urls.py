from django.urls import path

from . import views

app_name = "techdocs"
urlpatterns = [
    path("", views.index, name="index"),
    # "_rebuild" can never be a namespace (catalog names have no underscore at the start).
    path("_rebuild/<str:namespace>/<str:kind>/<str:name>/", views.rebuild, name="rebuild"),
    path("<str:namespace>/<str:kind>/<str:name>/", views.reader, name="site"),
    # Pages end with "/" (guide/install/); files do not (img/diagram.png).
    path("<str:namespace>/<str:kind>/<str:name>/<path:subpath>", views.reader, name="page"),
]
