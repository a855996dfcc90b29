"""A site's managed database (sites/databases.py is its service; hosting/dbserver.py its server)."""
from __future__ import annotations

from django.db import models


class DatabaseQuerySet(models.QuerySet):
    def for_member(self, user) -> "DatabaseQuerySet":
        """The databases of the sites of the organizations `user` belongs to, and no others."""
        return self.filter(site__organization__memberships__user=user)


class Database(models.Model):
    class Engine(models.TextChoices):
        POSTGRESQL = "postgresql", "PostgreSQL"
        MARIADB = "mariadb", "MariaDB"

    class State(models.TextChoices):
        CREATING = "creating", "Creating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        DELETING = "deleting", "Deleting"

    class Writes(models.TextChoices):
        WRITABLE = "writable", "Writable"
        READ_ONLY = "read_only", "Read-only: over the plan's size"
        LOCKED = "locked", "Locked: far over the plan's size"

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="databases")
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.POSTGRESQL)
    # Database and role name, from the site's uuid (never from input): site_<32 hex digits>.
    name = models.CharField(max_length=63)
    host_name = models.CharField(max_length=100, help_text="The host whose database server holds it.")
    encrypted_password = models.TextField()
    network = models.CharField(max_length=63, blank=True, help_text="Its private network on that host.")
    server_address = models.GenericIPAddressField(null=True, blank=True, protocol="IPv4")
    state = models.CharField(max_length=16, choices=State.choices, default=State.CREATING)
    writes = models.CharField(max_length=16, choices=Writes.choices, default=Writes.WRITABLE)
    size_bytes = models.BigIntegerField(default=0)
    size_checked_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = DatabaseQuerySet.as_manager()

    class Meta:
        ordering = ["site_id", "engine"]
        constraints = [models.UniqueConstraint(fields=["site", "engine"], name="one_database_per_engine"),
                       models.UniqueConstraint(fields=["engine", "name"], name="one_database_name_per_engine")]

    def __str__(self) -> str:
        return f"{self.engine} {self.name}"
