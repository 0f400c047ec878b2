from django.apps import AppConfig


class TechDocsConfig(AppConfig):
    name = "techdocs"
    default_auto_field = "django.db.models.BigAutoField"
