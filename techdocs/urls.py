from django.urls import path

from . import views

app_name = "techdocs"
urlpatterns = [
    path("", views.index, name="index"),
]
