from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from accounts import api as accounts_api
from sites import git_http
from sites.api import backups, config, databases, deployments, domains, formation, observe, runs, sites

api_urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("sites/", sites.SiteList.as_view(), name="api-sites"),
    path("sites/<str:name>/", sites.SiteDetail.as_view(), name="api-site"),
    path("sites/<str:name>/deployments/", deployments.DeploymentList.as_view(), name="api-deployments"),
    path("sites/<str:name>/deployments/<int:deployment_id>/", deployments.DeploymentDetail.as_view(), name="api-deployment"),
    path("sites/<str:name>/releases/", deployments.ReleaseList.as_view(), name="api-releases"),
    path("sites/<str:name>/env/", config.EnvVars.as_view(), name="api-env"),
    path("sites/<str:name>/env/<str:key>/", config.EnvVar.as_view(), name="api-env-var"),
    path("sites/<str:name>/formation/", formation.Formation.as_view(), name="api-formation"),
    path("sites/<str:name>/restart/", sites.SiteAction.as_view(action="restart"), name="api-restart"),
    path("sites/<str:name>/stop/", sites.SiteAction.as_view(action="stop"), name="api-stop"),
    path("sites/<str:name>/start/", sites.SiteAction.as_view(action="start"), name="api-start"),
    path("sites/<str:name>/rollback/", deployments.Rollback.as_view(), name="api-rollback"),
    path("sites/<str:name>/logs/", observe.Logs.as_view(), name="api-logs"),
    path("sites/<str:name>/domains/", domains.DomainList.as_view(), name="api-domains"),
    path("sites/<str:name>/domains/<str:hostname>/", domains.DomainDetail.as_view(), name="api-domain"),
    path("sites/<str:name>/domains/<str:hostname>/verify/", domains.DomainVerify.as_view(), name="api-domain-verify"),
    path("sites/<str:name>/traffic/", observe.Traffic.as_view(), name="api-traffic"),
    path("sites/<str:name>/backups/", backups.BackupList.as_view(), name="api-backups"),
    path("sites/<str:name>/backups/<int:backup_id>/download/", backups.BackupDownload.as_view(),
         name="api-backup-download"),
    path("sites/<str:name>/backups/<int:backup_id>/download/<str:engine>/", backups.BackupDatabaseDownload.as_view(),
         name="api-backup-database-download"),
    path("sites/<str:name>/backups/<int:backup_id>/restore/", backups.BackupRestore.as_view(), name="api-backup-restore"),
    path("sites/<str:name>/runs/", runs.RunList.as_view(), name="api-runs"),
    path("sites/<str:name>/runs/<int:run_id>/", runs.RunDetail.as_view(), name="api-run"),
    path("sites/<str:name>/jobs/", runs.JobList.as_view(), name="api-jobs"),
    path("sites/<str:name>/jobs/<str:job_name>/", runs.JobDetail.as_view(), name="api-job"),
    path("sites/<str:name>/databases/", databases.DatabaseList.as_view(), name="api-databases"),
    path("sites/<str:name>/databases/<str:engine>/", databases.DatabaseDetail.as_view(), name="api-database"),
    path("sites/<str:name>/databases/<str:engine>/rotate/", databases.DatabaseRotate.as_view(), name="api-database-rotate"),
    path("sites/<str:name>/databases/<str:engine>/credentials/", databases.DatabaseCredentials.as_view(),
         name="api-database-credentials"),
    path("orgs/", accounts_api.OrganizationList.as_view(), name="api-orgs"),
    path("tokens/", accounts_api.TokenList.as_view(), name="api-tokens"),
    path("tokens/<str:prefix>/", accounts_api.TokenDetail.as_view(), name="api-token"),
]

git_urlpatterns = [
    re_path(r"^(?P<name>[a-z0-9-]{1,63})\.git/(?P<path>.*)$", git_http.git_http, name="git-http"),
]
