"""The deploy pipeline: `machine` (the states of a Deployment, the switch and the drain; no Celery),
`tasks` (thin Celery tasks, the only senders), `routes` (what the edge shows for a site as it moves),
`deletion` (a site's delete and purge). Builds and releases run in sites.builds and sites.running."""
