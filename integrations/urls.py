"""Portal-scoped Salesforce pages, mounted at /<portal_slug>/."""

from django.urls import path

from . import scale_views, sync_views, views

app_name = "integrations"

urlpatterns = [
    path("integrations/salesforce/", views.salesforce_settings, name="salesforce_settings"),
    path("integrations/salesforce/connect/", views.salesforce_connect, name="salesforce_connect"),
    path("integrations/salesforce/disconnect/", views.salesforce_disconnect, name="salesforce_disconnect"),
    path("integrations/salesforce/check/", views.salesforce_check, name="salesforce_check"),
    path("integrations/salesforce/mappings/add/", views.mapping_add, name="mapping_add"),
    path("integrations/salesforce/mappings/<int:pk>/edit/", views.mapping_edit, name="mapping_edit"),
    path("integrations/salesforce/mappings/<int:pk>/remove/", views.mapping_remove, name="mapping_remove"),
    path("integrations/salesforce/sync/", sync_views.sync_health, name="sync_health"),
    path("integrations/salesforce/sync/resync-progress.json", scale_views.resync_progress, name="resync_progress"),
]
