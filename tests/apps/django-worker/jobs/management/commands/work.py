"""The worker process: takes pending jobs from the database, one at a time, and writes their results.

Several workers may run: each claims a job with SELECT ... FOR UPDATE SKIP LOCKED, so no job is
done twice. SIGTERM (the platform stopping the container) ends the loop between jobs.
"""
import os
import signal
import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from jobs.models import Job


class Command(BaseCommand):
    help = "Work the job queue until stopped."

    def handle(self, *args, **options):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        name = os.environ.get("DYNO", "worker")
        self.stdout.write(f"{name} waiting for jobs", ending="\n")
        self.stdout.flush()
        while not stopping:
            if not self.work_one(name):
                time.sleep(0.5)

    def work_one(self, name: str) -> bool:
        with transaction.atomic():
            job = Job.objects.select_for_update(skip_locked=True).filter(state="pending").order_by("id").first()
            if job is None:
                return False
            job.result = " ".join(reversed(job.text.upper().split()))
            job.state, job.worker, job.done_at = "done", name, timezone.now()
            job.save()
        self.stdout.write(f"{name} did job {job.pk}", ending="\n")
        self.stdout.flush()
        return True
