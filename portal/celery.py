"""The Celery application. Settings come from Django's settings under the CELERY_ prefix.

With no CELERY_BROKER_URL the tasks run eagerly in the calling process, so a newcomer's
quick start needs no broker; production points CELERY_BROKER_URL at Redis and runs workers.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("causeway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
