from django.urls import path

from . import views

app_name = "scaffolder"
urlpatterns = [
    path("", views.index, name="index"),
]
