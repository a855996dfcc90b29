"""The edge proxy: nginx config rendering and applying, certificates (see DESIGN.md)."""
