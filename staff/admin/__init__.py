"""The model admins of the staff site, one module per app they administer (Django's autodiscovery
imports this package; importing the modules registers them)."""
from staff.admin import accounts, hosting, proxy, sites  # noqa: F401
