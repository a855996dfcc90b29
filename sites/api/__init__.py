"""REST API under /api/v1/: sites by name, their deployments, releases, config, actions, domains, logs and traffic.

One module per resource; serializers apart. Views authorise with the action they perform (another
organization's site is a 404; the role matrix and suspension decide the rest), then call one service.
"""
