"""Support tickets between customers and staff (see DESIGN.md)."""
from django.apps import AppConfig
from django.db.models.signals import post_delete


class SupportConfig(AppConfig):
    name = "support"

    def ready(self) -> None:
        # Here, not at import: the models are loaded only once the app registry is ready.
        from support import attachments

        post_delete.connect(attachments.remove_after_delete, sender="support.Attachment",
                            dispatch_uid="support-attachment-file")
