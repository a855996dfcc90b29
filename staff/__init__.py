"""The hosting company's side: the staff admin site (dashboard, model admins, actions), staff
roles, and the operators' /metrics. Like config, it may import every app; no app imports it."""
