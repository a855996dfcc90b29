"""The Celery application shared by the worker, the agents and beat."""
import logging.config
import os

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hosting")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_the_platforms_logging(**kwargs) -> None:
    """Workers and beat log through Django's LOGGING (core.logs: one line per event with its fields,
    LOG_FORMAT), not Celery's own format: with a receiver here Celery leaves the root logger alone."""
    logging.config.dictConfig(settings.LOGGING)
