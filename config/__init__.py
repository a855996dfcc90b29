"""The Django project: settings, root urls, the Celery app, wsgi. It imports every app; nothing imports it."""
from config.celery import app as celery_app

__all__ = ["celery_app"]
