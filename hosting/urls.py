from django.contrib import admin
from django.urls import path

from hosting import views

admin.site.site_header = "Hosting platform staff"
admin.site.site_title = "Hosting staff"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
