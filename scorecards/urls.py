from django.urls import path

from . import views

app_name = "scorecards"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/evaluate/", views.evaluate_now, name="evaluate"),
    path("initiatives/<int:pk>/", views.initiative_detail, name="initiative"),
]
