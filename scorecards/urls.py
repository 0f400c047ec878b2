from django.urls import path

from . import views

app_name = "scorecards"
urlpatterns = [
    path("", views.index, name="index"),
]
