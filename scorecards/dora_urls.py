from django.urls import path

from . import views

app_name = "dora"
urlpatterns = [
    path("", views.dora_index, name="index"),
]
