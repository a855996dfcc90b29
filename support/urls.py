"""The support desk's customer side (namespace `support`): the staff admin issue builds it."""
from django.urls import path

from support import views

app_name = "support"

urlpatterns = [path("support/", views.home, name="home")]
