from django.urls import path

from . import views

app_name = "provisioning"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("new/<slug:offering>/", views.request_offering, name="request"),
    path("claims/<int:pk>/", views.claim_detail, name="claim"),
    path("claims/<int:pk>/release/", views.claim_release, name="release"),
]
