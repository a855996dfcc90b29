"""The support desk in the staff site (the support-desk work fills it in)."""
