"""The model admins of the staff site, one module per subject (Django's autodiscovery imports this
package; importing the modules registers them)."""
from staff.admin import accounts, catalog, hosting, members, organizations, proxy, sites, support, users  # noqa: F401
