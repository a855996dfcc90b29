"""The support desk's customer side (namespace `support`)."""
from django.urls import path

from support import views

app_name = "support"

urlpatterns = [
    path("support/", views.home, name="home"),
    path("support/new/", views.new_ticket, name="new"),
    path("support/<int:ticket_id>/", views.ticket, name="ticket"),
    path("support/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
