"""The project package and the fleet: hosts, the agent, and (later) the container engine."""
from hosting.celery import app as celery_app

__all__ = ["celery_app"]
