"""Organizations, members, plans and API tokens (see DESIGN.md)."""
