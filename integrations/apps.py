from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        # The lower apps offer extension points instead of importing us (one-way
        # dependencies); imported here because they need the app registry to be ready.
        from contacts.extensions import contact_list_filter_register
        from engagement.extensions import send_status_provider_register

        from .salesforce.extensions import SEND_SYNC_STATUS, UNMATCHED_CONTACTS

        contact_list_filter_register(UNMATCHED_CONTACTS)
        send_status_provider_register(SEND_SYNC_STATUS)
