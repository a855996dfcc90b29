from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with our site class: two-factor required, the portal's login, a dashboard."""

    default = False  # "staff" is StaffConfig; this one is named in INSTALLED_APPS by its path
    default_site = "staff.site.StaffAdminSite"


class StaffConfig(AppConfig):
    default = True
    name = "staff"

    def ready(self) -> None:
        from staff import roles  # it imports models, which exist only once the registry is ready

        # Groups name permissions, which exist only after every app has migrated.
        post_migrate.connect(roles.ensure_groups, dispatch_uid="staff.ensure_groups")
