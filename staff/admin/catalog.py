"""The runtime catalog in the staff site (the fleet-admin work fills it in)."""
