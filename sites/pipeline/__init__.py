"""The deploy pipeline: `machine` (the states of a Deployment, the switch and the drain; no Celery),
`tasks` (thin Celery tasks, the only senders), the steps the agents run: `build` (source to slug)
and `release` (slug to a running, healthy instance), `routes` (what the edge shows for a site as it
moves) and `deletion` (a site's delete and purge)."""
