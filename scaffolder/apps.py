from django.apps import AppConfig


class ScaffolderConfig(AppConfig):
    name = "scaffolder"
    default_auto_field = "django.db.models.BigAutoField"
