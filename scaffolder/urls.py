from django.urls import path

from . import views

app_name = "scaffolder"
urlpatterns = [
    path("", views.index, name="index"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<uuid:pk>/", views.task_detail, name="task"),
    path("tasks/<uuid:pk>/cancel/", views.task_cancel, name="task-cancel"),
    path("tasks/<uuid:pk>/rerun/", views.task_rerun, name="task-rerun"),
    path("edit/", views.editor, name="editor"),
    path("<str:namespace>/<str:name>/", views.wizard, name="template"),
    path("<str:namespace>/<str:name>/steps/<int:index>/", views.wizard, name="step"),
    path("<str:namespace>/<str:name>/review/", views.review, name="review"),
]
