"""Sites, domains, releases and deployments: the orchestrator (see DESIGN.md)."""
