"""The Salesforce URLs: the one OAuth callback shared by every portal (site-wide, named
``salesforce_callback``: the portal comes from the stored state), and the portal pages under
``/<portal_slug>/`` in the ``integrations`` namespace."""

from django.urls import include, path

from .views import connect, guide, health, hub, mappings

portal_patterns = [
    path("integrations/", hub.integrations_hub, name="hub"),
    path("integrations/salesforce/", connect.salesforce_settings, name="salesforce_settings"),
    path("integrations/salesforce/connect/", connect.salesforce_connect, name="salesforce_connect"),
    path("integrations/salesforce/disconnect/", connect.salesforce_disconnect, name="salesforce_disconnect"),
    path("integrations/salesforce/check/", connect.salesforce_check, name="salesforce_check"),
    path("integrations/salesforce/mappings/add/", mappings.mapping_add, name="mapping_add"),
    path("integrations/salesforce/mappings/<int:pk>/edit/", mappings.mapping_edit, name="mapping_edit"),
    path("integrations/salesforce/mappings/<int:pk>/remove/", mappings.mapping_remove, name="mapping_remove"),
    path("integrations/salesforce/setup-guide/", guide.guide, name="setup_guide"),
    path("integrations/salesforce/setup-guide/thankview-salesforce-package.zip", guide.package, name="setup_package"),
    path("integrations/salesforce/sync/", health.sync_health, name="sync_health"),
    path("integrations/salesforce/sync/resync-progress.json", health.resync_progress, name="resync_progress"),
]

urlpatterns = [
    path("integrations/salesforce/callback/", connect.salesforce_callback, name="salesforce_callback"),
    # "integrations" is a reserved portal slug (thankview.models.RESERVED_SLUGS), so the
    # callback above never shadows a portal.
    path("<slug:portal_slug>/", include((portal_patterns, "integrations"))),
]
