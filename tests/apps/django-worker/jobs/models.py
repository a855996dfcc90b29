from django.db import models


class Job(models.Model):
    """A piece of work the web process queues and a worker process does."""

    text = models.CharField(max_length=200)
    state = models.CharField(max_length=10, default="pending")  # pending, done
    result = models.CharField(max_length=200, blank=True)
    worker = models.CharField(max_length=50, blank=True)  # $DYNO of the worker that did it
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-id"]
