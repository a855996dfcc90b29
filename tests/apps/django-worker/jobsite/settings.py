"""A Django app with a job queue in its PostgreSQL database (the platform's DATABASE_URL) and a
worker process that works it: the integration test of an app that is more than a web process."""
import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = os.environ.get("SECRET_KEY", "only-for-the-platform-test")
DEBUG = False
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "*").split(",")
INSTALLED_APPS = ["django.contrib.contenttypes", "jobs"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"]
ROOT_URLCONF = "jobsite.urls"
WSGI_APPLICATION = "jobsite.wsgi.application"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {"version": 1, "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}


def _database(url: str) -> dict:
    parts = urlsplit(url)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": parts.path.lstrip("/"), "USER": unquote(parts.username),
            "PASSWORD": unquote(parts.password or ""), "HOST": parts.hostname, "PORT": parts.port or 5432}


# The build (collectstatic's check) runs without the database's variables.
DATABASES = {"default": _database(os.environ["DATABASE_URL"])} if "DATABASE_URL" in os.environ else {}
