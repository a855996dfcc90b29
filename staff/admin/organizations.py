"""Organizations in the staff site (the customers-admin work moves OrganizationAdmin here)."""
