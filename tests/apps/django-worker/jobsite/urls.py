from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.index, name="index"),
    path("jobs/", views.submit, name="submit"),
    path("jobs/<int:pk>/", views.detail, name="detail"),
]
