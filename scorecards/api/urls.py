"""Scorecard API routes, mounted at /api/scorecards/."""

from django.urls import path

from . import views

app_name = "scorecards-api"
urlpatterns = [
    path("", views.ScorecardListView.as_view(), name="scorecards"),
    path("results", views.ScorecardResultsView.as_view(), name="results"),
]
