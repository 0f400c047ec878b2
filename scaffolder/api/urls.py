"""Backstage-compatible scaffolder routes, mounted at /api/scaffolder/ (no trailing slashes, as Backstage)."""

from django.urls import path

from . import views

app_name = "scaffolder-api"
urlpatterns = [
    path("v2/tasks", views.TasksView.as_view(), name="tasks"),
    path("v2/tasks/<uuid:task_id>", views.TaskView.as_view(), name="task"),
    path("v2/tasks/<uuid:task_id>/cancel", views.CancelView.as_view(), name="task-cancel"),
    path("v2/tasks/<uuid:task_id>/events", views.EventsView.as_view(), name="task-events"),
    path("v2/tasks/<uuid:task_id>/eventstream", views.EventStreamView.as_view(), name="task-eventstream"),
    path("v2/dry-run", views.DryRunView.as_view(), name="dry-run"),
    path("v2/actions", views.ActionsView.as_view(), name="actions"),
    path("v2/templates/<str:namespace>/<str:kind>/<str:name>/parameter-schema", views.ParameterSchemaView.as_view(),
         name="parameter-schema"),
]
