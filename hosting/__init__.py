"""The fleet: hosts, their agents, instances and the container engine (Docker), the OS image and
runtime catalog, placement, ports, volumes, the site firewall and reconcile. It knows nothing of sites."""
