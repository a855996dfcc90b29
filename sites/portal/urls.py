"""The portal's site pages (namespace `sites`): one module per tab, each with its own urlpatterns."""
from sites.portal import (backups, config, databases, deployments, domains, jobs, logs, metrics, overview, processes,
                          site_list, usage)

app_name = "sites"

urlpatterns = (site_list.urlpatterns + usage.urlpatterns + overview.urlpatterns + deployments.urlpatterns
               + config.urlpatterns + databases.urlpatterns + domains.urlpatterns + logs.urlpatterns
               + metrics.urlpatterns + jobs.urlpatterns + processes.urlpatterns + backups.urlpatterns)
