"""Run by test_sqlite_writers.py in a process of its own, on a SQLite file: six threads change
one site's config and make a release at once, as six `POST env/` do on `make run`'s default database."""
import os
import sys
import threading

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from accounts.services import create_organization  # noqa: E402
from sites.config_crypto import encrypt  # noqa: E402
from sites.models import EnvVar, Site, Slug  # noqa: E402
from sites.pipeline.machine import create_release, lock_site  # noqa: E402

call_command("migrate", verbosity=0)
org = create_organization("acme", "owner@example.com")
site = Site.objects.create(name="shop", organization=org, plan=org.plan)
slug = Slug.objects.create(site=site, sha256="0" * 64, size_bytes=1, runtime="static", source="x")
errors = []


def change(key: str) -> None:
    try:
        with transaction.atomic():
            lock_site(site)
            EnvVar.objects.update_or_create(site=site, key=key, defaults={"encrypted_value": encrypt("v")})
            create_release(site, slug, "config", f"Set {key}")
    except Exception as exc:  # what the API would have answered with an error
        errors.append(repr(exc))
    finally:
        connection.close()


threads = [threading.Thread(target=change, args=(f"K{i}",)) for i in range(6)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(f"errors={errors} releases={site.releases.count()} env={EnvVar.objects.filter(site=site).count()}")
sys.exit(1 if errors else 0)
