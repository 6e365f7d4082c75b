from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        # The lower apps offer extension points instead of importing us (one-way
        # dependencies); imported here because they need the app registry to be ready.
        from contacts.extensions import contact_list_filter_register
        from engagement.extensions import SendStatusProvider, send_status_provider_register

        from .extensions import UNMATCHED_CONTACTS
        from .sync_selectors import send_sync_status

        contact_list_filter_register(UNMATCHED_CONTACTS)
        send_status_provider_register(
            SendStatusProvider(
                key="salesforce",
                title="Salesforce",
                status=send_sync_status,
                template="integrations/_send_sync_status.html",
            )
        )
