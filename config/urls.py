from django.contrib import admin
from django.urls import include, path

from config import views
from sites import internal as sites_internal
from sites import urls as sites_urls
from staff import api as staff_api, metrics_view

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/admin/", include(staff_api.urlpatterns)),
    path("api/v1/", include(sites_urls.api_urlpatterns)),
    path("internal/v1/", include(sites_internal.internal_urlpatterns)),
    path("git/", include(sites_urls.git_urlpatterns)),
    path("", include("accounts.urls")),
    path("", include("support.urls")),
    path("", include("sites.portal.urls")),
]

handler404 = "core.unavailable.not_found"
handler500 = "core.unavailable.server_error"
