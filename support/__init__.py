"""Support tickets between customers and staff (see DESIGN.md)."""
