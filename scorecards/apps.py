from django.apps import AppConfig


class ScorecardsConfig(AppConfig):
    name = "scorecards"
    default_auto_field = "django.db.models.BigAutoField"
